package mutants

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quannex/gameday/reports"
)

// Row verdicts. Only Caught and Clean are as expected.
const (
	Caught        = "caught"         // every expected check red, nothing else unexpected
	Clean         = "clean"          // the control: nothing red, the run passed
	Survived      = "survived"       // an expected check passed, failed for want of evidence, or is not in the report
	WrongCheck    = "wrong check"    // no expected check red, another one is
	UnexpectedRed = "unexpected red" // caught, but a check outside both sets is red too
	Errored       = "error"          // the run could not happen
)

// Row is one mutant's outcome.
type Row struct {
	Mutant     string   `json:"mutant"`
	Breaks     string   `json:"breaks"`
	Variant    string   `json:"variant"`
	Expected   []string `json:"expected_red"`
	Collateral []string `json:"allowed_collateral"`
	Red        []string `json:"red"`
	Unexpected []string `json:"unexpected_red"`
	// Survived lists the expected checks that did not turn red.
	Survived   []string `json:"survived"`
	RunVerdict string   `json:"run_verdict"` // the GameDay report's verdict
	Verdict    string   `json:"verdict"`
	// Observed is what the report says of each expected, survived and
	// unexpected check, for reading a row without its report.
	Observed    map[string]string `json:"observed,omitempty"`
	Error       string            `json:"error,omitempty"`
	Report      string            `json:"report,omitempty"`
	WallSeconds float64           `json:"wall_seconds"`
}

// OK reports whether the row came out as the matrix expects.
func (r Row) OK() bool { return r.Verdict == Caught || r.Verdict == Clean }

// Judge compares a GameDay report with what mu expects. A nil report or a
// run error makes an Errored row. An expected check that failed for want
// of evidence ("no evidence: …") did not catch the mutant: it would have
// failed on any gate.
func Judge(mu Mutant, rep *reports.Report, runErr error) Row {
	row := Row{Mutant: mu.Name, Breaks: mu.Breaks, Variant: mu.Variant(), Expected: nonNil(mu.Expect),
		Collateral: nonNil(mu.Collateral), Red: []string{}, Unexpected: []string{}, Survived: []string{}, Observed: map[string]string{}}
	if mu.Refused != "" {
		return judgeRefusal(mu, row, rep, runErr)
	}
	switch {
	case runErr != nil:
		row.Verdict, row.Error = Errored, runErr.Error()
	case rep == nil:
		row.Verdict, row.Error = Errored, "no report"
	case rep.Error != "":
		row.Verdict, row.Error = Errored, rep.Error
	}
	if rep == nil {
		return row
	}
	row.RunVerdict = rep.Verdict
	checks := map[string]reports.Check{}
	for _, c := range rep.Checks {
		checks[c.Name] = c
		if c.Pass {
			continue
		}
		row.Red = append(row.Red, c.Name)
		if !slices.Contains(mu.Expect, c.Name) && !slices.Contains(mu.Collateral, c.Name) {
			row.Unexpected = append(row.Unexpected, c.Name)
			row.Observed[c.Name] = c.Observed
		}
	}
	for _, name := range mu.Expect {
		c, ok := checks[name]
		switch {
		case !ok:
			row.Survived = append(row.Survived, name)
			row.Observed[name] = "not in the report"
		case c.Pass || strings.HasPrefix(c.Observed, noEvidence):
			row.Survived = append(row.Survived, name)
			row.Observed[name] = c.Observed
		default:
			row.Observed[name] = c.Observed
		}
	}
	if row.Verdict == Errored {
		return row
	}
	caughtAny := len(row.Survived) < len(mu.Expect)
	otherRed := 0
	for _, name := range row.Red {
		if !slices.Contains(mu.Expect, name) {
			otherRed++
		}
	}
	switch {
	case len(mu.Expect) == 0 && len(row.Red) == 0 && rep.Verdict == mu.cleanVerdict():
		row.Verdict = Clean
	case len(mu.Expect) == 0:
		row.Verdict = UnexpectedRed
	case len(row.Survived) > 0 && !caughtAny && otherRed > 0:
		row.Verdict = WrongCheck
	case len(row.Survived) > 0:
		row.Verdict = Survived
	case len(row.Unexpected) > 0:
		row.Verdict = UnexpectedRed
	default:
		row.Verdict = Caught
	}
	return row
}

// preflight names a row caught by the run's pre-flight, in place of a
// check.
const preflight = "pre-flight"

// judgeRefusal judges a row whose run the pre-flight must refuse: caught
// when the run ended with that finding and injected nothing.
func judgeRefusal(mu Mutant, row Row, rep *reports.Report, runErr error) Row {
	row.Expected = []string{preflight}
	if rep != nil {
		row.RunVerdict = rep.Verdict
	}
	switch {
	case rep == nil:
		row.Verdict, row.Error = Errored, "no report"
	case runErr == nil || !strings.Contains(runErr.Error(), mu.Refused):
		row.Verdict, row.Survived = Survived, []string{preflight}
		row.Observed[preflight] = fmt.Sprintf("the run was not refused with %q (error: %v)", mu.Refused, runErr)
	case len(rep.Faults) > 0:
		row.Verdict, row.Survived = Survived, []string{preflight}
		row.Observed[preflight] = fmt.Sprintf("refused, but %d fault(s) were injected", len(rep.Faults))
	default:
		row.Verdict, row.Red = Caught, []string{preflight}
		row.Observed[preflight] = runErr.Error()
	}
	return row
}

// cleanVerdict is the verdict of the row's scenario run clean: aborted
// for a brake GameDay, else pass.
func (m Mutant) cleanVerdict() string {
	if m.Aborted {
		return reports.Aborted
	}
	return reports.Pass
}

// noEvidence starts the observation of a check that failed for want of
// evidence (package harness).
const noEvidence = "no evidence:"

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Table is the matrix's result, written as mutants.json.
type Table struct {
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	WallSeconds float64   `json:"wall_seconds"`
	Target      string    `json:"target"`
	// OK: every row came out as expected.
	OK   bool  `json:"ok"`
	Rows []Row `json:"rows"`
}

// FileName is the table's file name in the report directory.
const FileName = "mutants.json"

// Finish stamps the end of the matrix and works out OK.
func (t *Table) Finish() {
	t.FinishedAt = time.Now().UTC()
	t.WallSeconds = t.FinishedAt.Sub(t.StartedAt).Round(time.Second).Seconds()
	t.OK = len(t.Rows) > 0
	for _, r := range t.Rows {
		t.OK = t.OK && r.OK()
	}
}

// Write writes the table as JSON to path, atomically.
func (t *Table) Write(path string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Print writes the table for a terminal: one line per mutant (the long
// list of red checks last), then what the report observed for every check
// that did not do as expected.
func (t *Table) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MUTANT\tEXPECTED RED\tSURVIVED\tUNEXPECTED RED\tVERDICT\tWALL\tRED")
	ok := 0
	for _, r := range t.Rows {
		if r.OK() {
			ok++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.0fs\t%s\n", r.Mutant, list(r.Expected), list(r.Survived), list(r.Unexpected), r.Verdict, r.WallSeconds, list(r.Red))
	}
	tw.Flush()
	for _, r := range t.Rows {
		if r.OK() {
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Mutant, r.Error)
		}
		for _, name := range append(append([]string(nil), r.Survived...), r.Unexpected...) {
			fmt.Fprintf(w, "  %s: %s: %s\n", r.Mutant, name, r.Observed[name])
		}
	}
	fmt.Fprintf(w, "mutant matrix: %d of %d rows as expected, %s\n", ok, len(t.Rows), time.Duration(t.WallSeconds*float64(time.Second)))
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}
