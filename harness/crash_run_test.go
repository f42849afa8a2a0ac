package harness_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/quannex/gameday/reports"
)

// shortCrash kills the process target's gate twice, 10 s apart, under
// load: the crash checks judge each kill's return, the restarted gate's
// snapshot and the audit log across the kills.
const shortCrash = `name: crash-short
labels: [crash]
seed: 4
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: crash, duration: 15s, params: {times: "2", every: 10s}}
expect:
  no_5xx: true
  crash: {back_within: 10s}
  recovery: {min_live_ratio: 0.95, within: 30s}
  livesha_valid: true
after: {duration: 6s, min_live_ratio: 0.95}
`

// TestCrashOnTheProcessTarget: two real kills of a real gate, restarted
// by the process target; every check green, the fault proved by the two
// SIGKILLs and restarts, and the acknowledged admin calls found in the
// audit log.
func TestCrashOnTheProcessTarget(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits, not on the CPU
	rep := run(t, shortCrash, filepath.Join(root, "config", "alerts.yml"), nil)
	for _, c := range rep.Checks {
		if !c.Pass || c.Evidence == 0 {
			t.Errorf("%s: %s (evidence %d)", c.Name, c.Observed, c.Evidence)
		}
	}
	if rep.Verdict != reports.Pass {
		t.Fatalf("verdict %s", rep.Verdict)
	}
	f := rep.Faults[0]
	if len(f.Kills) != 2 || f.Proof == nil || !f.Proof.OK || !strings.Contains(f.Proof.Detail, "signal killed, restart count 1 → 2") {
		t.Fatalf("kills %+v, proof %+v", f.Kills, f.Proof)
	}
	acked := 0
	for _, k := range f.Kills {
		acked += len(k.Acknowledged)
	}
	if c := check(rep, "audit_intact"); acked == 0 || c.Evidence != acked {
		t.Errorf("acknowledged %d, audit_intact's evidence %d", acked, c.Evidence)
	}
	t.Logf("%s; %s; %s", f.Proof.Detail, check(rep, "crash_recovery").Observed, check(rep, "audit_intact").Observed)
}
