//go:build gameday_broken_conn_reset

package gate_test

import (
	"net/http"
	"testing"

	"github.com/quannex/gameday/gate"
)

// TestMutantConnReset: one /metrics request in ConnResetEvery gets no
// status, even on a kept-alive connection (no transparent retry).
func TestMutantConnReset(t *testing.T) {
	_, e := behindEdge(t)
	failed := 0
	for range gate.ConnResetEvery {
		req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+gamedayToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			failed++
			continue
		}
		resp.Body.Close()
	}
	if failed != 1 {
		t.Fatalf("%d of %d requests without a status, want 1", failed, gate.ConnResetEvery)
	}
}
