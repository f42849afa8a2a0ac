// Command gameday runs GameDay scenarios against the Metrics Integrity Gate.
//
//	gameday list                          the built-in scenarios
//	gameday run NAME... | -f FILE         run scenarios, write reports
//	gameday replay REPORT.json            run the scenario a report recorded
//	gameday compare BASE.json NEW.json    per-figure deltas of two runs; exit 1 on a regression
//	gameday report REPORT.json... [--out DIR]  HTML pages and an index.html history
//	gameday cleanup                       remove leftover containers, images, permission changes
//	gameday dashboard [-o FILE]           the operator dashboard as Grafana JSON
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
// unreachable gate or Prometheus); 4 no verdict either way (canary
// inconclusive, smoke incomplete because a check was skipped, two runs that
// compare cannot compare).
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
)

const usage = `gameday — GameDays for the QuanNex Metrics Integrity Gate

Usage:
  gameday list                               list the built-in scenarios
  gameday run [flags] NAME... | -f FILE      run scenarios and write one JSON report each
  gameday replay [flags] REPORT.json         run again the scenario (and seed) a report recorded
  gameday compare [flags] BASE.json NEW.json per-figure deltas of two runs of a scenario; exit 1
                                             when NEW regresses beyond the tolerances
  gameday report [--out DIR] REPORT.json...  render HTML pages and an index.html history of runs
  gameday cleanup                            remove leftover containers, images and permission changes
  gameday dashboard [-o FILE]                print the operator dashboard (Grafana JSON)
  gameday slo validate|generate|budget|policies
                                             SLO budgets, burn-rate rules, budget a run consumed,
                                             remediation policies against Prometheus
  gameday smoke --url URL [--token T]        the 5-check smoke pack against a running gate
  gameday canary --prometheus URL ...        canary vs stable snapshot ratio: pass, abort or inconclusive
  gameday export --format chaos-mesh NAME | -f FILE [-o FILE]
                                             the scenario as Kubernetes manifests: Chaos Mesh faults,
                                             a CronJob running the harness, the canary AnalysisTemplate

Run "gameday COMMAND --help" for each command's flags. Flags may come before, between
or after the positional arguments; "--" ends them.

Exit codes: 0 all verdicts pass, 1 a verdict failed (canary: abort), 2 usage or scenario error,
3 the run could not happen (unreachable gate or Prometheus), 4 no verdict: canary inconclusive,
or smoke incomplete (a check was skipped; a smoke pass needs all five checks run), or compare
given runs of different scenario specs.
`

const (
	exitOK      = 0
	exitFail    = 1
	exitUsage   = 2
	exitRuntime = 3
	// exitInconclusive: neither pass nor fail (canary inconclusive, smoke
	// incomplete).
	exitInconclusive = 4
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// errVerdict: a scenario ran and failed.
var errVerdict = errors.New("a verdict failed")

// errIncomplete: the smoke pack skipped a check, so it cannot pass.
var errIncomplete = errors.New("incomplete")

var errHelp = errors.New("help shown")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "list":
		err = list(stdout)
	case "run":
		err = runCmd(ctx, args[1:], stdout, stderr)
	case "replay":
		err = replay(ctx, args[1:], stdout, stderr)
	case "compare":
		err = compareCmd(args[1:], stdout, stderr)
	case "report":
		err = reportCmd(args[1:], stdout, stderr)
	case "cleanup":
		err = cleanup(ctx, args[1:], stdout, stderr)
	case "dashboard":
		err = dashboardCmd(args[1:], stdout, stderr)
	case "slo":
		err = sloCmd(ctx, args[1:], stdout, stderr)
	case "smoke":
		err = smokeCmd(ctx, args[1:], stdout, stderr)
	case "canary":
		err = canaryCmd(ctx, args[1:], stdout, stderr)
	case "export":
		err = exportCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usagef("unknown command %q\n\n%s", args[0], usage)
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
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
