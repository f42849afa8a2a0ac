package harness

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/amserver"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
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
// setup (after the receiver and Alertmanager, before the replicas) is a
// failed run that leaves nothing running.
func TestFleetSetupPanicStopsWhatStarted(t *testing.T) {
	needServer(t, amserver.Binary)
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{spec: b["fleet-io-glitch"], opts: Options{RulesFile: "../config/alerts.yml", ScrapeInterval: 5 * time.Second},
		out: panicAt("starting a fleet")}
	rep := r.run(t.Context())
	if !strings.Contains(rep.Error, "harness panic") {
		t.Fatalf("run error %q, want the panic", rep.Error)
	}
	if rep.Fleet == nil || rep.Fleet.Alertmanager == "" {
		t.Fatal("the panic came before Alertmanager started: the test proves nothing")
	}
	c := &http.Client{Timeout: time.Second}
	if resp, err := c.Get(rep.Fleet.Alertmanager + "/-/ready"); err == nil {
		resp.Body.Close()
		t.Errorf("Alertmanager at %s still answers after the run", rep.Fleet.Alertmanager)
	}
	if resp, err := c.Post(r.fl.recv.URL(), "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		t.Errorf("the receiver at %s still answers after the run", r.fl.recv.URL())
	}
}
