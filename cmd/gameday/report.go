package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/reports"
	"github.com/quannex/gameday/reports/html"
)

const reportHelp = `Render HTML pages and an index.html history of runs.

Example: gameday report reports/out/*.json --out reports/html

Renders an HTML page for each JSON report, with the same name and .html,
and an index.html that lists the runs by scenario, newest first, with a
trend of recovery seconds and p95 during the fault per scenario. The pages
are self-contained: they open from file:// with nothing fetched.

With --junit FILE the reports that rendered are also written as one JUnit
XML file, as gameday run --junit writes it.

A file that is not a report (not JSON, another schema version, a missing
field the page needs) is named with the field and skipped; the others
render. Exit 1 when some were skipped, 2 when none rendered.`

// errSkipped: some reports rendered, some could not be read.
var errSkipped = errors.New("some reports were skipped")

// addReport declares gameday report.
func addReport(app *cli.App, stdout, stderr io.Writer) func() error {
	cmd := app.Cmd(nil, "report", reportHelp)
	out := cmd.Flag("out", "directory for the pages and index.html (default: the first report's directory)").PlaceHolder("DIR").String()
	junit := cmd.Flag("junit", "also write the reports that rendered as JUnit XML to this file (one testsuite per run, one testcase per check)").PlaceHolder("FILE").String()
	paths := cmd.Arg("reports", "REPORT.json files").Required().Strings()
	return func() error { return report(stdout, stderr, *out, *junit, *paths) }
}

func report(stdout, stderr io.Writer, out, junit string, paths []string) error {
	dir := out
	if dir == "" {
		dir = filepath.Dir(paths[0])
	}
	var runs []html.Run
	bad := 0
	for _, path := range paths {
		rep, err := html.Read(path)
		if err != nil {
			fmt.Fprintf(stderr, "gameday: report: %v\n", err)
			bad++
			continue
		}
		page, err := html.Write(dir, path, rep)
		if err != nil {
			return fmt.Errorf("report: %s: %w", path, err)
		}
		fmt.Fprintf(stdout, "html: %s\n", page)
		runs = append(runs, html.Run{Report: rep, JSONPath: path, Page: filepath.Base(page)})
	}
	if len(runs) == 0 {
		return usagef("report: none of the %d reports could be read", bad)
	}
	index, err := html.WriteIndex(dir, runs)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(stdout, "index: %s\n", index)
	if junit != "" {
		reps := make([]*reports.Report, 0, len(runs))
		for _, r := range runs {
			reps = append(reps, r.Report)
		}
		if err := reports.WriteJUnitFile(junit, reps); err != nil {
			return fmt.Errorf("report: --junit: %w", err)
		}
		fmt.Fprintf(stdout, "junit: %s\n", junit)
	}
	if bad > 0 {
		return fmt.Errorf("report: %d of %d reports skipped: %w", bad, bad+len(runs), errSkipped)
	}
	return nil
}
