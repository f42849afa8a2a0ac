package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run reads a real report from testdata; every call returns a fresh copy
// a test may edit.
func run(t *testing.T, name string) *Report {
	t.Helper()
	r, err := Read(filepath.Join("testdata", "runs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var tol = DefaultTolerances(5 * time.Second)

func compare(t *testing.T, base, next *Report) *Comparison {
	t.Helper()
	c, err := Compare(base, next, tol)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func result(t *testing.T, c *Comparison, figure string) string {
	t.Helper()
	for _, d := range c.Deltas {
		if d.Figure == figure {
			return d.Result
		}
	}
	t.Fatalf("no figure %q in %+v", figure, c.Deltas)
	return ""
}

func f64(v float64) *float64 { return &v }

// shiftTransition moves by d the transitions of the alerts called name
// into state to ("firing": the fire delay) or, for "inactive", out of
// firing (the resolve delay).
func shiftTransition(r *Report, name, to string, d time.Duration) {
	for i := range r.Alerts {
		if r.Alerts[i].Name != name {
			continue
		}
		for j := range r.Alerts[i].Transitions {
			tr := &r.Alerts[i].Transitions[j]
			if tr.To == to || (to == "inactive" && tr.From == "firing") {
				tr.At = tr.At.Add(d)
			}
		}
	}
}

func TestCompareEachToleratedFigure(t *testing.T) {
	for _, tc := range []struct {
		name, figure string
		edit         func(base, next *Report)
		want         string
	}{
		{"same run", "recovery_seconds", func(b, n *Report) {}, Same},
		{"recovery +10s only", "recovery_seconds", func(b, n *Report) { n.RecoverySeconds = f64(*b.RecoverySeconds + 10) }, Same},
		{"recovery +11s from near 0", "recovery_seconds", func(b, n *Report) { n.RecoverySeconds = f64(*b.RecoverySeconds + 11) }, Regressed},
		{"recovery +15s of 100s is 15%", "recovery_seconds", func(b, n *Report) { b.RecoverySeconds, n.RecoverySeconds = f64(100), f64(115) }, Same},
		{"recovery +25s of 100s", "recovery_seconds", func(b, n *Report) { b.RecoverySeconds, n.RecoverySeconds = f64(100), f64(125) }, Regressed},
		{"never recovered", "recovery_seconds", func(b, n *Report) { n.RecoverySeconds = nil }, Regressed},
		{"recovered, base never", "recovery_seconds", func(b, n *Report) { b.RecoverySeconds = nil }, Better},
		{"fire +15s", "alert HighLatency fire delay", func(b, n *Report) { shiftTransition(n, "HighLatency", "firing", 15*time.Second) }, Same},
		{"fire +16s", "alert HighLatency fire delay", func(b, n *Report) { shiftTransition(n, "HighLatency", "firing", 16*time.Second) }, Regressed},
		{"fire earlier", "alert HighLatency fire delay", func(b, n *Report) { shiftTransition(n, "HighLatency", "firing", -20*time.Second) }, Better},
		{"fire a little earlier", "alert HighLatency fire delay", func(b, n *Report) { shiftTransition(n, "HighLatency", "firing", -10*time.Second) }, Same},
		{"recovery a little faster", "recovery_seconds", func(b, n *Report) { b.RecoverySeconds, n.RecoverySeconds = f64(100), f64(95) }, Same},
		{"recovery much faster", "recovery_seconds", func(b, n *Report) { b.RecoverySeconds, n.RecoverySeconds = f64(100), f64(50) }, Better},
		{"resolve +16s", "alert HighLatency resolve delay", func(b, n *Report) { shiftTransition(n, "HighLatency", "inactive", 16*time.Second) }, Regressed},
		{"never resolved", "alert HighLatency resolve delay", func(b, n *Report) {
			for i := range n.Alerts {
				if n.Alerts[i].Name == "HighLatency" {
					n.Alerts[i].Transitions = n.Alerts[i].Transitions[:2]
				}
			}
		}, Regressed},
		{"p95 +19%", "p95_during_fault_ms", func(b, n *Report) { n.Load.DuringFault = &Window{P95Ms: b.Load.DuringFault.P95Ms * 1.19} }, Same},
		{"p95 +21%", "p95_during_fault_ms", func(b, n *Report) { n.Load.DuringFault = &Window{P95Ms: b.Load.DuringFault.P95Ms * 1.21} }, Regressed},
		{"p95 +25% of 3ms", "p95_during_fault_ms", func(b, n *Report) {
			b.Load.DuringFault, n.Load.DuringFault = &Window{P95Ms: 3.1}, &Window{P95Ms: 3.9}
		}, Same},
		{"p95 halved", "p95_during_fault_ms", func(b, n *Report) { n.Load.DuringFault = &Window{P95Ms: b.Load.DuringFault.P95Ms / 2} }, Better},
		{"score +5", "score", func(b, n *Report) { b.Score, n.Score, n.ScoreBreakdown = 90, 95, []ScoreItem{} }, Same},
		{"score -5", "score", func(b, n *Report) { n.Score, n.ScoreBreakdown = b.Score-5, []ScoreItem{} }, Same},
		{"score -5.1", "score", func(b, n *Report) { n.Score, n.ScoreBreakdown = b.Score-5.1, []ScoreItem{} }, Regressed},
		{"check pass to fail", "check no_5xx", func(b, n *Report) { n.Checks[1].Pass = false }, Regressed},
		{"check fail to pass", "check fault_achieved:generator-latency", func(b, n *Report) { n.Checks[11].Pass = true }, Better},
		{"check gone", "check counters_agree", func(b, n *Report) { n.Checks = append(n.Checks[:9], n.Checks[10:]...) }, Regressed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, next := run(t, "latency"), run(t, "latency")
			base.Score, base.ScoreBreakdown = base.Scored()
			tc.edit(base, next)
			c := compare(t, base, next)
			if got := result(t, c, tc.figure); got != tc.want {
				t.Errorf("%s: %s, want %s", tc.figure, got, tc.want)
			}
			if regressed := len(c.Regressions()) > 0; regressed != (tc.want == Regressed) {
				t.Errorf("regressions %v", c.Regressions())
			}
		})
	}
}

func TestCompareRefusesAnotherSpec(t *testing.T) {
	edit := func(r *Report, f func(spec map[string]any)) {
		var spec map[string]any
		json.Unmarshal(r.Scenario, &spec)
		f(spec)
		r.Scenario, _ = json.Marshal(spec)
	}
	for _, tc := range []struct {
		name, field string
		edit        func(r *Report)
	}{
		{"seed", "scenario.seed", func(r *Report) { edit(r, func(s map[string]any) { s["seed"] = 4.0 }) }},
		{"fault duration", "scenario.faults[0].duration", func(r *Report) {
			edit(r, func(s map[string]any) { s["faults"].([]any)[0].(map[string]any)["duration"] = "2m0s" })
		}},
		{"an expected alert more", "scenario.expect.alerts[1]", func(r *Report) {
			edit(r, func(s map[string]any) {
				e := s["expect"].(map[string]any)
				e["alerts"] = append(e["alerts"].([]any), map[string]any{"name": "X"})
			})
		}},
		{"target kind", "target.kind", func(r *Report) { r.Target.Kind = "container" }},
		{"an aborted run", "verdict", func(r *Report) { r.Verdict, r.Abort = Aborted, &Abort{Condition: "operator"} }},
		{"another scenario", "scenario.name", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, next := run(t, "latency"), run(t, "latency")
			if tc.edit != nil {
				tc.edit(next)
			} else {
				next = run(t, "io-glitch-short")
				next.Target.Kind = base.Target.Kind
			}
			_, err := Compare(base, next, tol)
			var nc *NotComparableError
			if !errors.As(err, &nc) || !errors.Is(err, ErrNotComparable) || nc.Field != tc.field {
				t.Fatalf("err %v, want the field %s", err, tc.field)
			}
		})
	}
	// Key order, spacing and prose do not make another spec.
	base, next := run(t, "latency"), run(t, "latency")
	edit(next, func(s map[string]any) { s["description"] = "reworded"; s["labels"] = []any{"x"} })
	if _, err := Compare(base, next, tol); err != nil {
		t.Fatalf("prose changed: %v", err)
	}
}

func TestToleranceValidateNamesTheField(t *testing.T) {
	bad := tol
	bad.P95Percent = -1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "p95_percent") {
		t.Fatalf("err %v", err)
	}
	if _, err := Compare(run(t, "latency"), run(t, "latency"), bad); err == nil {
		t.Fatal("a negative tolerance was accepted")
	}
}

func TestCompareGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		base   string
		edit   func(n *Report)
	}{
		{"compare-same.golden", "io-glitch-short", func(n *Report) {}},
		{"compare-regressed.golden", "latency", func(n *Report) {
			n.RecoverySeconds = f64(42)
			shiftTransition(n, "HighLatency", "firing", 30*time.Second)
			shiftTransition(n, "HighLatency", "inactive", 5*time.Second)
			n.Load.DuringFault.P95Ms *= 1.5
			n.Load.DuringFault.LiveRatio = 0.9
			n.Checks[3].Pass = false // p95_during_fault
			n.Checks[7].Pass = false // recovery
			n.Score, n.ScoreBreakdown = ScoreOf(n.Checks, "")
		}},
		{"compare-better.golden", "latency", func(n *Report) {
			n.Checks[11].Pass = true // fault_achieved:generator-latency
			n.Score, n.ScoreBreakdown = ScoreOf(n.Checks, "")
			shiftTransition(n, "HighLatency", "firing", -20*time.Second)
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			base, next := run(t, tc.base), run(t, tc.base)
			tc.edit(next)
			var b bytes.Buffer
			if err := compare(t, base, next).Write(&b, "base.json", "new.json"); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, b.Bytes())
		})
	}
}

func TestNewest(t *testing.T) {
	dir := t.TempDir()
	old, mid, other, aborted := run(t, "latency"), run(t, "latency"), run(t, "io-glitch-short"), run(t, "latency")
	mid.StartedAt = old.StartedAt.Add(time.Hour)
	other.StartedAt = old.StartedAt.Add(2 * time.Hour)
	// The newest of its scenario, but aborted: no baseline.
	aborted.StartedAt, aborted.Verdict, aborted.Abort = old.StartedAt.Add(3*time.Hour), Aborted, &Abort{Condition: "operator"}
	var paths []string
	for _, r := range []*Report{old, mid, other, aborted} {
		p, err := Write(dir, r.ScenarioName(), r)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// Not reports: skipped.
	writeFile(t, filepath.Join(dir, "ginkgo-report.json"), `[{"SuitePath": "x"}]`)
	writeFile(t, filepath.Join(dir, "latency-broken.json"), `{`)
	r, p, err := Newest(dir, "latency", "")
	if err != nil || p != paths[1] || !r.StartedAt.Equal(mid.StartedAt) {
		t.Fatalf("newest %s %v", p, err)
	}
	if _, p, _ := Newest(dir, "latency", paths[1]); p != paths[0] {
		t.Fatalf("skipping the newest: %s", p)
	}
	if r, _, err := Newest(dir, "cpu-spike", ""); r != nil || err != nil {
		t.Fatalf("none: %v %v", r, err)
	}
	if _, _, err := Newest(filepath.Join(dir, "missing"), "latency", ""); err == nil {
		t.Fatal("a missing directory was not an error")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
