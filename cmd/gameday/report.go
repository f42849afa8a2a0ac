package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/quannex/gameday/reports"
	"github.com/quannex/gameday/reports/html"
)

const reportUsage = `Usage: gameday report [flags] REPORT.json...

Renders an HTML page for each JSON report, with the same name and .html,
and an index.html that lists the runs by scenario, newest first, with a
trend of recovery seconds and p95 during the fault per scenario. The pages
are self-contained: they open from file:// with nothing fetched.

With --junit FILE the reports that rendered are also written as one JUnit
XML file, as gameday run --junit writes it.

A file that is not a report (not JSON, another schema version, a missing
field the page needs) is named with the field and skipped; the others
render. Exit 1 when some were skipped, 2 when none rendered.

Flags:
`

// errSkipped: some reports rendered, some could not be read.
var errSkipped = errors.New("some reports were skipped")

func reportCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reportUsage); fs.PrintDefaults() }
	out := fs.String("out", "", "directory for the pages and index.html (default: the first report's directory)")
	junit := fs.String("junit", "", "also write the reports that rendered as JUnit XML to this file (one testsuite per run, one testcase per check)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("report: name at least one REPORT.json")
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(fs.Arg(0))
	}
	var runs []html.Run
	bad := 0
	for _, path := range fs.Args() {
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
	if *junit != "" {
		reps := make([]*reports.Report, 0, len(runs))
		for _, r := range runs {
			reps = append(reps, r.Report)
		}
		if err := reports.WriteJUnitFile(*junit, reps); err != nil {
			return fmt.Errorf("report: --junit: %w", err)
		}
		fmt.Fprintf(stdout, "junit: %s\n", *junit)
	}
	if bad > 0 {
		return fmt.Errorf("report: %d of %d reports skipped: %w", bad, bad+len(runs), errSkipped)
	}
	return nil
}
