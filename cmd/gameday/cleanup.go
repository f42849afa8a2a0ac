package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/chaosmesh"
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
now), and so are the images its containers use.

In a cluster: gameday cleanup --kube --namespace NS deletes every Chaos Mesh
object of the harness there (labelled %s=true; --run ID only that
run's), each waited for until Chaos Mesh recovered it and it is gone. An
object still there after --within is listed and the exit is 3: Chaos Mesh
could not recover its pods. The kubeconfig is --kubeconfig, KUBECONFIG,
~/.kube/config or the pod's service account.`, target.Label, fault.StateDir(), chaosmesh.Label))
	verbose := cmd.Flag("verbose", "also print the log lines of testcontainers (its Docker banner) on stderr").Short('v').Bool()
	inKube := cmd.Flag("kube", "remove the harness's Chaos Mesh objects from a cluster's namespace instead (--namespace)").Bool()
	ns := cmd.Flag("namespace", "with --kube: the gates' namespace").String()
	run := cmd.Flag("run", "with --kube: only the objects of this run (the gameday.quannex.org/run label)").String()
	within := cmd.Flag("within", "with --kube: how long each deleted object has to go").Default("1m").Duration()
	var k kubeFlags
	cmd.Flag("kubeconfig", "with --kube: the kubeconfig file").PlaceHolder("FILE").StringVar(&k.kubeconfig)
	cmd.Flag("context", "with --kube: the kubeconfig context").StringVar(&k.context)
	return func() error {
		if !*inKube {
			for _, fl := range []struct{ name, v string }{{"--namespace", *ns}, {"--run", *run}, {"--kubeconfig", k.kubeconfig}, {"--context", k.context}} {
				if fl.v != "" {
					return usagef("%s: only with --kube", fl.name)
				}
			}
		} else {
			switch {
			case *ns == "":
				return usagef("--namespace: required with --kube (the namespace the GameDay ran in)")
			case *within <= 0:
				return usagef("--within: %s: must be positive", *within)
			}
			return cleanupKube(ctx, stdout, &k, *ns, *run, *within)
		}
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
