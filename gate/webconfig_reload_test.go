package gate_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/metrics"
)

// A web config or certificate broken while the gate runs never turns into
// a 500: new connections get the last good certificate, connections
// already open keep being answered, and a good certificate put in place
// afterwards is served to the next connection.
func TestBrokenWebConfigKeepsTheLastGoodCertificate(t *testing.T) {
	ca := newTestCA(t, "test CA")
	g, dir := startTLSGate(t, ca, "")
	cfg := &tls.Config{RootCAs: ca.pool}
	open := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 1}}
	getOpen := func(what string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://"+g.Addr().String()+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+gamedayToken)
		resp, err := open.Do(req)
		if err != nil {
			t.Fatalf("%s: the open connection: %v", what, err)
		}
		io.Copy(io.Discard, resp.Body) // drained, so the connection stays open for the next request
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: the open connection answered %d", what, resp.StatusCode)
		}
	}
	served := func(what string) string {
		t.Helper()
		resp, _, err := tlsGet(g, cfg, "/metrics", gamedayToken)
		if err != nil {
			t.Fatalf("%s: a new connection: %v", what, err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: a new connection answered %d", what, resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	getOpen("before")
	if cn := served("before"); cn != "gate-1" {
		t.Fatalf("served %q, want gate-1", cn)
	}
	if v := gauge(t, g, metrics.WebConfigReloadOK); v != 1 {
		t.Fatalf("%s = %v before anything broke, want 1", metrics.WebConfigReloadOK, v)
	}
	good := []byte(readFile(t, filepath.Join(dir, "web.yml")))
	for _, b := range []struct{ what, file, body string }{
		{"certificate replaced by garbage", "server.crt", "not a certificate\n"},
		{"key replaced by garbage", "server.key", "not a key\n"},
		{"web config replaced by garbage", "web.yml", "tls_server_config: [\n"},
		{"web config naming a missing file", "web.yml", "tls_server_config:\n  cert_file: absent.crt\n  key_file: server.key\n"},
		{"web config with an unknown field", "web.yml", "tls_server_config:\n  certificate: x\n"},
	} {
		replace(t, filepath.Join(dir, b.file), []byte(b.body))
		for i := 0; i < 3; i++ {
			getOpen(b.what)
			if cn := served(b.what); cn != "gate-1" {
				t.Fatalf("%s: served %q, want the last good gate-1", b.what, cn)
			}
		}
		if v := gauge(t, g, metrics.WebConfigReloadOK); v != 0 {
			t.Fatalf("%s: %s = %v, want 0", b.what, metrics.WebConfigReloadOK, v)
		}
	}
	replace(t, filepath.Join(dir, "web.yml"), good)
	crt, key := ca.issue(t, "gate-2", true)
	replace(t, filepath.Join(dir, "server.key"), key)
	replace(t, filepath.Join(dir, "server.crt"), crt)
	if cn := served("after a good rotation"); cn != "gate-2" {
		t.Fatalf("after a good rotation a new connection got %q, want gate-2", cn)
	}
	getOpen("after a good rotation")
	if v := gauge(t, g, metrics.WebConfigReloadOK); v != 1 {
		t.Fatalf("after a good rotation %s = %v, want 1", metrics.WebConfigReloadOK, v)
	}
}

// TestWebConfigIsReReadWithoutNewConnections: Prometheus keeps its scrape
// connection open, so the gauge it alerts on must not wait for a new one.
// No request is made while the config breaks and mends; only the gate's
// own timer re-reads it. With the timer off, the gauge never moves.
func TestWebConfigIsReReadWithoutNewConnections(t *testing.T) {
	ca := newTestCA(t, "test CA")
	for _, c := range []struct {
		name  string
		poll  time.Duration
		moves bool
	}{{"every 100ms", 100 * time.Millisecond, true}, {"per connection only", -1, false}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			crt, key := ca.issue(t, "gate-1", true)
			replace(t, filepath.Join(dir, "server.crt"), crt)
			replace(t, filepath.Join(dir, "server.key"), key)
			good := []byte("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
			replace(t, filepath.Join(dir, "web.yml"), good)
			g := startGate(t, func(o *gate.Options) {
				o.WebConfigFile, o.WebConfigPoll = filepath.Join(dir, "web.yml"), c.poll
			})
			await := func(want float64) bool {
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if gauge(t, g, metrics.WebConfigReloadOK) == want {
						return true
					}
				}
				return false
			}
			replace(t, filepath.Join(dir, "server.key"), []byte("not a key\n"))
			if got := await(0); got != c.moves {
				t.Fatalf("broken key: the gauge went to 0: %v, want %v", got, c.moves)
			}
			replace(t, filepath.Join(dir, "server.key"), key)
			if c.moves && !await(1) {
				t.Fatal("mended key: the gauge stayed at 0")
			}
		})
	}
}

func gauge(t *testing.T, g *testGate, name string) float64 {
	t.Helper()
	mfs, err := g.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// http_server_config.headers apply to every response, from the web config
// in force: a broken config keeps the last good headers.
func TestWebConfigHeadersFollowTheConfigInForce(t *testing.T) {
	ca := newTestCA(t, "test CA")
	g, dir := startTLSGate(t, ca, "")
	cfg := &tls.Config{RootCAs: ca.pool}
	hsts := func() string {
		t.Helper()
		resp, _, err := tlsGet(g, cfg, "/metrics", gamedayToken)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: %v %v", resp, err)
		}
		return resp.Header.Get("Strict-Transport-Security")
	}
	if h := hsts(); h != "" {
		t.Fatalf("no headers configured, got Strict-Transport-Security %q", h)
	}
	web := readFile(t, filepath.Join(dir, "web.yml"))
	replace(t, filepath.Join(dir, "web.yml"), []byte(web+"http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=60\n"))
	hsts() // this connection loaded the new config
	if h := hsts(); h != "max-age=60" {
		t.Fatalf("Strict-Transport-Security %q, want max-age=60", h)
	}
	replace(t, filepath.Join(dir, "web.yml"), []byte("tls_server_config: [\n"))
	if h := hsts(); h != "max-age=60" {
		t.Fatalf("with a broken config: Strict-Transport-Security %q, want the last good max-age=60", h)
	}
}

// Under mutual TLS a broken client CA file or web config keeps the last
// good client CAs: the scraper's certificate is still accepted and a client
// without one still refused — a broken file never loosens the check.
func TestBrokenWebConfigKeepsRequiringClientCertificates(t *testing.T) {
	ca := newTestCA(t, "test CA")
	g, dir := startTLSGate(t, ca, "RequireAndVerifyClientCert")
	with := &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{clientCert(t, ca, "scraper")}}
	without := &tls.Config{RootCAs: ca.pool}
	for _, b := range []struct{ file, body string }{
		{"ca.crt", "not a certificate\n"},
		{"web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: NoClientCert\n  client_ca_file: ca.crt\n"},
		{"web.yml", "tls_server_config: [\n"},
	} {
		replace(t, filepath.Join(dir, b.file), []byte(b.body))
		if resp, _, err := tlsGet(g, with, "/metrics", gamedayToken); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s broken: the client certificate: %v %v", b.file, resp, err)
		}
		if resp, _, err := tlsGet(g, without, "/healthz", ""); err == nil {
			t.Fatalf("%s broken: no client certificate answered %d", b.file, resp.StatusCode)
		}
	}
}

// HTTP/2 is offered over TLS unless http_server_config.http2 is false at
// start, as exporter-toolkit's web.Serve does.
func TestWebConfigHTTP2(t *testing.T) {
	ca := newTestCA(t, "test CA")
	for _, c := range []struct {
		extra, want string
	}{
		{"", "HTTP/2.0"},
		{"http_server_config:\n  http2: false\n", "HTTP/1.1"},
	} {
		g, dir := startTLSGate(t, ca, "")
		if c.extra != "" {
			web := readFile(t, filepath.Join(dir, "web.yml"))
			replace(t, filepath.Join(dir, "web.yml"), []byte(web+c.extra))
			g = startGate(t, func(o *gate.Options) { o.WebConfigFile = filepath.Join(dir, "web.yml") })
		}
		cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, ForceAttemptHTTP2: true}}
		resp, err := cl.Get("https://" + g.Addr().String() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Proto != c.want {
			t.Errorf("web config %q: %s, want %s", c.extra, resp.Proto, c.want)
		}
	}
}
