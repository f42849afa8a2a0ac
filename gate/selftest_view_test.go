package gate_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/quannex/gameday/gate"
)

// TestSelftestViews: the admin token sees where the gate keeps its files
// and what failed on them; a metrics token sees the same statuses without
// any path or error text.
func TestSelftestViews(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("scraper:"+scraperToken+"\ngameday:"+gamedayToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateIn(t, dir, func(o *gate.Options) { o.Tokens, o.TokensFile = nil, tokens })
	g.metrics(t)
	g.metrics(t) // both text slots hold a payload
	slot := filepath.Join(g.opts.CacheDir, "metrics-text.a.snap")
	data, err := os.ReadFile(slot)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-10] ^= 0x20 // one corrupt slot: a file name and a reason to hide
	if err := os.WriteFile(slot, data, 0o640); err != nil {
		t.Fatal(err)
	}

	get := func(token string) (gate.Selftest, []byte) {
		t.Helper()
		r := g.do(t, "GET", "/metrics/selftest", token, "")
		var st gate.Selftest
		if err := json.Unmarshal(r.body, &st); err != nil || r.code != 200 {
			t.Fatalf("selftest: %d %s", r.code, r.body)
		}
		return st, r.body
	}
	full, fullBody := get(adminToken)
	brief, briefBody := get(scraperToken)

	if full.Redacted || full.Cache.Dir != g.opts.CacheDir || full.Audit.Path == "" || len(full.Snapshot.Rejected) == 0 {
		t.Fatalf("admin view lacks paths or errors: %s", fullBody)
	}
	if !bytes.Contains(fullBody, []byte(tokens)) || !bytes.Contains(fullBody, []byte("metrics-text.a.snap")) {
		t.Fatalf("admin view does not name the token file and the corrupt slot: %s", fullBody)
	}

	if !brief.Redacted {
		t.Error("metrics view not marked redacted")
	}
	for _, leak := range []string{dir, "metrics-text.a.snap", "audit.jsonl", `"path"`, `"last_error"`, `"dir"`, "sha-256 of the body"} {
		if bytes.Contains(briefBody, []byte(leak)) {
			t.Errorf("metrics view shows %q: %s", leak, briefBody)
		}
	}
	if brief.Status != full.Status || brief.Audit.HeadRef == "" || !brief.Cache.Writable || brief.Breaker.State != full.Breaker.State {
		t.Errorf("metrics view lost a status: %s", briefBody)
	}
	status := func(st gate.Selftest) map[string]string {
		m := map[string]string{}
		for _, c := range st.Checks {
			m[c.Name] = c.Status
		}
		return m
	}
	fs, bs := status(full), status(brief)
	if len(fs) != len(bs) || fs["snapshot_integrity"] != "warn" || fs["auth_reload"] != "ok" {
		t.Fatalf("checks: admin %v, metrics %v", fs, bs)
	}
	for name, s := range fs {
		if bs[name] != s {
			t.Errorf("check %s: %q for the admin token, %q for a metrics token", name, s, bs[name])
		}
	}
}
