package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/load"
)

// coalesced makes live records at 20 req/s from t0 for d, each waiting for
// the remainder of a generation of length gen that it joins (the gate
// shares one generation between concurrent requests).
func coalesced(t0 time.Time, d, gen time.Duration) []load.Record {
	var rs []load.Record
	for at := time.Duration(0); at < d; at += 50 * time.Millisecond {
		wait := gen - at%gen + time.Millisecond
		rs = append(rs, load.Record{At: t0.Add(at), Code: 200, Source: "live", Latency: wait})
	}
	return rs
}

func TestLatencyProof(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := coalesced(t0, 30*time.Second, 3*time.Millisecond)
	from, to := t0.Add(30*time.Second), t0.Add(90*time.Second)

	slow := append(append([]load.Record(nil), base...), coalesced(from, 60*time.Second, 400*time.Millisecond)...)
	if p := latencyProof(slow, t0, from, from, to, 300*time.Millisecond); !p.OK || p.Samples != 1200 {
		t.Fatalf("a 400 ms generation under sharing did not prove a 300 ms fault: %+v", p)
	}
	// The broken variant: the fault API accepted the fault but nothing slowed.
	fast := append(append([]load.Record(nil), base...), coalesced(from, 60*time.Second, 3*time.Millisecond)...)
	if p := latencyProof(fast, t0, from, from, to, 300*time.Millisecond); p.OK {
		t.Fatalf("no added latency passed: %+v", p)
	}
	if p := latencyProof(base[:10], t0, from, from, to, 300*time.Millisecond); p.OK || !strings.HasPrefix(p.Detail, "no evidence:") {
		t.Fatalf("too few samples: %+v", p)
	}
}
