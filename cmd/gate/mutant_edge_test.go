//go:build gameday_broken_fallback500 || gameday_broken_livesha || gameday_broken_double_count || gameday_broken_conn_reset || gameday_broken_warning

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/ratelimit"
)

const (
	mutantToken = "mutant-test-token-000001"
	mutantAdmin = "mutant-test-admin-000002"
)

// mutantGate is a gate (direct) and this build's edge in front of it.
type mutantGate struct {
	direct, edged string // base URLs
}

// behindEdge starts a gate in-process with fault injection and the mutant
// edge of this build in front of it.
func behindEdge(t *testing.T) mutantGate {
	t.Helper()
	admin := auth.NewToken("admin", mutantAdmin)
	g := gatetest.Start(t, gate.Options{Tokens: []auth.Token{auth.NewToken("gameday", mutantToken)}, AdminToken: &admin,
		FaultInjection: true, BreakerCooldown: 300 * time.Millisecond,
		RateLimits: map[string]ratelimit.Policy{"gameday": {Limit: 1000, Window: time.Second}, "admin": {Limit: 1000, Window: time.Second}}})
	edge := newMutantEdge()
	edge.setBackend(g.URL)
	srv := httptest.NewServer(edge)
	t.Cleanup(srv.Close)
	return mutantGate{direct: g.URL, edged: srv.URL}
}

type mutantResponse struct {
	code   int
	header http.Header
	body   []byte
}

// call sends one request to base with token ("": none).
func call(t *testing.T, method, base, path, token, body string) mutantResponse {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return mutantResponse{code: resp.StatusCode, header: resp.Header, body: b}
}

func metricsOf(t *testing.T, base string) mutantResponse {
	t.Helper()
	return call(t, "GET", base, "/metrics", mutantToken, "")
}

// fallBack makes the gate fall back to its snapshot (a generator failure
// through its admin API) and checks that it does, on the gate itself.
func fallBack(t *testing.T, g mutantGate) {
	t.Helper()
	if r := call(t, "POST", g.direct, "/admin/faults/failure", mutantAdmin, `{"count":0,"ttl":"30s"}`); r.code != 201 {
		t.Fatalf("inject a generator failure: %d %s", r.code, r.body)
	}
	if r := metricsOf(t, g.direct); r.code != 200 || r.header.Get("X-Metrics-Source") != "snapshot" {
		t.Fatalf("the gate itself should fall back: %d %s", r.code, r.header.Get("X-Metrics-Source"))
	}
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
		{[]string{"--web.listen-address", "127.0.0.1:0", "--cache-dir", "/c"}, nil, "127.0.0.1:0"},
		{[]string{"--web.listen-address=127.0.0.1:7"}, nil, "127.0.0.1:7"},
		{[]string{"--listen", "127.0.0.1:9"}, nil, "127.0.0.1:9"},
		{nil, map[string]string{"GATE_LISTEN": "127.0.0.1:8"}, "127.0.0.1:8"},
		{nil, nil, gate.DefaultListen},
	} {
		args, public, err := mutantArgs(tc.args, env(tc.env))
		if err != nil || public != tc.public {
			t.Errorf("%q %v: edge on %q (%v), want %q", tc.args, tc.env, public, err, tc.public)
		}
		if n := len(args); n < 2 || args[n-2] != "--web.listen-address" || args[n-1] != "127.0.0.1:0" || slices.Contains(args[:n-2], "--listen") {
			t.Errorf("%q: gate args %q do not end with --web.listen-address 127.0.0.1:0 alone", tc.args, args)
		}
	}
	if _, _, err := mutantArgs([]string{"--log-file", "/l"}, env(nil)); err == nil {
		t.Error("--log-file accepted")
	}
	if _, _, err := mutantArgs(nil, env(map[string]string{"GATE_LOG_FILE": "/l"})); err == nil {
		t.Error("GATE_LOG_FILE accepted")
	}
	if _, _, err := mutantArgs([]string{"--web.config.file=/w.yml"}, env(nil)); err == nil {
		t.Error("--web.config.file accepted")
	}
}
