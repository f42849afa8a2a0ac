package slo

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/alerts"
)

var update = flag.Bool("update", false, "rewrite the generated part of config/alerts.yml")

var (
	sloFile   = filepath.Join("..", "..", "config", "slo-error-budget.yml")
	rulesFile = filepath.Join("..", "..", "config", "alerts.yml")
)

func load(t *testing.T) *File {
	t.Helper()
	fh, err := os.Open(sloFile)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := Parse(fh)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBudgetsFromObjectives(t *testing.T) {
	f := load(t)
	want := map[string]time.Duration{
		"availability":  time.Duration(43.2 * float64(time.Minute)),
		"live-ratio":    72 * time.Minute,
		"latency":       72 * time.Minute,
		"e2e-freshness": 1008 * time.Minute,
	}
	for _, s := range f.SLOs {
		if got := s.Budget().Round(time.Second); got != want[s.Name].Round(time.Second) {
			t.Errorf("%s: budget %s, want %s", s.Name, got, want[s.Name])
		}
	}
}

// TestGeneratedRulesUpToDate fails when the generated part of
// config/alerts.yml no longer matches what the SLO file generates.
func TestGeneratedRulesUpToDate(t *testing.T) {
	got, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	want, err := load(t).Into(got)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		os.WriteFile(rulesFile, want, 0o644)
		got = want
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the burn-rate rules in %s are out of date: run gameday slo generate --into %s", rulesFile, rulesFile)
	}
	for _, hand := range []string{"alert: HighLatency", "alert: CircuitBreakerActive", "alert: HighFallbackRate", "alert: E2EStale", "alert: GateConfigReloadFailing"} {
		if !strings.Contains(string(got), hand) {
			t.Errorf("the hand-written rule %q was lost", hand)
		}
	}
}

// TestGeneratedRulesLoad loads the generated rules with the Prometheus rules
// engine and, where promtool is installed, checks them with it.
func TestGeneratedRulesLoad(t *testing.T) {
	ev, err := alerts.New(context.Background(), alerts.Options{RulesFile: rulesFile, Interval: 15 * time.Second})
	if err != nil {
		t.Fatalf("the rules engine rejects the generated rules: %v", err)
	}
	defer ev.Close()
	names := strings.Join(ev.Names(), ",")
	for _, want := range []string{"AvailabilityBudgetBurn", "LiveRatioBudgetBurn", "LatencyBudgetBurn"} {
		if !strings.Contains(names, want) {
			t.Errorf("no %s alert in %s", want, names)
		}
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput(); err != nil {
			t.Fatalf("promtool check rules: %v\n%s", err, out)
		}
	}
	gen, _ := os.ReadFile(rulesFile)
	for _, tier := range []string{"> 0.0144", "> 0.006", "> 0.003", "> 0.001", "> 0.72", "> 0.3", "> 0.15", "> 0.05", ">= 100"} {
		if !strings.Contains(string(gen), tier) {
			t.Errorf("generated rules lack the threshold %q", tier)
		}
	}
}

func TestValidationNamesTheField(t *testing.T) {
	good := `slos:
  - name: a
    objective: 0.99
    window: 1d
    errors: 'sum(rate(x{code="500"}[$window]))'
    total: 'sum(rate(x[$window]))'
`
	if _, err := Parse(strings.NewReader(good)); err != nil {
		t.Fatalf("good file: %v", err)
	}
	cases := map[string]string{
		"slos: at least one":       "slos: []\n",
		"slos[0].name":             strings.Replace(good, "name: a", "name: A B", 1),
		"slos[0].objective":        strings.Replace(good, "0.99", "99", 1),
		"slos[0].window":           strings.Replace(good, "window: 1d", "window: daily", 1),
		"slos[0].errors: must use": strings.Replace(good, "[$window]))'\n    total", "[5m]))'\n    total", 1),
		"slos[0].total: required":  strings.Replace(good, "    total: 'sum(rate(x[$window]))'\n", "", 1),
		"slos[0].errors: ":         strings.Replace(good, "sum(rate(x{code", "sum(rate((x{code", 1),
		"field extra not found":    good + "extra: 1\n",
		"policies[0].expr":         good + "policies:\n  - name: p\n    expr: 'rate(x['\n",
	}
	for want, doc := range cases {
		if _, err := Parse(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
}
