// Package gatetest runs a gate for tests, as net/http/httptest runs a
// handler: in-process, on a loopback port, its cache and audit log in the
// test's temporary directory, stopped when the test ends. The gate's own
// tests, the harness's and the commands' use it; nothing in production
// does.
package gatetest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quannex/gameday/gate"
)

// Gate is a running gate.
type Gate struct {
	*gate.Server
	URL  string       // http://127.0.0.1:PORT
	Opts gate.Options // as the gate was made with
	// Stop shuts the gate down and waits; the test's cleanup calls it too.
	Stop func()
}

// Options fills what opts leaves empty for a test gate in dir: a loopback
// listener on a free port, dir/cache and dir/audit/audit.jsonl.
func Options(dir string, opts gate.Options) gate.Options {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(dir, "cache")
	}
	if opts.AuditLog == "" {
		opts.AuditLog = filepath.Join(dir, "audit", "audit.jsonl")
	}
	return opts
}

// Start makes a gate of Options(t.TempDir(), opts) and serves it until the
// test ends; a gate that will not start fails the test.
func Start(t testing.TB, opts gate.Options) *Gate {
	t.Helper()
	opts = Options(t.TempDir(), opts)
	srv, err := gate.New(opts)
	if err != nil {
		t.Fatalf("gate.New: %v", err)
	}
	return Serve(t, srv, opts)
}

// Serve serves srv, made by gate.New(opts), until the test ends or Stop is
// called; Serve returning an error fails the test.
func Serve(t testing.TB, srv *gate.Server, opts gate.Options) *Gate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }() // ends with ctx
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("gate Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &Gate{Server: srv, URL: "http://" + srv.Addr().String(), Opts: opts, Stop: stop}
}
