package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/runlock"
	"github.com/quannex/gameday/harness/target"
)

// TestDryRunExitCodes drives gameday run --dry-run to each of its exit
// codes: 0 the run could go ahead (a deployment's gate, the process
// target), 2 a scenario or flag error, 3 an unreachable dependency or a
// pre-flight finding (a fault of ours active, the report directory in
// use). After each, nothing was written to the report directory and the
// gate's fault API holds nothing.
func TestDryRunExitCodes(t *testing.T) {
	base := startSmokeGate(t)
	metrics, admin := tokenFiles(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "remote-latency.yaml")
	os.WriteFile(spec, []byte(remoteLatency), 0o644)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte(strings.Replace(remoteLatency, "duration: 20s", "durtion: 20s", 1)), 0o644)
	reportDir := filepath.Join(dir, "reports")
	rules := filepath.Join("..", "..", "config", "alerts.yml")
	url := []string{"--target", "url=" + base, "--token-file", metrics, "--admin-token-file", admin, "-f", spec}
	gate := gateapi.New(base, smokeToken, smokeAdmin)
	ctx := context.Background()

	for _, c := range []struct {
		name  string
		args  []string
		setup func(t *testing.T) (undo func())
		code  int
		want  string
	}{
		{"a deployment that could take the run", url, nil, exitOK, "dry run: the run could go ahead"},
		{"the process target", []string{"--target", "process", "--bin-dir", binDir, "latency"}, nil, exitOK, "generator-latency  +1m0s  3m0s  the gate"},
		{"a stop condition on the flag line", append([]string{"--stop-when", `up{job="quannex-gate"} == 0`}, url...), nil, exitOK, "stop-when-1"},
		{"a scenario error", []string{"--target", "process", "-f", typo}, nil, exitUsage, `faults[0].durtion: unknown field`},
		{"a fault the process target cannot take", []string{"--target", "process", "--bin-dir", binDir, "memory-pressure"}, nil, exitUsage,
			"scenario memory-pressure: target.memory: the process target has no memory limit"},
		{"a stop condition that does not parse", append([]string{"--stop-when", "rate("}, url...), nil, exitUsage, `--stop-when "rate("`},
		{"an unreachable gate", []string{"--target", "url=http://127.0.0.1:1", "--token-file", metrics, "--admin-token-file", admin, "-f", spec}, nil, exitRuntime, "unreachable"},
		{"an unreachable Prometheus", append([]string{"--prometheus", "http://127.0.0.1:1"}, url...), nil, exitRuntime, "--prometheus: http://127.0.0.1:1 is not ready"},
		{"a fault of ours left active", url, func(t *testing.T) func() {
			if err := gate.Admin(ctx, http.MethodPost, "/admin/faults/latency", []byte(`{"min":"1ms","max":"2ms","ttl":"1m"}`), http.StatusCreated); err != nil {
				t.Fatal(err)
			}
			return func() { gate.Admin(ctx, http.MethodDelete, "/admin/faults", nil, http.StatusOK) }
		}, exitRuntime, "already has a fault of ours active (latency until"},
		{"the gate's GameDay lease held by another run", url, func(t *testing.T) func() {
			if err := gate.TakeLease(ctx, "gameday pid 1 on elsewhere (run latency)", time.Minute); err != nil {
				t.Fatal(err)
			}
			return func() { gate.ReleaseLease(ctx, "gameday pid 1 on elsewhere (run latency)") }
		}, exitRuntime, "is held by another GameDay: gameday pid 1 on elsewhere"},
		{"the report directory in use", url, func(t *testing.T) func() {
			l, err := runlock.Acquire(reportDir, runlock.Info{PID: 4242, Host: "h", Scenarios: []string{"io-glitch"}, Target: "process"})
			if err != nil {
				t.Fatal(err)
			}
			return func() { l.Release(); os.Remove(filepath.Join(reportDir, runlock.FileName)) }
		}, exitRuntime, "in use by gameday pid 4242"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				defer c.setup(t)()
			}
			args := append([]string{"run", "--dry-run", "--rules", rules, "--report-dir", reportDir}, c.args...)
			code, out, errOut := runCLI(t, args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, c.code, c.want, out, errOut)
			}
			noTokens(t, "the output", out, errOut)
			files, _ := filepath.Glob(filepath.Join(reportDir, "*"))
			for _, f := range files {
				if c.setup == nil || filepath.Base(f) != runlock.FileName { // the held lock is the case's own
					t.Errorf("a dry run wrote %s", f)
				}
			}
			if c.setup == nil {
				if active, err := gate.ActiveFaults(ctx); err != nil || len(active) > 0 {
					t.Errorf("the gate's fault API after a dry run: %v %v", active, err)
				}
			}
		})
	}
}

// TestDryRunStartsNothing: a dry run of the built-in GameDays on the
// container target (the Docker engine asked, not used) and on the
// process target leaves no container, no gate or stressor process and no
// permission change behind.
func TestDryRunStartsNothing(t *testing.T) {
	if err := target.DockerAvailable(context.Background()); err != nil {
		if os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1" {
			t.Fatalf("GAMEDAY_REQUIRE_DOCKER=1 but no Docker engine answers: %v", err)
		}
		t.Skipf("no Docker engine answers (%v)", err)
	}
	containers := func() string {
		out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+target.Label).Output()
		if err != nil {
			t.Fatalf("docker ps: %v", err)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	records := func() int {
		m, _ := filepath.Glob(filepath.Join(fault.StateDir(), "chmod-*.json"))
		return len(m)
	}
	beforeC, beforeR := containers(), records()
	reportDir := filepath.Join(t.TempDir(), "reports")
	for _, tgt := range []string{"container", "process"} {
		code, out, errOut := runCLI(t, "run", "--dry-run", "--target", tgt, "--bin-dir", binDir, "--report-dir", reportDir,
			"--rules", filepath.Join("..", "..", "config", "alerts.yml"), "cpu-spike", "io-glitch", "latency")
		if code != exitOK || strings.Count(out, " on "+tgt+": at most") != 3 {
			t.Fatalf("%s: exit %d\n%s%s", tgt, code, out, errOut)
		}
	}
	if after := containers(); after != beforeC {
		t.Errorf("containers labelled %s: %q before, %q after", target.Label, beforeC, after)
	}
	if n := countProcs("gate") + countProcs("stressor"); n != 0 {
		t.Errorf("%d gate or stressor processes after a dry run", n)
	}
	if after := records(); after != beforeR {
		t.Errorf("permission change records: %d before, %d after", beforeR, after)
	}
	if _, err := os.Stat(reportDir); !os.IsNotExist(err) {
		t.Errorf("a dry run created %s (%v)", reportDir, err)
	}
}
