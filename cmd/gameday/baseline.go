package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/reports"
)

// checkResultFlags refuses, before anything runs, a --baseline-dir that is
// not a directory and a --junit file that cannot be written where it is.
func (f *runFlags) checkResultFlags() error {
	if f.baselineDir != "" {
		if st, err := os.Stat(f.baselineDir); err != nil || !st.IsDir() {
			return usagef("--baseline-dir: %s is not a directory", f.baselineDir)
		}
	}
	if f.junit != "" {
		if st, err := os.Stat(f.junit); err == nil && st.IsDir() {
			return usagef("--junit: %s is a directory", f.junit)
		}
		if err := os.MkdirAll(filepath.Dir(f.junit), 0o755); err != nil {
			return usagef("--junit: %v", err)
		}
	}
	return nil
}

// writeJUnit writes --junit with every report of this invocation so far,
// so that an interrupted batch still leaves a file for CI.
func (f *runFlags) writeJUnit(reps []*reports.Report) error {
	if f.junit == "" {
		return nil
	}
	if err := reports.WriteJUnitFile(f.junit, reps); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}

// compareBaseline sets rep against the newest earlier report of the same
// scenario in --baseline-dir and prints the deltas. It returns errRegressed
// or errNotComparable (wrapped) when the run should not pass; no earlier
// report is a line of output, not a failure.
func (f *runFlags) compareBaseline(w io.Writer, rep *reports.Report, path string) error {
	if f.baselineDir == "" {
		return nil
	}
	name := rep.ScenarioName()
	base, basePath, err := reports.Newest(f.baselineDir, name, path)
	if err != nil {
		return fmt.Errorf("--baseline-dir: %w", err)
	}
	if base == nil {
		fmt.Fprintf(w, "  baseline: no earlier report of %s in %s, nothing to compare\n", name, f.baselineDir)
		return nil
	}
	if path == "" {
		path = "this run"
	}
	err = compareRuns(w, cli.Table, base, rep, basePath, path, reports.DefaultTolerances(f.scrape))
	if err != nil && !errors.Is(err, errRegressed) && !errors.Is(err, errNotComparable) {
		return err
	}
	if err != nil {
		fmt.Fprintf(w, "  baseline: %v\n", err)
	}
	return err
}

// worse keeps the outcome that decides the exit status: a regression over
// a run that could not be compared, either over nothing.
func worse(a, b error) error {
	if severity(b) > severity(a) {
		return b
	}
	return a
}

// severity ranks a run's outcomes for its exit code, the worst of every
// scenario run: one that could not go ahead (3), an aborted one (5), a
// failed verdict or a regression (1), runs that cannot be compared (4).
func severity(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errNotComparable):
		return 1
	case errors.Is(err, errRegressed):
		return 2
	case errors.Is(err, errVerdict):
		return 3
	case errors.Is(err, errAborted):
		return 4
	}
	return 5
}
