package harness

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/amserver"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
)

// panicAt is a progress writer that panics on the first line containing
// its text, as a bug in the harness would there.
type panicAt string

func (p panicAt) Write(b []byte) (int, error) {
	if strings.Contains(string(b), string(p)) {
		panic("test: " + string(p))
	}
	return len(b), nil
}

// PanicAt is panicAt for the external tests (panic_test.go).
type PanicAt = panicAt

// TestFleetSetupPanicStopsWhatStarted: a panic in the middle of the fleet's
// setup (once its replica, the receiver, Alertmanager and Prometheus run,
// before Prometheus has scraped them) is a failed run that leaves nothing
// running: the lifecycle stops each in reverse order.
func TestFleetSetupPanicStopsWhatStarted(t *testing.T) {
	needServer(t, amserver.Binary)
	needServer(t, promserver.Binary)
	if err := target.DockerAvailable(t.Context()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skipf("no Docker engine (%v); CI runs this test", err)
	}
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	spec := b["fleet-io-glitch"]
	spec.Target.Replicas = 1
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	arts, err := Build(t.Context(), root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t.Context(), spec, Options{Target: TargetContainer, Artifacts: arts, RulesFile: "../config/alerts.yml",
		ScrapeInterval: 5 * time.Second, Progress: panicAt("waiting until every replica is scraped")})
	rep := r.run(t.Context())
	if !strings.Contains(rep.Error, "harness panic") {
		t.Fatalf("run error %q, want the panic", rep.Error)
	}
	if rep.Fleet == nil || rep.Fleet.Alertmanager == "" || rep.Fleet.Prometheus == "" || len(rep.Fleet.Replicas) != 1 {
		t.Fatal("the panic came before the replica, Alertmanager and Prometheus started: the test proves nothing")
	}
	c := &http.Client{Timeout: time.Second}
	for what, url := range map[string]string{
		"Alertmanager": rep.Fleet.Alertmanager + "/-/ready",
		"Prometheus":   rep.Fleet.Prometheus + "/-/ready",
		"the replica":  rep.Fleet.Replicas[0].URL + "/healthz",
	} {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			t.Errorf("%s at %s still answers after the run", what, url)
		}
	}
	recv := r.src.(*promSource).recv
	if resp, err := c.Post(recv.URL(), "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		t.Errorf("the receiver at %s still answers after the run", recv.URL())
	}
}
