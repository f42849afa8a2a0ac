package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/reports"
)

// TestStopFromASecondProcess runs scenarios/brakes/stop-by-operator.yaml
// with the gameday binary on the process target and, once its latency
// fault is injected, from two other processes: a second run on the same
// report directory (refused, exit 3, naming the holder) and gameday stop
// (exit 0 once the run reports its fault reverted). The run ends aborted
// with exit 5, its fault reverted within 5 s and the gate's fault API
// swept empty.
func TestStopFromASecondProcess(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	reportDir := filepath.Join(t.TempDir(), "reports")
	gameday := filepath.Join(binDir, "gameday")
	run := exec.Command(gameday, "run", "--target", "process", "--report-dir", reportDir, "-f", "scenarios/brakes/stop-by-operator.yaml")
	run.Dir = root
	out, _ := run.StdoutPipe()
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Process.Kill(); run.Wait() })
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() && !strings.Contains(sc.Text(), "fault generator-latency injected") {
		lines = append(lines, sc.Text())
	}
	go func() { // drains the rest, ends with the run's stdout
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}()

	second := exec.Command(gameday, "run", "--target", "process", "--report-dir", reportDir, "latency")
	second.Dir = root
	b, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitRuntime || !strings.Contains(string(b), "in use by gameday pid") || !strings.Contains(string(b), "stop-by-operator") {
		t.Fatalf("a second run on the same report directory: %v\n%s", err, b)
	}

	time.Sleep(3 * time.Second) // responses under the fault: its latency proof needs them
	stop := exec.Command(gameday, "stop", "--report-dir", reportDir)
	stop.Dir = root
	b, err = stop.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "stopped (operator: stopped by operator); 1 fault(s) reverted") {
		t.Fatalf("gameday stop: %v\n%s", err, b)
	}
	t.Logf("gameday stop said: %s", strings.TrimSpace(string(b)))
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the stopped run did not end within 2 minutes")
	}
	if !errors.As(err, &ee) || ee.ExitCode() != exitAborted {
		t.Fatalf("the stopped run: %v, want exit %d", err, exitAborted)
	}
	paths, _ := filepath.Glob(filepath.Join(reportDir, "stop-by-operator-*.json"))
	if len(paths) != 1 {
		t.Fatalf("reports: %v", paths)
	}
	rep, err := reports.Read(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	ab := rep.Abort
	if rep.Verdict != reports.Aborted || ab == nil || ab.Condition != "operator" || ab.BreachToRevertSeconds == nil || *ab.BreachToRevertSeconds > 5 ||
		ab.SweptAt == nil || len(ab.LeftBehind) > 0 {
		j, _ := json.Marshal(ab)
		t.Fatalf("verdict %s, abort %s", rep.Verdict, j)
	}
	for _, c := range rep.Checks {
		if !c.Pass {
			t.Errorf("%s: %s", c.Name, c.Observed)
		}
	}
	if _, err := os.Stat(filepath.Join(reportDir, ".gameday.lock")); err != nil {
		t.Errorf("the lock file: %v", err)
	}
	t.Logf("breach→revert %.3fs", *ab.BreachToRevertSeconds)
}

// TestASecondCtrlCStillReverts: Ctrl-C twice on a run with its cache
// read-only: the second says the revert is not skipped and changes
// nothing; the run reverts the fault (the cache writable again, no
// permission record left for cleanup), writes its report and exits 3.
func TestASecondCtrlCStillReverts(t *testing.T) {
	t.Parallel()
	state, reportDir := t.TempDir(), t.TempDir()
	f := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(f, []byte(strings.Replace(killSpec, "FAULT", "cache-readonly", 1)), 0o644)
	cmd := exec.Command(filepath.Join(binDir, "gameday"), "run", "--target", "process", "--report-dir", reportDir, "-f", f)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	cmd.Dir = filepath.Join("..", "..")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), "fault cache-readonly injected") {
	}
	interrupted := make(chan struct{})
	go func() { // ends with the run's stdout
		seen := false
		for sc.Scan() {
			if !seen && strings.Contains(sc.Text(), "interrupted during the fault") {
				seen = true
				close(interrupted)
			}
		}
	}()
	recs, _ := filepath.Glob(filepath.Join(state, "quannex-gameday", "chmod-*.json"))
	if len(recs) == 0 {
		t.Fatal("the fault recorded no permission change")
	}
	cmd.Process.Signal(os.Interrupt)
	// The second once the first has landed: two signals sent at once may
	// reach the process as one.
	select {
	case <-interrupted:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not take the first Ctrl-C")
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitRuntime {
		t.Fatalf("an interrupted run: %v, want exit %d\n%s", err, exitRuntime, stderr.String())
	}
	if !strings.Contains(stderr.String(), "this is not skipped") {
		t.Errorf("the second Ctrl-C said nothing:\n%s", stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(state, "quannex-gameday", "chmod-*.json")); len(left) != 0 {
		t.Errorf("permission changes left for cleanup: the revert was skipped (%v)", left)
	}
	paths, _ := filepath.Glob(filepath.Join(reportDir, "killed-*.json"))
	if len(paths) != 1 {
		t.Fatalf("reports: %v", paths)
	}
	rep, err := reports.Read(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Faults) != 1 || rep.Faults[0].RevertedAt.IsZero() || rep.Faults[0].RevertErr != "" || rep.Faults[0].Proof == nil || !rep.Faults[0].Proof.OK {
		t.Fatalf("the fault in the report: %+v", rep.Faults)
	}
}
