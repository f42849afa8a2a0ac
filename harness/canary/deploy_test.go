package canary

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

func docs(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, d)
	}
}

func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestDeployManifests parses deploy/ and checks the rollout sends 10 % to
// the canary first and that the AnalysisTemplate's query is the canary
// command's rule: the same ratio queries, the same 2-point bound, the same
// minimum traffic, and valid PromQL.
func TestDeployManifests(t *testing.T) {
	var rollout map[string]any
	for _, d := range docs(t, "gate-rollout.yaml") {
		if d["kind"] == "Rollout" {
			rollout = d
		}
	}
	if rollout == nil {
		t.Fatal("no Rollout in deploy/gate-rollout.yaml")
	}
	steps := get(rollout, "spec", "strategy", "canary", "steps")
	if get(steps, 0, "setWeight") != 10 {
		t.Fatalf("first step %v, want setWeight: 10", get(steps, 0))
	}
	if get(steps, 2, "analysis", "templates", 0, "templateName") != "quannex-gate-canary" {
		t.Fatal("the rollout does not run the quannex-gate-canary analysis after the 10 % step")
	}
	if get(rollout, "spec", "strategy", "canary", "canaryMetadata", "labels", "track") != "canary" ||
		get(rollout, "spec", "strategy", "canary", "stableMetadata", "labels", "track") != "stable" {
		t.Fatal("pods are not labelled track=canary and track=stable")
	}

	at := docs(t, "analysis-template.yaml")
	if len(at) != 1 || at[0]["kind"] != "AnalysisTemplate" || get(at[0], "metadata", "name") != "quannex-gate-canary" {
		t.Fatal("deploy/analysis-template.yaml is not the quannex-gate-canary AnalysisTemplate")
	}
	m := get(at[0], "spec", "metrics", 0)
	query, _ := get(m, "provider", "prometheus", "query").(string)
	query = strings.ReplaceAll(query, "{{args.namespace}}", "prod")
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(query); err != nil {
		t.Fatalf("the analysis query does not parse: %v", err)
	}
	norm := strings.Join(strings.Fields(query), " ")
	can, stab := `namespace="prod",job="quannex-gate-self",track="canary"`, `namespace="prod",job="quannex-gate-self",track="stable"`
	for _, want := range []string{
		RatioQuery(can, 15*time.Minute) + " - " + RatioQuery(stab, 15*time.Minute),
		"and on() " + RequestsQuery(can, 15*time.Minute) + " >= 100",
		"and on() " + RequestsQuery(stab, 15*time.Minute) + " >= 100",
	} {
		if !strings.Contains(norm, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the analysis query does not contain the canary rule's\n  %s\nquery:\n  %s", want, norm)
		}
	}
	if !strings.Contains(get(m, "failureCondition").(string), "result[0] > 0.02") ||
		!strings.Contains(get(m, "successCondition").(string), "result[0] <= 0.02") ||
		!strings.Contains(get(m, "successCondition").(string), "!isNaN(result[0])") {
		t.Fatal("the analysis conditions are not the 0.02 bound with NaN excluded from a pass")
	}
}
