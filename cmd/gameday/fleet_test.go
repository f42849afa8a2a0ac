package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quannex/gameday/harness/target"
)

// TestFleetRefusedBeforeAnythingStarts: a fleet scenario names what it
// lacks — a target kind that cannot run replicas, a Prometheus or an
// Alertmanager binary — before any gate starts.
func TestFleetRefusedBeforeAnythingStarts(t *testing.T) {
	rules := filepath.Join("..", "..", "config", "alerts.yml")
	code, _, errOut := runCLI(t, "run", "--rules", rules, "--target", "process", "fleet-io-glitch")
	if code != exitRuntime || !strings.Contains(errOut, "target.kind") || !strings.Contains(errOut, "process target") {
		t.Fatalf("fleet on the process target: exit %d %q", code, errOut)
	}
	if err := target.DockerAvailable(context.Background()); err != nil {
		if os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1" {
			t.Fatalf("GAMEDAY_REQUIRE_DOCKER=1 but no Docker engine answers: %v", err)
		}
		t.Skipf("the binary checks need the container target: no Docker engine answers: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-alertmanager")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--alertmanager-bin", missing}, "--alertmanager-bin: " + missing},
		{[]string{"--prometheus-bin", missing}, "--prometheus-bin: " + missing},
	} {
		args := append([]string{"run", "--rules", rules, "--target", "container", "--report-dir", t.TempDir(), "fleet-io-glitch"}, c.args...)
		code, out, errOut := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want a usage error naming %q", c.args, code, errOut, c.want)
		}
		if strings.Contains(out, "starting a fleet") {
			t.Errorf("%v: the fleet started before the binary was checked", c.args)
		}
	}
	empty := t.TempDir() // a PATH without either server
	t.Setenv("PATH", empty)
	code, _, errOut = runCLI(t, "run", "--rules", rules, "--target", "container", "--bin-dir", empty, "fleet-io-glitch")
	if code != exitUsage || !strings.Contains(errOut, "prometheus") || !strings.Contains(errOut, "--prometheus-bin") {
		t.Errorf("no prometheus on PATH: exit %d %q", code, errOut)
	}
}
