// Package amserver runs a real Alertmanager (Debian's
// `prometheus-alertmanager` binary, 0.25, or `alertmanager`) on loopback
// for a GameDay: clustering off, storage in a temporary directory, and a
// generated config that routes every alert to one webhook (the harness's
// receiver, harness/receiver), one notification per alert name and
// instance, with group timings short enough that a GameDay sees every
// notification at once. A test config can drop named alerts, to prove
// that delivery checks fail on a broken route.
//
// It does not receive notifications (harness/receiver does) and does not
// read production Alertmanager configs.
package amserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/quannex/gameday/harness/internal/serverproc"
)

// ErrNoBinary is wrapped by Start and Binary when no Alertmanager binary
// is found.
var ErrNoBinary = errors.New("amserver: no Alertmanager binary (apt-get install prometheus-alertmanager, or --alertmanager-bin)")

// Options configure Start.
type Options struct {
	Binary     string // default Binary()
	WebhookURL string // the receiver every alert is routed to (send_resolved: true)
	// Drop lists alert names routed to a receiver with no webhook: a
	// broken route, for the tests that prove delivery checks fail.
	Drop []string
	// Defaults 1s, 1s, 1h: a GameDay wants every notification at once and
	// each only once.
	GroupWait, GroupInterval, RepeatInterval time.Duration
	ReadyTimeout                             time.Duration // default 30s
}

// Server is a running Alertmanager.
type Server struct {
	URL string // http://127.0.0.1:PORT

	dir  string
	proc *serverproc.Proc
}

// Binary finds Alertmanager on PATH: alertmanager, then Debian's
// prometheus-alertmanager.
func Binary() (string, error) {
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBinary
}

// Start writes the config into a fresh temporary directory, starts
// Alertmanager on a free loopback port with its storage there and
// clustering off, and waits for /-/ready: Alertmanager refuses a config it
// cannot load, so a ready server is the proof the config is valid. The
// server stops when Stop is called or ctx ends.
func Start(ctx context.Context, o Options) (s *Server, err error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("amserver: %w", err)
	}
	if o.Binary == "" {
		if o.Binary, err = Binary(); err != nil {
			return nil, err
		}
	} else if _, err := exec.LookPath(o.Binary); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoBinary, err)
	}
	cfg, err := o.config()
	if err != nil {
		return nil, fmt.Errorf("amserver: config: %w", err)
	}
	dir, err := os.MkdirTemp("", "gameday-alertmanager-*")
	if err != nil {
		return nil, fmt.Errorf("amserver: %w", err)
	}
	srv := &Server{dir: dir}
	defer func() { // registered before anything can fail
		if err != nil {
			srv.Stop()
		}
	}()
	s = srv
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("amserver: %w", err)
	}
	s.proc, err = serverproc.Start(ctx, serverproc.Spec{
		Name: "alertmanager",
		Command: func(port int) *exec.Cmd {
			return exec.Command(o.Binary, "--config.file="+cfgPath, "--storage.path="+filepath.Join(dir, "data"),
				"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--cluster.listen-address=", "--log.level=warn")
		},
		Log:          filepath.Join(dir, "alertmanager.log"),
		Ready:        serverproc.HTTPReady(&http.Client{Timeout: 2 * time.Second}, "/-/ready"),
		ReadyTimeout: o.ReadyTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("amserver: %w", err)
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(s.proc.Port)
	return s, nil
}

// Addr is the server's host:port, for Prometheus's
// alerting.alertmanagers.
func (s *Server) Addr() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// Log returns the server's log (warnings and errors).
func (s *Server) Log() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.Log()
}

// Stop kills the server, waits for it and removes its directory. It is
// safe to call more than once.
func (s *Server) Stop() {
	if s.proc != nil {
		s.proc.Stop()
	}
	os.RemoveAll(s.dir)
}
