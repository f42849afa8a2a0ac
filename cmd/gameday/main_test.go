package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/target"
)

var binDir string

// TestMain builds gameday, gate and stressor side by side, as make build does.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gameday-cli-*")
	if err != nil {
		panic(err)
	}
	wd, _ := os.Getwd()
	root, err := harness.ModuleRoot(wd)
	if err != nil {
		panic(err)
	}
	if _, err := harness.Build(context.Background(), root, dir); err != nil {
		panic(err)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "gameday"), ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndBadScenarioFiles(t *testing.T) {
	if code, out, _ := runCLI(t, "list"); code != exitOK || !strings.Contains(out, "io-glitch") || !strings.Contains(out, "latency") || !strings.Contains(out, "cpu-spike") {
		t.Fatalf("list: %d %s", code, out)
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"replay", "--help"}, {"cleanup", "--help"}} {
		if code, _, _ := runCLI(t, args...); code != exitOK {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nload: {rate: 20}\nbaseline: {duration: 5s}\nfaults: [{name: cpu-spike}]\nafter: {duration: 5s}\n"), 0o644)
	code, _, errOut := runCLI(t, "run", "--target", "process", "-f", bad)
	if code != exitUsage || !strings.Contains(errOut, "faults[0].duration") {
		t.Fatalf("bad file: exit %d %s", code, errOut)
	}
	misnamedField := filepath.Join(dir, "field.yaml")
	os.WriteFile(misnamedField, []byte("name: x\nload: {rate: 20}\nbaseline: {duration: 5s}\nfaults: [{name: cpu-spike, durtion: 5s}]\nafter: {duration: 5s}\n"), 0o644)
	misnamedFault := filepath.Join(dir, "fault.yaml")
	os.WriteFile(misnamedFault, []byte("name: x\nload: {rate: 20}\nbaseline: {duration: 5s}\nfaults: [{name: cpu-spke, duration: 5s}]\nafter: {duration: 5s}\n"), 0o644)
	negative := filepath.Join(dir, "negative.yaml")
	os.WriteFile(negative, []byte("name: x\nload: {rate: 20}\nbaseline: {duration: -5s}\nfaults: [{name: cpu-spike, duration: 5s}]\nafter: {duration: 5s}\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "name at least one scenario"},
		{[]string{"run", "nope"}, `unknown scenario "nope"`},
		{[]string{"run", "--target", "vm", "latency"}, `--target: "vm"`},
		{[]string{"replay"}, "REPORT: required (see gameday replay --help)"},
		{[]string{"run", "--target", "process", "--rules", bad, "latency"}, "--rules: alerts: load"},
		{[]string{"replay", filepath.Join(dir, "missing.json")}, "read report"},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"rnu"}, `unknown command "rnu"; did you mean "run"?`},
		{[]string{"run", "--target", "process", "--scrape-interval=-5s", "latency"}, "--scrape-interval: -5s: must not be negative"},
		{[]string{"run", "--target", "process", "--scrape-interval", "-5s", "latency"}, `--scrape-interval: needs a value (one that starts with "-" goes as --scrape-interval=-5s)`},
		{[]string{"run", "--target", "proces", "latency"}, `--target: "proces" is not auto, container, process, url=URL or kube=NAMESPACE; did you mean "process"?`},
		{[]string{"run", "latncy"}, `unknown scenario "latncy"; did you mean "latency"?`},
		{[]string{"run", "-f", misnamedField}, `faults[0].durtion: unknown field (known here: `},
		{[]string{"run", "-f", misnamedField}, `did you mean "duration"?`},
		{[]string{"run", "-f", misnamedFault}, `faults[0].name: unknown fault "cpu-spke"`},
		{[]string{"run", "-f", misnamedFault}, `did you mean "cpu-spike"?`},
		{[]string{"run", "-f", negative}, `baseline.duration: -5s: must not be negative`},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code == exitOK || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want an error containing %q", c.args, code, errOut, c.want)
		}
	}
}

// TestScrapeIntervalThatCannotCoverAPhaseIsRefused: a --scrape-interval
// longer than a phase the alert checks judge would leave that phase with
// no scrape; the run is refused before anything starts (exit 2), naming
// the flag, the scenario and the phase.
func TestScrapeIntervalThatCannotCoverAPhaseIsRefused(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "--target", "process", "--report-dir", t.TempDir(), "--scrape-interval", "10m", "io-glitch")
	if code != exitUsage || !strings.Contains(errOut, "--scrape-interval: ") || !strings.Contains(errOut, "io-glitch") || !strings.Contains(errOut, "phase") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "starting") {
		t.Errorf("something started before the refusal:\n%s", out)
	}
}

// startKillable runs the gameday binary on a scenario file and returns once
// a line containing ready is printed.
func startKillable(t *testing.T, spec, ready, state string) *exec.Cmd {
	t.Helper()
	f := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(f, []byte(spec), 0o644)
	cmd := exec.Command(filepath.Join(binDir, "gameday"), "run", "--target", "process", "--report-dir", t.TempDir(), "-f", f)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	cmd.Dir = filepath.Join("..", "..") // for config/alerts.yml
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(90*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if strings.Contains(sc.Text(), ready) {
			go io.Copy(io.Discard, out)
			return cmd
		}
	}
	t.Fatalf("gameday never printed %q", ready)
	return nil
}

const killSpec = `name: killed
load: {rate: 20}
baseline: {duration: 3s}
faults: [{name: FAULT, duration: 60s}]
after: {duration: 3s}
`

// TestHarnessKilledMidFault: SIGKILL the harness while each fault is on;
// the stressor must be gone by itself, and `gameday cleanup` must restore
// the read-only cache directory.
func TestHarnessKilledMidFault(t *testing.T) {
	state := t.TempDir()

	cmd := startKillable(t, strings.Replace(killSpec, "FAULT", "cpu-spike", 1), "fault cpu-spike injected", state)
	if n := countProcs("stressor"); n == 0 {
		t.Fatal("no stressor running during the cpu-spike fault")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitFor(t, "stressor gone", func() bool { return countProcs("stressor") == 0 })
	waitFor(t, "gate gone", func() bool { return countProcs("gate") == 0 })

	cmd = startKillable(t, strings.Replace(killSpec, "FAULT", "cache-readonly", 1), "fault cache-readonly injected", state)
	// One record per mode changed: the cache directory and each file in it.
	recs, _ := filepath.Glob(filepath.Join(state, "quannex-gameday", "chmod-*.json"))
	var path string
	var files []string
	for _, r := range recs {
		b, _ := os.ReadFile(r)
		var rec struct{ Path string }
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("record %s: %v", r, err)
		}
		if filepath.Base(rec.Path) == "cache" {
			path = rec.Path
		} else {
			files = append(files, rec.Path)
		}
	}
	if path == "" || len(files) == 0 {
		t.Fatalf("permission changes not recorded (want the cache directory and its files): %v", recs)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o555 {
		t.Fatalf("cache dir %s after the kill: %v %v (expected still read-only)", path, st.Mode(), err)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o444 {
			t.Fatalf("cache file %s after the kill: %v %v (expected still read-only)", f, st.Mode(), err)
		}
	}
	c := exec.Command(filepath.Join(binDir, "gameday"), "cleanup")
	c.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	out, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("restored %d permission change", len(recs))) {
		t.Fatalf("cleanup: %v %s", err, out)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() == 0o444 {
			t.Fatalf("cache file %s after cleanup: %v %v", f, st.Mode(), err)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("cache dir after cleanup: %v %v", st.Mode(), err)
	}
	if root := filepath.Dir(path); strings.Contains(filepath.Base(root), "gameday-target-") {
		os.RemoveAll(root) // the target directory the killed run left
	}
	if recs, _ := filepath.Glob(filepath.Join(state, "quannex-gameday", "chmod-*.json")); len(recs) != 0 {
		t.Fatalf("records left: %v", recs)
	}
}

// TestCleanupRemovesLeftoverContainers: a container target whose harness
// was killed is removed by `gameday cleanup`, and so is a fleet's labelled
// network still in use by it (containers go first).
func TestCleanupRemovesLeftoverContainers(t *testing.T) {
	if err := target.DockerAvailable(context.Background()); err != nil {
		if os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1" {
			t.Fatalf("GAMEDAY_REQUIRE_DOCKER=1 but no Docker engine answers: %v", err)
		}
		t.Skipf("no Docker engine answers (%v): the container cleanup path cannot run here", err)
	}
	f := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(f, []byte(strings.Replace(killSpec, "FAULT", "generator-latency", 1)), 0o644)
	reportDir := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "gameday"), "run", "--target", "container", "--report-dir", reportDir, "-f", f)
	cmd.Dir = filepath.Join("..", "..")
	out, _ := cmd.StdoutPipe()
	cmd.Start()
	sc := bufio.NewScanner(out)
	var progress []string
	for sc.Scan() && !strings.Contains(sc.Text(), "fault generator-latency injected") {
		progress = append(progress, sc.Text())
	}
	// While the run runs, cleanup leaves its container and its fault alone:
	// they are the run's to stop and revert.
	b, err := exec.Command(filepath.Join(binDir, "gameday"), "cleanup").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "container(s) of GameDays still running alone") {
		t.Fatalf("cleanup beside a running GameDay: %v\n%s", err, b)
	}
	if n := ownedBy(t, cmd.Process.Pid); n != 1 {
		t.Fatalf("the running GameDay has %d containers after a cleanup beside it, want its 1", n)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// testcontainers' own lines went to the run's log, not the progress.
	for _, l := range progress {
		if strings.Contains(l, "🐳") || strings.Contains(l, "Testcontainers") || strings.Contains(l, "Creating container") {
			t.Errorf("a testcontainers line in the progress output: %q", l)
		}
	}
	if b, err := os.ReadFile(filepath.Join(reportDir, "testcontainers.log")); err != nil || !strings.Contains(string(b), "Creating container") {
		t.Errorf("testcontainers.log should hold testcontainers' lines (%v): %q", err, b)
	}
	if n := ownedBy(t, cmd.Process.Pid); n == 0 {
		t.Fatal("expected the killed harness's container to be left over")
	}
	// A fleet's network a killed harness left, with the container on it.
	net := fmt.Sprintf("gameday-cleanup-test-%d", os.Getpid())
	if b, err := exec.Command("docker", "network", "create", "--label", target.Label+"=1", net).CombinedOutput(); err != nil {
		t.Fatalf("docker network create: %v %s", err, b)
	}
	t.Cleanup(func() { exec.Command("docker", "network", "rm", net).Run() })
	if b, err := exec.Command("docker", "network", "connect", net, ownedIDs(t, cmd.Process.Pid)[0]).CombinedOutput(); err != nil {
		t.Fatalf("docker network connect: %v %s", err, b)
	}
	b, err = exec.Command(filepath.Join(binDir, "gameday"), "cleanup").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "removed 1 container(s), 1 network(s)") {
		t.Fatalf("cleanup: %v %s", err, b)
	}
	if strings.Contains(string(b), "Testcontainers") || strings.Contains(string(b), "Connected to docker") {
		t.Errorf("cleanup printed testcontainers' banner without -v:\n%s", b)
	}
	if n := ownedBy(t, cmd.Process.Pid); n != 0 {
		t.Fatalf("%d of the killed harness's containers after cleanup", n)
	}
	if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label="+target.Label).Output(); len(strings.Fields(string(out))) != 0 {
		t.Fatalf("labelled networks after cleanup: %s", out)
	}
}

// ownedIDs lists the containers the gameday process pid started (its
// owner label), whatever other runs are doing meanwhile.
func ownedIDs(t *testing.T, pid int) []string {
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label="+target.Label, "--format", `{{.ID}} {{.Label "`+target.OwnerLabel+`"}}`).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, owner, _ := strings.Cut(line, " ")
		if strings.HasPrefix(owner, strconv.Itoa(pid)+":") {
			ids = append(ids, id)
		}
	}
	return ids
}

func ownedBy(t *testing.T, pid int) int { return len(ownedIDs(t, pid)) }

// countProcs counts processes whose executable is named name.
func countProcs(name string) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmd) == 0 {
			continue
		}
		argv0, _, _ := strings.Cut(string(cmd), "\x00")
		if filepath.Base(argv0) == name && strings.Contains(argv0, binDir) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSLOCommands(t *testing.T) {
	wd, _ := os.Getwd()
	root, _ := harness.ModuleRoot(wd)
	file := filepath.Join(root, "config", "slo-error-budget.yml")
	code, out, errOut := runCLI(t, "slo", "validate", "--file", file)
	if code != exitOK || !strings.Contains(out, "43.2 min") || !strings.Contains(out, "72.0 min") || !strings.Contains(out, "1008.0 min") {
		t.Fatalf("validate: %d %s %s", code, out, errOut)
	}
	rules := filepath.Join(t.TempDir(), "alerts.yml")
	prod, _ := os.ReadFile(filepath.Join(root, "config", "alerts.yml"))
	os.WriteFile(rules, prod, 0o644)
	code, _, errOut = runCLI(t, "slo", "generate", "--file", file, "--into", rules)
	if got, _ := os.ReadFile(rules); code != exitOK || string(got) != string(prod) {
		t.Fatalf("generate --into config/alerts.yml changed it: the committed file is out of date (%d %s)", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "slo.yml")
	os.WriteFile(bad, []byte("slos:\n  - name: x\n    objective: 2\n    window: 1d\n    freshness: 1h\n"), 0o644)
	if code, _, errOut := runCLI(t, "slo", "validate", "--file", bad); code != exitUsage || !strings.Contains(errOut, "slos[0].objective") {
		t.Fatalf("bad file: %d %s", code, errOut)
	}
	rep := filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(rep, []byte(`{"schema_version":1,"scenario":{"name":"x"},"verdict":"pass","schedule_seconds":600,
	  "load":{"requests":1000,"codes":{"200":990,"503":10},"sources":{"live":900,"snapshot":90},"over_200ms":50}}`), 0o644)
	code, out, errOut = runCLI(t, "slo", "budget", "--file", file, rep)
	// availability: 1 % of 10 min = 6 s of 43.2 min; live ratio: 9 % of 10 min = 54 s of 72 min.
	if code != exitOK || !strings.Contains(out, "10/1000") || !strings.Contains(out, "6s") || !strings.Contains(out, "54s") || !strings.Contains(out, "1.25%") {
		t.Fatalf("budget: %d\n%s%s", code, out, errOut)
	}
}

// TestRunThenReplay runs a short scenario from a file, then replays its
// report: the replay runs the same spec and seed and writes its own report.
func TestRunThenReplay(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "short.yaml")
	os.WriteFile(spec, []byte(`name: short-io
seed: 42
load: {rate: 10}
baseline: {duration: 3s, min_live_ratio: 0.95}
faults: [{name: cache-readonly, duration: 5s}]
expect:
  no_5xx: true
  warning_on_snapshots: true
  recovery: {min_live_ratio: 0.95, within: 1m}
  livesha_valid: true
after: {duration: 3s, min_live_ratio: 0.95}
`), 0o644)
	reports := filepath.Join(dir, "reports")
	gameday := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(binDir, "gameday"), args...)
		cmd.Dir = filepath.Join("..", "..")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := gameday("run", "--target", "process", "--report-dir", reports, "-f", spec)
	if err != nil || !strings.Contains(out, "short-io: verdict pass") || !strings.Contains(out, "] fault") {
		t.Fatalf("run: %v\n%s", err, out)
	}
	first, _ := filepath.Glob(filepath.Join(reports, "short-io-*.json"))
	if len(first) != 1 {
		t.Fatalf("reports after the run: %v", first)
	}
	time.Sleep(time.Second) // report names carry the start second
	out, err = gameday("replay", "--target", "process", "--report-dir", reports, first[0])
	if err != nil || !strings.Contains(out, "replaying short-io (seed 42)") || !strings.Contains(out, "short-io: verdict pass") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	all, _ := filepath.Glob(filepath.Join(reports, "short-io-*.json"))
	if len(all) != 2 {
		t.Fatalf("reports after the replay: %v", all)
	}
}
