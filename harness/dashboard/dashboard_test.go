package dashboard

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/integrity"
)

var update = flag.Bool("update", false, "rewrite config/grafana-operator-dashboard.json")

var file = filepath.Join("..", "..", "config", "grafana-operator-dashboard.json")

func TestDashboardFileUpToDate(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./harness/dashboard -update, or gameday dashboard -o %s)", err, file)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: regenerate with go test ./harness/dashboard -update", file)
	}
	d := Build()
	if len(d.Panels) != 8 || len(d.Annotations.List) != 4 {
		t.Fatalf("%d panels and %d annotations, want 8 and 4", len(d.Panels), len(d.Annotations.List))
	}
}

// TestQueriesParseAndNameRealMetrics parses every panel and annotation
// query with the Prometheus parser and checks every metric it selects is
// exposed by a live gate's /metrics/self.
func TestQueriesParseAndNameRealMetrics(t *testing.T) {
	tok := "dashboard-test-token-0001"
	srv := gatetest.Start(t, gate.Options{Tokens: []auth.Token{auth.NewToken("d", tok)}}).Server
	get := func(path string) ([]byte, string) {
		req, _ := http.NewRequest("GET", "http://"+srv.Addr().String()+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b, resp.Header.Get("Content-Type")
	}
	get("/metrics") // so the request series exist
	body, ctype := get("/metrics/self")
	vec, err := integrity.Samples(body, ctype)
	if err != nil {
		t.Fatal(err)
	}
	exposed := map[string]bool{}
	for _, s := range vec {
		exposed[string(s.Metric[model.MetricNameLabel])] = true
	}

	p := parser.NewParser(parser.Options{})
	for where, q := range Queries(Build()) {
		expr, err := p.ParseExpr(q)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", where, q, err)
			continue
		}
		n := 0
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok {
				n++
				if !exposed[vs.Name] {
					t.Errorf("%s: metric %s is not exposed by the gate", where, vs.Name)
				}
				if !strings.HasPrefix(vs.Name, "quannex_") && !strings.HasPrefix(vs.Name, "process_") {
					t.Errorf("%s: metric %s is not one of the gate's", where, vs.Name)
				}
			}
			return nil
		})
		if n == 0 {
			t.Errorf("%s: %q selects no metric", where, q)
		}
	}
}
