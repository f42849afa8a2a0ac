package gate_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestReadyzReadsNoFile: while live generation fails, /readyz answers from
// what the gate knows of its snapshots and reads nothing from the cache
// directory: with every snapshot file gone it still reports the snapshot
// it verified, with its age. The next load (a /metrics fallback) finds the
// files gone, and from then on /readyz says so.
func TestReadyzReadsNoFile(t *testing.T) {
	g := startGate(t, nil)
	if r := g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"30s"}`); r.code != 201 {
		t.Fatalf("inject: %d %s", r.code, r)
	}
	if r := g.metrics(t); r.header.Get("X-Metrics-Source") != "snapshot" {
		t.Fatalf("fallback: %d %v", r.code, r.header)
	}
	ready := func() (int, map[string]any) {
		r := g.do(t, "GET", "/readyz", "", "")
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("readyz body %q: %v", r.body, err)
		}
		return r.code, body
	}
	if code, body := ready(); code != 200 || body["source"] != "snapshot" || body["age_seconds"] == nil {
		t.Fatalf("readyz while falling back: %d %v", code, body)
	}

	files, _ := filepath.Glob(filepath.Join(g.opts.CacheDir, "metrics-*.snap"))
	if len(files) == 0 {
		t.Fatal("no snapshot files to take away")
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if code, body := ready(); code != 200 || body["source"] != "snapshot" {
			t.Fatalf("readyz %d after the files went: %d %v; it read the cache directory", i+1, code, body)
		}
	}

	if r := g.metrics(t); r.code != 503 {
		t.Fatalf("/metrics with no snapshot left: %d", r.code)
	}
	if code, body := ready(); code != 503 || body["ready"] != false {
		t.Fatalf("readyz after a load found no snapshot: %d %v", code, body)
	}
}
