package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestALERTSIsQueryable: the rules engine writes the ALERTS series into
// the TSDB as a Prometheus server does, so a stop condition on
// ALERTS{alertname=…,alertstate="firing"} sees an alert the moment it
// fires, and not before.
func TestALERTSIsQueryable(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Options{RulesFile: rulesFile, Interval: 5 * time.Second, Job: "gate", Instance: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "quannex_circuit_breaker_state", Help: "h"}, []string{"state"})
	reg.MustRegister(g)
	g.WithLabelValues("open").Set(1)
	const firing = `ALERTS{alertname="CircuitBreakerActive", alertstate="firing"}`
	start := time.Now().Add(-5 * time.Minute)
	var firedAt time.Time
	for i := range 12 {
		ts := start.Add(time.Duration(i) * 5 * time.Second)
		if err := e.Ingest(Origin{Job: "quannex-gate-self", Instance: "test"}, payload(t, reg), "", ts); err != nil {
			t.Fatal(err)
		}
		for _, tr := range e.Eval(ctx, ts) {
			if tr.Alert == "CircuitBreakerActive" && tr.To == StateFiring {
				firedAt = ts
			}
		}
		vec, err := e.Query(ctx, firing, ts)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(vec) > 0, !firedAt.IsZero(); got != want {
			t.Fatalf("at +%s: ALERTS firing %v, the evaluator's timeline says %v", ts.Sub(start), got, want)
		}
	}
	if firedAt.IsZero() {
		t.Fatal("the breaker alert never fired: the test proves nothing")
	}
}

// TestFailedScrapeMarksSeriesStale: as Prometheus's scrape loop does, a
// failed scrape ends every series of its target at once, and a scrape
// that lacks one series ends that one; the others, and up, stay. Without
// the markers a dark scrape path would leave the gate's last values
// visible for five minutes, for rules to judge.
func TestFailedScrapeMarksSeriesStale(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Options{RulesFile: rulesFile, Interval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "quannex_circuit_breaker_state", Help: "h"}, []string{"state"})
	reg.MustRegister(g)
	g.WithLabelValues("open").Set(1)
	g.WithLabelValues("closed").Set(0)
	at := time.Now().Add(-time.Minute)
	origin := Origin{Job: "quannex-gate-self", Instance: "test"}
	count := func(expr string, ts time.Time) int {
		t.Helper()
		vec, err := e.Query(ctx, expr, ts)
		if err != nil {
			t.Fatal(err)
		}
		return len(vec)
	}
	if err := e.Ingest(origin, payload(t, reg), "", at); err != nil {
		t.Fatal(err)
	}
	if n := count("quannex_circuit_breaker_state", at); n != 2 {
		t.Fatalf("after a scrape: %d breaker series, want 2", n)
	}
	g.DeleteLabelValues("open")
	if err := e.Ingest(origin, payload(t, reg), "", at.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := count(`quannex_circuit_breaker_state{state="open"}`, at.Add(5*time.Second)); n != 0 {
		t.Fatal("a series the last scrape lacked is still visible")
	}
	if n := count(`quannex_circuit_breaker_state{state="closed"}`, at.Add(5*time.Second)); n != 1 {
		t.Fatal("a series the last scrape had is gone")
	}
	if err := e.Ingest(origin, nil, "", at.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := count("quannex_circuit_breaker_state", at.Add(10*time.Second)); n != 0 {
		t.Fatalf("after a failed scrape: %d breaker series still visible, want none", n)
	}
	if n := count(`up{job="quannex-gate-self"} == 0`, at.Add(10*time.Second)); n != 1 {
		t.Fatal("after a failed scrape: up is not 0")
	}
	if err := e.Ingest(origin, payload(t, reg), "", at.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := count("quannex_circuit_breaker_state", at.Add(15*time.Second)); n != 1 {
		t.Fatalf("after the scrapes came back: %d breaker series, want 1", n)
	}
}
