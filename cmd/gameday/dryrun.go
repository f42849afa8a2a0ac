package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/runlock"
	"github.com/quannex/gameday/harness/scenario"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// dryRun checks everything the run would need and prints its plan,
// without starting, injecting or writing anything: the Docker engine (a
// ping) or the process binaries, the report directory free, a
// deployment's gate (ready, the token taken, the admin token read-only),
// its Prometheus and Alertmanager, and every stop condition evaluated
// where the run would evaluate it. The scenarios and flags were checked
// before (exit 2). Exit 0: the run could go ahead; 3: a dependency does
// not answer, or the pre-flight found a reason not to inject.
func dryRun(ctx context.Context, specs []*scenario.Spec, f *runFlags, ext *harness.External, kc *harness.Kube, stdout io.Writer) error {
	prev := tclog.Default()
	defer tclog.SetDefault(prev)
	if f.verbose {
		tclog.SetDefault(log.New(f.stderr, "testcontainers: ", log.LstdFlags))
	} else {
		tclog.SetDefault(log.New(io.Discard, "", 0)) // a dry run writes no log file
	}
	kind, err := harness.ResolveTarget(ctx, f.target, os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1")
	if err != nil {
		return err
	}
	if err := checkTarget(specs, kind); err != nil {
		return err
	}
	if err := f.fleetBins(specs, kind); err != nil {
		return err
	}
	if info, err := runlock.Read(f.reportDir); err == nil {
		return &runlock.HeldError{Dir: f.reportDir, Holder: info}
	}
	var ready []string
	if ext != nil {
		if err := reachGate(ctx, ext); err != nil {
			return err
		}
		ready = append(ready, "the gate at "+ext.URL+" is ready and takes the token")
		if kc != nil {
			r, err := harness.KubePreflight(ctx, specs, kc)
			if err != nil {
				return err
			}
			ready = append(ready, r...)
		}
		if err := ext.CheckMonitoring(ctx, f.rules, specs); err != nil {
			if errors.Is(err, harness.ErrUncoverable) {
				return usageError{Msg: err.Error()}
			}
			return err
		}
		if err := harness.ExternalPreflight(ctx, specs, ext); err != nil {
			return err
		}
		if ext.AdminToken != "" {
			ready = append(ready, "the admin token is taken (GET /admin/faults: no fault of ours active)")
		}
		if ext.Prometheus != "" {
			ready = append(ready, "Prometheus at "+ext.Prometheus+" is ready, scrapes the gate and has the rules")
		}
		if ext.Alertmanager != "" {
			ready = append(ready, "Alertmanager at "+ext.Alertmanager+" is ready")
		}
	} else {
		where, err := artifactsWhere(f.binDir)
		if err != nil {
			return err
		}
		ready = append(ready, where)
	}
	if kind == harness.TargetContainer {
		ready = append(ready, "the Docker engine answers")
	}
	for _, s := range specs {
		if err := harness.CheckStops(ctx, s, f.rules, ext); err != nil {
			var fe *scenario.FieldError
			if errors.As(err, &fe) {
				return usagef("scenario %s: %s: %s", s.Name, fe.Field, fe.Problem)
			}
			return err
		}
	}
	for _, s := range specs {
		if err := harness.PlanOf(s, kind).Write(stdout); err != nil {
			return err
		}
	}
	for _, r := range ready {
		fmt.Fprintf(stdout, "ready: %s\n", r)
	}
	fmt.Fprintf(stdout, "dry run: the run could go ahead; nothing was started, injected or written (reports would go to %s)\n", f.reportDir)
	return nil
}

// artifactsWhere says where the run would find the gate and stressor
// binaries, as artifacts does, without building them.
func artifactsWhere(binDir string) (string, error) {
	if binDir != "" {
		if _, err := harness.FindArtifacts(binDir); err != nil {
			return "", usagef("--bin-dir: %v", err)
		}
		return "the gate and stressor binaries are in " + binDir, nil
	}
	if exe, err := os.Executable(); err == nil {
		if _, err := harness.FindArtifacts(filepath.Dir(exe)); err == nil {
			return "the gate and stressor binaries are next to gameday, in " + filepath.Dir(exe), nil
		}
	}
	wd, _ := os.Getwd()
	root, err := harness.ModuleRoot(wd)
	if err != nil {
		return "", fmt.Errorf("artifacts: no gate binary next to gameday and %v; pass --bin-dir", err)
	}
	return "the gate and stressor would be built from the module at " + root, nil
}
