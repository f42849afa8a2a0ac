package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/target"
)

func cleanup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday cleanup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gameday cleanup\n\nRemoves every container and image labelled %s and restores permission\nchanges a killed harness left (recorded in %s).\n", target.Label, fault.StateDir())
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	n, perr := fault.RestorePermissions()
	fmt.Fprintf(stdout, "gameday: restored %d permission change(s)\n", n)
	if err := target.DockerAvailable(ctx); err != nil {
		fmt.Fprintf(stdout, "gameday: no Docker engine answers; no containers to remove\n")
		return perr
	}
	c, i, err := target.Cleanup(ctx)
	fmt.Fprintf(stdout, "gameday: removed %d container(s) and %d image(s)\n", c, i)
	if err != nil {
		return err
	}
	return perr
}
