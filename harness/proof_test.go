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

// pathBreaker is a scrape-path fault's proof inputs, for pathProof.
type pathBreaker struct {
	fails      bool
	added      time.Duration
	seen, gone bool
}

func (p pathBreaker) Toxic() string           { return "test" }
func (p pathBreaker) Fails() bool             { return p.fails }
func (p pathBreaker) Added() time.Duration    { return p.added }
func (p pathBreaker) ToxicSeen() (bool, bool) { return p.seen, p.gone }

// TestPathProof: a fault on the scrape path proves itself by the toxic on
// the path while injected and gone after, and by what the scrapes saw:
// failures for a black hole, added time for latency; each missing piece
// turns it red.
func TestPathProof(t *testing.T) {
	durs := func(d time.Duration, n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = d
		}
		return out
	}
	base := pathScrapes{took: durs(5*time.Millisecond, 8), all: 8, timeout: 4 * time.Second}
	dark := pathScrapes{took: durs(4*time.Second, 10), failed: 10, all: 10, timeout: 4 * time.Second}
	slow := pathScrapes{took: durs(2010*time.Millisecond, 10), all: 10, timeout: 4 * time.Second}
	for _, c := range []struct {
		name   string
		pb     pathBreaker
		during pathScrapes
		ok     bool
	}{
		{"a black hole, every scrape failed", pathBreaker{fails: true, seen: true, gone: true}, dark, true},
		{"a black hole the scrapes did not see", pathBreaker{fails: true, seen: true, gone: true}, base, false},
		{"a black hole never on the path", pathBreaker{fails: true, gone: true}, dark, false},
		{"a black hole never on the path, no scrape under it", pathBreaker{fails: true, gone: true}, pathScrapes{}, false},
		{"a black hole left on the path", pathBreaker{fails: true, seen: true}, dark, false},
		{"no scrape during the fault", pathBreaker{fails: true, seen: true, gone: true}, pathScrapes{}, false},
		{"2s latency, scrapes 2s slower", pathBreaker{added: 2 * time.Second, seen: true, gone: true}, slow, true},
		{"2s latency, scrapes 1.997s slower (measured)", pathBreaker{added: 2 * time.Second, seen: true, gone: true},
			pathScrapes{took: durs(2003*time.Millisecond, 10), all: 10, timeout: 4 * time.Second}, true},
		{"3s latency, scrapes 2s slower", pathBreaker{added: 3 * time.Second, seen: true, gone: true}, slow, false},
		{"10s latency, cut short by the 4s timeout", pathBreaker{added: 10 * time.Second, seen: true, gone: true}, dark, true},
	} {
		p := pathProof(c.pb, base, c.during)
		if p.OK != c.ok || p.Detail == "" {
			t.Errorf("%s: ok %v (%s), want %v", c.name, p.OK, p.Detail, c.ok)
		}
		// A toxic missing from the path is a finding, never a want of
		// evidence (which the mutant matrix does not count as caught).
		if seen, gone := c.pb.ToxicSeen(); (!seen || !gone) && (strings.HasPrefix(p.Detail, "no evidence") || p.Samples == 0) {
			t.Errorf("%s: %q with %d samples: the missing toxic reads as a want of evidence", c.name, p.Detail, p.Samples)
		}
	}
}
