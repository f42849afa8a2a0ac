package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/quannex/gameday/reports"
)

const compareUsage = `Usage: gameday compare [flags] BASE.json NEW.json

Sets a new run against a base run of the same scenario and prints, figure by
figure, the base, the new value, the change and whether it stays within its
tolerance: recovery seconds, each alert's fire delay (from the first
injection) and resolve delay (from the last revert), p95 and live ratio during
the fault, the score and each check's result.

Exit codes: 0 no regression; 1 NEW regressed beyond a tolerance; 2 bad usage
or a report that does not read (the message names the file and the field);
4 not comparable: the two ran different scenario specs or target kinds (the
message names the field).

Flags:
`

// errRegressed: a run regressed against its base.
var errRegressed = errors.New("regressed against the base run")

// errNotComparable: two runs cannot be compared.
var errNotComparable = errors.New("runs not comparable")

type toleranceFlags struct {
	recoverySeconds, recoveryPercent, p95Percent, p95Ms, scoreDrop float64
	alertDelay, scrape                                             time.Duration
}

func addToleranceFlags(fs *flag.FlagSet) *toleranceFlags {
	d := reports.DefaultTolerances(0)
	t := &toleranceFlags{}
	fs.Float64Var(&t.recoverySeconds, "recovery-seconds", d.RecoverySeconds, "recovery regresses when slower by more than this many seconds and by more than --recovery-percent")
	fs.Float64Var(&t.recoveryPercent, "recovery-percent", d.RecoveryPercent, "recovery regresses when slower by more than this percent and by more than --recovery-seconds")
	fs.DurationVar(&t.alertDelay, "alert-delay", 0, "an alert's fire or resolve delay regresses when later by more than this (default: --scrape-interval + 10s)")
	fs.DurationVar(&t.scrape, "scrape-interval", 5*time.Second, "the scrape interval the runs used (sets the default --alert-delay)")
	fs.Float64Var(&t.p95Percent, "p95-percent", d.P95Percent, "p95 during the fault regresses when higher by more than this percent and by more than --p95-ms")
	fs.Float64Var(&t.p95Ms, "p95-ms", d.P95Ms, "p95 during the fault regresses when higher by more than this many milliseconds and by more than --p95-percent")
	fs.Float64Var(&t.scoreDrop, "score-drop", d.ScoreDrop, "the score regresses when lower by more than this")
	return t
}

// tolerances turns the flags into reports.Tolerances; a negative one is a
// usage error naming its flag.
func (t *toleranceFlags) tolerances() (reports.Tolerances, error) {
	tol := reports.Tolerances{RecoverySeconds: t.recoverySeconds, RecoveryPercent: t.recoveryPercent, AlertDelay: t.alertDelay,
		P95Percent: t.p95Percent, P95Ms: t.p95Ms, ScoreDrop: t.scoreDrop}
	if tol.AlertDelay == 0 {
		tol.AlertDelay = t.scrape + 10*time.Second
	}
	if err := tol.Validate(); err != nil {
		// tolerance recovery_seconds → --recovery-seconds
		name := strings.TrimPrefix(strings.SplitN(err.Error(), ":", 2)[0], "tolerance ")
		return tol, usagef("--%s: must not be negative", strings.ReplaceAll(name, "_", "-"))
	}
	return tol, nil
}

func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, compareUsage); fs.PrintDefaults() }
	tf := addToleranceFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("compare: want BASE.json and NEW.json, got %d arguments", fs.NArg())
	}
	tol, err := tf.tolerances()
	if err != nil {
		return err
	}
	base, err := reports.Read(fs.Arg(0))
	if err != nil {
		return usagef("compare: base %s: %v", fs.Arg(0), err)
	}
	next, err := reports.Read(fs.Arg(1))
	if err != nil {
		return usagef("compare: new %s: %v", fs.Arg(1), err)
	}
	return compareRuns(stdout, base, next, fs.Arg(0), fs.Arg(1), tol)
}

// compareRuns prints next against base and returns errRegressed or
// errNotComparable (wrapped with the reason) when it should not pass.
func compareRuns(w io.Writer, base, next *reports.Report, basePath, nextPath string, tol reports.Tolerances) error {
	c, err := reports.Compare(base, next, tol)
	var nc *reports.NotComparableError
	switch {
	case errors.As(err, &nc):
		return fmt.Errorf("%w: %s and %s: %s differs (base %s, new %s)", errNotComparable, filepath.Base(basePath), filepath.Base(nextPath), nc.Field, nc.Base, nc.New)
	case err != nil:
		return usagef("compare: %v", err)
	}
	if err := c.Write(w, filepath.Base(basePath), filepath.Base(nextPath)); err != nil {
		return err
	}
	if r := c.Regressions(); len(r) > 0 {
		return fmt.Errorf("%s: %w %s: %s", c.Scenario, errRegressed, filepath.Base(basePath), strings.Join(r, ", "))
	}
	return nil
}
