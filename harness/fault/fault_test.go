package fault

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quannex/gameday/harness/scrapepath"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

func TestKnownNamesTheParameter(t *testing.T) {
	cases := []struct {
		fault  string
		params map[string]string
		field  string
	}{
		{"cpu-spike", map[string]string{"cores": "lots"}, "params.cores"},
		{"cpu-spike", map[string]string{"cores": "0"}, "params.cores"},
		{"cpu-spike", map[string]string{"colour": "red"}, "params.colour"},
		{"generator-latency", map[string]string{"min": "soon"}, "params.min"},
		{"generator-latency", map[string]string{"min": "500ms", "max": "300ms"}, "params.max"},
		{"cache-readonly", map[string]string{"mode": "0444"}, "params.mode"},
		{"scrape-path", map[string]string{"toxic": "slow"}, "params.toxic"},
		{"scrape-path", map[string]string{"latency": "soon"}, "params.latency"},
		{"scrape-path", map[string]string{"rate": "0"}, "params.rate"},
	}
	for _, c := range cases {
		_, err := Known(c.fault, c.params)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Field() != c.field || !strings.HasPrefix(err.Error(), c.fault+": parameter ") {
			t.Errorf("%s %v: %v, want a ParamError for %s", c.fault, c.params, err, c.field)
		}
	}
	if _, err := Known("disk-fill", nil); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown fault: %v", err)
	}
}

func TestKnownTellsWhichFaultsForceTheFallback(t *testing.T) {
	for name, want := range map[string]bool{"cache-readonly": true, "cpu-spike": false, "generator-latency": false} {
		info, err := Known(name, nil)
		if err != nil || info.ForcesFallback != want {
			t.Errorf("%s: %+v %v, want ForcesFallback %v", name, info, err, want)
		}
	}
}

// TestEveryFaultCanProveItself: a fault without a proof would make its
// fault_achieved check fail on every run; each registered fault has one.
func TestEveryFaultCanProveItself(t *testing.T) {
	for _, name := range Names() {
		f, err := New(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, s := f.(Sampler)
		_, p := f.(Prober)
		_, l := f.(Slower)
		_, sp := f.(SelfProver)
		_, pb := f.(PathBreaker)
		if !s && !p && !l && !sp && !pb {
			t.Errorf("%s implements none of Sampler, Prober, Slower, SelfProver, PathBreaker", name)
		}
	}
}

// TestCacheReadonlyLocksTheDirectoryAndItsFiles: a read-only cache refuses
// new files and writes into existing ones (the gate overwrites its slots in
// place), and the revert restores every mode.
func TestCacheReadonlyLocksTheDirectoryAndItsFiles(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	os.Chmod(dir, 0o750)
	for name, mode := range map[string]os.FileMode{"text-0.snap": 0o640, "text-1.snap": 0o600} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	f, err := New("cache-readonly", nil)
	if err != nil {
		t.Fatal(err)
	}
	revert, err := f.Inject(t.Context(), fakeCache{dir: dir}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	modes := func() map[string]os.FileMode {
		out := map[string]os.FileMode{}
		filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error {
			st, _ := os.Stat(p)
			out[filepath.Base(p)] = st.Mode().Perm()
			return nil
		})
		return out
	}
	got := modes()
	if got[filepath.Base(dir)] != 0o555 || got["text-0.snap"] != 0o444 || got["text-1.snap"] != 0o444 {
		t.Fatalf("while injected: %v", got)
	}
	if recs, _ := filepath.Glob(filepath.Join(StateDir(), "chmod-*.json")); len(recs) != 3 {
		t.Fatalf("want 3 recorded modes for cleanup, got %d", len(recs))
	}
	if err := revert(t.Context()); err != nil {
		t.Fatal(err)
	}
	got = modes()
	if got[filepath.Base(dir)] != 0o750 || got["text-0.snap"] != 0o640 || got["text-1.snap"] != 0o600 {
		t.Fatalf("after revert: %v", got)
	}
	if recs, _ := filepath.Glob(filepath.Join(StateDir(), "chmod-*.json")); len(recs) != 0 {
		t.Fatalf("records left after revert: %v", recs)
	}
}

// fakeCache is a Host with nothing but a cache directory.
type fakeCache struct {
	Host
	dir string
}

func (f fakeCache) CacheDir() string { return f.dir }

// TestOnlyAdminAPIFaultsHitAGateTheHarnessDidNotStart: each registered
// fault says whether it acts through the gate's admin API or what of the
// gate's host it needs; one that says neither would be refused with a
// vague reason.
func TestOnlyAdminAPIFaultsHitAGateTheHarnessDidNotStart(t *testing.T) {
	want := map[string]string{"generator-latency": "", "cpu-spike": "the gate's CPU domain", "cache-readonly": "the gate's filesystem",
		"crash": "the gate's process and its supervisor", "memory-pressure": "the gate's memory domain (a container with target.memory)",
		"scrape-path": "the harness's own scrape path (its in-process scraper)",
		"disk-full":   "a size-limited filesystem on the gate's cache or audit directory, which the harness mounts"}
	for _, name := range Names() {
		ok, needs := RemoteCapable(name)
		w, listed := want[name]
		if !listed {
			t.Errorf("%s: not in this test's table (remote %v, needs %q)", name, ok, needs)
			continue
		}
		if ok != (w == "") || needs != w {
			t.Errorf("%s: remote %v needs %q, want needs %q", name, ok, needs, w)
		}
	}
	if got := strings.Join(RemoteNames(), ","); got != "generator-latency" {
		t.Errorf("RemoteNames: %s", got)
	}
	if ok, _ := RemoteCapable("disk-fill"); ok {
		t.Error("an unknown fault is remote-capable")
	}
}

// TestRestoreLeavesARunningGameDaysChangesAlone: gameday cleanup restores
// the permission changes of a run that is gone (killed) and leaves a
// running one's alone, whose revert is its own.
func TestRestoreLeavesARunningGameDaysChangesAlone(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dirs := map[string]string{}
	for _, owner := range []string{"running", "killed", "old harness"} {
		dir := t.TempDir()
		os.Chmod(dir, 0o555)
		dirs[owner] = dir
		rec, err := recordChmod(dir, 0o750)
		if err != nil {
			t.Fatal(err)
		}
		var r chmodRecord
		b, _ := os.ReadFile(rec)
		json.Unmarshal(b, &r)
		switch owner {
		case "killed":
			r.Owner = fmt.Sprintf("%d:@%s", gone.Process.Pid, host)
		case "old harness":
			r.Owner = ""
		}
		b, _ = json.Marshal(r)
		os.WriteFile(rec, b, 0o600)
	}
	restored, running, err := RestorePermissions()
	if err != nil || restored != 2 || running != 1 {
		t.Fatalf("restored %d, running %d, %v; want 2 and 1", restored, running, err)
	}
	for owner, dir := range dirs {
		st, _ := os.Stat(dir)
		want := os.FileMode(0o750)
		if owner == "running" {
			want = 0o555
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", owner, st.Mode().Perm(), want)
		}
	}
	os.Chmod(dirs["running"], 0o755)
}

// TestCrashProvesItselfByWhatTheTargetSaw: the crash fault's proof is the
// exits and restarts its target reported: SIGKILL each time and one
// restart per kill; a kill that ended otherwise, or a restart count that
// did not rise, is no proof.
func TestCrashProvesItselfByWhatTheTargetSaw(t *testing.T) {
	for _, c := range []struct {
		name  string
		times int
		kills []reports.Kill
		ok    bool
	}{
		{"two kills, two restarts", 2, []reports.Kill{{Signal: "killed", ExitCode: -1, Restarts: 1}, {Signal: "killed", ExitCode: -1, RestartsBefore: 1, Restarts: 2}}, true},
		{"one of two kills landed", 2, []reports.Kill{{Signal: "killed", ExitCode: -1, Restarts: 1}}, false},
		{"an exit, not a kill", 1, []reports.Kill{{ExitCode: 0, Restarts: 1}}, false},
		{"no restart counted", 1, []reports.Kill{{Signal: "killed", ExitCode: -1, RestartsBefore: 3, Restarts: 3}}, false},
		{"killed, not back", 1, []reports.Kill{{Signal: "killed", ExitCode: -1, Restarts: 1, Error: "the restarted gate: not ready"}}, false},
		{"nothing", 1, nil, false},
	} {
		f := &crash{times: c.times, kills: c.kills}
		p := f.Proof()
		if p.OK != c.ok || p.Samples != len(c.kills) || p.Unit != "restarts" {
			t.Errorf("%s: %+v, want ok %v", c.name, p, c.ok)
		}
	}
	if _, err := New("crash", map[string]string{"every": "1s"}); err == nil || !strings.Contains(err.Error(), "at least 5s") {
		t.Errorf("every 1s: %v", err)
	}
	if _, err := New("crash", map[string]string{"times": "11"}); err == nil {
		t.Error("times 11 accepted")
	}
}

// TestMemoryPressureProvesItselfByTheCgroup: the proof is the cgroup's
// count: the peak reached 90 % of the fraction and the memory was given
// back after the revert.
func TestMemoryPressureProvesItselfByTheCgroup(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name        string
		peak, after int64
		samples     int
		ok          bool
	}{
		{"filled and given back", 200 * mib, 30 * mib, 40, true},
		{"never filled", 100 * mib, 30 * mib, 40, false},
		{"not given back", 200 * mib, 200 * mib, 40, false},
		{"not measured", 200 * mib, 30 * mib, 0, false},
	} {
		f := &memoryPressure{fraction: 0.8, limit: 256 * mib, before: 30 * mib, peak: c.peak, after: c.after, samples: c.samples}
		if p := f.Proof(); p.OK != c.ok || p.Requested != 0.8 {
			t.Errorf("%s: %+v, want ok %v", c.name, p, c.ok)
		}
	}
	for _, bad := range []string{"0", "0.99", "lots"} {
		if _, err := New("memory-pressure", map[string]string{"fraction": bad}); err == nil || !strings.Contains(err.Error(), "fraction") {
			t.Errorf("fraction %q: %v", bad, err)
		}
	}
}

// TestScrapePathPutsItsToxicOnThePath: the fault puts its toxic on a real
// scrape path and takes it off on revert, and says so (ToxicSeen); it
// refuses a run without a path of its own.
func TestScrapePathPutsItsToxicOnThePath(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("up 1\n")) }))
	defer srv.Close()
	p, err := scrapepath.Start(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	for _, toxic := range []string{"blackhole", "reset", "latency", "bandwidth"} {
		f, err := New("scrape-path", map[string]string{"toxic": toxic})
		if err != nil {
			t.Fatal(err)
		}
		pb := f.(PathBreaker)
		if want := toxic == "blackhole" || toxic == "reset"; pb.Fails() != want {
			t.Errorf("%s: Fails %v", toxic, pb.Fails())
		}
		revert, err := f.Inject(t.Context(), nil, Env{ScrapePath: p})
		if err != nil {
			t.Fatalf("%s: %v", toxic, err)
		}
		if !p.Active() {
			t.Fatalf("%s: no toxic on the path after the injection", toxic)
		}
		if err := revert(t.Context()); err != nil {
			t.Fatalf("%s: revert: %v", toxic, err)
		}
		if seen, gone := pb.ToxicSeen(); !seen || !gone || p.Active() {
			t.Errorf("%s: seen %v, gone %v, active after the revert %v", toxic, seen, gone, p.Active())
		}
	}
	f, _ := New("scrape-path", nil)
	if _, err := f.Inject(t.Context(), nil, Env{}); err == nil || !strings.Contains(err.Error(), "no scrape path") {
		t.Errorf("without a path: %v", err)
	}
}

// TestDiskFullProvesItselfByTheProbes: the proof holds only when the write
// as the gate's user got ENOSPC while injected, the host read no byte
// free, and the write succeeded after the revert; its detail names the
// errno and the bytes.
func TestDiskFullProvesItselfByTheProbes(t *testing.T) {
	full := fmt.Errorf("%w: probe", target.ErrNoSpace)
	for _, c := range []struct {
		name          string
		probed        bool
		during, after error
		free          int64
		ok            bool
	}{
		{"full, then writable", true, full, nil, 0, true},
		{"written while injected", true, nil, nil, 16 << 20, false},
		{"refused otherwise (EACCES)", true, target.ErrWriteDenied, nil, 0, false},
		{"bytes left free", true, full, nil, 8 << 10, false},
		{"still full after the revert", true, full, full, 0, false},
		{"not probed after the revert", true, full, errNotProbed, 0, false},
		{"never probed", false, nil, errNotProbed, -1, false},
	} {
		f := &diskFull{path: "audit", size: 16 << 20, probed: c.probed, duringErr: c.during, afterErr: c.after, free: c.free, total: 16 << 20}
		p := f.Proof()
		if p.OK != c.ok {
			t.Errorf("%s: %+v, want ok %v", c.name, p, c.ok)
		}
		if c.ok && (!strings.Contains(p.Detail, "ENOSPC") || !strings.Contains(p.Detail, "0.0 MiB of 16.0 MiB free")) {
			t.Errorf("%s: detail %q names neither the errno nor the bytes", c.name, p.Detail)
		}
	}
	f, err := New("disk-full", map[string]string{"path": "audit", "size": "8MiB"})
	if err != nil {
		t.Fatal(err)
	}
	if which, size := f.(DiskSizer).Disk(); which != "audit" || size != 8<<20 {
		t.Fatalf("Disk() = %s, %d: want audit, 8 MiB", which, size)
	}
	if _, err := f.Inject(t.Context(), fakeCache{dir: t.TempDir()}, Env{}); err == nil || !strings.Contains(err.Error(), "no size-limited filesystem") {
		t.Fatalf("a host with no filesystem to fill: %v", err)
	}
}

// TestMemoryPressureOOMProvesTheKill: with oom the proof is the engine's
// oom event and the death by SIGKILL with one restart; a kill that did not
// come, or a death without an oom event, fails it. fraction and oom do
// not go together.
func TestMemoryPressureOOMProvesTheKill(t *testing.T) {
	for _, c := range []struct {
		name string
		kill reports.Kill
		ok   bool
	}{
		{"OOM-killed and restarted", reports.Kill{Signal: "oom-killed", ExitCode: -1, RestartsBefore: 0, Restarts: 1}, true},
		{"killed without an oom event", reports.Kill{Signal: "killed", ExitCode: -1, RestartsBefore: 0, Restarts: 1}, false},
		{"not restarted", reports.Kill{Signal: "oom-killed", ExitCode: -1, RestartsBefore: 0, Restarts: 0}, false},
		{"no kill came", reports.Kill{ExitCode: -1, Error: "the gate container did not die within 30s"}, false},
	} {
		f, err := New("memory-pressure", map[string]string{"oom": "true"})
		if err != nil {
			t.Fatal(err)
		}
		mp := f.(*memoryPressure)
		mp.oom.kills = []reports.Kill{c.kill}
		if p := mp.Proof(); p.OK != c.ok || p.Unit != "OOM kills" {
			t.Errorf("%s: %+v, want ok %v", c.name, p, c.ok)
		}
		if got := mp.Kills(); len(got) != 1 {
			t.Errorf("%s: Kills() = %v, want the one kill for the crash checks", c.name, got)
		}
	}
	if _, err := New("memory-pressure", map[string]string{"oom": "true", "fraction": "0.5"}); err == nil || !strings.Contains(err.Error(), "fraction") {
		t.Errorf("oom with a fraction: %v", err)
	}
	if _, err := New("memory-pressure", map[string]string{"oom": "yes"}); err == nil || !strings.Contains(err.Error(), "oom") {
		t.Errorf("oom: yes: %v", err)
	}
}
