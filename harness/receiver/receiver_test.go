package receiver

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A version 4 body as Alertmanager 0.25 sends it, fields the receiver
// ignores included.
const twoAlerts = `{
  "receiver": "gameday-webhook", "status": "firing", "version": "4",
  "groupKey": "{}:{alertname=\"CircuitBreakerActive\"}", "truncatedAlerts": 0,
  "groupLabels": {"alertname": "CircuitBreakerActive"}, "commonLabels": {}, "commonAnnotations": {},
  "externalURL": "http://127.0.0.1:9093",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "CircuitBreakerActive", "instance": "replica-2", "severity": "page"},
     "annotations": {"summary": "s"}, "startsAt": "2026-11-28T22:00:00.5Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prometheus/graph", "fingerprint": "0123456789abcdef"},
    {"status": "resolved", "labels": {"alertname": "SnapshotStale"},
     "annotations": {}, "startsAt": "2026-11-28T21:00:00Z", "endsAt": "2026-11-28T21:30:00Z", "fingerprint": "fedcba9876543210"}
  ]
}`

func TestDecode(t *testing.T) {
	at := time.Date(2026, 11, 28, 22, 0, 2, 0, time.UTC)
	ns, bad := Decode([]byte(twoAlerts), at)
	if bad != "" || len(ns) != 2 {
		t.Fatalf("%q %+v", bad, ns)
	}
	a, b := ns[0], ns[1]
	if a.ReceivedAt != at || a.Alert != "CircuitBreakerActive" || a.Instance != "replica-2" || a.Status != "firing" ||
		a.Receiver != "gameday-webhook" || a.Labels["severity"] != "page" || !a.EndsAt.IsZero() ||
		!a.StartsAt.Equal(time.Date(2026, 11, 28, 22, 0, 0, 5e8, time.UTC)) || a.Malformed != "" {
		t.Errorf("firing %+v", a)
	}
	if b.Alert != "SnapshotStale" || b.Instance != "" || b.Status != "resolved" || !b.EndsAt.Equal(time.Date(2026, 11, 28, 21, 30, 0, 0, time.UTC)) {
		t.Errorf("resolved %+v", b)
	}
}

const secret = "do-not-echo-0123"

func TestDecodeMalformed(t *testing.T) {
	alert := func(s string) string {
		return `{"version":"4","receiver":"r","alerts":[` + s + `]}`
	}
	cases := []struct{ body, want string }{
		{"", "invalid JSON at byte 0"},
		{"garbage " + secret, "invalid JSON at byte 1"},
		{`{"version":"4","alerts":[` + secret, "invalid JSON"},
		{`["` + secret + `"]`, "a JSON array, want an object"},
		{`null`, "no version"},
		{`{"alerts":[]}`, "no version"},
		{`{"version":"3` + secret + `","alerts":[]}`, "version \"3do-not-echo\"..., want 4"},
		{`{"version":4}`, "field version: a JSON number"},
		{`{"version":"4"}`, "no alerts field"},
		{`{"version":"4","alerts":[]}`, "no alerts"},
		{`{"version":"4","alerts":{"a":1}}`, "field alerts: a JSON object"},
		{alert(`{"status":"firing","labels":{"instance":"replica-1"}}`), "alerts[0]: no alertname label"},
		{alert(`{"status":"` + secret + `","labels":{"alertname":"A"}}`), "alerts[0]: status \"do-not-echo-\"..., want"},
		{alert(`{"status":"firing","labels":"` + secret + `"}`), "field alerts.labels: a JSON string"},
		{alert(`{"status":"firing","labels":{"alertname":"A"},"startsAt":"` + secret + `"}`), "a time is not RFC 3339"},
	}
	for _, c := range cases {
		ns, bad := Decode([]byte(c.body), time.Now())
		if !strings.Contains(bad, c.want) {
			t.Errorf("%.40q: malformed %q, want %q", c.body, bad, c.want)
		}
		if len(ns) != 1 || ns[0].Malformed != bad || ns[0].Alert != "" || ns[0].ReceivedAt.IsZero() {
			t.Errorf("%.40q: recorded %+v, want one malformed notification", c.body, ns)
		}
		if strings.Contains(bad, secret) {
			t.Errorf("%.40q: the body is echoed in %q", c.body, bad)
		}
	}
	// A bad alert among good ones: the good one is kept.
	ns, bad := Decode([]byte(alert(`{"status":"firing","labels":{"alertname":"A","instance":"i"}},{"status":"firing","labels":{}}`)), time.Now())
	if bad != "alerts[1]: no alertname label" || len(ns) != 2 || ns[0].Alert != "A" || ns[0].Malformed != "" || ns[1].Malformed != bad {
		t.Errorf("%q %+v", bad, ns)
	}
}

func start(t *testing.T) *Receiver {
	t.Helper()
	r, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServerRecordsMalformed: garbage, an oversized body and a GET are
// answered 4xx, the bodies recorded as malformed, and the receiver keeps
// taking notifications.
func TestServerRecordsMalformed(t *testing.T) {
	r := start(t)
	if !strings.HasPrefix(r.URL(), "http://127.0.0.1:") || !strings.HasSuffix(r.URL(), "/alerts") {
		t.Errorf("URL %s", r.URL())
	}
	since := time.Now()
	if code := post(t, r.URL(), "garbage"); code != http.StatusBadRequest {
		t.Errorf("garbage: %d, want 400", code)
	}
	if code := post(t, r.URL(), string(bytes.Repeat([]byte(" "), MaxBody+1))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d, want 413", code)
	}
	resp, err := http.Get(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if code := post(t, r.URL(), twoAlerts); code != http.StatusOK {
		t.Errorf("a good notification after garbage: %d", code)
	}
	ns := r.Notifications()
	if len(ns) != 4 || ns[0].Malformed == "" || !strings.Contains(ns[1].Malformed, "larger than") || ns[2].Alert != "CircuitBreakerActive" || ns[3].Alert != "SnapshotStale" {
		t.Fatalf("notifications %+v", ns)
	}
	if r.Malformed() != 2 {
		t.Errorf("Malformed %d, want 2", r.Malformed())
	}
	ns[2].Labels["instance"] = "changed"
	if r.Notifications()[2].Labels["instance"] != "replica-2" {
		t.Error("Notifications shares its labels with the receiver")
	}
	n, ok := r.First("CircuitBreakerActive", "replica-2", "firing", since)
	if !ok || n.Instance != "replica-2" {
		t.Errorf("First: %+v %v", n, ok)
	}
	for _, q := range [][3]string{{"CircuitBreakerActive", "replica-1", "firing"}, {"CircuitBreakerActive", "replica-2", "resolved"}, {"SnapshotStale", "", "firing"}} {
		if _, ok := r.First(q[0], q[1], q[2], since); ok {
			t.Errorf("First%q found one", q)
		}
	}
	if _, ok := r.First("SnapshotStale", "", "resolved", since); !ok {
		t.Error("First: an alert without an instance is not found by the empty instance")
	}
	if _, ok := r.First("CircuitBreakerActive", "replica-2", "firing", time.Now().Add(time.Second)); ok {
		t.Error("First ignores since")
	}
}

func TestWait(t *testing.T) {
	r := start(t)
	since := time.Now()
	got := make(chan Notification, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := r.Wait(ctx, "SnapshotStale", "", "resolved", since)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	time.Sleep(100 * time.Millisecond)
	post(t, r.URL(), "garbage") // an arrival that does not match
	post(t, r.URL(), twoAlerts)
	if n := <-got; n.Alert != "SnapshotStale" {
		t.Errorf("Wait returned %+v", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.Wait(ctx, "Nothing", "", "firing", since); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("Wait for nothing: %v", err)
	}
}
