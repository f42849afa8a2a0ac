package harness_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
)

// TestScenarioPanicInSetupStopsTheTarget: a panic once the target runs
// (inside setup) is a failed run with its report, and the target is
// stopped.
func TestScenarioPanicInSetupStopsTheTarget(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	spec, err := scenario.Parse(strings.NewReader(shortIOGlitch), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := harness.Run(t.Context(), spec, harness.Options{Target: harness.TargetProcess, Artifacts: arts,
		RulesFile: filepath.Join(root, "config", "alerts.yml"), ReportDir: t.TempDir(), Progress: harness.PanicAt("target process at")})
	if rep == nil || !strings.Contains(rep.Error, "harness panic") || err == nil {
		t.Fatalf("report %v, err %v: want the report of a run that failed with the panic", rep, err)
	}
	if rep.Target.URL == "" {
		t.Fatal("the panic came before the target started: the test proves nothing")
	}
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get(rep.Target.URL + "/readyz"); err == nil {
		resp.Body.Close()
		t.Errorf("the gate at %s still answers after the run", rep.Target.URL)
	}
}
