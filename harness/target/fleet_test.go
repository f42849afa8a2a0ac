package target

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

func TestFleetOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		replicas, canary int
		want             string
	}{
		{0, 0, "target.replicas"},
		{MaxReplicas + 1, 0, "target.replicas"},
		{3, -1, "target.canary"},
		{3, 4, "target.canary"},
		{1, 1, ""},
		{MaxReplicas, 0, ""},
	} {
		err := FleetOptions{Replicas: c.replicas, Canary: c.canary}.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want+":")) {
			t.Errorf("replicas %d canary %d: %v, want %q", c.replicas, c.canary, err, c.want)
		}
	}
	if _, err := StartFleet(context.Background(), FleetOptions{Replicas: 21}); err == nil || !strings.Contains(err.Error(), "target.replicas") {
		t.Errorf("StartFleet with 21 replicas: %v", err)
	}
}

func TestReplicaLog(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"/r/x.gate.log":         "/r/x.gate-replica-3.log",
		"/r/gate":               "/r/gate-replica-3",
		"/r.d/latency-20261128": "/r.d/latency-20261128-replica-3",
	} {
		if got := replicaLog(in, "replica-3"); got != want {
			t.Errorf("replicaLog(%q) = %q, want %q", in, got, want)
		}
	}
}

// needDocker skips without a Docker engine, unless GAMEDAY_REQUIRE_DOCKER=1
// makes that a failure (as the scenario suite does).
func needDocker(t *testing.T) {
	t.Helper()
	if err := DockerAvailable(context.Background()); err != nil {
		if os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1" {
			t.Fatalf("GAMEDAY_REQUIRE_DOCKER=1 but no Docker engine answers: %v", err)
		}
		t.Skipf("no Docker engine answers (%v): the fleet target cannot run here; set GAMEDAY_REQUIRE_DOCKER=1 to make this a failure", err)
	}
}

// binaries builds the static gate and stressor the image is made of.
func binaries(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	return binariesIn(t, dir)
}

// binariesIn builds them into dir.
func binariesIn(t *testing.T, dir string) Options {
	t.Helper()
	o := Options{GateBin: filepath.Join(dir, "gate"), StressorBin: filepath.Join(dir, "stressor")}
	for bin, pkg := range map[string]string{o.GateBin: "../../cmd/gate", o.StressorBin: "../../cmd/stressor"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	o.Env = map[string]string{"METRICS_TOKENS": "gameday:fleet-test-token", "GATE_ADMIN_TOKEN": "fleet-test-admin"}
	return o
}

// TestFleet: three replicas, one canary, each its own container with its
// own cache on one network, reachable on its own URL; a fault on one
// replica's cache touches only that replica; Stop leaves nothing behind.
func TestFleet(t *testing.T) {
	needDocker(t)
	ctx := context.Background()
	o := binaries(t)
	o.LogFile = filepath.Join(t.TempDir(), "fleet.gate.log")
	f, err := StartFleet(ctx, FleetOptions{Options: o, Replicas: 3, Canary: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Stop(context.Background()) })
	if len(f.Replicas) != 3 || f.Network == "" {
		t.Fatalf("%d replicas on network %q", len(f.Replicas), f.Network)
	}

	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ids, urls, caches := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, r := range f.Replicas {
		name, track := "replica-"+strconv.Itoa(i+1), TrackStable
		if i == 0 {
			track = TrackCanary
		}
		if r.Name != name || r.Track != track || f.Replica(name) != r {
			t.Errorf("replica %d: %s on %s, want %s on %s", i, r.Name, r.Track, name, track)
		}
		res, err := http.Get(r.BaseURL() + "/readyz")
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s /readyz: %d", r.Name, res.StatusCode)
		}
		_, _, id, _ := r.Describe()
		ids[id], urls[r.BaseURL()], caches[r.CacheDir()] = true, true, true
		ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ep := ins.Container.NetworkSettings.Networks[f.Network]
		if ep == nil || !slices.Contains(ep.Aliases, name) {
			t.Errorf("%s: not on %s as %s: %+v", name, f.Network, name, ins.Container.NetworkSettings.Networks)
		}
		if l := ins.Container.Config.Labels; l[Label] != "1" || l[ReplicaLabel] != name || l[TrackLabel] != track || l[FleetLabel] != f.Network {
			t.Errorf("%s: labels %v", name, l)
		}
	}
	if len(ids) != 3 || len(urls) != 3 || len(caches) != 3 {
		t.Fatalf("containers %v, URLs %v, caches %v: want three of each", ids, urls, caches)
	}

	// A read-only cache on replica-2 only: the gate runs as 65534 there.
	if os.Geteuid() == 0 {
		broken := f.Replica("replica-2")
		if err := os.Chmod(broken.CacheDir(), 0o555); err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Replicas {
			err := r.ProbeWrite(ctx)
			switch {
			case r == broken && !errors.Is(err, ErrWriteDenied):
				t.Errorf("%s: write probe into a read-only cache: %v", r.Name, err)
			case r != broken && err != nil:
				t.Errorf("%s: write probe beside the faulted replica: %v", r.Name, err)
			}
		}
		os.Chmod(broken.CacheDir(), 0o755)
		if err := broken.ProbeWrite(ctx); err != nil {
			t.Errorf("replica-2 after the revert: %v", err)
		}
	}

	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	left, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", FleetLabel+"="+f.Network)})
	if err != nil || len(left.Items) != 0 {
		t.Errorf("containers left after Stop: %d (%v)", len(left.Items), err)
	}
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", Label).Add("name", f.Network)})
	if err != nil || len(nets.Items) != 0 {
		t.Errorf("networks left after Stop: %v (%v)", nets.Items, err)
	}
	for i := range 3 {
		if _, err := os.Stat(replicaLog(o.LogFile, "replica-"+strconv.Itoa(i+1))); err != nil {
			t.Errorf("replica log: %v", err)
		}
	}
}

// TestFleetStartFailure: a fleet whose replicas cannot start (a CPU limit
// beyond the host's) returns the error and leaves no container or network.
func TestFleetStartFailure(t *testing.T) {
	needDocker(t)
	ctx := context.Background()
	o := binaries(t)
	o.CPUs = 1000
	f, err := StartFleet(ctx, FleetOptions{Options: o, Replicas: 3})
	if err == nil {
		f.Stop(ctx)
		t.Fatal("a fleet with a 1000-CPU limit per replica started")
	}
	if !strings.Contains(err.Error(), "fleet replica-") {
		t.Errorf("error does not name the replica: %v", err)
	}
	t.Logf("StartFleet: %v", err)
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// Everything this test process created carries its testcontainers session.
	mine := client.Filters{}.Add("label", Label).Add("label", "org.testcontainers.sessionId="+testcontainers.SessionID())
	if l, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: mine}); err != nil || len(l.Items) != 0 {
		t.Errorf("containers left: %d (%v)", len(l.Items), err)
	}
	if l, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: mine}); err != nil || len(l.Items) != 0 {
		t.Errorf("networks left: %v (%v)", l.Items, err)
	}
}

// TestFleetScale measures StartFleet and Stop and the fleet's memory at
// the sizes GAMEDAY_FLEET_SCALE names (e.g. 10,20); it only runs when set.
func TestFleetScale(t *testing.T) {
	sizes := os.Getenv("GAMEDAY_FLEET_SCALE")
	if sizes == "" {
		t.Skip("set GAMEDAY_FLEET_SCALE=10,20 to measure fleets of those sizes")
	}
	needDocker(t)
	ctx := context.Background()
	o := binaries(t)
	if _, err := GateImage(ctx, o); err != nil { // a warm image, as after the first run
		t.Fatal(err)
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		f, err := StartFleet(ctx, FleetOptions{Options: o, Replicas: n})
		if err != nil {
			t.Fatal(err)
		}
		started := time.Since(t0)
		var ids []string
		for _, r := range f.Replicas {
			_, _, id, _ := r.Describe()
			ids = append(ids, id)
		}
		out, err := exec.Command("docker", append([]string{"stats", "--no-stream", "--format", "{{.MemUsage}}"}, ids...)...).Output()
		if err != nil {
			f.Stop(ctx)
			t.Fatal(err)
		}
		var mib float64
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			mib += parseMiB(strings.TrimSpace(strings.Split(l, "/")[0]))
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t1 := time.Now()
		if err := f.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("N=%d: StartFleet %v, Stop %v, total %v; containers %.1f MiB (%.1f MiB each); harness RSS %s, Go heap %.1f MiB",
			n, started.Round(10*time.Millisecond), time.Since(t1).Round(10*time.Millisecond), time.Since(t0).Round(10*time.Millisecond),
			mib, mib/float64(n), vmRSS(), float64(ms.HeapAlloc)/(1<<20))
	}
}

// parseMiB reads docker stats' "12.3MiB" / "512KiB" / "1.2GiB".
func parseMiB(s string) float64 {
	for _, u := range []struct {
		suffix string
		mib    float64
	}{{"GiB", 1024}, {"MiB", 1}, {"KiB", 1.0 / 1024}, {"B", 1.0 / (1 << 20)}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				return x * u.mib
			}
		}
	}
	return 0
}

func vmRSS() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
