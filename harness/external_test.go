package harness_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
)

func externalSpec(t *testing.T, target, fault string) *scenario.Spec {
	t.Helper()
	y := "name: ext\n" + target + "load: {rate: 5}\nbaseline: {duration: 1s}\nfaults: [{name: " + fault + ", duration: 1s}]\nafter: {duration: 1s}\n"
	s, err := scenario.Parse(strings.NewReader(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCheckExternalNamesTheField: a gate the harness did not start takes
// admin-API faults only, and no option that configures a gate the harness
// starts.
func TestCheckExternalNamesTheField(t *testing.T) {
	if err := harness.CheckExternal(externalSpec(t, "", "generator-latency")); err != nil {
		t.Fatalf("generator-latency: %v", err)
	}
	for _, c := range []struct{ target, fault, field, want string }{
		{"", "cache-readonly", "faults[0].name", "the gate's filesystem"},
		{"", "cpu-spike", "faults[0].name", "the gate's CPU domain"},
		{"target: {tls: true}\n", "generator-latency", "target.tls", "https://"},
		{"target: {cpus: 1}\n", "generator-latency", "target.cpus", "leave it out"},
	} {
		err := harness.CheckExternal(externalSpec(t, c.target, c.fault))
		var fe *scenario.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Problem, c.want) {
			t.Errorf("%q %s: %v, want %s: ...%s", c.target, c.fault, err, c.field, c.want)
		}
	}
}

// TestRunRefusesAURLTargetWithoutItsDeployment: Run itself refuses what
// the CLI refuses, for callers other than the CLI, before anything runs.
func TestRunRefusesAURLTargetWithoutItsDeployment(t *testing.T) {
	for _, c := range []struct {
		name string
		ext  *harness.External
		spec *scenario.Spec
		want string
	}{
		{"no deployment", nil, externalSpec(t, "", "generator-latency"), "Options.External"},
		{"no token", &harness.External{URL: "http://127.0.0.1:1"}, externalSpec(t, "", "generator-latency"), "External.Token: required"},
		{"no admin token", &harness.External{URL: "http://127.0.0.1:1", Token: "t0k3n-metrics"}, externalSpec(t, "", "generator-latency"), "External.AdminToken: required: faults[0]"},
		{"a host fault", &harness.External{URL: "http://127.0.0.1:1", Token: "t0k3n-metrics", AdminToken: "t0k3n-admin"}, externalSpec(t, "", "cpu-spike"), "faults[0].name: cpu-spike needs"},
	} {
		rep, _, err := harness.Run(t.Context(), c.spec, harness.Options{Target: harness.TargetURL, External: c.ext, RulesFile: root + "/config/alerts.yml", ReportDir: t.TempDir()})
		if err == nil || !strings.Contains(rep.Error, c.want) || len(rep.Faults) != 0 || strings.Contains(rep.Error, "t0k3n") {
			t.Errorf("%s: %v, report error %q, faults %v", c.name, err, rep.Error, rep.Faults)
		}
	}
}

// TestCheckTargetRefusesAScrapePathFaultInAFleet: a fleet is scraped by
// the Prometheus it starts, not through the harness's own scrape path, so
// a fault on that path is refused before anything starts, naming the
// field; on a single gate it is taken.
func TestCheckTargetRefusesAScrapePathFaultInAFleet(t *testing.T) {
	fleet := `name: x
target: {kind: fleet, replicas: 2}
load: {rate: 20}
baseline: {duration: 10s, min_live_ratio: 0.95}
faults: [{name: scrape-path, duration: 10s, select: {count: 1}}]
after: {duration: 10s}
`
	spec, err := scenario.Parse(strings.NewReader(fleet), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	err = harness.CheckTarget(spec, harness.TargetContainer)
	var fe *scenario.FieldError
	if !errors.As(err, &fe) || fe.Field != "faults[0].name" || !strings.Contains(err.Error(), "scrape path") {
		t.Fatalf("a fleet with scrape-path: %v, want a FieldError naming faults[0].name", err)
	}
	specs, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{harness.TargetContainer, harness.TargetProcess} {
		if err := harness.CheckTarget(specs["scrape-path"], kind); err != nil {
			t.Errorf("scrape-path on the %s target: %v", kind, err)
		}
	}
}

// TestCheckTargetRefusesDiskFullInAFleet: disk-full fills a filesystem
// the single gate's target mounts; a fleet is refused before anything
// starts, naming the field. As root (the mount), the built-ins are taken
// on a single gate.
func TestCheckTargetRefusesDiskFullInAFleet(t *testing.T) {
	spec, err := scenario.Parse(strings.NewReader(`name: x
target: {kind: fleet, replicas: 2}
load: {rate: 20}
baseline: {duration: 10s, min_live_ratio: 0.95}
faults: [{name: disk-full, duration: 10s, select: {count: 1}}]
after: {duration: 10s}
`), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	var fe *scenario.FieldError
	if err := harness.CheckTarget(spec, harness.TargetContainer); !errors.As(err, &fe) || fe.Field != "faults[0].name" || !strings.Contains(err.Error(), "not in a fleet") {
		t.Fatalf("a fleet with disk-full: %v, want a FieldError naming faults[0].name", err)
	}
	specs, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	for name, kind := range map[string]string{"disk-full": harness.TargetProcess, "disk-full-audit": harness.TargetProcess, "memory-oom": harness.TargetContainer} {
		err := harness.CheckTarget(specs[name], kind)
		switch {
		case os.Geteuid() == 0 && err != nil:
			t.Errorf("%s on the process target as root: %v", name, err)
		case os.Geteuid() != 0 && (!errors.As(err, &fe) || !strings.Contains(err.Error(), "needs root")):
			t.Errorf("%s without root: %v, want a FieldError saying it needs root", name, err)
		}
	}
}
