package harness_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// brakeOnAlert is an I/O glitch of a minute whose stop condition is the
// breaker alert firing: the brake must stop it about 20 s in.
const brakeOnAlert = `name: brake-on-alert
seed: 2
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: cache-readonly, duration: 60s}
stop_when:
  - name: breaker-open
    expr: 'ALERTS{alertname="CircuitBreakerActive", alertstate="firing"}'
    for: 0s
expect:
  snapshots_during: true
  stop: {by: breaker-open, revert_within: 5s}
  recovery: {min_live_ratio: 0.95, within: 1m}
after: {duration: 6s, min_live_ratio: 0.95}
`

// runStopped runs doc on the process target with opts' Stop and Progress.
func runStopped(t *testing.T, doc string, stop <-chan struct{}, progress *syncBuffer) (*reports.Report, error) {
	t.Helper()
	spec, err := scenario.Parse(strings.NewReader(doc), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := harness.Run(t.Context(), spec, harness.Options{Target: harness.TargetProcess, Artifacts: arts,
		RulesFile: filepath.Join(root, "config", "alerts.yml"), ReportDir: t.TempDir(), Stop: stop, Progress: progress})
	return rep, err
}

// expectAborted holds an aborted run to account: stopped by want, every
// fault injected at the breach reverted within bound (and proved by its
// own probe or measure), the brake checks green.
func expectAborted(t *testing.T, rep *reports.Report, want string, bound time.Duration) {
	t.Helper()
	ab := rep.Abort
	if rep.Verdict != reports.Aborted || ab == nil {
		t.Fatalf("verdict %s, abort %+v: want aborted by %s (error %q)", rep.Verdict, ab, want, rep.Error)
	}
	if ab.Condition != want {
		t.Fatalf("stopped by %s (%s), want %s", ab.Condition, ab.Reason, want)
	}
	if ab.BreachToRevertSeconds == nil || ab.RevertedAt == nil || len(ab.Reverts) == 0 {
		t.Fatalf("breach→revert not measured: %+v", ab)
	}
	d := time.Duration(*ab.BreachToRevertSeconds * float64(time.Second))
	if d > bound {
		t.Errorf("breach→revert %s, want at most %s", d, bound)
	}
	t.Logf("stopped by %s in the %s phase (%s); breach→revert %s", ab.Condition, ab.Phase, ab.Reason, d)
	if ab.SweptAt == nil || len(ab.LeftBehind) > 0 {
		t.Errorf("sweep after the reverts: at %v, left behind %v", ab.SweptAt, ab.LeftBehind)
	}
	for _, name := range []string{"stopped_by", "reverted_on_stop", "faults_reverted"} {
		if c := check(rep, name); !c.Pass || c.Evidence == 0 {
			t.Errorf("%s: %+v", name, c)
		}
	}
	for _, f := range rep.Faults {
		if f.RevertedAt.IsZero() || f.RevertedAt.Before(ab.BreachedAt) {
			t.Errorf("fault %s reverted at %v, breach at %v", f.Name, f.RevertedAt, ab.BreachedAt)
		}
	}
}

// TestStopConditionOnARealAlert: a stop_when on the breaker alert, as the
// real rules engine raises it, stops a one-minute I/O glitch once the
// alert fires: the fault reverted at once (its write probe proves the
// cache writable again), the run goes on observing recovery and ends
// aborted.
func TestStopConditionOnARealAlert(t *testing.T) {
	t.Parallel() // waits on alerts, not on the CPU
	var progress syncBuffer
	rep, err := runStopped(t, brakeOnAlert, nil, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	expectAborted(t, rep, "breaker-open", 5*time.Second)
	ab := rep.Abort
	if ab.Phase != "fault" || ab.Value != 1 {
		t.Errorf("breach in phase %q with value %g, want the fault phase and the ALERTS sample's 1", ab.Phase, ab.Value)
	}
	injected := rep.Faults[0].InjectedAt
	if d := ab.BreachedAt.Sub(injected); d > 45*time.Second {
		t.Errorf("the breach came %s after the injection: the brake did not stop a 60 s fault early", d)
	}
	if c := check(rep, "fault_achieved:cache-readonly"); !c.Pass {
		t.Errorf("the fault's own probe: %+v", c)
	}
	if c := check(rep, "recovery"); !c.Pass || rep.RecoverySeconds == nil {
		t.Errorf("recovery after the stop was not observed: %+v", c)
	}
	if !strings.Contains(progress.String(), "stop: breaker-open") {
		t.Errorf("no progress line for the breach:\n%s", progress.String())
	}
}

// TestOperatorStop: the operator's stop (what SIGUSR1 and gameday stop
// send) ends a run as a breach does, with the reason "stopped by
// operator", and the latency fault is gone from the gate's fault API.
func TestOperatorStop(t *testing.T) {
	t.Parallel()
	doc := `name: operator-stop
seed: 3
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: generator-latency, duration: 2m}
expect:
  stop: {by: operator, revert_within: 5s}
after: {duration: 5s, min_live_ratio: 0.95}
`
	stop := make(chan struct{})
	progress := &syncBuffer{onLine: func(l string) {
		if strings.Contains(l, "fault generator-latency injected") {
			go func() { time.Sleep(3 * time.Second); close(stop) }()
		}
	}}
	rep, err := runStopped(t, doc, stop, progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	expectAborted(t, rep, "operator", 5*time.Second)
	if rep.Abort.Reason != "stopped by operator" {
		t.Errorf("reason %q", rep.Abort.Reason)
	}
}

// TestPreflightRefusesToInject: a stop condition that holds before the
// first fault (vector(1) always does) stops the run at the end of its
// baseline with ErrPreflight naming it; nothing is injected.
func TestPreflightRefusesToInject(t *testing.T) {
	t.Parallel()
	doc := `name: preflight
seed: 2
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: cache-readonly, duration: 30s}
stop_when:
  - {name: always, expr: 'vector(1)', for: 1m}
after: {duration: 5s}
`
	var progress syncBuffer
	rep, err := runStopped(t, doc, nil, &progress)
	var pe *harness.PreflightError
	if !errors.Is(err, harness.ErrPreflight) || !errors.As(err, &pe) {
		t.Fatalf("err %v, want a pre-flight error\n%s", err, progress.String())
	}
	if !strings.Contains(err.Error(), "stop condition always already holds") || !strings.Contains(err.Error(), "nothing injected") {
		t.Errorf("the error does not name what it found: %v", err)
	}
	if len(rep.Faults) != 0 {
		t.Errorf("a pre-flight failure injected %v", rep.Faults)
	}
}

// syncBuffer is a progress writer safe for the run's writers, calling
// onLine with each line as it comes.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.onLine != nil {
		for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
			b.onLine(l)
		}
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
