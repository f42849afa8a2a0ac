package gate_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
)

// TestNoSecretEverLeaves drives every endpoint with valid and invalid
// tokens, in the Authorization header and in the query string, then checks
// that no token shows up in the logs, the audit log or any response.
func TestNoSecretEverLeaves(t *testing.T) {
	const auditKey, cacheKey = "audit-SECRET-hmac-key-0004", "cache-SECRET-hmac-key-0005"
	g := startGate(t, func(o *gate.Options) { o.AuditKey, o.CacheKey = []byte(auditKey), []byte(cacheKey) })
	wrong := []string{"guess-" + scraperToken, scraperToken + "-guess", "wrongSECRETtoken12345678", auditKey, cacheKey}
	secrets := append(append([]string(nil), allSecrets...), wrong...)

	var responses []string
	record := func(r response) {
		var sb strings.Builder
		sb.Write(r.body)
		for k, vs := range r.header {
			sb.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		responses = append(responses, sb.String())
	}
	endpoints := []struct{ method, path, body string }{
		{"GET", "/metrics", ""}, {"GET", "/metrics/selftest", ""}, {"GET", "/healthz", ""}, {"GET", "/readyz", ""},
		{"POST", "/e2e/pass", ""}, {"POST", "/admin/breaker/reset", ""},
		{"POST", "/admin/faults/failure", `{"count":1,"ttl":"1s"}`}, {"GET", "/admin/faults", ""},
		{"DELETE", "/admin/faults", ""}, {"POST", "/admin/faults/latency", `{"min":"` + adminToken + `","max":"1ms","ttl":"1s"}`},
		{"GET", "/no/such/" + gamedayToken, ""}, {"PUT", "/metrics", ""},
	}
	for _, ep := range endpoints {
		for _, tok := range secrets {
			record(g.do(t, ep.method, ep.path, tok, ep.body))
			record(g.do(t, ep.method, ep.path+"?token="+url.QueryEscape(tok), "", ep.body))
			record(g.do(t, ep.method, ep.path+"?other="+url.QueryEscape(tok), tok, ep.body))
			record(g.do(t, ep.method, ep.path, "", ep.body, "Authorization", "Basic "+tok))
			record(g.do(t, ep.method, ep.path, "", ep.body, "Authorization", "Bearer "+tok+" "+tok))
			record(g.do(t, ep.method, ep.path, "", ep.body, "Authorization", "Bearer "+tok+"\""))
		}
	}
	time.Sleep(50 * time.Millisecond)
	g.stop()

	// The errors of a configuration that reuses a secret name roles, not
	// the secret.
	var reuse []string
	for _, mutate := range []func(*gate.Options){
		func(o *gate.Options) { o.AuditKey = []byte(scraperToken) },
		func(o *gate.Options) { o.CacheKey = []byte(adminToken) },
		func(o *gate.Options) { o.AuditKey, o.CacheKey = []byte(cacheKey), []byte(cacheKey) },
	} {
		o := defaultOptions(t, t.TempDir())
		mutate(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), "one secret in two roles") {
			t.Fatalf("a reused secret was accepted: %v", err)
		}
		reuse = append(reuse, err.Error())
	}
	where := map[string]string{"logs": g.logs.String(), "audit log": readFile(t, g.audit),
		"head file": readFile(t, g.audit+".head"), "errors": strings.Join(reuse, "\n")}
	cached, _ := filepath.Glob(filepath.Join(g.opts.CacheDir, "*"))
	for _, f := range cached {
		where["cache file "+filepath.Base(f)] = readFile(t, f)
	}
	if len(cached) < 2 {
		t.Fatalf("cache files %v: the test would not look at them", cached)
	}
	for i, r := range responses {
		where["response "+string(rune('0'+i%10))] += r
	}
	if where["logs"] == "" || where["audit log"] == "" {
		t.Fatal("nothing captured: the test would pass vacuously")
	}
	for place, text := range where {
		for _, s := range secrets {
			if i := strings.Index(text, s); i >= 0 {
				t.Errorf("a token appears in the %s: …%q…", place, text[max(0, i-200):i])
			}
		}
	}
}
