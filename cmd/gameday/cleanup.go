package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/target"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// addCleanup declares gameday cleanup.
func addCleanup(ctx context.Context, app *cli.App, stdout, stderr io.Writer) func() error {
	cmd := app.Cmd(nil, "cleanup", fmt.Sprintf(`Remove what a killed GameDay left behind.

Example: gameday cleanup

Removes every container, network (a fleet's) and image labelled %s,
in that order, restores permission changes a killed harness left
(recorded in %s) and unmounts the size-limited filesystems of its
targets (the disk-full fault's, under the temporary directory). What a GameDay still running on this machine owns is
left alone (its own revert and stop will end it; gameday stop stops it
now), and so are the images its containers use.`, target.Label, fault.StateDir()))
	verbose := cmd.Flag("verbose", "also print the log lines of testcontainers (its Docker banner) on stderr").Short('v').Bool()
	return func() error {
		// testcontainers' lines are its own, not cleanup's report: on
		// stderr with -v, else dropped (nothing of the cleanup's is in
		// them; what it did is on stdout).
		prev := tclog.Default()
		defer tclog.SetDefault(prev)
		if *verbose {
			tclog.SetDefault(log.New(stderr, "testcontainers: ", log.LstdFlags))
		} else {
			tclog.SetDefault(log.New(io.Discard, "", 0))
		}
		return cleanup(ctx, stdout)
	}
}

func cleanup(ctx context.Context, stdout io.Writer) error {
	n, running, perr := fault.RestorePermissions()
	fmt.Fprintf(stdout, "gameday: restored %d permission change(s)\n", n)
	if running > 0 {
		fmt.Fprintf(stdout, "gameday: left %d permission change(s) of GameDays still running alone (they revert them; gameday stop ends them)\n", running)
	}
	m, mrunning, merr := target.UnmountLeftovers()
	fmt.Fprintf(stdout, "gameday: unmounted the filesystems of %d target(s)\n", m)
	if mrunning > 0 {
		fmt.Fprintf(stdout, "gameday: left the filesystems of %d target(s) of GameDays still running alone\n", mrunning)
	}
	perr = errors.Join(perr, merr)
	if err := target.DockerAvailable(ctx); err != nil {
		fmt.Fprintf(stdout, "gameday: no Docker engine answers; no containers, networks or images to remove\n")
		return perr
	}
	c, nw, i, running, err := target.Cleanup(ctx)
	fmt.Fprintf(stdout, "gameday: removed %d container(s), %d network(s) and %d image(s)\n", c, nw, i)
	if running > 0 {
		fmt.Fprintf(stdout, "gameday: left %d container(s) of GameDays still running alone (gameday stop ends them)\n", running)
	}
	if err != nil {
		return err
	}
	return perr
}
