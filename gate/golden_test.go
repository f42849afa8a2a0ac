package gate_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/quannex/gameday/gate/integrity"
)

var update = flag.Bool("update", false, "rewrite fixtures/golden/metric-families.txt from a live gate")

// goldenFile is the golden set of metric families: every name the gate must
// expose, with its type. The smoke pack and the dashboard checks read it.
var goldenFile = filepath.Join("..", "fixtures", "golden", "metric-families.txt")

// TestGoldenMetricFamilies checks that a gate that has served traffic
// (live, snapshot, auth failures, rate limiting) exposes every family of the
// golden set with the right type. Run with -update after adding a metric.
func TestGoldenMetricFamilies(t *testing.T) {
	g := startGate(t, nil)
	g.do(t, "GET", "/metrics", "", "")
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"count":1,"ttl":"1m"}`)
	g.metrics(t)
	for range 21 {
		g.do(t, "GET", "/metrics", scraperToken, "")
	}
	r := g.metrics(t)
	mfs, err := integrity.Parse(r.body, r.header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mf := range mfs {
		if name := mf.GetName(); strings.HasPrefix(name, "quannex_") || name == "go_goroutines" || name == "process_resident_memory_bytes" {
			got[name] = strings.ToLower(mf.GetType().String())
		}
	}
	if *update {
		var lines []string
		for n, typ := range got {
			lines = append(lines, n+" "+typ)
		}
		sort.Strings(lines)
		header := "# Metric families every gate exposes once it has served traffic: NAME TYPE.\n# Regenerate: go test ./gate -run TestGoldenMetricFamilies -update\n"
		if err := os.WriteFile(goldenFile, []byte(header+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var name, typ string
		if _, err := fmt.Sscan(line, &name, &typ); err != nil {
			t.Fatalf("golden line %q: %v", line, err)
		}
		n++
		if got[name] != typ {
			t.Errorf("family %s: type %q in the payload, %q in the golden set", name, got[name], typ)
		}
	}
	if n < 15 {
		t.Fatalf("golden set has only %d families", n)
	}
}
