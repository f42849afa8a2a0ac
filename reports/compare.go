package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Tolerances say how much worse a new run may be than its base before
// Compare calls it a regression. GAMEDAYS.md ("Comparing runs") documents
// the defaults.
type Tolerances struct {
	// RecoverySeconds and RecoveryPercent: recovery regresses when it is
	// slower by more than both (an absolute floor keeps a 0.1 s → 0.3 s
	// jitter from counting; the relative part keeps a 5 min recovery from
	// failing on 11 s).
	RecoverySeconds float64
	RecoveryPercent float64
	// AlertDelay: an alert's fire or resolve delay regresses when it is
	// later by more than this (by default one scrape interval and 10 s:
	// the rules engine only sees a change at the next scrape).
	AlertDelay time.Duration
	// P95Percent and P95Ms: the p95 during the fault regresses when higher
	// by more than this share of the base and by more than this many
	// milliseconds (a p95 of 3 ms served from the snapshot moves by a
	// fifth on scheduling noise alone).
	P95Percent float64
	P95Ms      float64
	// ScoreDrop: the score regresses when lower by more than this.
	ScoreDrop float64
}

// DefaultTolerances are the tolerances for a scrape interval.
func DefaultTolerances(scrapeInterval time.Duration) Tolerances {
	return Tolerances{RecoverySeconds: 10, RecoveryPercent: 20, AlertDelay: scrapeInterval + 10*time.Second, P95Percent: 20, P95Ms: 10, ScoreDrop: 5}
}

// Validate names the first tolerance that is negative.
func (t Tolerances) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"recovery_seconds", t.RecoverySeconds}, {"recovery_percent", t.RecoveryPercent}, {"alert_delay", t.AlertDelay.Seconds()},
		{"p95_percent", t.P95Percent}, {"p95_ms", t.P95Ms}, {"score_drop", t.ScoreDrop}} {
		if f.v < 0 || math.IsNaN(f.v) {
			return fmt.Errorf("tolerance %s: %v is negative", f.name, f.v)
		}
	}
	return nil
}

// Results of one figure. A figure is better only when it improved by more
// than its tolerance, so that noise reads as ok both ways.
const (
	Same      = "ok"
	Better    = "better"
	Regressed = "REGRESSED"
	Info      = "-" // shown, not judged
)

// Delta is one figure of two runs side by side.
type Delta struct {
	Figure    string `json:"figure"`
	Base      string `json:"base"`
	New       string `json:"new"`
	Change    string `json:"change"`
	Tolerance string `json:"tolerance"`
	Result    string `json:"result"`
}

// Comparison is a new run set against a base run of the same scenario.
type Comparison struct {
	Scenario string  `json:"scenario"`
	Deltas   []Delta `json:"deltas"`
}

// Regressions returns the figures that regressed.
func (c *Comparison) Regressions() []string {
	var out []string
	for _, d := range c.Deltas {
		if d.Result == Regressed {
			out = append(out, d.Figure)
		}
	}
	return out
}

// NotComparableError says why two reports cannot be compared: the field
// of the scenario spec (or the target kind) that differs, and both values.
type NotComparableError struct {
	Field, Base, New string
}

func (e *NotComparableError) Error() string {
	return fmt.Sprintf("not comparable: %s differs (base %s, new %s)", e.Field, e.Base, e.New)
}

// ErrNotComparable is what every NotComparableError matches with errors.Is.
var ErrNotComparable = errors.New("not comparable")

// Is makes errors.Is(err, ErrNotComparable) hold.
func (e *NotComparableError) Is(target error) bool { return target == ErrNotComparable }

// specProse are the spec fields that do not change what runs.
var specProse = map[string]bool{"description": true, "labels": true}

// SpecDiff compares two scenario specs by content (key order, spacing and
// the prose fields description and labels do not matter) and returns the
// first field that differs, as a path like faults[0].duration, with both
// values; "" when they are the same.
func SpecDiff(base, next json.RawMessage) (field, a, b string, err error) {
	var x, y any
	if err := json.Unmarshal(base, &x); err != nil {
		return "", "", "", fmt.Errorf("base scenario: %w", err)
	}
	if err := json.Unmarshal(next, &y); err != nil {
		return "", "", "", fmt.Errorf("new scenario: %w", err)
	}
	if xm, ok := x.(map[string]any); ok {
		for k := range specProse {
			delete(xm, k)
		}
	}
	if ym, ok := y.(map[string]any); ok {
		for k := range specProse {
			delete(ym, k)
		}
	}
	// Another scenario altogether says so by its name first.
	xm, _ := x.(map[string]any)
	ym, _ := y.(map[string]any)
	if f, a, b := diffValue("name", xm["name"], ym["name"]); f != "" {
		return f, a, b, nil
	}
	field, a, b = diffValue("", x, y)
	return field, a, b, nil
}

func diffValue(path string, x, y any) (string, string, string) {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range xv {
			keys[k] = true
		}
		for k := range yv {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if f, a, b := diffValue(p, xv[k], yv[k]); f != "" {
				return f, a, b
			}
		}
		return "", "", ""
	case []any:
		yv, ok := y.([]any)
		if !ok {
			break
		}
		for i := 0; i < len(xv) || i < len(yv); i++ {
			var xe, ye any
			if i < len(xv) {
				xe = xv[i]
			}
			if i < len(yv) {
				ye = yv[i]
			}
			if f, a, b := diffValue(fmt.Sprintf("%s[%d]", path, i), xe, ye); f != "" {
				return f, a, b
			}
		}
		return "", "", ""
	}
	if reflect.DeepEqual(x, y) {
		return "", "", ""
	}
	if path == "" {
		path = "scenario"
	}
	return path, render(x), render(y)
}

func render(v any) string {
	if v == nil {
		return "absent"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Compare sets next against base. It returns a *NotComparableError when
// the two ran different scenario specs or target kinds, or when either was
// aborted (a run stopped early measured something else than the scenario).
func Compare(base, next *Report, tol Tolerances) (*Comparison, error) {
	if err := tol.Validate(); err != nil {
		return nil, err
	}
	if base.Verdict == Aborted || next.Verdict == Aborted {
		return nil, &NotComparableError{Field: "verdict", Base: abortOf(base), New: abortOf(next)}
	}
	field, a, b, err := SpecDiff(base.Scenario, next.Scenario)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if field != "" {
		return nil, &NotComparableError{Field: "scenario." + field, Base: a, New: b}
	}
	if base.Target.Kind != next.Target.Kind {
		return nil, &NotComparableError{Field: "target.kind", Base: base.Target.Kind, New: next.Target.Kind}
	}
	c := &Comparison{Scenario: next.ScenarioName()}
	c.Deltas = append(c.Deltas, recoveryDelta(base, next, tol))
	c.Deltas = append(c.Deltas, alertDeltas(base, next, tol)...)
	c.Deltas = append(c.Deltas, p95Delta(base, next, tol), liveRatioDelta(base, next), scoreDelta(base, next, tol))
	c.Deltas = append(c.Deltas, checkDeltas(base, next)...)
	return c, nil
}

// abortOf is a report's verdict, with what stopped it when aborted.
func abortOf(r *Report) string {
	if r.Verdict != Aborted || r.Abort == nil {
		return r.Verdict
	}
	return fmt.Sprintf("aborted by %s", r.Abort.Condition)
}

func recoveryDelta(base, next *Report, tol Tolerances) Delta {
	d := Delta{Figure: "recovery_seconds", Base: secs(base.RecoverySeconds), New: secs(next.RecoverySeconds),
		Tolerance: fmt.Sprintf("+%gs and +%g%%", tol.RecoverySeconds, tol.RecoveryPercent), Change: "-"}
	b, n := base.RecoverySeconds, next.RecoverySeconds
	switch {
	case b == nil && n == nil:
		d.Result = Same
	case b == nil:
		d.Result = Better
	case n == nil:
		d.Result, d.Change = Regressed, "never recovered"
	default:
		diff := *n - *b
		d.Change = fmt.Sprintf("%+.1fs", diff) + percent(diff, *b)
		d.Result = judge(diff > tol.RecoverySeconds && diff > *b*tol.RecoveryPercent/100, -diff > tol.RecoverySeconds && -diff > *b*tol.RecoveryPercent/100)
	}
	return d
}

func p95Delta(base, next *Report, tol Tolerances) Delta {
	d := Delta{Figure: "p95_during_fault_ms", Base: "-", New: "-", Change: "-", Tolerance: fmt.Sprintf("+%g%% and +%gms", tol.P95Percent, tol.P95Ms), Result: Info}
	bw, nw := base.Load.DuringFault, next.Load.DuringFault
	if bw != nil {
		d.Base = fmt.Sprintf("%.1f", bw.P95Ms)
	}
	if nw != nil {
		d.New = fmt.Sprintf("%.1f", nw.P95Ms)
	}
	if bw == nil || nw == nil || bw.P95Ms <= 0 {
		return d // nothing to judge against
	}
	diff := nw.P95Ms - bw.P95Ms
	d.Change = fmt.Sprintf("%+.1f", diff) + percent(diff, bw.P95Ms)
	d.Result = judge(diff > bw.P95Ms*tol.P95Percent/100 && diff > tol.P95Ms, -diff > bw.P95Ms*tol.P95Percent/100 && -diff > tol.P95Ms)
	return d
}

func liveRatioDelta(base, next *Report) Delta {
	d := Delta{Figure: "live_ratio_during_fault", Base: "-", New: "-", Change: "-", Tolerance: "-", Result: Info}
	bw, nw := base.Load.DuringFault, next.Load.DuringFault
	if bw != nil {
		d.Base = fmt.Sprintf("%.1f%%", bw.LiveRatio*100)
	}
	if nw != nil {
		d.New = fmt.Sprintf("%.1f%%", nw.LiveRatio*100)
	}
	if bw != nil && nw != nil {
		d.Change = fmt.Sprintf("%+.1f pt", (nw.LiveRatio-bw.LiveRatio)*100)
	}
	return d
}

func scoreDelta(base, next *Report, tol Tolerances) Delta {
	b, _ := base.Scored()
	n, _ := next.Scored()
	diff := n - b
	return Delta{Figure: "score", Base: fmt.Sprint(b), New: fmt.Sprint(n), Change: fmt.Sprintf("%+.1f", diff),
		Tolerance: fmt.Sprintf("-%g", tol.ScoreDrop), Result: judge(-diff > tol.ScoreDrop, diff > tol.ScoreDrop)}
}

func checkDeltas(base, next *Report) []Delta {
	was := map[string]bool{}
	for _, c := range base.Checks {
		was[c.Name] = c.Pass
	}
	seen := map[string]bool{}
	var out []Delta
	for _, c := range next.Checks {
		seen[c.Name] = true
		d := Delta{Figure: "check " + c.Name, Base: "absent", New: passFail(c.Pass), Change: "-", Tolerance: "pass stays pass", Result: Info}
		if p, ok := was[c.Name]; ok {
			d.Base = passFail(p)
			d.Result = judge(p && !c.Pass, !p && c.Pass)
		}
		out = append(out, d)
	}
	for _, c := range base.Checks {
		if !seen[c.Name] {
			out = append(out, Delta{Figure: "check " + c.Name, Base: passFail(c.Pass), New: "absent", Change: "-", Tolerance: "pass stays pass",
				Result: judge(c.Pass, false)})
		}
	}
	return out
}

// alertDeltas compares, per alert name, the delay from the first injection
// to the first firing after it and from the last revert to the last
// resolution after the first injection, read from every label set's
// transitions. An alert that fired in neither run is left out.
func alertDeltas(base, next *Report, tol Tolerances) []Delta {
	bd, nd := alertDelays(base), alertDelays(next)
	names := map[string]bool{}
	for n := range bd {
		names[n] = true
	}
	for n := range nd {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	tolStr := "+" + tol.AlertDelay.String()
	var out []Delta
	for _, n := range sorted {
		b, x := bd[n], nd[n]
		out = append(out, delayDelta("alert "+n+" fire delay", b.fire, x.fire, tol.AlertDelay, tolStr),
			delayDelta("alert "+n+" resolve delay", b.resolve, x.resolve, tol.AlertDelay, tolStr))
	}
	return out
}

func delayDelta(figure string, b, n *time.Duration, tol time.Duration, tolStr string) Delta {
	d := Delta{Figure: figure, Base: delay(b), New: delay(n), Change: "-", Tolerance: tolStr}
	switch {
	case b == nil && n == nil:
		d.Result = Same
	case b == nil:
		d.Result = Info // fired or resolved only in the new run: the checks judge whether it should
	case n == nil:
		d.Result, d.Change = Regressed, "never"
	default:
		diff := *n - *b
		d.Change = fmt.Sprintf("%+.0fs", diff.Seconds())
		d.Result = judge(diff > tol, -diff > tol)
	}
	return d
}

type delays struct{ fire, resolve *time.Duration }

func alertDelays(r *Report) map[string]delays {
	var start, end time.Time
	for _, f := range r.Faults {
		if start.IsZero() || f.InjectedAt.Before(start) {
			start = f.InjectedAt
		}
		if f.RevertedAt.After(end) {
			end = f.RevertedAt
		}
	}
	out := map[string]delays{}
	if start.IsZero() {
		return out
	}
	type span struct {
		first, resolved time.Time
		stillFiring     bool
	}
	by := map[string]*span{}
	for _, a := range r.Alerts {
		s := by[a.Name]
		if s == nil {
			s = &span{}
			by[a.Name] = s
		}
		for _, tr := range a.Transitions {
			if tr.At.Before(start) {
				continue
			}
			if tr.To == "firing" && (s.first.IsZero() || tr.At.Before(s.first)) {
				s.first = tr.At
			}
			if tr.From == "firing" && tr.At.After(s.resolved) {
				s.resolved = tr.At
			}
		}
		if n := len(a.Transitions); n > 0 && a.Transitions[n-1].To == "firing" {
			s.stillFiring = true
		}
	}
	for name, s := range by {
		if s.first.IsZero() {
			continue
		}
		d := delays{}
		f := s.first.Sub(start)
		d.fire = &f
		if !s.stillFiring && !s.resolved.IsZero() && !end.IsZero() {
			r := s.resolved.Sub(end)
			d.resolve = &r
		}
		out[name] = d
	}
	return out
}

func judge(worse, better bool) string {
	switch {
	case worse:
		return Regressed
	case better:
		return Better
	}
	return Same
}

func passFail(p bool) string {
	if p {
		return "pass"
	}
	return "fail"
}

func secs(p *float64) string {
	if p == nil {
		return "never"
	}
	return fmt.Sprintf("%.1fs", *p)
}

func delay(d *time.Duration) string {
	if d == nil {
		return "never"
	}
	return fmt.Sprintf("%+.0fs", d.Seconds())
}

// percent renders diff as a share of base; not for a base under 1, where
// a share says more about the base than about the change.
func percent(diff, base float64) string {
	if base < 1 {
		return ""
	}
	return fmt.Sprintf(" (%+.0f%%)", 100*diff/base)
}

// Write prints the comparison as a table, one figure a line, and a last
// line naming the regressions.
func (c *Comparison) Write(w io.Writer, baseName, newName string) error {
	fmt.Fprintf(w, "compare %s: base %s, new %s\n", c.Scenario, baseName, newName)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  FIGURE\tBASE\tNEW\tCHANGE\tTOLERATED\tRESULT")
	for _, d := range c.Deltas {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", d.Figure, d.Base, d.New, d.Change, d.Tolerance, d.Result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r := c.Regressions(); len(r) > 0 {
		_, err := fmt.Fprintf(w, "regressed: %s\n", strings.Join(r, ", "))
		return err
	}
	_, err := fmt.Fprintln(w, "no regression")
	return err
}

// Newest returns the newest report (by started_at) in dir of the scenario
// called name, skipping skip (a path) and every file that is not a report
// this build reads; nil when there is none.
func Newest(dir, name, skip string) (*Report, string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, "", fmt.Errorf("newest report: %w", err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("newest report: %w", err)
	}
	var best *Report
	var bestPath string
	for _, p := range paths {
		if skip != "" && sameFile(p, skip) {
			continue
		}
		r, err := Read(p)
		if err != nil || r.ScenarioName() != name || r.Verdict == Aborted {
			continue // an aborted run is no baseline
		}
		if best == nil || r.StartedAt.After(best.StartedAt) {
			best, bestPath = r, p
		}
	}
	return best, bestPath, nil
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
