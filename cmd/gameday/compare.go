package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/reports"
)

const compareHelp = `Compare two runs of a scenario, figure by figure.

Example: gameday compare reports/out/latency-20261201T100000Z.json reports/out/latency-20261204T100000Z.json

Sets a new run against a base run of the same scenario and prints, figure by
figure, the base, the new value, the change and whether it stays within its
tolerance: recovery seconds, each alert's fire delay (from the first
injection) and resolve delay (from the last revert), p95 and live ratio during
the fault, the score and each check's result.

Exit codes: 0 no regression; 1 NEW regressed beyond a tolerance; 2 bad usage
or a report that does not read (the message names the file and the field);
4 not comparable: the two ran different scenario specs or target kinds (the
message names the field).`

// errRegressed: a run regressed against its base.
var errRegressed = errors.New("regressed against the base run")

// errNotComparable: two runs cannot be compared.
var errNotComparable = errors.New("runs not comparable")

type toleranceFlags struct {
	recoverySeconds, recoveryPercent, p95Percent, p95Ms, scoreDrop float64
	alertDelay, scrape                                             time.Duration
}

func addToleranceFlags(cmd *kingpin.CmdClause) *toleranceFlags {
	d := reports.DefaultTolerances(0)
	t := &toleranceFlags{}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	cmd.Flag("recovery-seconds", "recovery regresses when slower by more than this many seconds and by more than --recovery-percent").Default(f(d.RecoverySeconds)).Float64Var(&t.recoverySeconds)
	cmd.Flag("recovery-percent", "recovery regresses when slower by more than this percent and by more than --recovery-seconds").Default(f(d.RecoveryPercent)).Float64Var(&t.recoveryPercent)
	cmd.Flag("alert-delay", "an alert's fire or resolve delay regresses when later by more than this (default: --scrape-interval + 10s)").Default("0s").DurationVar(&t.alertDelay)
	cmd.Flag("scrape-interval", "the scrape interval the runs used (sets the default --alert-delay)").Default("5s").DurationVar(&t.scrape)
	cmd.Flag("p95-percent", "p95 during the fault regresses when higher by more than this percent and by more than --p95-ms").Default(f(d.P95Percent)).Float64Var(&t.p95Percent)
	cmd.Flag("p95-ms", "p95 during the fault regresses when higher by more than this many milliseconds and by more than --p95-percent").Default(f(d.P95Ms)).Float64Var(&t.p95Ms)
	cmd.Flag("score-drop", "the score regresses when lower by more than this").Default(f(d.ScoreDrop)).Float64Var(&t.scoreDrop)
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

// addCompare declares gameday compare.
func addCompare(app *cli.App, stdout io.Writer) func() error {
	cmd := app.Cmd(nil, "compare", compareHelp)
	tf := addToleranceFlags(cmd)
	basePath := cmd.Arg("base", "the base run's report").Required().String()
	nextPath := cmd.Arg("new", "the new run's report").Required().String()
	out := app.Output(cmd, "", compared{})
	return func() error {
		tol, err := tf.tolerances()
		if err != nil {
			return err
		}
		base, err := reports.Read(*basePath)
		if err != nil {
			return usagef("compare: base %s: %v", *basePath, err)
		}
		next, err := reports.Read(*nextPath)
		if err != nil {
			return usagef("compare: new %s: %v", *nextPath, err)
		}
		return compareRuns(stdout, *out, base, next, *basePath, *nextPath, tol)
	}
}

// compared is gameday compare's result.
type compared struct {
	*reports.Comparison
	Regressions []string `json:"regressions"`
}

// compareRuns prints next against base and returns errRegressed or
// errNotComparable (wrapped with the reason) when it should not pass.
func compareRuns(w io.Writer, out string, base, next *reports.Report, basePath, nextPath string, tol reports.Tolerances) error {
	c, err := reports.Compare(base, next, tol)
	var nc *reports.NotComparableError
	switch {
	case errors.As(err, &nc):
		return fmt.Errorf("%w: %s and %s: %s differs (base %s, new %s)", errNotComparable, filepath.Base(basePath), filepath.Base(nextPath), nc.Field, nc.Base, nc.New)
	case err != nil:
		return usagef("compare: %v", err)
	}
	result := compared{c, c.Regressions()}
	if err := cli.Write(w, out, result, func(w io.Writer) error {
		return c.Write(w, filepath.Base(basePath), filepath.Base(nextPath))
	}); err != nil {
		return err
	}
	if r := c.Regressions(); len(r) > 0 {
		return fmt.Errorf("%s: %w %s: %s", c.Scenario, errRegressed, filepath.Base(basePath), strings.Join(r, ", "))
	}
	return nil
}
