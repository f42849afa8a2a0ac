package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

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

// ModuleRoot walks up from dir (relative to the working directory, or
// absolute) to the directory holding this module's go.mod.
func ModuleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/quannex/gameday") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("not inside the github.com/quannex/gameday module")
		}
	}
}
