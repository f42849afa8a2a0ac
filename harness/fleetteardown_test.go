package harness

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/reports"
)

// TestFleetTeardownKeepsTheNotifications: a fleet run that ends early
// (error, Ctrl-C) never assembles, yet its report lists every notification
// the receiver got, malformed ones included: the lifecycle salvages them
// before the receiver stops, even when Prometheus cannot be read.
func TestFleetTeardownKeepsTheNotifications(t *testing.T) {
	spec, _ := healthyFleet(t)
	recv, err := receiver.Start()
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{spec: spec, out: &strings.Builder{}, rep: &reports.Report{Fleet: &reports.Fleet{}},
		src: &promSource{recv: recv, printf: func(string, ...any) {}}}
	for _, body := range []string{
		`{"version":"4","receiver":"gameday","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"CircuitBreakerActive","instance":"replica-1"}}]}`,
		`not JSON`,
	} {
		resp, err := http.Post(recv.URL(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	r.life.push("the alert receiver", func(context.Context) error { return recv.Close() })
	r.life.push("the evidence so far", noErr(func() { r.salvage(t.Context()) }))
	r.life.stopAll(r.say)
	ns := r.rep.Fleet.Notifications
	if len(ns) != 2 || ns[0].Alert != "CircuitBreakerActive" || ns[0].Instance != "replica-1" || ns[0].Status != "firing" || r.rep.Fleet.Malformed != 1 {
		t.Fatalf("report after an early exit: notifications %+v, malformed %d; want the firing one and the malformed one", ns, r.rep.Fleet.Malformed)
	}
}
