package alerts

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// healthyGate is a registry shaped like the gate's: requests by source and
// code, the latency histogram, the breaker state and the e2e pass time.
type healthyGate struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	breaker  *prometheus.GaugeVec
}

func newHealthyGate(e2e time.Time) *healthyGate {
	g := &healthyGate{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "quannex_metrics_requests_total", Help: "r"}, []string{"source", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "quannex_metrics_request_duration_seconds", Help: "d",
			Buckets: []float64{0.05, 0.1, 0.2, 0.5, 1}}, []string{"source"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "quannex_circuit_breaker_state", Help: "b"}, []string{"state"}),
	}
	last := prometheus.NewGauge(prometheus.GaugeOpts{Name: "quannex_e2e_last_pass_timestamp_seconds", Help: "e"})
	last.Set(float64(e2e.Unix()))
	g.reg.MustRegister(g.requests, g.duration, g.breaker, last)
	// The gate creates both sources at zero (gate.go), so the snapshot
	// series exists before the first fallback.
	g.requests.WithLabelValues("live", "200")
	g.requests.WithLabelValues("snapshot", "200")
	for _, s := range []string{"closed", "open", "half_open"} {
		g.breaker.WithLabelValues(s)
	}
	g.breaker.WithLabelValues("closed").Set(1)
	return g
}

// serve records n responses from source, each taking lat.
func (g *healthyGate) serve(source string, n int, lat float64) {
	g.requests.WithLabelValues(source, "200").Add(float64(n))
	for range n {
		g.duration.WithLabelValues(source).Observe(lat)
	}
}

func (g *healthyGate) breakerOpen(open bool) {
	v := 0.0
	if open {
		v = 1
	}
	g.breaker.WithLabelValues("open").Set(v)
	g.breaker.WithLabelValues("closed").Set(1 - v)
}

func newEvaluator(t *testing.T, rules string) *Evaluator {
	t.Helper()
	e, err := New(context.Background(), Options{RulesFile: rules, Interval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// both ingests one payload as both jobs of config/prometheus.yml scrape it.
func both(t *testing.T, e *Evaluator, instance string, body []byte, ts time.Time) {
	t.Helper()
	for _, job := range []string{"quannex-gate", "quannex-gate-self"} {
		if err := e.Ingest(Origin{Job: job, Instance: instance}, body, "", ts); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHealthyGateRaisesNothing: a healthy gate, 20 responses a second, all
// live and fast, scraped every 5 s by both jobs for 10 minutes of synthetic
// time. No alert may leave inactive, not even for one evaluation; the
// burn-rate alerts used to flip pending/inactive every 5 s.
func TestHealthyGateRaisesNothing(t *testing.T) {
	ctx := context.Background()
	e := newEvaluator(t, rulesFile)
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	g := newHealthyGate(start)
	for i := range 12 * 10 {
		ts := start.Add(time.Duration(i) * 5 * time.Second)
		g.serve("live", 100, 0.01)
		both(t, e, "gate:3000", payload(t, g.reg), ts)
		for _, tr := range e.Eval(ctx, ts) {
			t.Errorf("%s: %s%v %s -> %s on a healthy gate", ts.Sub(start), tr.Alert, tr.Labels, tr.From, tr.To)
		}
	}
	if tl := e.Timeline(); len(tl) != 0 {
		t.Errorf("timeline of a healthy gate: %+v", tl)
	}
}

// TestTimelinePerLabelSet: a rule that fires, resolves and fires again on
// one instance, and fires once on another. Each instance gets its own
// timeline with every transition.
func TestTimelinePerLabelSet(t *testing.T) {
	ctx := context.Background()
	rules := filepath.Join(t.TempDir(), "rules.yml")
	writeFile(t, rules, `groups:
  - name: g
    rules:
      - alert: Open
        expr: max by (instance) (quannex_circuit_breaker_state{job="quannex-gate-self",state="open"}) == 1
        for: 10s
        labels: {severity: critical}
`)
	e := newEvaluator(t, rules)
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	a, b := newHealthyGate(start), newHealthyGate(start)
	// Per 5 s step: a opens at 1..6 and 10..15, b at 3..8.
	openA := func(i int) bool { return (i >= 1 && i <= 6) || (i >= 10 && i <= 15) }
	openB := func(i int) bool { return i >= 3 && i <= 8 }
	for i := range 20 {
		ts := start.Add(time.Duration(i) * 5 * time.Second)
		a.breakerOpen(openA(i))
		b.breakerOpen(openB(i))
		both(t, e, "a:3000", payload(t, a.reg), ts)
		both(t, e, "b:3000", payload(t, b.reg), ts)
		e.Eval(ctx, ts)
		if i == 4 {
			if st := e.States()["Open"]; st != StateFiring {
				t.Errorf("States at step 4: Open %s, want firing (a fires at step 3)", st)
			}
		}
	}
	if st := e.States()["Open"]; st != StateInactive {
		t.Errorf("States at the end: Open %s, want inactive", st)
	}
	tl := e.Timeline()
	if len(tl) != 2 {
		t.Fatalf("want one timeline per instance, got %d: %+v", len(tl), tl)
	}
	at := func(i int) time.Time { return start.Add(time.Duration(i) * 5 * time.Second).UTC() }
	ta, tb := tl[0], tl[1]
	if ta.Labels["instance"] != "a:3000" || tb.Labels["instance"] != "b:3000" {
		t.Fatalf("timelines not sorted by labels: %v, %v", ta.Labels, tb.Labels)
	}
	if ta.Name != "Open" || ta.Severity != "critical" || ta.Labels["severity"] != "critical" {
		t.Errorf("name, severity: %+v", ta)
	}
	want := []Transition{
		{At: at(1), From: StateInactive, To: StatePending},
		{At: at(3), From: StatePending, To: StateFiring},
		{At: at(7), From: StateFiring, To: StateInactive},
		{At: at(10), From: StateInactive, To: StatePending},
		{At: at(12), From: StatePending, To: StateFiring},
		{At: at(16), From: StateFiring, To: StateInactive},
	}
	if !equalTransitions(ta.Transitions, want) {
		t.Errorf("a's transitions:\n got %v\nwant %v", ta.Transitions, want)
	}
	if ta.Firings != 2 {
		t.Errorf("a fired %d times, want 2", ta.Firings)
	}
	if ta.PendingAt == nil || !ta.PendingAt.Equal(at(1)) || ta.FiringAt == nil || !ta.FiringAt.Equal(at(3)) ||
		ta.ResolvedAt == nil || !ta.ResolvedAt.Equal(at(16)) {
		t.Errorf("a: first pending %v, first firing %v, last resolved %v", ta.PendingAt, ta.FiringAt, ta.ResolvedAt)
	}
	if tb.Firings != 1 || len(tb.Transitions) != 3 || tb.FiringAt == nil || !tb.FiringAt.Equal(at(5)) || tb.ResolvedAt == nil || !tb.ResolvedAt.Equal(at(9)) {
		t.Errorf("b: %+v", tb)
	}
}

func equalTransitions(a, b []Transition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].At.Equal(b[i].At) || a[i].From != b[i].From || a[i].To != b[i].To {
			return false
		}
	}
	return true
}

// TestBurnRateWindowsDoNotFlap: an io-glitch-shaped run (30 s live, 60 s of
// snapshots, then live) through the production rules. LiveRatioBudgetBurn
// is four rules of one name, one per window (label window). With a few
// minutes of history every long window holds the whole run, so the 6h, 1d
// and 3d windows go pending; 6h resolves once its 30m ratio drops, 1d and 3d
// stay pending (their `for` is 1h and 3h), as on a Prometheus server.
//
// The evaluator used to keep one state per alert name: within every
// evaluation it read the 6h rule as pending, then the 1h rule (or the next
// one) as inactive, and reported pending/inactive flips every 5 s for as
// long as any window but the last was pending, that is, for the rest of
// the run. Each window is now its own alert; none may flip.
func TestBurnRateWindowsDoNotFlap(t *testing.T) {
	ctx := context.Background()
	e := newEvaluator(t, rulesFile)
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	g := newHealthyGate(start)
	prev, changes := StateInactive, 0
	for i := range 12 * 6 {
		ts := start.Add(time.Duration(i) * 5 * time.Second)
		src := "live"
		if i >= 6 && i < 18 {
			src = "snapshot"
		}
		g.serve(src, 100, 0.01)
		both(t, e, "gate:3000", payload(t, g.reg), ts)
		for _, tr := range e.Eval(ctx, ts) {
			t.Logf("%s: %s%v %s -> %s", ts.Sub(start), tr.Alert, tr.Labels, tr.From, tr.To)
		}
		if st := e.States()["LiveRatioBudgetBurn"]; st != prev {
			prev = st
			changes++
		}
	}
	windows := map[string][]Transition{}
	for _, a := range e.Timeline() {
		if a.Name == "LiveRatioBudgetBurn" {
			if a.Labels["instance"] != "gate:3000" || a.Labels["slo"] != "live-ratio" {
				t.Errorf("labels %v", a.Labels)
			}
			windows[a.Labels["window"]] = a.Transitions
		}
	}
	pending := []Transition{{From: StateInactive, To: StatePending}}
	want := map[string][]Transition{
		"6h": {{From: StateInactive, To: StatePending}, {From: StatePending, To: StateInactive}},
		"1d": pending, "3d": pending,
	}
	if len(windows) != len(want) {
		t.Errorf("LiveRatioBudgetBurn windows %v, want 6h, 1d and 3d", windows)
	}
	for w, tr := range want {
		got := windows[w]
		if len(got) != len(tr) {
			t.Errorf("window %s: transitions %v, want %v", w, got, tr)
			continue
		}
		for i := range tr {
			if got[i].From != tr[i].From || got[i].To != tr[i].To {
				t.Errorf("window %s: transitions %v, want %v", w, got, tr)
			}
		}
	}
	if changes != 1 {
		t.Errorf("the per-name state of LiveRatioBudgetBurn changed %d times, want once (to pending)", changes)
	}
}
