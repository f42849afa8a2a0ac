// Package scenarios holds the GameDay Ginkgo suites: the three built-in
// scenarios against the gate in a container, and the process target path.
//
//	go test ./scenarios/...                     everything
//	ginkgo --label-filter=latency ./scenarios   one scenario
//	ginkgo --label-filter=process ./scenarios   the process target only
//
// Reports go to GAMEDAY_REPORT_DIR (default reports/out at the module
// root), with the Ginkgo JSON report (ginkgo-report.json) and its JUnit
// twin (ginkgo-junit.xml) next to them. Without a Docker engine
// the container specs skip with a message, unless GAMEDAY_REQUIRE_DOCKER=1,
// which makes that a failure (CI sets it).
package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	. "github.com/onsi/gomega"

	"github.com/quannex/gameday/harness"
)

func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "GameDay scenarios")
}

var (
	moduleRoot string
	reportDir  string
	artifacts  harness.Artifacts
	dockerErr  error
)

var _ = BeforeSuite(func(ctx context.Context) {
	wd, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	moduleRoot, err = harness.ModuleRoot(wd)
	Expect(err).NotTo(HaveOccurred())
	reportDir = os.Getenv("GAMEDAY_REPORT_DIR")
	if reportDir == "" {
		reportDir = filepath.Join(moduleRoot, "reports", "out")
	}
	artifacts, err = harness.Build(ctx, moduleRoot, filepath.Join(os.TempDir(), "gameday-suite-bin"))
	Expect(err).NotTo(HaveOccurred())
	_, dockerErr = harness.ResolveTarget(ctx, harness.TargetContainer, os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1")
	if dockerErr != nil && os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1" {
		Fail("GAMEDAY_REQUIRE_DOCKER=1 but the container target is unavailable: " + dockerErr.Error())
	}
})

var _ = ReportAfterSuite("Ginkgo JSON and JUnit reports", func(r Report) {
	if reportDir == "" {
		return
	}
	os.MkdirAll(reportDir, 0o755)
	Expect(reporters.GenerateJSONReport(r, filepath.Join(reportDir, "ginkgo-report.json"))).To(Succeed())
	Expect(reporters.GenerateJUnitReport(r, filepath.Join(reportDir, "ginkgo-junit.xml"))).To(Succeed())
})
