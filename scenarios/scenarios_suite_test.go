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
	"os/exec"
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
	// broken are the artifacts with a gate that answers 500 where it
	// should fall back (the fallback500 mutant), for the 5xx brake; the
	// gameday binary runs the operator's-stop GameDay from the CLI.
	broken     harness.Artifacts
	gamedayBin string
	dockerErr  error
)

// suiteBuild is what the first process builds for every process.
type suiteBuild struct {
	Artifacts, Broken harness.Artifacts
	Gameday           string
}

// The first process builds the gate and stressor and, where a Docker
// engine answers, the gate image, once for every process of a parallel
// run (ginkgo -p); each process then only reads where they are.
var _ = SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	wd, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	root, err := harness.ModuleRoot(wd)
	Expect(err).NotTo(HaveOccurred())
	bin := filepath.Join(os.TempDir(), "gameday-suite-bin")
	arts, err := harness.Build(ctx, root, bin)
	Expect(err).NotTo(HaveOccurred())
	sb := suiteBuild{Artifacts: arts, Broken: harness.Artifacts{GateBin: filepath.Join(bin, "broken", "gate"), StressorBin: arts.StressorBin},
		Gameday: filepath.Join(bin, "gameday")}
	for _, b := range []struct{ out, pkg, tags string }{{sb.Broken.GateBin, "./cmd/gate", "gameday_broken_fallback500"}, {sb.Gameday, "./cmd/gameday", ""}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", b.tags, "-o", b.out, b.pkg)
		cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "build %s: %s", b.pkg, out)
	}
	os.Chmod(filepath.Dir(sb.Broken.GateBin), 0o755)
	if _, err := harness.ResolveTarget(ctx, harness.TargetContainer, false); err == nil {
		for _, a := range []harness.Artifacts{sb.Artifacts, sb.Broken} {
			_, err := target.GateImage(ctx, target.Options{GateBin: a.GateBin, StressorBin: a.StressorBin})
			Expect(err).NotTo(HaveOccurred())
		}
	}
	b, err := json.Marshal(sb)
	Expect(err).NotTo(HaveOccurred())
	return b
}, func(ctx context.Context, b []byte) {
	var sb suiteBuild
	Expect(json.Unmarshal(b, &sb)).To(Succeed())
	artifacts, broken, gamedayBin = sb.Artifacts, sb.Broken, sb.Gameday
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
