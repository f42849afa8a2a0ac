package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// runScenario runs a built-in scenario on a target and expects a passing
// verdict, printing the failed checks otherwise.
func runScenario(ctx context.Context, name, kind string) *reports.Report {
	specs, err := scenario.Builtins(fault.Known)
	Expect(err).NotTo(HaveOccurred())
	spec, ok := specs[name]
	Expect(ok).To(BeTrue(), "built-in scenario %s", name)
	rep, path, err := harness.Run(ctx, spec, harness.Options{
		Target: kind, Artifacts: artifacts, RulesFile: filepath.Join(moduleRoot, "config", "alerts.yml"),
		ReportDir: reportDir, Progress: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("report", path)
	var failed []string
	for _, c := range rep.Checks {
		if !c.Pass {
			failed = append(failed, fmt.Sprintf("%s: expected %s, observed %s", c.Name, c.Expected, c.Observed))
		}
	}
	Expect(failed).To(BeEmpty(), "failed checks of %s on %s (report %s)", name, kind, path)
	for _, c := range rep.Checks {
		Expect(c.Evidence).To(BeNumerically(">", 0), "check %s passed with no evidence count", c.Name)
		Expect(c.EvidenceOf).NotTo(BeEmpty(), "check %s does not say what its evidence counts", c.Name)
	}
	for _, f := range rep.Faults {
		Expect(f.Proof).NotTo(BeNil(), "fault %s proved nothing", f.Name)
		Expect(f.Proof.OK).To(BeTrue(), "fault %s: %s", f.Name, f.Proof.Detail)
	}
	Expect(rep.Verdict).To(Equal(reports.Pass))
	back, err := reports.Read(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(back.Verdict).To(Equal(reports.Pass))
	return rep
}

var _ = Describe("GameDay in containers", Label("gameday", "container"), func() {
	BeforeEach(func() {
		if dockerErr != nil {
			Skip("no Docker engine answers, so the container target is unavailable (" + dockerErr.Error() + "); set GAMEDAY_REQUIRE_DOCKER=1 to make this a failure")
		}
	})

	It("survives a CPU spike with live payloads", Label("cpu-spike"), func(ctx SpecContext) {
		rep := runScenario(ctx, "cpu-spike", harness.TargetContainer)
		Expect(rep.Target.Kind).To(Equal("container"))
		Expect(rep.Target.ImageID).NotTo(BeEmpty())
	}, SpecTimeout(12*time.Minute))

	It("serves snapshots with a Warning through an I/O glitch and recovers by itself", Label("io-glitch"), func(ctx SpecContext) {
		rep := runScenario(ctx, "io-glitch", harness.TargetContainer)
		Expect(rep.RecoverySeconds).NotTo(BeNil())
	}, SpecTimeout(12*time.Minute))

	It("fires HighLatency under generator latency and resolves it after", Label("latency"), func(ctx SpecContext) {
		rep := runScenario(ctx, "latency", harness.TargetContainer)
		Expect(rep.Alerts).To(ContainElement(HaveField("Name", "HighLatency")))
	}, SpecTimeout(14*time.Minute))
})

var _ = Describe("GameDay on the process target", Label("gameday", "process"), func() {
	It("serves snapshots with a Warning through an I/O glitch and recovers by itself", Label("io-glitch"), func(ctx SpecContext) {
		rep := runScenario(ctx, "io-glitch", harness.TargetProcess)
		Expect(rep.Target.Kind).To(Equal("process"))
		// The fault was reverted: nothing is left in the permission state dir.
		left, _ := filepath.Glob(filepath.Join(fault.StateDir(), "chmod-*.json"))
		for _, f := range left {
			b, _ := os.ReadFile(f)
			Expect(strings.Contains(string(b), "gameday-target")).To(BeFalse(), "a permission change was left: %s", b)
		}
	}, SpecTimeout(12*time.Minute))
})
