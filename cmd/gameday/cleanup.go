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
		fmt.Fprintf(stderr, "Usage: gameday cleanup\n\nRemoves every container, network (a fleet's) and image labelled %s,\nin that order, and restores permission changes a killed harness left\n(recorded in %s).\n", target.Label, fault.StateDir())
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	n, perr := fault.RestorePermissions()
	fmt.Fprintf(stdout, "gameday: restored %d permission change(s)\n", n)
	if err := target.DockerAvailable(ctx); err != nil {
		fmt.Fprintf(stdout, "gameday: no Docker engine answers; no containers, networks or images to remove\n")
		return perr
	}
	c, nw, i, err := target.Cleanup(ctx)
	fmt.Fprintf(stdout, "gameday: removed %d container(s), %d network(s) and %d image(s)\n", c, nw, i)
	if err != nil {
		return err
	}
	return perr
}
