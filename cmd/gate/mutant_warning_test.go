//go:build gameday_broken_warning

package main

import "testing"

// TestMutantNoWarning: this build serves its snapshot without the stale
// Warning, which the gate itself sends.
func TestMutantNoWarning(t *testing.T) {
	g := behindEdge(t)
	fallBack(t, g)
	if w := metricsOf(t, g.direct).header.Get("Warning"); w == "" {
		t.Fatal("the gate itself sent no Warning with its snapshot: the test proves nothing")
	}
	r := metricsOf(t, g.edged)
	if r.code != 200 || r.header.Get("X-Metrics-Source") != "snapshot" || r.header.Get("Warning") != "" {
		t.Fatalf("through the edge: %d, source %q, Warning %q; want the snapshot without a Warning", r.code, r.header.Get("X-Metrics-Source"), r.header.Get("Warning"))
	}
}
