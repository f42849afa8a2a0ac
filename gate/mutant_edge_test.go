//go:build gameday_broken_fallback500 || gameday_broken_livesha || gameday_broken_double_count || gameday_broken_conn_reset

package gate_test

import (
	"net/http/httptest"
	"testing"

	"github.com/quannex/gameday/gate"
)

// behindEdge starts a gate and the mutant edge of this build in front of
// it; requests through the returned testGate go through the edge.
func behindEdge(t *testing.T) (direct, edged *testGate) {
	t.Helper()
	g := startGate(t, nil)
	edge := gate.NewMutantEdge()
	edge.SetBackend(g.url)
	srv := httptest.NewServer(edge)
	t.Cleanup(srv.Close)
	e := *g
	e.url = srv.URL
	return g, &e
}
