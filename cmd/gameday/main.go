// Command gameday runs GameDay scenarios against the Metrics Integrity Gate.
//
//	gameday list                          the built-in scenarios
//	gameday run NAME... | -f FILE         run scenarios, write reports (--dry-run: the plan, nothing run)
//	gameday stop [--report-dir DIR]       stop a running GameDay: revert every fault now
//	gameday replay REPORT.json            run the scenario a report recorded
//	gameday compare BASE.json NEW.json    per-figure deltas of two runs; exit 1 on a regression
//	gameday report REPORT.json... [--out DIR]  HTML pages and an index.html history
//	gameday cleanup                       remove leftover containers, images, permission changes
//	gameday dashboard [--out FILE]        the operator dashboard as Grafana JSON
//	gameday slo ...                       SLO budgets, burn-rate rules, policies
//	gameday smoke --url URL               the 5-check smoke pack against a gate
//	gameday canary --prometheus URL ...   the canary gate
//	gameday export --format chaos-mesh NAME|-f FILE  the scenario as Chaos Mesh, CronJob and Argo manifests
//
// Flags may come before, between or after the positional arguments; "--"
// ends them.
//
// Exit codes: 0 every verdict pass; 1 a verdict failed; 2 bad usage or a bad
// scenario file (the message names the flag or field); 3 the run could not
// happen (no Docker when required, a target that would not start, an
// unreachable gate or Prometheus, a pre-flight finding, a report directory
// another run holds); 4 no verdict either way (canary inconclusive, smoke
// incomplete because a check was skipped, two runs that compare cannot
// compare); 5 a run was aborted by a stop condition or an operator (every
// fault reverted). With several scenarios, the worst: 3, 5, 1, 4.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/quannex/gameday/cmd/internal/cli"
)

const help = `GameDays for the QuanNex Metrics Integrity Gate.

Example: gameday run io-glitch

Runs GameDay scenarios against the gate (in a container, as a process, against
a deployment or as a fleet), writes one JSON report per run, and carries the
operations pack: smoke checks, the canary gate, SLO budgets, the dashboard and
Kubernetes manifests.

Exit codes: 0 all verdicts pass, 1 a verdict failed (canary: abort), 2 usage or
scenario error (before anything starts; the message names the flag, variable
or field), 3 the run could not happen (no Docker when required, an unreachable
gate, Prometheus or Alertmanager, a target that would not start, a pre-flight
finding, a report directory another run holds), 4 no verdict: canary
inconclusive, smoke incomplete (a check was skipped), or compare given runs
that cannot be compared, 5 aborted: a stop condition breached or an operator
stopped the run (gameday stop), and every fault was reverted.`

const (
	exitOK      = 0
	exitFail    = 1
	exitUsage   = 2
	exitRuntime = 3
	// exitInconclusive: neither pass nor fail (canary inconclusive, smoke
	// incomplete).
	exitInconclusive = 4
	// exitAborted: a stop condition breached, or an operator stopped the
	// run; every fault was reverted.
	exitAborted = 5
)

// usageError is a bad command, flag, argument, variable or scenario file:
// exit 2.
type usageError = cli.UsageError

func usagef(format string, a ...any) error { return cli.Usagef(format, a...) }

// errVerdict: a scenario ran and failed.
var errVerdict = errors.New("a verdict failed")

// errAborted: a run was stopped by a stop condition or an operator.
var errAborted = errors.New("aborted")

// errIncomplete: the smoke pack skipped a check, so it cannot pass.
var errIncomplete = errors.New("incomplete")

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	interrupts(cancel, os.Stderr)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// interrupts turns the first Ctrl-C (or SIGTERM) into the end of the run:
// every fault is reverted, what started is stopped, the report written.
// Later ones say so and change nothing: nothing skips the revert (kill -9
// does; then the faults switch themselves off, and gameday cleanup
// removes what is left).
func interrupts(cancel context.CancelFunc, stderr io.Writer) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { // lives as long as the process
		<-sig
		cancel()
		for range sig {
			fmt.Fprintln(stderr, "gameday: reverting the faults and stopping what started before exiting; this is not skipped (kill -9 skips it: then run gameday cleanup)")
		}
	}()
}

// newApp declares every command and returns the command line and what
// runs each command by its full name.
func newApp(ctx context.Context, stdout, stderr io.Writer) (*cli.App, map[string]func() error) {
	app := cli.New("gameday", help, cli.VersionLine("gameday"), stdout, stderr)
	cmds := map[string]func() error{
		"list":      addList(app, stdout),
		"run":       addRun(ctx, app, stdout, stderr),
		"replay":    addReplay(ctx, app, stdout, stderr),
		"compare":   addCompare(app, stdout),
		"report":    addReport(app, stdout, stderr),
		"cleanup":   addCleanup(ctx, app, stdout, stderr),
		"dashboard": addDashboard(app, stdout),
		"smoke":     addSmoke(ctx, app, stdout, stderr),
		"canary":    addCanary(ctx, app, stdout),
		"export":    addExport(app, stdout),
		"stop":      addStop(ctx, app, stdout),
		"version": func() error {
			_, err := fmt.Fprintln(stdout, cli.VersionLine("gameday"))
			return err
		},
	}
	app.Cmd(nil, "version", "Print the version, commit and Go version.\n\nExample: gameday version")
	for name, f := range addSLO(ctx, app, stdout) {
		cmds[name] = f
	}
	app.AddCompletion()
	return app, cmds
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app, cmds := newApp(ctx, stdout, stderr)
	cmd, err := app.Parse(args)
	if err == nil {
		if f, ok := cmds[cmd]; ok {
			err = f()
		}
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, cli.ErrHelp):
		return exitOK
	case errors.Is(err, errAborted):
		fmt.Fprintln(stderr, "gameday:", err)
		return exitAborted
	case errors.Is(err, errInconclusive), errors.Is(err, errIncomplete):
		fmt.Fprintln(stderr, "gameday:", err)
		return exitInconclusive
	case errors.Is(err, errVerdict), errors.Is(err, errSkipped):
		fmt.Fprintln(stderr, "gameday:", err)
		return exitFail
	case errors.Is(err, errRegressed):
		fmt.Fprintln(stderr, "gameday:", err)
		return exitFail
	case errors.Is(err, errNotComparable):
		fmt.Fprintln(stderr, "gameday:", err)
		return exitInconclusive
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "gameday:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "gameday:", err)
		return exitRuntime
	}
}

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}
