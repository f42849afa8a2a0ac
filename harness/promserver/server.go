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
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/quannex/gameday/harness/internal/serverproc"
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
	TLS *TLS
	// Jobs are scrape jobs beside the config's own (RenderOptions.Jobs).
	Jobs         map[string]string
	ReadyTimeout time.Duration // default 30s
}

// Server is a running Prometheus.
type Server struct {
	URL string // http://127.0.0.1:PORT

	cfg  *Config
	dir  string
	proc *serverproc.Proc
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
	rendered, err := RenderInstances(o.ConfigFile, RenderOptions{Instances: instances, Alertmanagers: o.Alertmanagers, Credentials: creds, TLS: o.TLS, Jobs: o.Jobs})
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, rendered, 0o600); err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	s.proc, err = serverproc.Start(ctx, serverproc.Spec{
		Name: "prometheus",
		Command: func(port int) *exec.Cmd {
			return exec.Command(o.Binary, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
				"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
		},
		Log:          filepath.Join(dir, "prometheus.log"),
		Ready:        serverproc.HTTPReady(s.http, "/-/ready"),
		ReadyTimeout: o.ReadyTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("promserver: %w", err)
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(s.proc.Port)
	return s, nil
}

// Log returns the server's log (warnings and errors).
func (s *Server) Log() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.Log()
}

// Config is the production config the server runs, as LoadConfig read it.
func (s *Server) Config() *Config { return s.cfg }

// Stop kills the server, waits for it and removes its directory. It is
// safe to call more than once.
func (s *Server) Stop() {
	if s.proc != nil {
		s.proc.Stop()
	}
	os.RemoveAll(s.dir)
}

// API is the server's HTTP API, with its evaluation interval.
func (s *Server) API() API {
	return API{URL: s.URL, HTTP: s.http, Interval: s.cfg.EvaluationInterval}
}
