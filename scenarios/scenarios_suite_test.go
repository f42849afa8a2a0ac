// Package scenarios holds the GameDay Ginkgo suites: the three built-in
// scenarios against the gate in a container, and the process target path.
//
//	go test ./scenarios/...                     everything, one spec at a time
//	ginkgo -p --procs=4 ./scenarios             side by side (make scenarios); the
//	                                            CPU spike runs alone (Serial)
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
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	. "github.com/onsi/gomega"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/target"
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

// The first process builds the gate and stressor and, where a Docker
// engine answers, the gate image, once for every process of a parallel
// run (ginkgo -p); each process then only reads where they are.
var _ = SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	wd, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	root, err := harness.ModuleRoot(wd)
	Expect(err).NotTo(HaveOccurred())
	arts, err := harness.Build(ctx, root, filepath.Join(os.TempDir(), "gameday-suite-bin"))
	Expect(err).NotTo(HaveOccurred())
	if _, err := harness.ResolveTarget(ctx, harness.TargetContainer, false); err == nil {
		_, err := target.GateImage(ctx, target.Options{GateBin: arts.GateBin, StressorBin: arts.StressorBin})
		Expect(err).NotTo(HaveOccurred())
	}
	b, err := json.Marshal(arts)
	Expect(err).NotTo(HaveOccurred())
	return b
}, func(ctx context.Context, b []byte) {
	Expect(json.Unmarshal(b, &artifacts)).To(Succeed())
	wd, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	moduleRoot, err = harness.ModuleRoot(wd)
	Expect(err).NotTo(HaveOccurred())
	reportDir = os.Getenv("GAMEDAY_REPORT_DIR")
	if reportDir == "" {
		reportDir = filepath.Join(moduleRoot, "reports", "out")
	}
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
