//go:build gameday_broken_double_count

package main

import (
	"encoding/json"
	"testing"
)

// TestMutantDoubleCount: each response through this build is served twice
// by the gate.
func TestMutantDoubleCount(t *testing.T) {
	g := behindEdge(t)
	live := func() int64 {
		var st struct{ Counters struct{ Live int64 } }
		json.Unmarshal(call(t, "GET", g.direct, "/metrics/selftest", mutantToken, "").body, &st)
		return st.Counters.Live
	}
	before := live()
	for range 3 {
		if r := metricsOf(t, g.edged); r.code != 200 {
			t.Fatalf("through the edge: %d", r.code)
		}
	}
	if got := live() - before; got != 6 {
		t.Fatalf("the gate served %d live responses for 3, want 6", got)
	}
}
