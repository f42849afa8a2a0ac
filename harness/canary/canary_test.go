package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/harness/slo"
)

const (
	token = "canary-test-token-000001"
	admin = "canary-test-admin-00002"
)

func startGate(t *testing.T) *gate.Server {
	t.Helper()
	a := auth.NewToken("admin", admin)
	return gatetest.Start(t, gate.Options{Tokens: []auth.Token{auth.NewToken("t", token)}, AdminToken: &a, FaultInjection: true,
		RateLimits: map[string]ratelimit.Policy{"t": {Limit: 10000, Window: time.Second}, "admin": {Limit: 100, Window: time.Second}}}).Server
}

func call(t *testing.T, method, url, tok, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPrometheus runs the real Prometheus server (Debian's prometheus
// package) on loopback, scraping each gate's /metrics/self every second.
func startPrometheus(t *testing.T, targets map[string]string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the prometheus server is not installed; .ci/run installs Debian's prometheus package")
		}
		t.Skip("the prometheus server is not installed (apt-get install prometheus); CI runs this test")
	}
	dir := t.TempDir()
	var static strings.Builder
	for track, addr := range targets {
		fmt.Fprintf(&static, "      - targets: ['%s']\n        labels: {track: %s}\n", addr, track)
	}
	rules, err := os.ReadFile(filepath.Join("..", "..", "config", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o600)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [alerts.yml]
scrape_configs:
  - job_name: quannex-gate-self
    metrics_path: /metrics/self
    authorization: {credentials: %s}
    static_configs:
%s`, token, static.String())
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600)
	port := freePort(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
	out, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus not ready after 30s:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCanaryEndToEnd: a stable gate, a canary whose generator fails, and a
// healthy canary, scraped by a real Prometheus; the command decides abort,
// pass and inconclusive from its HTTP API.
func TestCanaryEndToEnd(t *testing.T) {
	stable, bad, good := startGate(t), startGate(t), startGate(t)
	prom := startPrometheus(t, map[string]string{"stable": stable.Addr().String(), "canary": bad.Addr().String(), "canary-good": good.Addr().String()})
	if code := call(t, "POST", "http://"+bad.Addr().String()+"/admin/faults/failure", admin, `{"ttl":"5m"}`); code != 201 {
		t.Fatalf("inject: %d", code)
	}
	// Bounded load: 200 requests to each gate over about 10 seconds.
	for i := range 200 {
		for _, g := range []*gate.Server{stable, bad, good} {
			call(t, "GET", "http://"+g.Addr().String()+"/metrics", token, "")
		}
		if i%20 == 19 {
			time.Sleep(time.Second)
		}
	}
	ctx := context.Background()
	opts := func(canary string, minReq float64) Options {
		return Options{Prometheus: prom, Stable: `job="quannex-gate-self",track="stable"`, Canary: canary, Window: time.Minute, MaxDelta: 0.02, MinRequests: minReq}
	}
	// Wait until Prometheus has seen the load on every side.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := Evaluate(ctx, opts(`job="quannex-gate-self",track="canary"`, 50))
		if err == nil && r.Decision != Inconclusive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus never had the data: %+v %v", r, err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	r, err := Evaluate(ctx, opts(`job="quannex-gate-self",track="canary"`, 50))
	if err != nil || r.Decision != Abort || r.Canary.SnapshotRatio < 0.9 || r.Stable.SnapshotRatio != 0 {
		t.Fatalf("failing canary: %+v %v, want abort", r, err)
	}
	r, err = Evaluate(ctx, opts(`{job="quannex-gate-self",track="canary-good"}`, 50))
	if err != nil || r.Decision != Pass || r.Delta != 0 {
		t.Fatalf("healthy canary: %+v %v, want pass", r, err)
	}
	r, err = Evaluate(ctx, opts(`job="quannex-gate-self",track="canary-good"`, 1e9))
	if err != nil || r.Decision != Inconclusive || !strings.Contains(r.Reason, "fewer than --min-requests") {
		t.Fatalf("too little data: %+v %v, want inconclusive", r, err)
	}
	r, err = Evaluate(ctx, opts(`job="quannex-gate-self",track="nowhere"`, 0))
	if err != nil || r.Decision != Inconclusive || !strings.Contains(r.Reason, "no data") {
		t.Fatalf("missing data: %+v %v, want inconclusive", r, err)
	}
	_, err = Evaluate(ctx, Options{Prometheus: "http://127.0.0.1:1", Stable: "a=\"b\"", Canary: "a=\"c\"", Window: time.Minute})
	if !errors.Is(err, ErrQuery) {
		t.Fatalf("unreachable prometheus: %v, want ErrQuery", err)
	}

	// The SLO remediation policies, through the same Prometheus (which
	// loaded config/alerts.yml and so computes the SLO recording rules).
	fh, _ := os.Open(filepath.Join("..", "..", "config", "slo-error-budget.yml"))
	prod, err := slo.Parse(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	res, err := prod.EvaluatePolicies(ctx, Count(prom, 10*time.Second))
	if err != nil {
		t.Fatalf("production policies: %v", err)
	}
	for _, r := range res {
		if r.Applies {
			t.Errorf("policy %s applies to a few minutes of data: %s", r.Name, r.Detail)
		}
	}
	now, err := slo.Parse(strings.NewReader(`slos: [{name: x, objective: 0.9, window: 1d, freshness: 1h}]
policies:
  - {name: burning-now, expr: 'slo:sli_error:ratio_rate5m{slo="live-ratio"} > 0.05'}
  - {name: errors-now, expr: 'slo:sli_error:ratio_rate5m{slo="availability"} > 0'}
`))
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		res, err = now.EvaluatePolicies(ctx, Count(prom, 10*time.Second))
		if err == nil && res[0].Applies {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live-ratio recording rule never showed the failing canary: %+v %v", res, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if res[1].Applies {
		t.Errorf("availability policy applies without any 5xx: %+v", res[1])
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	good := Options{Prometheus: "http://p", Stable: `track="stable"`, Canary: `track="canary"`, Window: 15 * time.Minute, MaxDelta: 0.02}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for want, mutate := range map[string]func(*Options){
		"--prometheus":   func(o *Options) { o.Prometheus = "" },
		"--window":       func(o *Options) { o.Window = time.Second },
		"--max-delta":    func(o *Options) { o.MaxDelta = 2 },
		"--min-requests": func(o *Options) { o.MinRequests = -1 },
		// NaN compares false both ways: a NaN max delta would pass every
		// canary, a NaN minimum would let one request decide.
		"--max-delta: must":    func(o *Options) { o.MaxDelta = math.NaN() },
		"--min-requests: must": func(o *Options) { o.MinRequests = math.NaN() },
		"--stable":             func(o *Options) { o.Stable = "" },
		"--canary: not":        func(o *Options) { o.Canary = `track=="x` },
		"must differ":          func(o *Options) { o.Canary = o.Stable },
	} {
		o := good
		mutate(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
}
