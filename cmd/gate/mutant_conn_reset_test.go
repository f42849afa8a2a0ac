//go:build gameday_broken_conn_reset

package main

import (
	"net/http"
	"testing"
)

// TestMutantConnReset: one /metrics request in connResetEvery gets no
// status, even on a kept-alive connection (no transparent retry).
func TestMutantConnReset(t *testing.T) {
	g := behindEdge(t)
	failed := 0
	for range connResetEvery {
		req, _ := http.NewRequest("GET", g.edged+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+mutantToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			failed++
			continue
		}
		resp.Body.Close()
	}
	if failed != 1 {
		t.Fatalf("%d of %d requests without a status, want 1", failed, connResetEvery)
	}
}
