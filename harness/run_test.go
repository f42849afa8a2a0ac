package harness_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/internal/seam"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

var (
	arts harness.Artifacts
	root string
)

// TestMain builds the static gate and stressor once; these tests run real
// scenarios on the process target.
func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	var err error
	root, err = harness.ModuleRoot(wd)
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "harness-test-bin-*")
	arts, err = harness.Build(context.Background(), root, dir)
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shortIOGlitch is io-glitch cut to 30 s of fault: enough for the breaker
// alert (10 s `for`) and for recovery.
const shortIOGlitch = `name: io-glitch-short
labels: [io-glitch]
seed: 2
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: cache-readonly, duration: 30s}
expect:
  no_5xx: true
  no_transport_errors: true
  all_200: true
  snapshots_during: true
  warning_on_snapshots: true
  alerts:
    - {name: CircuitBreakerActive, fire_within: 30s, resolve_within: 40s}
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 1m}
  counters_agree: true
  livesha_valid: true
after: {duration: 6s, min_live_ratio: 0.95}
`

func run(t *testing.T, doc, rules string, gateEnv map[string]string) *reports.Report {
	t.Helper()
	spec, err := scenario.Parse(strings.NewReader(doc), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := harness.Run(t.Context(), spec, harness.Options{Target: harness.TargetProcess, Artifacts: arts,
		RulesFile: rules, ReportDir: t.TempDir(), GateEnv: gateEnv})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

func check(rep *reports.Report, name string) reports.Check {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	return reports.Check{Name: name, Observed: "missing"}
}

// TestAlertRuleThatNeverFiresFailsTheRun: the production rules with the
// breaker alert made impossible; the real run must fail on that alert.
func TestAlertRuleThatNeverFiresFailsTheRun(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	prod, err := os.ReadFile(filepath.Join(root, "config", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(prod), `state=~"open|half_open"}) == 1`, `state=~"open|half_open"}) == 2`, 1)
	if broken == string(prod) {
		t.Fatal("the rule to break was not found in config/alerts.yml")
	}
	rules := filepath.Join(t.TempDir(), "alerts.yml")
	os.WriteFile(rules, []byte(broken), 0o644)
	rep := run(t, shortIOGlitch, rules, nil)
	if rep.Verdict != reports.Fail {
		t.Fatal("verdict pass with an alert rule that cannot fire")
	}
	if c := check(rep, "alert_fires:CircuitBreakerActive"); c.Pass {
		t.Fatalf("alert_fires passed: %+v", c)
	}
	if rep.Harness.Scrapes.OK < 5 || rep.Harness.Scrapes.Failed != 0 {
		t.Errorf("scrapes %+v: the rules were not fed", rep.Harness.Scrapes)
	}
	// Everything else about the gate held.
	for _, name := range []string{"no_5xx", "warning_on_snapshots", "snapshots_during_fault", "recovery", "counters_agree", "livesha_valid"} {
		if c := check(rep, name); !c.Pass {
			t.Errorf("%s failed: %+v", name, c)
		}
	}
}

// TestThinScrapeEvidenceFailsTheAlertChecks: a real run scraped every
// minute, which the harness refuses before a run (the seam lets it
// through, as an older harness did), leaves phases of this one-minute
// GameDay without a scrape. The alert checks must fail for want of
// evidence, naming a phase, where a count of scrapes passed them.
func TestThinScrapeEvidenceFailsTheAlertChecks(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	spec, err := scenario.Parse(strings.NewReader(shortIOGlitch), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	ctx := seam.With(t.Context(), &seam.Hooks{SkipCoverageCheck: true})
	rep, _, err := harness.Run(ctx, spec, harness.Options{Target: harness.TargetProcess, Artifacts: arts,
		RulesFile: filepath.Join(root, "config", "alerts.yml"), ReportDir: t.TempDir(), ScrapeInterval: time.Minute})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Verdict != reports.Fail {
		t.Fatal("verdict pass on a minute's scrapes")
	}
	for _, name := range []string{"no_unexpected_alerts", "alert_fires:CircuitBreakerActive", "alert_resolves:CircuitBreakerActive"} {
		c := check(rep, name)
		if c.Pass || !strings.HasPrefix(c.Observed, "no evidence: ") || !strings.Contains(c.Observed, "phase") {
			t.Errorf("%s: %+v, want no evidence naming a phase", name, c)
		}
	}
	// The gate itself held: only the evidence was missing.
	for _, name := range []string{"no_5xx", "snapshots_during_fault", "recovery", "livesha_valid"} {
		if c := check(rep, name); !c.Pass {
			t.Errorf("%s failed: %+v", name, c)
		}
	}
}

// TestGateThatDoesNotSurviveFailsTheRun: a gate configured so that no
// snapshot is ever young enough to serve answers 503 during the fault; the
// run must not pass: the built-in 5xx-burst stop condition stops it, and
// no_5xx is red.
func TestGateThatDoesNotSurviveFailsTheRun(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	rep := run(t, shortIOGlitch, filepath.Join(root, "config", "alerts.yml"), map[string]string{"GATE_SNAPSHOT_MAX_AGE": "1ms"})
	if rep.Verdict != reports.Aborted || rep.Abort == nil || rep.Abort.Condition != "5xx-burst" {
		t.Fatalf("verdict %s (abort %+v): want aborted by the 5xx burst of a gate that answered 503", rep.Verdict, rep.Abort)
	}
	for _, name := range []string{"no_5xx", "all_200", "snapshots_during_fault"} {
		if c := check(rep, name); c.Pass {
			t.Errorf("%s passed: %+v", name, c)
		}
	}
	if rep.Load.Codes["503"] == 0 {
		t.Fatalf("no 503 recorded: %v", rep.Load.Codes)
	}
}

// TestSnapshotWithoutWarningFailsTheRun: a gate deliberately built without
// the stale Warning header (build tag gameday_broken_warning) serves its
// snapshots bare; the run must fail on warning_on_snapshots.
func TestSnapshotWithoutWarningFailsTheRun(t *testing.T) {
	t.Parallel()                                  // a GameDay on the process target: it waits on alerts, not on the CPU
	dir, err := os.MkdirTemp("", "broken-gate-*") // t.TempDir's parent is closed to the gate's user
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	broken := arts
	broken.GateBin = filepath.Join(dir, "gate-broken")
	cmd := exec.Command("go", "build", "-tags", "gameday_broken_warning", "-o", broken.GateBin, "./cmd/gate")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the broken gate: %v\n%s", err, out)
	}
	spec, err := scenario.Parse(strings.NewReader(shortIOGlitch), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := harness.Run(t.Context(), spec, harness.Options{Target: harness.TargetProcess, Artifacts: broken,
		RulesFile: filepath.Join(root, "config", "alerts.yml"), ReportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != reports.Fail {
		t.Fatal("verdict pass although snapshots came without Warning")
	}
	if c := check(rep, "warning_on_snapshots"); c.Pass {
		t.Fatalf("warning_on_snapshots passed: %+v", c)
	}
	if rep.Load.SnapshotNoWarn == 0 {
		t.Fatal("no snapshot without Warning recorded")
	}
	for _, name := range []string{"no_5xx", "snapshots_during_fault", "alert_fires:CircuitBreakerActive"} {
		if c := check(rep, name); !c.Pass {
			t.Errorf("%s failed: %+v", name, c)
		}
	}
}

// shortCPUSpike burns 2 cores for 15 s on the process target.
const shortCPUSpike = `name: cpu-spike-short
labels: [cpu-spike]
seed: 1
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: cpu-spike, duration: 15s, params: {cores: "2"}}
expect:
  no_5xx: true
  no_transport_errors: true
  all_200: true
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 1m}
  counters_agree: true
  livesha_valid: true
after: {duration: 6s, min_live_ratio: 0.95}
`

// TestCPUSpikeProvesTheCoresItBurned: the fault's proof is the CPU the
// target's domain used over the window, measured, against the request.
func TestCPUSpikeProvesTheCoresItBurned(t *testing.T) {
	rep := run(t, shortCPUSpike, filepath.Join(root, "config", "alerts.yml"), nil)
	c := check(rep, "fault_achieved:cpu-spike")
	if !c.Pass || c.Evidence < 10 {
		t.Fatalf("fault_achieved:cpu-spike: %+v", c)
	}
	if len(rep.Faults) != 1 || rep.Faults[0].Proof == nil {
		t.Fatalf("faults %+v", rep.Faults)
	}
	p := rep.Faults[0].Proof
	t.Logf("cpu-spike proof: %s", p.Detail)
	if p.Requested != 2 || p.Achieved < CPUFloor(p) {
		t.Fatalf("proof %+v", p)
	}
}

// CPUFloor is what fault_achieved demands of a cores proof.
func CPUFloor(p *reports.Proof) float64 {
	return harness.CPUAchievedFloor * min(p.Requested, p.Available)
}

// cancelAt is a progress writer that cancels the run a little after the
// first line containing its text, as Ctrl-C there would.
type cancelAt struct {
	text   string
	after  time.Duration
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelAt) Write(b []byte) (int, error) {
	if strings.Contains(string(b), c.text) {
		c.once.Do(func() { time.AfterFunc(c.after, c.cancel) })
	}
	return len(b), nil
}

// TestInterruptedRunListsItsFaults: Ctrl-C in the middle of a fault still
// reverts it, and the report lists it with its revert.
func TestInterruptedRunListsItsFaults(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	spec, err := scenario.Parse(strings.NewReader(shortIOGlitch), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	// Ctrl-C 2 s after the fault's injection line, however long start-up
	// and the baseline took; the timeout only bounds a hung run (a run
	// that ends by itself, uninterrupted, fails the test below).
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	rep, _, err := harness.Run(ctx, spec, harness.Options{Target: harness.TargetProcess, Artifacts: arts,
		RulesFile: filepath.Join(root, "config", "alerts.yml"), ReportDir: t.TempDir(),
		Progress: &cancelAt{text: "fault cache-readonly injected", after: 2 * time.Second, cancel: cancel}})
	if err == nil || rep.Verdict != reports.Fail || !strings.Contains(rep.Error, "interrupted during the fault") {
		t.Fatalf("err %v, verdict %s, error %q", err, rep.Verdict, rep.Error)
	}
	if len(rep.Faults) != 1 {
		t.Fatalf("faults %+v", rep.Faults)
	}
	f := rep.Faults[0]
	if f.InjectedAt.IsZero() || f.RevertedAt.IsZero() || f.RevertErr != "" || f.Proof == nil || !f.Proof.OK {
		t.Fatalf("fault %+v proof %+v", f, f.Proof)
	}
}
