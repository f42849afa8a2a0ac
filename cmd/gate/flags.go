package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// errHelp: --help was asked for and printed; exit 0.
var errHelp = errors.New("help shown")

// parse parses args into fs, turning -h into errHelp and any other error
// into a usage error (the flag package has already named the flag). Flags
// may come before, between and after positional arguments ("gate verify
// FILE --json"); "--" ends the flags. The flag package stops at the first
// positional, so parse takes it aside and parses the rest again; afterwards
// fs.Args() holds every positional in order.
func parse(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if endedByTerminator(fs, args[:len(args)-len(rest)]) {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// Parsing "--" alone sets no flag and leaves pos as fs.Args().
	return fs.Parse(append([]string{"--"}, pos...))
}

// endedByTerminator reports whether the flags fs.Parse consumed end with a
// "--" terminator, telling it apart from "--" given as a flag's value.
func endedByTerminator(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		if consumed[i] == "--" {
			return true
		}
		name := strings.TrimLeft(consumed[i], "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // the next argument is this flag's value
			}
		}
	}
	return false
}

// envFlag ties a flag to the environment variable that sets it when the
// flag is not given on the command line.
type envFlag struct{ flag, env string }

// applyEnv sets every flag in pairs that was not given on the command line
// from its variable, if set. A bad value names the variable.
func applyEnv(fs *flag.FlagSet, pairs []envFlag) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, p := range pairs {
		v, ok := os.LookupEnv(p.env)
		if !ok || given[p.flag] {
			continue
		}
		if err := fs.Set(p.flag, v); err != nil {
			return usagef("%s: invalid value: %v", p.env, err)
		}
	}
	return nil
}

// envUsage appends "(env NAME)" to each tied flag's usage text so --help
// shows both spellings.
func envUsage(fs *flag.FlagSet, pairs []envFlag) {
	for _, p := range pairs {
		if f := fs.Lookup(p.flag); f != nil && !strings.Contains(f.Usage, p.env) {
			f.Usage = fmt.Sprintf("%s (env %s)", f.Usage, p.env)
		}
	}
}
