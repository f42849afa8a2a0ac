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
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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

	port func() (int, error) // chooses the port; default freePort (tests)
}

// Server is a running Alertmanager.
type Server struct {
	URL string // http://127.0.0.1:PORT

	dir  string
	cmd  *exec.Cmd
	done chan struct{}
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
	for attempt := 1; ; attempt++ {
		err = s.launch(ctx, o, cfgPath)
		if err == nil {
			return s, nil
		}
		if attempt == startAttempts || !s.portTaken() {
			return nil, err
		}
	}
}

// startAttempts bounds Start's tries: freePort's port is free when it
// closes its listener, and another process can bind it before
// Alertmanager does.
const startAttempts = 3

// launch starts Alertmanager on a port freshly chosen by o.port (default
// freePort), logging to alertmanager.log (truncated), and waits for it.
func (s *Server) launch(ctx context.Context, o Options, cfgPath string) error {
	choose := o.port
	if choose == nil {
		choose = freePort
	}
	port, err := choose()
	if err != nil {
		return fmt.Errorf("amserver: %w", err)
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	log, err := os.Create(filepath.Join(s.dir, "alertmanager.log"))
	if err != nil {
		return fmt.Errorf("amserver: %w", err)
	}
	cmd := exec.Command(o.Binary, "--config.file="+cfgPath, "--storage.path="+filepath.Join(s.dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("amserver: start %s: %w", o.Binary, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	// Exits when the process does; Stop waits for it.
	go func() { cmd.Wait(); log.Close(); close(done) }()
	// Exits when ctx ends (killing the process) or the process exits.
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
		case <-done:
		}
	}()
	return s.waitReady(ctx, o.ReadyTimeout)
}

// portTaken reports whether Alertmanager exited because its port was
// bound by the time it tried.
func (s *Server) portTaken() bool {
	select {
	case <-s.done:
		return strings.Contains(s.Log(), "address already in use")
	default:
		return false
	}
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("amserver: alertmanager exited before it was ready:\n%s", s.Log())
		case <-ctx.Done():
			return fmt.Errorf("amserver: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("amserver: alertmanager not ready after %s:\n%s", timeout, s.Log())
		}
	}
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
	b, _ := os.ReadFile(filepath.Join(s.dir, "alertmanager.log"))
	return string(b)
}

// Stop kills the server, waits for it and removes its directory. It is
// safe to call more than once.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
