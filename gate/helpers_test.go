package gate_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/ratelimit"
)

// Test credentials. The secrets test asserts none of them ever shows up in
// logs, the audit log or responses.
const (
	scraperToken = "scraper-SECRET-token-0001"
	gamedayToken = "gameday-SECRET-token-0002"
	adminToken   = "admin-SECRET-token-000003"
)

var allSecrets = []string{scraperToken, gamedayToken, adminToken}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testGate struct {
	*gate.Server
	url   string
	logs  *syncBuffer
	opts  gate.Options
	stop  func()
	dir   string
	audit string
}

// defaultOptions: three callers, the gameday one with a high limit, admin
// and fault injection on, short breaker cooldown.
func defaultOptions(t *testing.T, dir string) gate.Options {
	t.Helper()
	toks, err := auth.ParseList("scraper:" + scraperToken + ",gameday:" + gamedayToken)
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.NewToken("admin", adminToken)
	return gatetest.Options(dir, gate.Options{
		Tokens:          toks,
		AdminToken:      &admin,
		RateLimits:      map[string]ratelimit.Policy{"gameday": {Limit: 1000, Window: time.Second}, "admin": {Limit: 1000, Window: time.Second}},
		FaultInjection:  true,
		BreakerCooldown: 300 * time.Millisecond,
	})
}

// startGate runs a gate in-process on a real loopback listener until the
// test ends.
func startGate(t *testing.T, mutate func(*gate.Options)) *testGate {
	t.Helper()
	dir := t.TempDir()
	return startGateIn(t, dir, mutate)
}

func startGateIn(t *testing.T, dir string, mutate func(*gate.Options)) *testGate {
	t.Helper()
	opts, logs := gateOptions(t, dir, mutate)
	srv, err := gate.New(opts)
	if err != nil {
		t.Fatalf("gate.New: %v", err)
	}
	return serveGate(t, srv, opts, logs, dir)
}

// gateOptions are defaultOptions with a debug logger into logs, changed by
// mutate.
func gateOptions(t *testing.T, dir string, mutate func(*gate.Options)) (gate.Options, *syncBuffer) {
	t.Helper()
	opts := defaultOptions(t, dir)
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if mutate != nil {
		mutate(&opts)
	}
	return opts, logs
}

// serveGate serves srv, made by gate.New(opts), until the test ends.
func serveGate(t *testing.T, srv *gate.Server, opts gate.Options, logs *syncBuffer, dir string) *testGate {
	t.Helper()
	g := gatetest.Serve(t, srv, opts)
	return &testGate{Server: srv, url: g.URL, logs: logs, opts: opts, stop: g.Stop, dir: dir, audit: opts.AuditLog}
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) String() string { return string(r.body) }

// do sends one request; token "" sends no Authorization header.
func (g *testGate) do(t *testing.T, method, path, token string, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

func (g *testGate) metrics(t *testing.T) response {
	t.Helper()
	return g.do(t, "GET", "/metrics", gamedayToken, "")
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// value reads the series name{labels} from the gate's registry: a counter's
// or a gauge's value, -1 when there is no such series.
func (g *testGate) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Registry().Gather()
	if err != nil && len(mfs) == 0 { // an embedder's broken collector leaves the rest
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}
