package alerts

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

var rulesFile = filepath.Join("..", "..", "config", "alerts.yml")

// payload encodes reg in the text format.
func payload(t *testing.T, reg *prometheus.Registry) []byte {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		enc.Encode(mf)
	}
	return buf.Bytes()
}

// TestHighLatencyFiresAndResolves drives the production rules with a
// latency histogram: slow for 3 minutes, then fast. The real rules engine
// must take HighLatency through pending, firing and resolved, and leave
// every other alert alone.
func TestHighLatencyFiresAndResolves(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Options{RulesFile: rulesFile, Interval: 5 * time.Second, Job: "gate", Instance: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "quannex_metrics_request_duration_seconds", Help: "h",
		Buckets: []float64{0.05, 0.1, 0.2, 0.5, 1}}, []string{"source"})
	e2e := prometheus.NewGauge(prometheus.GaugeOpts{Name: "quannex_e2e_last_pass_timestamp_seconds", Help: "e"})
	reg.MustRegister(h, e2e)

	start := time.Now().Add(-20 * time.Minute).Truncate(time.Second)
	e2e.Set(float64(start.Unix()))
	var firedAt, resolvedAt time.Time
	for i := 0; i < 12*8; i++ { // 8 minutes at 5s
		ts := start.Add(time.Duration(i) * 5 * time.Second)
		lat := 0.01
		if i >= 12 && i < 12*4 { // minutes 1 to 4: slow
			lat = 0.4
		}
		for range 100 {
			h.WithLabelValues("live").Observe(lat)
		}
		if err := e.Ingest(Origin{Job: "quannex-gate-self", Instance: "test"}, payload(t, reg), "", ts); err != nil {
			t.Fatal(err)
		}
		for _, tr := range e.Eval(ctx, ts) {
			if tr.Alert != "HighLatency" {
				// With no history before the slow minutes, the latency
				// burn-rate alert may go pending; it must not fire.
				if tr.To == StateFiring {
					t.Fatalf("unexpected alert fired: %+v", tr)
				}
				continue
			}
			if tr.To == StateFiring {
				firedAt = ts
			}
			if tr.From == StateFiring && tr.To == StateInactive {
				resolvedAt = ts
			}
		}
	}
	slowStart := start.Add(time.Minute)
	if firedAt.IsZero() || firedAt.Sub(slowStart) > 90*time.Second || firedAt.Sub(slowStart) < time.Minute {
		t.Fatalf("HighLatency fired %v after the latency began, want between the 1m `for` and 90s", firedAt.Sub(slowStart))
	}
	if resolvedAt.IsZero() || resolvedAt.Sub(start.Add(4*time.Minute)) > 90*time.Second {
		t.Fatalf("HighLatency resolved %v after the latency ended", resolvedAt.Sub(start.Add(4*time.Minute)))
	}
	var tl []Timeline
	for _, a := range e.Timeline() {
		if a.Name == "HighLatency" {
			tl = append(tl, a)
		}
	}
	if len(tl) != 1 || tl[0].PendingAt == nil || tl[0].FiringAt == nil || tl[0].ResolvedAt == nil || tl[0].Severity != "warning" {
		t.Fatalf("timeline %+v", tl)
	}
}

func TestBadRulesFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	writeFile(t, bad, "groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: rate(x[\n")
	if _, err := New(context.Background(), Options{RulesFile: bad, Interval: time.Second}); err == nil {
		t.Fatal("a rules file that does not parse was accepted")
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
