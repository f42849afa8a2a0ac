package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/amserver"
)

// alertmanager starts a real Alertmanager routing to r; without one the
// test fails under CI (.ci/run installs Debian's prometheus-alertmanager
// package) and skips elsewhere.
func alertmanager(t *testing.T, r *Receiver, drop ...string) *amserver.Server {
	t.Helper()
	bin, err := amserver.Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no Alertmanager binary; .ci/run installs Debian's prometheus-alertmanager package")
		}
		t.Skip("no Alertmanager binary (apt-get install prometheus-alertmanager); CI runs this test")
	}
	am, err := amserver.Start(t.Context(), amserver.Options{Binary: bin, WebhookURL: r.URL(), Drop: drop})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(am.Stop)
	return am
}

// postAlert sends one alert to Alertmanager's API v2 as Prometheus would:
// firing until endsAt, resolved once endsAt has passed.
func postAlert(t *testing.T, am *amserver.Server, name, instance string, startsAt, endsAt time.Time) {
	t.Helper()
	body, _ := json.Marshal([]map[string]any{{
		"labels":       map[string]string{"alertname": name, "instance": instance, "severity": "page"},
		"annotations":  map[string]string{"summary": "a GameDay test alert"},
		"startsAt":     startsAt.Format(time.RFC3339Nano),
		"endsAt":       endsAt.Format(time.RFC3339Nano),
		"generatorURL": "http://127.0.0.1/graph",
	}})
	resp, err := http.Post(am.URL+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %s", resp.Status)
	}
}

// deliveryBound is how long a test waits for a notification Alertmanager
// owes: generous, since a loaded CI machine can stall a freshly started
// Alertmanager for seconds; a delivery that never comes still fails.
const deliveryBound = 30 * time.Second

// wait waits up to bound for the notification and returns how long after
// since it arrived.
func wait(t *testing.T, r *Receiver, am *amserver.Server, alert, instance, status string, since time.Time, bound time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), bound)
	defer cancel()
	n, err := r.Wait(ctx, alert, instance, status, since)
	if err != nil {
		t.Fatalf("%v; received %+v\n%s", err, r.Notifications(), am.Log())
	}
	if n.Receiver != "gameday-webhook" || n.Labels["severity"] != "page" {
		t.Errorf("notification %+v", n)
	}
	return n.ReceivedAt.Sub(since)
}

// TestAlertmanagerDelivers: a real Alertmanager sends a firing, then a
// resolved notification for the instance's alert, and nothing the
// receiver cannot decode.
func TestAlertmanagerDelivers(t *testing.T) {
	t.Parallel()
	r := start(t)
	am := alertmanager(t, r)
	startsAt := time.Now()
	postAlert(t, am, "CircuitBreakerActive", "replica-2", startsAt, startsAt.Add(time.Hour))
	t.Logf("firing notification after %s", wait(t, r, am, "CircuitBreakerActive", "replica-2", "firing", startsAt, deliveryBound).Round(time.Millisecond))
	resolved := time.Now()
	postAlert(t, am, "CircuitBreakerActive", "replica-2", startsAt, resolved.Add(-time.Second))
	t.Logf("resolved notification after %s", wait(t, r, am, "CircuitBreakerActive", "replica-2", "resolved", resolved, deliveryBound).Round(time.Millisecond))
	for _, n := range r.Notifications() {
		if n.Malformed != "" || n.Instance != "replica-2" {
			t.Errorf("notification %+v", n)
		}
	}
}

// TestAlertmanagerDropRoute: with the alert routed nowhere, no
// notification for it arrives within five group waits, while another
// alert posted with it does (so the silence is the route's doing).
func TestAlertmanagerDropRoute(t *testing.T) {
	t.Parallel()
	r := start(t)
	am := alertmanager(t, r, "CircuitBreakerActive")
	startsAt := time.Now()
	postAlert(t, am, "CircuitBreakerActive", "replica-2", startsAt, startsAt.Add(time.Hour))
	postAlert(t, am, "SnapshotStale", "replica-2", startsAt, startsAt.Add(time.Hour))
	wait(t, r, am, "SnapshotStale", "replica-2", "firing", startsAt, deliveryBound)
	// A slow control delivery only lengthens the window the dropped alert
	// had to (wrongly) arrive in.
	time.Sleep(time.Until(startsAt.Add(5 * time.Second)))
	for _, n := range r.Notifications() {
		if n.Alert == "CircuitBreakerActive" {
			t.Errorf("a dropped alert was delivered: %+v", n)
		}
	}
}
