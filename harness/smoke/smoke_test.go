package smoke_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/harness/smoke"
)

const (
	metricsToken = "smoke-unit-token-0000001"
	adminToken   = "smoke-unit-admin-token-02"
)

// startGate runs a real gate in-process on a loopback :0 listener until the
// test ends and returns its base URL. mutate may change the options.
func startGate(t *testing.T, mutate func(*gate.Options)) string {
	t.Helper()
	dir := t.TempDir()
	toks, err := auth.ParseList("smoke:" + metricsToken)
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.NewToken("admin", adminToken)
	opts := gate.Options{
		Listen:         "127.0.0.1:0",
		CacheDir:       filepath.Join(dir, "cache"),
		AuditLog:       filepath.Join(dir, "audit", "audit.jsonl"),
		Tokens:         toks,
		AdminToken:     &admin,
		FaultInjection: true,
		RateLimits: map[string]ratelimit.Policy{
			"smoke": {Limit: 1000, Window: time.Second},
			"admin": {Limit: 1000, Window: time.Second},
		},
	}
	if mutate != nil {
		mutate(&opts)
	}
	base := gatetest.Start(t, opts).URL
	waitAudited(t, base)
	return base
}

// waitAudited waits until the gate's first audit entry (gate_start) is
// durable. Entries are written in the background, and until one is,
// quannex_audit_entries_total has no series: the golden-set check would
// rightly fail on a gate this fresh.
func waitAudited(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodGet, base+"/metrics/self", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(b, []byte(metrics.AuditEntries+"{")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the gate made no audit entry durable within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func run(t *testing.T, url, admin string) *smoke.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := smoke.Run(ctx, smoke.Options{URL: url, Token: metricsToken, AdminToken: admin})
	if err != nil {
		t.Fatalf("smoke.Run: %v", err)
	}
	if len(res.Checks) != 5 {
		t.Fatalf("%d checks, want 5: %+v", len(res.Checks), res.Checks)
	}
	return res
}

func TestHealthyGatePasses(t *testing.T) {
	res := run(t, startGate(t, nil), adminToken)
	for _, c := range res.Checks {
		if c.Result != smoke.Pass {
			t.Errorf("check %d %s: %s: %s", c.N, c.Name, c.Result, c.Detail)
		}
	}
	if res.Verdict != smoke.Pass || !res.Pass || res.Skipped != 0 || !res.E2ERecorded {
		t.Fatalf("verdict %q pass %v skipped %d e2e %v; want a recorded pass", res.Verdict, res.Pass, res.Skipped, res.E2ERecorded)
	}
}

// A skipped check is not a pass: the pack is incomplete and records no
// end-to-end pass, whether the admin token is missing or the gate cannot
// inject faults.
func TestSkippedCheckMakesItIncomplete(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(*gate.Options)
		admin  string
		detail string
	}{
		{"no admin token", nil, "", "no admin token"},
		{"no fault injection", func(o *gate.Options) { o.FaultInjection = false }, adminToken, "--enable-fault-injection"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, startGate(t, c.mutate), c.admin)
			if got := res.Checks[3]; got.Result != smoke.Skip || !strings.Contains(got.Detail, c.detail) {
				t.Fatalf("check 4: %s %q, want skip naming %q", got.Result, got.Detail, c.detail)
			}
			for _, ch := range res.Checks {
				if ch.N != 4 && ch.Result != smoke.Pass {
					t.Errorf("check %d %s: %s: %s", ch.N, ch.Name, ch.Result, ch.Detail)
				}
			}
			if res.Verdict != smoke.Incomplete || res.Pass || res.Skipped != 1 || res.E2ERecorded {
				t.Fatalf("verdict %q pass %v skipped %d e2e %v; want incomplete, not a pass, nothing recorded", res.Verdict, res.Pass, res.Skipped, res.E2ERecorded)
			}
		})
	}
}

// selftestProxy fronts a real gate and answers /metrics/selftest with the
// gate's own selftest, its top-level status replaced by status and served
// with code. Everything else passes through untouched.
func selftestProxy(t *testing.T, gateURL, status string, code int) string {
	t.Helper()
	u, err := url.Parse(gateURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/metrics/selftest" {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		// Status is the first field, so the first match is the top level.
		b = bytes.Replace(b, []byte(`"status": "ok"`), []byte(`"status": "`+status+`"`), 1)
		r.StatusCode = code
		r.Status = http.StatusText(code)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The selftest check fails unless the selftest answers 200 with top-level
// status "ok". The failing variant still holds "status": "ok" in its
// sub-checks, which a text match took for a healthy gate.
func TestSelftestMustAnswerOK(t *testing.T) {
	gateURL := startGate(t, nil)
	for _, c := range []struct {
		status string
		code   int
	}{
		{gate.StatusFailing, http.StatusServiceUnavailable},
		{gate.StatusDegraded, http.StatusOK},
		{gate.StatusOK, http.StatusServiceUnavailable},
	} {
		t.Run(c.status+"/"+strconv.Itoa(c.code), func(t *testing.T) {
			url := selftestProxy(t, gateURL, c.status, c.code)
			r, err := http.NewRequest(http.MethodGet, url+"/metrics/selftest", nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Authorization", "Bearer "+metricsToken)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var st gate.Selftest
			if err := json.Unmarshal(body, &st); err != nil || st.Status != c.status || resp.StatusCode != c.code {
				t.Fatalf("the proxy serves %d %q (%v), want %d %q", resp.StatusCode, st.Status, err, c.code, c.status)
			}
			if !bytes.Contains(body, []byte(`"status": "ok"`)) {
				t.Fatal(`the served selftest no longer holds "status": "ok" in its checks; the test proves less than it says`)
			}

			res := run(t, url, adminToken)
			final := res.Checks[4]
			for _, want := range []string{strconv.Quote(c.status), "HTTP " + strconv.Itoa(c.code)} {
				if final.Result != smoke.Fail || !strings.Contains(final.Detail, want) {
					t.Fatalf("check 5: %s %q, want fail naming %s", final.Result, final.Detail, want)
				}
			}
			for _, ch := range res.Checks[:4] {
				if ch.Result != smoke.Pass {
					t.Errorf("check %d %s: %s: %s", ch.N, ch.Name, ch.Result, ch.Detail)
				}
			}
			if res.Verdict != smoke.Fail || res.Pass || res.E2ERecorded {
				t.Fatalf("verdict %q pass %v e2e %v; want a failure with nothing recorded", res.Verdict, res.Pass, res.E2ERecorded)
			}
		})
	}
}

// The pack runs against gates in service: a run whose token runs out of
// rate limit in the middle of the forced snapshot must still leave the gate
// live, with no failure armed.
func TestFailedForcedSnapshotLeavesTheGateLive(t *testing.T) {
	const slowToken = "smoke-unit-slow-token-003"
	url := startGate(t, func(o *gate.Options) {
		toks, err := auth.ParseList("smoke:" + metricsToken + ",slow:" + slowToken)
		if err != nil {
			t.Fatal(err)
		}
		o.Tokens = toks
		o.RateLimits["slow"] = ratelimit.Policy{Limit: 5, Window: time.Minute}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := smoke.Run(ctx, smoke.Options{URL: url, Token: slowToken, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Checks[3]; res.Verdict != smoke.Fail || c.Result != smoke.Fail || !strings.Contains(c.Detail, "429") {
		t.Fatalf("verdict %q, check 4 %s %q: want the forced snapshot failing on 429", res.Verdict, c.Result, c.Detail)
	}
	get := func(path, token string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := get("/metrics", metricsToken); resp.StatusCode != 200 || resp.Header.Get("X-Metrics-Source") != "live" {
		t.Fatalf("after the failed run: %d, source %q; want live", resp.StatusCode, resp.Header.Get("X-Metrics-Source"))
	}
	var list struct{ Faults []json.RawMessage }
	if err := json.NewDecoder(get("/admin/faults", adminToken).Body).Decode(&list); err != nil || len(list.Faults) != 0 {
		t.Fatalf("faults left armed: %v %s", err, list.Faults)
	}
}
