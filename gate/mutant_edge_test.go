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

// TestMutantArgsMoveTheGate: the edge takes the address the gate was asked
// for (flag, flag=value or GATE_LISTEN), the gate moves to a loopback port
// (last --listen wins), and a log file or TLS, which the edge could not
// read or speak, is refused.
func TestMutantArgsMoveTheGate(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		args   []string
		env    map[string]string
		public string
	}{
		{[]string{"--listen", "127.0.0.1:0", "--cache-dir", "/c"}, nil, "127.0.0.1:0"},
		{[]string{"-listen=127.0.0.1:7"}, nil, "127.0.0.1:7"},
		{nil, map[string]string{"GATE_LISTEN": "127.0.0.1:8"}, "127.0.0.1:8"},
		{nil, nil, gate.DefaultListen},
	} {
		args, public, err := gate.MutantArgs(tc.args, env(tc.env))
		if err != nil || public != tc.public {
			t.Errorf("%q %v: edge on %q (%v), want %q", tc.args, tc.env, public, err, tc.public)
		}
		if n := len(args); n < 2 || args[n-2] != "--listen" || args[n-1] != "127.0.0.1:0" {
			t.Errorf("%q: gate args %q do not end with --listen 127.0.0.1:0", tc.args, args)
		}
	}
	if _, _, err := gate.MutantArgs([]string{"--log-file", "/l"}, env(nil)); err == nil {
		t.Error("--log-file accepted")
	}
	if _, _, err := gate.MutantArgs(nil, env(map[string]string{"GATE_LOG_FILE": "/l"})); err == nil {
		t.Error("GATE_LOG_FILE accepted")
	}
	if _, _, err := gate.MutantArgs([]string{"--web.config.file=/w.yml"}, env(nil)); err == nil {
		t.Error("--web.config.file accepted")
	}
}
