// Package promserver runs a real Prometheus server (Debian's `prometheus`
// binary, 2.x) on loopback against one gate or a fleet of labelled
// instances, configured from the production scrape config
// (config/prometheus.yml) and rules, over HTTPS with a tls_config when the
// gate serves TLS, optionally sending its alerts to an
// Alertmanager, and reads back the alerts it raised. Tests use it to hold the harness's in-process
// rules evaluation to what production would see.
//
// It also reads a Prometheus config file's intervals and jobs (LoadConfig)
// for the harness's own scraping. It does not validate configs: promtool
// does.
package promserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/reports"
)

// ErrNoBinary is returned when no prometheus binary is found.
var ErrNoBinary = errors.New("promserver: no prometheus binary (apt-get install prometheus)")

// Options configure Start.
type Options struct {
	Binary     string // default: prometheus on PATH
	ConfigFile string // the production config, such as config/prometheus.yml
	// Target is the gate under test: a base URL (http://127.0.0.1:3000)
	// or host:port. Every job's targets are rewritten to it.
	Target string
	// Instances, when set, replace Target: every job scrapes every
	// instance, one static_configs group per instance carrying its Labels
	// (Labels["instance"] names the instance, e.g. "replica-3"; other
	// labels such as track="canary" too).
	Instances []Instance
	// Alertmanagers are host:port addresses the server sends alerts to
	// (rendered as alerting.alertmanagers[].static_configs).
	Alertmanagers []string
	// Credentials maps every job with an authorization block to a file
	// holding its bearer token. The server reads a 0600 copy in its own
	// directory; tokens are never logged.
	Credentials map[string]string
	// TLS, when set, scrapes every job over HTTPS with this tls_config
	// (the gate's CA, a client certificate for mutual TLS). The server
	// reads the files where they are, again as they change.
	TLS          *TLS
	ReadyTimeout time.Duration // default 30s

	port func() (int, error) // chooses the port; default freePort (tests)
}

// Server is a running Prometheus.
type Server struct {
	URL string // http://127.0.0.1:PORT

	cfg  *Config
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	http *http.Client
}

// Binary finds the prometheus binary on PATH.
func Binary() (string, error) {
	p, err := exec.LookPath("prometheus")
	if err != nil {
		return "", ErrNoBinary
	}
	return p, nil
}

// Start writes the rendered config and credential copies into a fresh
// temporary directory, starts Prometheus on a free loopback port with its
// TSDB there, and waits for /-/ready. The server stops when Stop is called
// or ctx ends.
func Start(ctx context.Context, o Options) (s *Server, err error) {
	if o.Binary == "" {
		if o.Binary, err = Binary(); err != nil {
			return nil, err
		}
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	cfg, err := LoadConfig(o.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	instances := o.Instances
	if len(instances) == 0 {
		instances = []Instance{{Address: o.Target}}
	}
	dir, err := os.MkdirTemp("", "gameday-prometheus-*")
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	srv := &Server{cfg: cfg, dir: dir, http: &http.Client{Timeout: 10 * time.Second}}
	defer func() { // registered before anything can fail
		if err != nil {
			srv.Stop()
		}
	}()
	s = srv
	creds := map[string]string{}
	for job, src := range o.Credentials {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("promserver: credentials of job %s: %w", job, err)
		}
		dst := filepath.Join(dir, "secrets", job+".token")
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, fmt.Errorf("promserver: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			return nil, fmt.Errorf("promserver: credentials of job %s: %w", job, err)
		}
		creds[job] = dst
	}
	rendered, err := RenderInstances(o.ConfigFile, RenderOptions{Instances: instances, Alertmanagers: o.Alertmanagers, Credentials: creds, TLS: o.TLS})
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, rendered, 0o600); err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
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
// closes its listener, and another process can bind it before Prometheus
// does.
const startAttempts = 3

// launch starts Prometheus on a port freshly chosen by o.port (default
// freePort), logging to prometheus.log (truncated), and waits for it.
func (s *Server) launch(ctx context.Context, o Options, cfgPath string) error {
	choose := o.port
	if choose == nil {
		choose = freePort
	}
	port, err := choose()
	if err != nil {
		return fmt.Errorf("promserver: %w", err)
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	log, err := os.Create(filepath.Join(s.dir, "prometheus.log"))
	if err != nil {
		return fmt.Errorf("promserver: %w", err)
	}
	cmd := exec.Command(o.Binary, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(s.dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("promserver: start %s: %w", o.Binary, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	// Exits when the process does; Stop waits for it.
	go func() { cmd.Wait(); log.Close(); close(done) }()
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
		case <-done:
		}
	}()
	return s.waitReady(ctx, o.ReadyTimeout)
}

// portTaken reports whether Prometheus exited because its port was bound
// by the time it tried.
func (s *Server) portTaken() bool {
	select {
	case <-s.done:
		return strings.Contains(s.Log(), "address already in use")
	default:
		return false
	}
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if resp, err := s.http.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("promserver: prometheus exited before it was ready:\n%s", s.Log())
		case <-ctx.Done():
			return fmt.Errorf("promserver: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("promserver: prometheus not ready after %s:\n%s", timeout, s.Log())
		}
	}
}

// Log returns the server's log (warnings and errors).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "prometheus.log"))
	return string(b)
}

// Config is the production config the server runs, as LoadConfig read it.
func (s *Server) Config() *Config { return s.cfg }

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

// API is the server's HTTP API, with its evaluation interval.
func (s *Server) API() API {
	return API{URL: s.URL, HTTP: s.http, Interval: s.cfg.EvaluationInterval}
}

// Query runs an instant query and returns the raw "data" of the answer.
func (s *Server) Query(ctx context.Context, q string, at time.Time) (json.RawMessage, error) {
	return s.API().Query(ctx, q, at)
}

// Alerts returns the timeline of every alert the server raised from since
// to until (API.Alerts).
func (s *Server) Alerts(ctx context.Context, since, until time.Time) ([]reports.Alert, error) {
	return s.API().Alerts(ctx, since, until, "")
}

// key renders a label set in a stable order.
func key(l map[string]string) string {
	ks := make([]string, 0, len(l))
	for k := range l {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, "%s=%q,", k, l[k])
	}
	return b.String()
}
