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
