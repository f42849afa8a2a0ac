package gate_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/ratelimit"
)

func TestAuthFailures(t *testing.T) {
	g := startGate(t, nil)
	cases := []struct {
		name, header string
		code         int
		wwwAuth      string
		reason       string
	}{
		{"missing", "", 401, `Bearer realm="quannex-gate"`, "missing"},
		{"unknown token", "Bearer not-a-configured-token-123", 401, `Bearer realm="quannex-gate", error="invalid_token"`, "unknown_token"},
		{"basic scheme", "Basic c2NyYXBlcjpwYXNz", 401, `Bearer realm="quannex-gate", error="invalid_token"`, "wrong_scheme"},
		{"no token", "Bearer", 401, `Bearer realm="quannex-gate", error="invalid_token"`, "malformed"},
		{"two tokens", "Bearer " + scraperToken + " " + gamedayToken, 401, `Bearer realm="quannex-gate", error="invalid_token"`, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", g.url+"/metrics", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.code || resp.Header.Get("WWW-Authenticate") != c.wwwAuth {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), c.code, c.wwwAuth)
			}
		})
	}
	body := g.metrics(t).body
	want := map[string]int{}
	for _, c := range cases {
		want[c.reason]++
	}
	for reason, n := range want {
		if line := fmt.Sprintf(`quannex_auth_failures_total{reason="%s"} %d`, reason, n); !strings.Contains(string(body), line+"\n") {
			t.Errorf("payload lacks %s", line)
		}
	}
}

func TestTokenInQueryRefused(t *testing.T) {
	g := startGate(t, nil)
	for _, q := range []string{"?token=" + gamedayToken, "?access_token=whatever", "?x=" + scraperToken} {
		r := g.do(t, "GET", "/metrics"+q, gamedayToken, "")
		if r.code != 400 || !strings.Contains(r.String(), "query string") {
			t.Errorf("%s: %d %s", q, r.code, r)
		}
	}
	if r := g.do(t, "GET", "/metrics?name=foo", gamedayToken, ""); r.code != 200 {
		t.Errorf("harmless query refused: %d", r.code)
	}
}

func TestPerTokenRateLimit(t *testing.T) {
	g := startGate(t, func(o *gate.Options) {
		o.RateLimits["fast"] = ratelimit.Policy{Limit: 100, Window: time.Second}
	})
	for i := range 20 {
		r := g.do(t, "GET", "/metrics", scraperToken, "")
		if r.code != 200 {
			t.Fatalf("request %d: %d", i+1, r.code)
		}
		if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(19-i) {
			t.Fatalf("request %d: remaining %s", i+1, got)
		}
	}
	r := g.do(t, "GET", "/metrics", scraperToken, "")
	if r.code != 429 || r.header.Get("Retry-After") != "3" || r.header.Get("RateLimit-Policy") != `"default";q=20;w=60` {
		t.Fatalf("21st: %d Retry-After %q policy %q", r.code, r.header.Get("Retry-After"), r.header.Get("RateLimit-Policy"))
	}
	g.do(t, "GET", "/metrics", scraperToken, "")
	// Another caller is unaffected, and the refusal is counted by name.
	body := g.metrics(t).body
	if !strings.Contains(string(body), `quannex_rate_limited_requests_total{token="scraper"} 2`) {
		t.Error("429s not counted by caller name")
	}
	g.stop()
	e := assertAuditEvent(t, g.audit, "rate_limit_event")
	if e.Fields["token"] != "scraper" {
		t.Fatalf("%+v", e.Fields)
	}
	// One audit entry per limited episode, not one per 429.
	n := strings.Count(readFile(t, g.audit), `"event":"rate_limit_event"`)
	if n != 1 {
		t.Fatalf("%d rate_limit_event entries for one episode", n)
	}
}

func TestFailedAuthLimitedPerIP(t *testing.T) {
	g := startGate(t, func(o *gate.Options) { o.AuthFailureLimit = ratelimit.Policy{Limit: 3, Window: time.Minute} })
	codes := []int{}
	for range 5 {
		codes = append(codes, g.do(t, "GET", "/metrics", "wrong-token-guess-0000000", "").code)
	}
	if fmt.Sprint(codes) != "[401 401 401 429 429]" {
		t.Fatalf("codes %v, want three 401s then 429s", codes)
	}
	if r := g.metrics(t); r.code != 200 {
		t.Fatalf("a valid token from the same address: %d", r.code)
	}
}

func TestBadRequests(t *testing.T) {
	g := startGate(t, nil)
	cases := []struct {
		method, path, token, body string
		code                      int
		contains                  string
	}{
		{"GET", "/nope", "", "", 404, "not found"},
		{"POST", "/metrics", gamedayToken, "", 405, ""},
		{"DELETE", "/healthz", "", "", 405, ""},
		{"POST", "/admin/faults/latency", adminToken, "{", 400, "malformed JSON"},
		{"POST", "/admin/faults/latency", adminToken, "", 400, "empty body"},
		{"POST", "/admin/faults/latency", adminToken, `{"min":"1ms","max":"2ms"}`, 400, `field "ttl" is required`},
		{"POST", "/admin/faults/latency", adminToken, `{"min":"fast","max":"2ms","ttl":"1s"}`, 400, `field "min"`},
		{"POST", "/admin/faults/latency", adminToken, `{"min":"1ms","max":"2ms","ttl":"1s","color":1}`, 400, `unknown field "color"`},
		{"POST", "/admin/faults/latency", adminToken, `{"min":"5ms","max":"2ms","ttl":"1s"}`, 400, "max must not be less than min"},
		{"POST", "/admin/faults/failure", adminToken, `{"count":"three","ttl":"1s"}`, 400, `field "count": wrong type`},
		{"POST", "/admin/faults/failure", adminToken, `{"ttl":"2h"}`, 400, "ttl must be at most 1h0m0s"},
		{"POST", "/admin/faults/failure", adminToken, `{"ttl":"1s"} {}`, 400, "trailing data"},
		{"POST", "/admin/faults/cpu", adminToken, `{}`, 404, "unknown fault kind: want latency or failure"},
		{"POST", "/admin/faults/failure", gamedayToken, `{"ttl":"1s"}`, 401, "invalid token"},
		{"POST", "/admin/faults/failure", adminToken, `{"ttl":"1s","pad":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "larger than"},
	}
	for _, c := range cases {
		r := g.do(t, c.method, c.path, c.token, c.body)
		if r.code != c.code || !strings.Contains(errorMessage(r), c.contains) {
			t.Errorf("%s %s %.40q: %d %s; want %d containing %q", c.method, c.path, c.body, r.code, r, c.code, c.contains)
		}
	}
}

func TestHugeHeaderRefused(t *testing.T) {
	g := startGate(t, nil)
	conn, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Big: %s\r\n\r\n", gamedayToken, strings.Repeat("a", 64<<10))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.Contains(line, "431") {
		t.Fatalf("status line %q, want 431", line)
	}
}

func TestAdminEndpointsOnlyWhenConfigured(t *testing.T) {
	noAdmin := startGate(t, func(o *gate.Options) { o.AdminToken, o.FaultInjection = nil, false })
	for _, p := range []string{"/e2e/pass", "/admin/breaker/reset", "/admin/faults/failure"} {
		if r := noAdmin.do(t, "POST", p, adminToken, `{"ttl":"1s"}`); r.code != 404 {
			t.Errorf("without admin token POST %s: %d", p, r.code)
		}
	}
	noFaults := startGate(t, func(o *gate.Options) { o.FaultInjection = false })
	if r := noFaults.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"1s"}`); r.code != 404 {
		t.Errorf("fault API without --enable-fault-injection: %d", r.code)
	}
	if r := noFaults.do(t, "POST", "/admin/breaker/reset", adminToken, ""); r.code != 200 {
		t.Errorf("breaker reset with admin token: %d", r.code)
	}
}

func TestRefusesToStartWithoutTokens(t *testing.T) {
	_, err := gate.New(gate.Options{Listen: "127.0.0.1:0", CacheDir: t.TempDir() + "/c", AuditLog: t.TempDir() + "/a/a.jsonl"})
	if err == nil || !strings.Contains(err.Error(), "METRICS_TOKENS") {
		t.Fatalf("New without tokens: %v", err)
	}
	g := startGate(t, func(o *gate.Options) { o.Tokens, o.InsecureNoAuth = nil, true })
	if r := g.do(t, "GET", "/metrics", "", ""); r.code != 200 {
		t.Fatalf("insecure mode: %d", r.code)
	}
	if !strings.Contains(g.logs.String(), "INSECURE") {
		t.Error("insecure mode not announced in the log")
	}
}

// errorMessage returns the "error" field of a JSON error body, or the body.
func errorMessage(r response) string {
	var e struct{ Error string }
	if json.Unmarshal(r.body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return string(r.body)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
