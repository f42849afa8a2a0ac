package main

import (
	"context"
	"fmt"
	"io"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/target"
)

// addCleanup declares gameday cleanup.
func addCleanup(ctx context.Context, app *cli.App, stdout io.Writer) func() error {
	app.Cmd(nil, "cleanup", fmt.Sprintf(`Remove what a killed GameDay left behind.

Example: gameday cleanup

Removes every container, network (a fleet's) and image labelled %s,
in that order, and restores permission changes a killed harness left
(recorded in %s).`, target.Label, fault.StateDir()))
	return func() error { return cleanup(ctx, stdout) }
}

func cleanup(ctx context.Context, stdout io.Writer) error {
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
