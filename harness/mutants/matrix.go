package mutants

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/internal/seam"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/internal/kubetest"
)

// Options configure a Matrix.
type Options struct {
	Root string // the module root (harness.ModuleRoot)
	// BinDir is where the variants are built. The process target runs the
	// gate as uid 65534 when the harness is root, so BinDir and its
	// parents must be open to it (os.MkdirTemp("", …), not t.TempDir).
	BinDir string
	// ReportDir gets one directory per mutant: its GameDay report, the
	// gate's log and the harness's progress lines.
	ReportDir string
	Progress  io.Writer // a line per build and per row; nil: none
}

// Matrix builds the variants, then runs mutants; Run is safe to call from
// several goroutines (a row marked Alone is the caller's to run alone).
type Matrix struct {
	opts Options

	mu      sync.Mutex // guards the builds
	shipped *harness.Artifacts
	built   map[string]string // "gate -tags X" -> binary

	// The kube rows' API server, started once (kube.go).
	kubeOnce sync.Once
	kube     *kubetest.Env
	kubeErr  error
}

// New checks opts and creates BinDir (mode 0755).
func New(opts Options) (*Matrix, error) {
	switch {
	case opts.Root == "":
		return nil, errors.New("mutants: Options.Root: required (the module root)")
	case opts.BinDir == "":
		return nil, errors.New("mutants: Options.BinDir: required")
	case opts.ReportDir == "":
		return nil, errors.New("mutants: Options.ReportDir: required")
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if err := os.MkdirAll(opts.BinDir, 0o755); err != nil {
		return nil, fmt.Errorf("mutants: Options.BinDir: %w", err)
	}
	if err := os.Chmod(opts.BinDir, 0o755); err != nil {
		return nil, fmt.Errorf("mutants: Options.BinDir: %w", err)
	}
	return &Matrix{opts: opts, built: map[string]string{}}, nil
}

// Build builds every variant ms need, one after the other, so that no
// compiler shares the CPU with a running row.
func (m *Matrix) Build(ctx context.Context, ms []Mutant) error {
	for _, mu := range ms {
		if _, err := m.artifacts(ctx, mu); err != nil {
			return fmt.Errorf("mutants: %s: %w", mu.Name, err)
		}
	}
	return nil
}

// Run builds what mu needs (unless Build did), runs its scenario on the
// process target (the container target for a Container row) and judges
// the report. Every failure to run is in the
// row (verdict error).
func (m *Matrix) Run(ctx context.Context, mu Mutant) Row {
	start := time.Now()
	row := m.run(ctx, mu)
	row.WallSeconds = time.Since(start).Round(100 * time.Millisecond).Seconds()
	fmt.Fprintf(m.opts.Progress, "mutants: %-22s %-14s red: %s (%.0fs)\n", mu.Name, row.Verdict, list(row.Red), row.WallSeconds)
	return row
}

func (m *Matrix) run(ctx context.Context, mu Mutant) Row {
	fail := func(err error) Row { return Judge(mu, nil, err) }
	arts, err := m.artifacts(ctx, mu)
	if err != nil {
		return fail(err)
	}
	dir := filepath.Join(m.opts.ReportDir, mu.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	rules, err := m.rules(mu)
	if err != nil {
		return fail(err)
	}
	spec, err := scenario.Parse(strings.NewReader(mu.Scenario), fault.Known)
	if err != nil {
		return fail(fmt.Errorf("scenario: %w", err))
	}
	progress, err := os.Create(filepath.Join(dir, "progress.log"))
	if err != nil {
		return fail(err)
	}
	defer progress.Close()
	fmt.Fprintf(m.opts.Progress, "mutants: %-22s running (%s)\n", mu.Name, mu.Variant())
	opts := harness.Options{Target: harness.TargetProcess, Artifacts: arts}
	if mu.Container {
		opts.Target = harness.TargetContainer
	}
	if mu.Kube != "" {
		o, stop, err := m.runKube(ctx, mu, arts, dir, progress)
		if err != nil {
			return fail(fmt.Errorf("kube row: %w", err))
		}
		defer stop()
		opts = o
	}
	opts.RulesFile, opts.ReportDir, opts.Progress = rules, dir, progress
	rep, path, err := harness.Run(seam.With(ctx, mu.hooks()), spec, opts)
	row := Judge(mu, rep, err)
	row.Report = path
	return row
}

// artifacts returns the gate and stressor for mu, building each tagged
// variant once.
func (m *Matrix) artifacts(ctx context.Context, mu Mutant) (harness.Artifacts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shipped == nil {
		fmt.Fprintf(m.opts.Progress, "mutants: building the gate and stressor as shipped\n")
		a, err := harness.Build(ctx, m.opts.Root, filepath.Join(m.opts.BinDir, "shipped"))
		if err != nil {
			return a, err
		}
		m.shipped = &a
	}
	a := *m.shipped
	var err error
	if mu.GateTag != "" {
		if a.GateBin, err = m.build(ctx, "./cmd/gate", "gate", mu.GateTag); err != nil {
			return a, err
		}
	}
	if mu.StressorTag != "" {
		if a.StressorBin, err = m.build(ctx, "./cmd/stressor", "stressor", mu.StressorTag); err != nil {
			return a, err
		}
	}
	return a, nil
}

// build compiles pkg with tag into BinDir/tag/name as harness.Build does:
// static, so it runs FROM scratch too, and readable by the gate's user.
func (m *Matrix) build(ctx context.Context, pkg, name, tag string) (string, error) {
	key := name + " -tags " + tag
	if bin, ok := m.built[key]; ok {
		return bin, nil
	}
	dir := filepath.Join(m.opts.BinDir, tag)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, name)
	fmt.Fprintf(m.opts.Progress, "mutants: building %s\n", key)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", tag, "-o", bin, pkg)
	cmd.Dir = m.opts.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", key, err, out)
	}
	m.built[key] = bin
	return bin, nil
}

// rules returns the rules file for mu: the production file, or an edited
// copy with the production scrape config beside it (the harness reads the
// scrape jobs next to the rules).
func (m *Matrix) rules(mu Mutant) (string, error) {
	prod := filepath.Join(m.opts.Root, "config", "alerts.yml")
	if mu.Rules == nil {
		return prod, nil
	}
	b, err := os.ReadFile(prod)
	if err != nil {
		return "", err
	}
	edited, err := mu.Rules(string(b))
	if err != nil {
		return "", err
	}
	dir := filepath.Join(m.opts.BinDir, "rules", mu.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if cfg, err := os.ReadFile(filepath.Join(m.opts.Root, "config", harness.ScrapeConfigName)); err == nil {
		if err := os.WriteFile(filepath.Join(dir, harness.ScrapeConfigName), cfg, 0o644); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "alerts.yml")
	return path, os.WriteFile(path, []byte(edited), 0o644)
}
