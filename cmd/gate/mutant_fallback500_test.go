//go:build gameday_broken_fallback500

package main

import "testing"

// TestMutantFallback500: where the gate falls back to its snapshot, this
// build answers 500.
func TestMutantFallback500(t *testing.T) {
	g := behindEdge(t)
	if r := metricsOf(t, g.edged); r.code != 200 || r.header.Get("X-Metrics-Source") != "live" {
		t.Fatalf("live through the edge: %d %s", r.code, r.header.Get("X-Metrics-Source"))
	}
	fallBack(t, g)
	if r := metricsOf(t, g.edged); r.code != 500 {
		t.Fatalf("through the edge: %d, want 500", r.code)
	}
}
