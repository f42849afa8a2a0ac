package harness_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/internal/seam"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// The differential scenarios are the built-in latency and io-glitch cut
// short. counters_agree is off: the observing Prometheus scrapes /metrics
// too, and the gate counts those responses with the load's.
const (
	// 90 s of latency: HighLatency (1m rate, `for: 1m`) fires about 70 s
	// in. The 40 s baseline keeps the 1h latency burn ratio under 0.72
	// (90 of 130 s slow), so LatencyBudgetBurn never pages.
	diffLatency = `name: latency-differential
labels: [latency]
seed: 3
load: {rate: 20}
baseline: {duration: 40s, min_live_ratio: 0.95}
faults:
  - {name: generator-latency, duration: 90s, params: {min: 300ms, max: 500ms}}
expect:
  no_5xx: true
  min_p95_during: 200ms
  alerts:
    - {name: HighLatency, fire_within: 90s, resolve_within: 150s}
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 3m}
after: {duration: 10s, min_live_ratio: 0.95}
`
	// 60 s of a read-only cache: CircuitBreakerActive (`for: 10s`) fires
	// and resolves after the revert. The 30 s baseline keeps the 1h
	// live-ratio burn under 0.72 (60 of 90 s snapshots).
	diffIOGlitch = `name: io-glitch-differential
labels: [io-glitch]
seed: 2
load: {rate: 20}
baseline: {duration: 30s, min_live_ratio: 0.95}
faults:
  - {name: cache-readonly, duration: 60s}
expect:
  no_5xx: true
  snapshots_during: true
  alerts:
    - {name: CircuitBreakerActive, fire_within: 45s, resolve_within: 60s}
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 2m}
after: {duration: 10s, min_live_ratio: 0.95}
`
)

// TestDefaultScrapeJobsMatchTheConfig: the jobs the harness falls back to
// without a scrape config next to the rules are config/prometheus.yml's.
func TestDefaultScrapeJobsMatchTheConfig(t *testing.T) {
	cfg, err := promserver.LoadConfig(filepath.Join(root, "config", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Jobs) != len(harness.DefaultScrapeJobs) {
		t.Fatalf("config jobs %+v, defaults %+v", cfg.Jobs, harness.DefaultScrapeJobs)
	}
	for i, j := range cfg.Jobs {
		j.CredentialsFile = ""
		if j != harness.DefaultScrapeJobs[i] {
			t.Errorf("job %d: config %+v, default %+v", i, j, harness.DefaultScrapeJobs[i])
		}
	}
}

// TestDifferentialAgainstPrometheus runs GameDays while a real Prometheus
// (Debian's 2.x) scrapes the same gate with config/prometheus.yml and
// evaluates config/alerts.yml. The alerts that fired (name and label set)
// must be the same, each fired as often, and each firing and resolution
// within one scrape plus one evaluation interval of the harness's.
//
// Without the prometheus binary the test skips, except under CI, where it
// fails: .ci/run installs Debian's prometheus package.
func TestDifferentialAgainstPrometheus(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	bin, err := promserver.Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: under CI the differential test must run", err)
		}
		t.Skipf("%v; CI runs this test", err)
	}
	for _, sc := range []struct{ name, doc, alert string }{
		{"latency", diffLatency, "HighLatency"},
		{"io-glitch", diffIOGlitch, "CircuitBreakerActive"},
	} {
		t.Run(sc.name, func(t *testing.T) { t.Parallel(); differential(t, bin, sc.doc, sc.alert) })
	}
}

func differential(t *testing.T, bin, doc, expected string) {
	spec, err := scenario.Parse(strings.NewReader(doc), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(root, "config", "prometheus.yml")
	cfg, err := promserver.LoadConfig(configFile)
	if err != nil {
		t.Fatal(err)
	}
	tolerance := cfg.ScrapeInterval + cfg.EvaluationInterval
	var (
		mu         sync.Mutex
		prom       *promserver.Server
		since, end time.Time
	)
	observe := func(ctx context.Context, rt seam.Observed) (func(), error) {
		s, err := promserver.Start(ctx, promserver.Options{Binary: bin, ConfigFile: configFile, Target: rt.URL, Credentials: rt.ScrapeCredentials})
		if err != nil {
			return nil, err
		}
		t.Cleanup(s.Stop)
		mu.Lock()
		defer mu.Unlock()
		prom, since = s, time.Now()
		// Prometheus keeps running past the run: it is read afterwards.
		return func() {
			mu.Lock()
			defer mu.Unlock()
			end = time.Now()
		}, nil
	}
	rep, _, err := harness.Run(seam.With(t.Context(), &seam.Hooks{Observe: observe}), spec, harness.Options{Target: harness.TargetProcess, Artifacts: arts,
		RulesFile: filepath.Join(root, "config", "alerts.yml"), ReportDir: t.TempDir(), ScrapeInterval: cfg.ScrapeInterval})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, c := range rep.Checks {
		if !c.Pass {
			t.Logf("harness check failed (not the differential's concern): %s: %s", c.Name, c.Observed)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if prom == nil || end.IsZero() {
		t.Fatal("the observer never started or never stopped")
	}
	// The run can end on the harness's own resolution, while Prometheus, on
	// its own clock, evaluates up to a scrape and an evaluation interval
	// later; and an alert reads as resolved only once an interval and a half
	// passes without its ALERTS sample. Wait out both, then keep what
	// Prometheus did up to the end of the run plus the tolerance: the
	// harness saw nothing later.
	time.Sleep(time.Until(end.Add(tolerance + cfg.EvaluationInterval*3/2 + time.Second)))
	qctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	promSeen, err := prom.API().Alerts(qctx, since, time.Now(), "")
	if log := prom.Log(); log != "" {
		t.Logf("prometheus log:\n%s", log)
	}
	if err != nil {
		t.Fatalf("prometheus alerts: %v", err)
	}
	theirAlerts := upTo(asReported(promSeen), end.Add(tolerance))

	fired := func(as []reports.Alert) map[string]reports.Alert {
		m := map[string]reports.Alert{}
		for _, a := range as {
			if a.Firings > 0 {
				m[a.Name+labelKey(a.Labels)] = a
			}
		}
		return m
	}
	ours, theirs := fired(rep.Alerts), fired(theirAlerts)
	if !containsName(ours, expected) || !containsName(theirs, expected) {
		t.Errorf("%s did not fire in both: harness %v, prometheus %v", expected, keys(ours), keys(theirs))
	}
	if strings.Join(keys(ours), " ") != strings.Join(keys(theirs), " ") {
		t.Errorf("alerts that fired differ:\n harness    %v\n prometheus %v", keys(ours), keys(theirs))
	}
	var zero time.Time
	if len(rep.Faults) > 0 {
		zero = rep.Faults[0].InjectedAt
	}
	for k, a := range ours {
		b, ok := theirs[k]
		if !ok {
			continue
		}
		ea, eb := edges(a), edges(b)
		t.Logf("%s: harness %s, prometheus %s (from the injection)", k, describe(ea, zero), describe(eb, zero))
		if len(ea) != len(eb) {
			t.Errorf("%s: harness %s, prometheus %s: not the same firings and resolutions", k, describe(ea, zero), describe(eb, zero))
			continue
		}
		for i := range ea {
			if ea[i].To != eb[i].To {
				t.Errorf("%s: edge %d: harness %s, prometheus %s", k, i, ea[i].To, eb[i].To)
			}
			if d := ea[i].At.Sub(eb[i].At).Abs(); d > tolerance {
				t.Errorf("%s: %s %s apart (harness %s, prometheus %s), more than %s", k, ea[i].To, d,
					ea[i].At.Format(time.TimeOnly), eb[i].At.Format(time.TimeOnly), tolerance)
			}
		}
	}
}

// asReported is Prometheus's timelines in the report's form, as the
// harness's own are.
func asReported(ts []alerts.Timeline) []reports.Alert {
	out := make([]reports.Alert, 0, len(ts))
	for _, t := range ts {
		a := reports.Alert{Name: t.Name, Labels: t.Labels, Firings: t.Firings}
		for _, tr := range t.Transitions {
			a.Transitions = append(a.Transitions, reports.Transition{At: tr.At, From: tr.From, To: tr.To})
		}
		out = append(out, a)
	}
	return out
}

// upTo keeps each alert's transitions at or before t, and the alerts that
// still have one.
func upTo(as []reports.Alert, t time.Time) []reports.Alert {
	var out []reports.Alert
	for _, a := range as {
		var trs []reports.Transition
		firings := 0
		for _, tr := range a.Transitions {
			if tr.At.After(t) {
				continue
			}
			trs = append(trs, tr)
			if tr.To == "firing" {
				firings++
			}
		}
		if len(trs) == 0 {
			continue
		}
		a.Transitions, a.Firings = trs, firings
		out = append(out, a)
	}
	return out
}

// edges are an alert's firings and resolutions (firing -> inactive).
func edges(a reports.Alert) []reports.Transition {
	var out []reports.Transition
	for _, tr := range a.Transitions {
		if tr.To == "firing" || (tr.From == "firing" && tr.To == "inactive") {
			out = append(out, tr)
		}
	}
	return out
}

func describe(es []reports.Transition, zero time.Time) string {
	var parts []string
	for _, e := range es {
		what := "fired"
		if e.To == "inactive" {
			what = "resolved"
		}
		parts = append(parts, fmt.Sprintf("%s +%s", what, e.At.Sub(zero).Round(100*time.Millisecond)))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func labelKey(l map[string]string) string {
	ks := make([]string, 0, len(l))
	for k := range l {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range ks {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s=%q", k, l[k])
	}
	b.WriteString("}")
	return b.String()
}

func keys(m map[string]reports.Alert) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func containsName(m map[string]reports.Alert, name string) bool {
	for _, a := range m {
		if a.Name == name {
			return true
		}
	}
	return false
}
