package target

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/quannex/gameday/harness/gateapi"
)

// gateEnv is the configuration of the crash tests' gates: with a cache
// key, so that a restarted gate trusts the snapshot the killed one
// recorded.
var gateEnv = map[string]string{"METRICS_TOKENS": "scraper:process-test-token-000001", "GATE_ADMIN_TOKEN": "process-test-admin-token-01",
	"GATE_CACHE_KEY": "process-test-cache-key-0000001"}

// killTwice kills the target's gate twice and holds the target to
// account: SIGKILL each time, one restart per kill, a new process on the
// same address, and the snapshot the killed gate recorded served verified
// by the new one from its start.
func killTwice(t *testing.T, g interface {
	Kill(context.Context) (Crash, error)
	BaseURL() string
	Describe() (string, string, string, float64)
}) {
	t.Helper()
	ctx := context.Background()
	api := gateapi.New(g.BaseURL(), "process-test-token-000001", "process-test-admin-token-01")
	if _, _, err := api.Payload(ctx, "/metrics"); err != nil { // records a snapshot
		t.Fatal(err)
	}
	url := g.BaseURL()
	for i := 1; i <= 2; i++ {
		c, err := g.Kill(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Signal != "killed" || c.ExitCode != -1 || c.Restarts != c.RestartsBefore+1 || c.Down <= 0 {
			t.Fatalf("kill %d: %+v, want SIGKILL and one restart", i, c)
		}
		t.Logf("kill %d: %+v", i, c)
	}
	if g.BaseURL() != url {
		t.Fatalf("url %s → %s: want the same address", url, g.BaseURL())
	}
	r, err := api.Do(ctx, http.MethodGet, "/metrics/selftest", gateapi.AdminTok, "", nil)
	if err != nil || r.Code != http.StatusOK {
		t.Fatalf("selftest after the restarts: %v %v", r, err)
	}
	var st struct {
		Snapshot struct {
			Present, Verified bool
		}
	}
	if err := json.Unmarshal(r.Body, &st); err != nil || !st.Snapshot.Present || !st.Snapshot.Verified {
		t.Fatalf("the restarted gate's snapshot: %+v %v\n%s", st.Snapshot, err, r.Body)
	}
}

// processOptions are a process target's options with the crash tests'
// gate configuration. The gate runs as nobody when the test is root: its
// binary must be in a directory every user can enter (t.TempDir's parent
// is not).
func processOptions(t *testing.T) Options {
	t.Helper()
	dir, err := os.MkdirTemp("", "target-process-test-*")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	o := binariesIn(t, dir)
	o.Env = gateEnv
	return o
}

// TestProcessRestartsAKilledGate: the process target restarts its gate
// after SIGKILL as a supervisor would.
func TestProcessRestartsAKilledGate(t *testing.T) {
	p, err := StartProcess(context.Background(), processOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	_, _, before, _ := p.Describe()
	killTwice(t, p)
	if _, _, after, _ := p.Describe(); after == before {
		t.Fatalf("pid %s after two kills: want a new process", after)
	}
}

// TestContainerRestartsAKilledGate: SIGKILL from this host, as the OOM
// killer would; the container's restart policy starts the gate again on
// the same host port.
func TestContainerRestartsAKilledGate(t *testing.T) {
	needDocker(t)
	o := binaries(t)
	o.Env = gateEnv
	c, err := StartContainer(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
	killTwice(t, c)
}
