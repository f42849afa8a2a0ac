package scenarios

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
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

// brakeSpec reads a scenario of scenarios/brakes.
func brakeSpec(name string) *scenario.Spec {
	f, err := os.Open(filepath.Join(moduleRoot, "scenarios", "brakes", name+".yaml"))
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	spec, err := scenario.Parse(f, fault.Known)
	Expect(err).NotTo(HaveOccurred())
	return spec
}

// expectStopped holds a brake GameDay to account: aborted by the
// condition its scenario names, every fault injected at the breach
// reverted within the scenario's bound and proved by its own probe or
// measure after the revert, nothing left in the gate's fault API, every
// check green.
func expectStopped(rep *reports.Report, path, by string) {
	ab := rep.Abort
	Expect(rep.Verdict).To(Equal(reports.Aborted), "report %s", path)
	Expect(ab).NotTo(BeNil())
	Expect(ab.Condition).To(Equal(by), "stopped by %s (%s)", ab.Condition, ab.Reason)
	Expect(ab.BreachToRevertSeconds).NotTo(BeNil(), "breach→revert not measured")
	Expect(*ab.BreachToRevertSeconds).To(BeNumerically("<=", 5), "breach→revert over 5 s on the container target")
	Expect(ab.Reverts).NotTo(BeEmpty())
	Expect(ab.SweptAt).NotTo(BeNil(), "no sweep for faults left behind")
	Expect(ab.LeftBehind).To(BeEmpty())
	for _, c := range rep.Checks {
		Expect(c.Pass).To(BeTrue(), "%s: expected %s, observed %s (report %s)", c.Name, c.Expected, c.Observed, path)
		Expect(c.Evidence).To(BeNumerically(">", 0), "check %s passed with no evidence", c.Name)
	}
	for _, f := range rep.Faults {
		Expect(f.Proof).NotTo(BeNil(), "fault %s proved nothing", f.Name)
		Expect(f.Proof.OK).To(BeTrue(), "fault %s: %s", f.Name, f.Proof.Detail)
		Expect(f.RevertedAt).To(BeTemporally(">=", ab.BreachedAt))
	}
	msg := "stopped by " + ab.Condition + ": " + ab.Reason
	AddReportEntry("breach→revert seconds", *ab.BreachToRevertSeconds)
	GinkgoWriter.Printf("%s; breach→revert %.3fs\n", msg, *ab.BreachToRevertSeconds)
}

var _ = Describe("Brakes: GameDays stopped by a stop condition or an operator", Label("gameday", "brake", "container"), func() {
	BeforeEach(func() {
		if dockerErr != nil {
			Skip("no Docker engine answers, so the container target is unavailable (" + dockerErr.Error() + "); set GAMEDAY_REQUIRE_DOCKER=1 to make this a failure")
		}
	})

	run := func(ctx context.Context, spec *scenario.Spec, arts harness.Artifacts) (*reports.Report, string) {
		rep, path, err := harness.Run(ctx, spec, harness.Options{Target: harness.TargetContainer, Artifacts: arts,
			RulesFile: filepath.Join(moduleRoot, "config", "alerts.yml"), ReportDir: reportDir, Progress: GinkgoWriter})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("report", path)
		return rep, path
	}

	It("stops on the built-in 5xx burst of a gate that answers 500 under the fault", Label("5xx"), func(ctx SpecContext) {
		rep, path := run(ctx, brakeSpec("stop-on-5xx"), broken)
		expectStopped(rep, path, scenario.Stop5xxBurst)
		Expect(rep.Load.Codes).To(HaveKey("500"), "the broken gate answered no 500: the brake was never at risk")
	}, SpecTimeout(8*time.Minute))

	It("stops on a stop_when over the real breaker alert", Label("io-glitch"), func(ctx SpecContext) {
		rep, path := run(ctx, brakeSpec("stop-on-alert"), artifacts)
		expectStopped(rep, path, "breaker-open")
		Expect(rep.Abort.BreachedAt.Sub(rep.Faults[0].InjectedAt)).To(BeNumerically("<", 90*time.Second),
			"the two-minute fault was not stopped early")
	}, SpecTimeout(8*time.Minute))

	It("stops when an operator runs gameday stop from a second process", Label("operator"), func(ctx SpecContext) {
		dir := filepath.Join(reportDir, "operator-"+time.Now().UTC().Format("20060102T150405.000"))
		cmd := exec.CommandContext(ctx, gamedayBin, "run", "--target", "container", "--bin-dir", filepath.Dir(artifacts.GateBin),
			"--report-dir", dir, "-f", filepath.Join("scenarios", "brakes", "stop-by-operator.yaml"))
		cmd.Dir = moduleRoot
		out, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		sc := bufio.NewScanner(out)
		for sc.Scan() && !strings.Contains(sc.Text(), "fault generator-latency injected") {
			GinkgoWriter.Println(sc.Text())
		}
		go func() { // ends with the run's stdout
			for sc.Scan() {
				GinkgoWriter.Println(sc.Text())
			}
		}()
		time.Sleep(3 * time.Second) // responses under the fault: its latency proof needs them
		stop := exec.CommandContext(ctx, gamedayBin, "stop", "--report-dir", dir)
		b, err := stop.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "gameday stop: %s", b)
		Expect(string(b)).To(ContainSubstring("fault(s) reverted"))
		err = cmd.Wait()
		var ee *exec.ExitError
		Expect(errors.As(err, &ee) && ee.ExitCode() == 5).To(BeTrue(), "the stopped run: %v, want exit 5", err)
		paths, _ := filepath.Glob(filepath.Join(dir, "stop-by-operator-*.json"))
		Expect(paths).To(HaveLen(1))
		rep, err := reports.Read(paths[0])
		Expect(err).NotTo(HaveOccurred())
		expectStopped(rep, paths[0], scenario.StopByOperator)
	}, SpecTimeout(6*time.Minute))
})
