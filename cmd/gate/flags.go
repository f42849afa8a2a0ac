package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/quannex/gameday/cmd/internal/cliflags"
)

// errHelp: --help was asked for and printed; exit 0.
var errHelp = errors.New("help shown")

// parse parses args into fs with flags anywhere among the positional
// arguments (package cliflags), turning -h into errHelp and any other error
// into a usage error (the flag package has already named the flag).
func parse(fs *flag.FlagSet, args []string) error {
	if err := cliflags.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err.Error()}
	}
	return nil
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
