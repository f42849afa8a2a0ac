package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/quannex/gameday/gate/build"
)

func version(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gate version", flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := parse(fs, args); err != nil {
		return err
	}
	b := build.Current()
	fmt.Fprintf(stdout, "gate %s (commit %s, %s)\n", b.Version, b.Commit, b.GoVersion)
	return nil
}
