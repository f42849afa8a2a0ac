package scrapepath

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestToxicsOnThePath: a real HTTP server behind the path; each toxic does
// to a real request what its name says (at least the delay it adds, or a
// failure), and the path is clear again once it is removed.
func TestToxicsOnThePath(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, strings.Repeat("x", 64<<10)) }))
	defer srv.Close()
	p, err := Start(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	get := func() (time.Duration, error) {
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		start := time.Now()
		r, err := c.Get("http://" + p.Addr() + "/")
		if err != nil {
			return time.Since(start), err
		}
		defer r.Body.Close()
		_, err = io.Copy(io.Discard, r.Body)
		return time.Since(start), err
	}
	if _, err := get(); err != nil || p.Active() {
		t.Fatalf("a clear path: %v, active %v", err, p.Active())
	}
	for _, c := range []struct {
		kind  string
		attrs map[string]any
		check func(time.Duration, error) bool
	}{
		{"latency", map[string]any{"latency": 500}, func(d time.Duration, err error) bool { return err == nil && d >= 500*time.Millisecond }},
		{"timeout", map[string]any{"timeout": 0}, func(_ time.Duration, err error) bool { return err != nil }}, // a black hole
		{"reset_peer", map[string]any{"timeout": 0}, func(_ time.Duration, err error) bool { return err != nil }},
		{"bandwidth", map[string]any{"rate": 128}, func(d time.Duration, err error) bool { return err == nil && d >= 400*time.Millisecond }}, // 64 KiB at 128 KB/s
	} {
		if err := p.Add(c.kind, c.attrs); err != nil || !p.Active() {
			t.Fatalf("%s: add: %v", c.kind, err)
		}
		if d, err := get(); !c.check(d, err) {
			t.Errorf("%s: a request took %s, %v", c.kind, d, err)
		}
		if err := p.Remove(context.Background()); err != nil || p.Active() {
			t.Fatalf("%s: remove: %v", c.kind, err)
		}
		if _, err := get(); err != nil {
			t.Errorf("%s removed: %v", c.kind, err)
		}
	}
}
