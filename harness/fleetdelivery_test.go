package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/amserver"
	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/reports"
)

// TestDeliveryChecksFollowTheRoute runs the delivery checks on what a real
// Alertmanager delivered to the harness's receiver: with the harness's
// route the firing and resolved notifications for the faulted replica
// arrive and both checks pass; with a route that drops the alert (a broken
// production route) nothing arrives and both fail.
func TestDeliveryChecksFollowTheRoute(t *testing.T) {
	needServer(t, amserver.Binary)
	for _, c := range []struct {
		name string
		drop []string
		pass bool
	}{{"harness route", nil, true}, {"route that drops the alert", []string{"CircuitBreakerActive"}, false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recv, err := receiver.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer recv.Close()
			am, err := amserver.Start(t.Context(), amserver.Options{WebhookURL: recv.URL(), Drop: c.drop})
			if err != nil {
				t.Fatal(err)
			}
			defer am.Stop()

			spec, o := healthyFleet(t)
			injected := time.Now()
			post(t, am, "CircuitBreakerActive", "replica-1", injected, time.Time{})
			post(t, am, "HighFallbackRate", "replica-1", injected, time.Time{}) // a control: routed either way
			if err := awaitDelivery(t, recv, "HighFallbackRate", "firing", injected); err != nil {
				t.Fatalf("the control alert was not delivered: %v\n%s", err, am.Log())
			}
			if c.pass {
				if err := awaitDelivery(t, recv, "CircuitBreakerActive", "firing", injected); err != nil {
					t.Fatalf("not delivered: %v\n%s", err, am.Log())
				}
			} else {
				time.Sleep(3 * time.Second) // group_wait is 1s: a routed alert would be here by now
			}
			reverted := time.Now()
			post(t, am, "CircuitBreakerActive", "replica-1", injected, reverted)
			if c.pass {
				if err := awaitDelivery(t, recv, "CircuitBreakerActive", "resolved", reverted); err != nil {
					t.Fatalf("resolution not delivered: %v\n%s", err, am.Log())
				}
			} else {
				time.Sleep(3 * time.Second)
			}

			o.Fleet.Injected["replica-1"], o.Fleet.Reverted["replica-1"] = injected, reverted
			o.Fleet.Notifications, o.Fleet.Malformed = recv.Notifications(), recv.Malformed()
			got := map[string]reports.Check{}
			for _, ch := range checks(spec, o) {
				got[ch.Name] = ch
			}
			for _, name := range []string{"alert_delivered:CircuitBreakerActive", "resolution_delivered:CircuitBreakerActive"} {
				ch, ok := got[name]
				if !ok {
					t.Fatalf("no check %s", name)
				}
				if ch.Pass != c.pass {
					t.Errorf("%s: pass = %v, want %v (observed %s)", name, ch.Pass, c.pass, ch.Observed)
				}
			}
		})
	}
}

// deliveryBound is how long each wait for a notification Alertmanager owes
// may take: generous, since on a loaded CI machine a freshly started
// Alertmanager (one per parallel subtest) can stall for seconds. It is
// well inside the scenario's delivered_within (60 s) and
// resolution_delivered_within (90 s), which the checks then apply.
const deliveryBound = 30 * time.Second

// awaitDelivery waits, with its own deliveryBound, for replica-1's
// notification of alert in status, sent after since.
func awaitDelivery(t *testing.T, recv *receiver.Receiver, alert, status string, since time.Time) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deliveryBound)
	defer cancel()
	_, err := recv.Wait(ctx, alert, "replica-1", status, since)
	return err
}

// needServer returns the binary find finds (a Prometheus or an
// Alertmanager), skipping the test without one, except under CI, which
// installs both (.ci/run): there a missing binary fails the test.
func needServer(t *testing.T, find func() (string, error)) string {
	t.Helper()
	bin, err := find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skipf("%v; CI runs this test", err)
	}
	return bin
}

// post sends one alert to Alertmanager's API, as Prometheus does; a zero
// endsAt leaves it firing.
func post(t *testing.T, am *amserver.Server, name, instance string, startsAt, endsAt time.Time) {
	t.Helper()
	a := map[string]any{
		"labels":   map[string]string{"alertname": name, "instance": instance, "severity": "critical"},
		"startsAt": startsAt.Format(time.RFC3339Nano),
	}
	if !endsAt.IsZero() {
		a["endsAt"] = endsAt.Format(time.RFC3339Nano)
	}
	body, _ := json.Marshal([]any{a})
	resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %s", resp.Status)
	}
}
