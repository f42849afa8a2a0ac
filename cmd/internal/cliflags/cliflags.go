// Package cliflags parses a command line for the project's commands (gate
// and gameday) with flags allowed before, between and after positional
// arguments ("gameday run io-glitch --target process", "gate verify FILE
// --json"); "--" ends the flags. The standard flag package stops at the
// first positional argument; this package only adds the interleaving, and
// each command keeps its own error types and exit codes. TLS is the one
// group of flags both commands share: the client side of TLS towards a
// gate or a Prometheus (gate verify, gameday smoke and canary).
package cliflags

import (
	"flag"
	"strings"
)

// Parse parses args into fs. The flag package stops at the first
// positional, so Parse takes it aside and parses the rest again; afterwards
// fs.Args() holds every positional in order. Errors are fs.Parse's own
// (flag.ErrHelp for -h; otherwise a message naming the flag).
func Parse(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
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
