// Package receiver is the harness's Alertmanager webhook receiver: an HTTP
// server on loopback that records every alert of every notification
// Alertmanager posts (webhook payload version 4) as a
// Notification, so that a GameDay can check that a page reached
// its receiver, for which instance and when.
//
// A body it cannot decode is recorded too, with Malformed set to why, and
// answered 400: a broken notification fails the delivery checks instead
// of disappearing. Bodies are never kept or logged verbatim.
//
// It does not route or deduplicate (Alertmanager does, harness/amserver
// runs one) and does not judge delivery; callers read Notifications,
// First or Wait.
package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Notification is one alert of one webhook notification Alertmanager
// posted.
type Notification struct {
	ReceivedAt time.Time
	Alert      string
	Instance   string
	Status     string // firing or resolved
	StartsAt   time.Time
	EndsAt     time.Time
	Receiver   string
	Labels     map[string]string
	// Malformed is why the body could not be decoded; the other fields
	// are then empty.
	Malformed string
}

// MaxBody is the largest notification body read; a larger one is recorded
// as malformed. Alertmanager's payloads for a GameDay's alerts are a few
// KiB.
const MaxBody = 1 << 20

// Path is where Alertmanager posts.
const Path = "/alerts"

// Receiver is a running webhook receiver.
type Receiver struct {
	url  string
	srv  *http.Server
	done chan struct{} // closed when Serve returns

	mu      sync.Mutex
	got     []Notification
	arrived chan struct{} // closed and replaced on every arrival
}

// Start listens on a free loopback port and serves until Close.
func Start() (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver: listen: %w", err)
	}
	r := &Receiver{
		url:     "http://" + ln.Addr().String() + Path,
		done:    make(chan struct{}),
		arrived: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc(Path, r.handle)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	// Exits when Close shuts the server down.
	go func() { r.srv.Serve(ln); close(r.done) }()
	return r, nil
}

// URL is what Alertmanager posts to: http://127.0.0.1:PORT/alerts.
func (r *Receiver) URL() string { return r.url }

// Close stops the server, waiting up to 5 s for notifications being
// received.
func (r *Receiver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	<-r.done
	if err != nil {
		return fmt.Errorf("receiver: close: %w", err)
	}
	return nil
}

// Notifications returns a copy of every notification received, malformed
// ones included, in arrival order.
func (r *Receiver) Notifications() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Notification, len(r.got))
	for i, n := range r.got {
		n.Labels = copyLabels(n.Labels)
		out[i] = n
	}
	return out
}

// Malformed counts the malformed notifications received: one per body
// that could not be decoded, one per undecodable alert of a body that
// could.
func (r *Receiver) Malformed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.got {
		if x.Malformed != "" {
			n++
		}
	}
	return n
}

// First returns the first well-formed notification for alert and instance
// ("" for an alert without an instance label) with status ("firing" or
// "resolved") received at or after since, and whether there is one.
func (r *Receiver) First(alert, instance, status string, since time.Time) (Notification, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first(alert, instance, status, since)
}

func (r *Receiver) first(alert, instance, status string, since time.Time) (Notification, bool) {
	for _, n := range r.got {
		if n.Malformed == "" && n.Alert == alert && n.Instance == instance && n.Status == status && !n.ReceivedAt.Before(since) {
			n.Labels = copyLabels(n.Labels)
			return n, true
		}
	}
	return Notification{}, false
}

// Wait is First that waits for the notification until ctx ends; the error
// is then ctx's.
func (r *Receiver) Wait(ctx context.Context, alert, instance, status string, since time.Time) (Notification, error) {
	for {
		r.mu.Lock()
		n, ok := r.first(alert, instance, status, since)
		arrived := r.arrived
		r.mu.Unlock()
		if ok {
			return n, nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return Notification{}, fmt.Errorf("receiver: wait for %s %s of %q: %w", status, alert, instance, ctx.Err())
		}
	}
}

func (r *Receiver) record(ns []Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ns...)
	close(r.arrived)
	r.arrived = make(chan struct{})
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a notification", http.StatusMethodNotAllowed)
		return
	}
	now := time.Now().UTC()
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBody))
	if err != nil {
		status, why := http.StatusBadRequest, "reading the body: "+err.Error()
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			status, why = http.StatusRequestEntityTooLarge, "body larger than "+strconv.Itoa(MaxBody)+" bytes"
		}
		r.record([]Notification{{ReceivedAt: now, Malformed: why}})
		http.Error(w, why, status)
		return
	}
	ns, bad := Decode(body, now)
	r.record(ns)
	if bad != "" {
		http.Error(w, bad, http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// payload is Alertmanager's webhook body, version 4; fields the harness
// does not read are left out.
type payload struct {
	Version  *string `json:"version"`
	Receiver string  `json:"receiver"`
	Status   string  `json:"status"`
	Alerts   *[]struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
		Fingerprint string            `json:"fingerprint"`
	} `json:"alerts"`
}

// Decode reads one webhook body received at at: one Notification per
// alert. A body that is not a version 4 payload gives one Notification
// with Malformed set; an alert without an alert name or a known status
// gives one with Malformed set among the others. bad is the first reason
// anything was malformed, "" when nothing was.
func Decode(body []byte, at time.Time) (ns []Notification, bad string) {
	malformed := func(why string) ([]Notification, string) {
		return []Notification{{ReceivedAt: at, Malformed: why}}, why
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		// json's errors name the offset or field, never the value.
		return malformed(fmt.Sprintf("not a webhook payload (%d bytes): %s", len(body), jsonError(err)))
	}
	switch {
	case p.Version == nil:
		return malformed("no version")
	case *p.Version != "4":
		return malformed(fmt.Sprintf("version %s, want 4", excerpt(*p.Version)))
	case p.Alerts == nil:
		return malformed("no alerts field")
	case len(*p.Alerts) == 0:
		return malformed("no alerts")
	}
	for i, a := range *p.Alerts {
		why := ""
		switch {
		case a.Labels["alertname"] == "":
			why = fmt.Sprintf("alerts[%d]: no alertname label", i)
		case a.Status != "firing" && a.Status != "resolved":
			why = fmt.Sprintf("alerts[%d]: status %s, want firing or resolved", i, excerpt(a.Status))
		}
		if why != "" {
			ns = append(ns, Notification{ReceivedAt: at, Malformed: why})
			if bad == "" {
				bad = why
			}
			continue
		}
		ns = append(ns, Notification{
			ReceivedAt: at,
			Alert:      a.Labels["alertname"],
			Instance:   a.Labels["instance"],
			Status:     a.Status,
			StartsAt:   a.StartsAt,
			EndsAt:     a.EndsAt,
			Receiver:   p.Receiver,
			Labels:     copyLabels(a.Labels),
		})
	}
	return ns, bad
}

// jsonError describes a decoding error without the input's text: a
// syntax error by its offset, a type error by its field.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("a JSON %s, want an object", te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s: a JSON %s, want %s", te.Field, te.Value, te.Type)
	case errors.As(err, &pe):
		return "a time is not RFC 3339"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		return "undecodable"
	}
}

// excerpt quotes at most the first 12 characters of a value the sender
// wrote, so that a malformed body is never recorded whole.
func excerpt(s string) string {
	const limit = 12
	if r := []rune(s); len(r) > limit {
		return strconv.Quote(string(r[:limit])) + "..."
	}
	return strconv.Quote(s)
}

func copyLabels(l map[string]string) map[string]string {
	if l == nil {
		return nil
	}
	out := make(map[string]string, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}
