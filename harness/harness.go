// Package harness runs GameDay scenarios against the gate: it starts a
// target (container or process), drives load, injects and reverts faults,
// scrapes the gate's health into an in-process TSDB where the production
// alert rules are evaluated, checks the scenario's expectations and writes
// a report. The pieces are in sub-packages: scenario (specs), target,
// fault, load and alerts; the report model is package reports.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/target"
)

// Target kinds for Options.Target.
const (
	TargetAuto      = "auto"
	TargetContainer = "container"
	TargetProcess   = "process"
)

// ErrNoDocker is returned when the container target is required and no
// Docker engine answers.
var ErrNoDocker = errors.New("no Docker engine answers")

// ResolveTarget turns "auto" into container or process: container where a
// Docker engine answers. With requireDocker, a missing engine is an error
// rather than a fallback. "url=URL" (a gate the harness did not start) is
// TargetURL once the URL checks out; it needs no Docker.
func ResolveTarget(ctx context.Context, kind string, requireDocker bool) (string, error) {
	if u, ok := strings.CutPrefix(kind, TargetURL+"="); ok {
		if _, err := target.ParseRemoteURL(u); err != nil {
			return "", fmt.Errorf("--target: url=: %w", err)
		}
		return TargetURL, nil
	}
	switch kind {
	case TargetContainer, TargetProcess:
	case TargetAuto, "":
		kind = TargetProcess
		if target.DockerAvailable(ctx) == nil {
			kind = TargetContainer
		}
	default:
		return "", fmt.Errorf("--target: %q is not auto, container, process or url=URL", kind)
	}
	if requireDocker && kind != TargetContainer {
		if err := target.DockerAvailable(ctx); err != nil {
			return "", fmt.Errorf("%w (GAMEDAY_REQUIRE_DOCKER is set): %v", ErrNoDocker, err)
		}
	}
	if kind == TargetContainer {
		if err := target.DockerAvailable(ctx); err != nil {
			return "", fmt.Errorf("container target: %w: %v", ErrNoDocker, err)
		}
	}
	return kind, nil
}

// Artifacts are the static binaries the targets run.
type Artifacts struct {
	GateBin     string
	StressorBin string
}

// FindArtifacts looks for gate and stressor in dir.
func FindArtifacts(dir string) (Artifacts, error) {
	a := Artifacts{GateBin: filepath.Join(dir, "gate"), StressorBin: filepath.Join(dir, "stressor")}
	for _, p := range []string{a.GateBin, a.StressorBin} {
		if _, err := os.Stat(p); err != nil {
			return a, fmt.Errorf("artifacts: %s not found (run make build, or pass --bin-dir)", p)
		}
	}
	return a, nil
}

// Build compiles static gate and stressor binaries from the module at
// moduleDir into outDir (CGO off, so they run FROM scratch), readable and
// executable by the unprivileged user the gate runs as.
func Build(ctx context.Context, moduleDir, outDir string) (Artifacts, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Artifacts{}, err
	}
	os.Chmod(outDir, 0o755)
	a := Artifacts{GateBin: filepath.Join(outDir, "gate"), StressorBin: filepath.Join(outDir, "stressor")}
	for bin, pkg := range map[string]string{a.GateBin: "./cmd/gate", a.StressorBin: "./cmd/stressor"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, pkg)
		cmd.Dir = moduleDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return a, fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return a, nil
}

// ModuleRoot walks up from dir to the directory holding this module's go.mod.
func ModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/quannex/gameday") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("not inside the github.com/quannex/gameday module")
		}
	}
}

// newToken returns a random bearer token; run tokens never leave the run.
func newToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// elapsed formats d as mm:ss for progress lines.
func elapsed(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
