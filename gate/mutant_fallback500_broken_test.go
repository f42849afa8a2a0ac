//go:build gameday_broken_fallback500

package gate_test

import "testing"

// TestMutantFallback500: where the gate falls back to its snapshot, this
// build answers 500.
func TestMutantFallback500(t *testing.T) {
	g, e := behindEdge(t)
	if r := e.metrics(t); r.code != 200 || r.header.Get("X-Metrics-Source") != "live" {
		t.Fatalf("live through the edge: %d %s", r.code, r.header.Get("X-Metrics-Source"))
	}
	if r := g.do(t, "POST", "/admin/faults/failure", adminToken, `{"count":0,"ttl":"30s"}`); r.code != 201 {
		t.Fatalf("inject a generator failure: %d %s", r.code, r)
	}
	if r := g.metrics(t); r.code != 200 || r.header.Get("X-Metrics-Source") != "snapshot" {
		t.Fatalf("the gate itself should fall back: %d %s", r.code, r.header.Get("X-Metrics-Source"))
	}
	if r := e.metrics(t); r.code != 500 {
		t.Fatalf("through the edge: %d, want 500", r.code)
	}
}
