package promserver

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrConfig is wrapped by every error about a Prometheus config file.
var ErrConfig = errors.New("prometheus config")

// Config is what the harness needs from a Prometheus config file: the
// intervals, the rule files and each scrape job.
type Config struct {
	ScrapeInterval     time.Duration
	ScrapeTimeout      time.Duration
	EvaluationInterval time.Duration
	RuleFiles          []string // as written, relative to the config file
	Jobs               []Job
}

// Job is one scrape job.
type Job struct {
	Name            string
	MetricsPath     string // default /metrics
	Scheme          string // default http
	Interval        time.Duration
	Timeout         time.Duration
	CredentialsFile string // the bearer token's file, if any
}

// Prometheus's defaults, for fields a config leaves out.
const (
	defaultInterval = time.Minute
	defaultTimeout  = 10 * time.Second
)

type rawConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName        string `yaml:"job_name"`
		MetricsPath    string `yaml:"metrics_path"`
		Scheme         string `yaml:"scheme"`
		ScrapeInterval string `yaml:"scrape_interval"`
		ScrapeTimeout  string `yaml:"scrape_timeout"`
		Authorization  *struct {
			Type            string `yaml:"type"`
			CredentialsFile string `yaml:"credentials_file"`
		} `yaml:"authorization"`
	} `yaml:"scrape_configs"`
}

// LoadConfig reads the fields of Config from a Prometheus config file,
// with Prometheus's defaults for what it leaves out. It is not a validator
// (`promtool check config` is): it reads what the harness needs, and an
// error names the field.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var raw rawConfig
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	c := &Config{RuleFiles: raw.RuleFiles}
	dur := func(field, s string, def time.Duration) (time.Duration, error) {
		if s == "" {
			return def, nil
		}
		d, err := parseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %s: %w", ErrConfig, path, field, err)
		}
		return d, nil
	}
	if c.ScrapeInterval, err = dur("global.scrape_interval", raw.Global.ScrapeInterval, defaultInterval); err != nil {
		return nil, err
	}
	if c.ScrapeTimeout, err = dur("global.scrape_timeout", raw.Global.ScrapeTimeout, min(defaultTimeout, c.ScrapeInterval)); err != nil {
		return nil, err
	}
	if c.EvaluationInterval, err = dur("global.evaluation_interval", raw.Global.EvaluationInterval, defaultInterval); err != nil {
		return nil, err
	}
	for i, sc := range raw.ScrapeConfigs {
		field := fmt.Sprintf("scrape_configs[%d]", i)
		j := Job{Name: sc.JobName, MetricsPath: sc.MetricsPath, Scheme: sc.Scheme}
		if j.Name == "" {
			return nil, fmt.Errorf("%w: %s: %s.job_name: required", ErrConfig, path, field)
		}
		if j.MetricsPath == "" {
			j.MetricsPath = "/metrics"
		}
		if j.Scheme == "" {
			j.Scheme = "http"
		}
		if j.Interval, err = dur(field+".scrape_interval", sc.ScrapeInterval, c.ScrapeInterval); err != nil {
			return nil, err
		}
		if j.Timeout, err = dur(field+".scrape_timeout", sc.ScrapeTimeout, min(c.ScrapeTimeout, j.Interval)); err != nil {
			return nil, err
		}
		if a := sc.Authorization; a != nil {
			if a.Type != "" && a.Type != "Bearer" {
				return nil, fmt.Errorf("%w: %s: %s.authorization.type: %q, want Bearer", ErrConfig, path, field, a.Type)
			}
			j.CredentialsFile = a.CredentialsFile
		}
		c.Jobs = append(c.Jobs, j)
	}
	if len(c.Jobs) == 0 {
		return nil, fmt.Errorf("%w: %s: scrape_configs: no job", ErrConfig, path)
	}
	return c, nil
}

// parseDuration reads a Prometheus duration (5s, 1m30s, 1h).
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration such as 5s", s)
	}
	return d, nil
}

// Instance is one scrape target of a fleet: its address and the labels
// its static_configs group carries. Labels["instance"] names the instance
// (replica-3) in place of the address; other labels (track="canary") go
// on every series scraped from it.
type Instance struct {
	Address string // host:port or base URL
	Labels  map[string]string
}

// RenderOptions is what RenderInstances writes into a config file.
type RenderOptions struct {
	// Instances replace every job's targets: each job scrapes each
	// instance, one static_configs group per instance.
	Instances []Instance
	// Alertmanagers, when set, replace alerting.alertmanagers with one
	// static_configs group of these host:port addresses (or base URLs).
	Alertmanagers []string
	// Credentials maps every job with an authorization block to its token
	// file; a job missing from it is an error, so that a token is never
	// silently dropped.
	Credentials map[string]string
	// TLS, when set, makes every job scrape over HTTPS with this
	// tls_config; nil keeps each job's scheme and tls_config as written.
	TLS *TLS
	// Jobs are scrape jobs added beside the config's own, by name, each
	// scraping one host:port over plain HTTP with honor_labels (an
	// exporter whose series carry their own labels); Instances does not
	// rewrite them.
	Jobs map[string]string
}

// staticGroups are the instances as static_configs groups, one each, with
// their labels.
func staticGroups(instances []Instance) []any {
	var groups []any
	for _, in := range instances {
		addr, _ := hostPort(in.Address) // validated
		g := map[string]any{"targets": []any{addr}}
		if len(in.Labels) > 0 {
			l := map[string]any{}
			for k, v := range in.Labels {
				l[k] = v
			}
			g["labels"] = l
		}
		groups = append(groups, g)
	}
	return groups
}

// withJobs appends jobs (name → host:port, honor_labels) to scs, in name
// order.
func withJobs(scs []any, jobs map[string]string) []any {
	for _, name := range slices.Sorted(maps.Keys(jobs)) {
		scs = append(scs, map[string]any{"job_name": name, "honor_labels": true,
			"static_configs": []any{map[string]any{"targets": []any{jobs[name]}}}})
	}
	return scs
}

// TLS is a scrape job's tls_config for a gate serving TLS: the PEM files
// Prometheus reads (again as they change), by absolute path.
type TLS struct {
	CAFile     string // the CA that signed the gate's certificate; empty: the system roots
	CertFile   string // client certificate, for a gate that requires one (with KeyFile)
	KeyFile    string
	ServerName string // the name the gate's certificate is checked against; empty: the target's host
}

func (t *TLS) validate() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("tls: cert_file and key_file go together")
	}
	for field, f := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile} {
		if f != "" && !filepath.IsAbs(f) {
			return fmt.Errorf("tls: %s %q: want an absolute path (the server runs in its own directory)", field, f)
		}
	}
	return nil
}

// config is the tls_config mapping.
func (t *TLS) config() map[string]any {
	c := map[string]any{}
	for k, v := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile, "server_name": t.ServerName} {
		if v != "" {
			c[k] = v
		}
	}
	return c
}

// Render rewrites the config file at path for a server watching one gate:
// every job's targets become target (host:port), every job's
// credentials_file becomes credentials[job], and rule_files become
// absolute paths next to path. Everything else is kept. It is
// RenderInstances with one unlabelled instance.
func Render(path, target string, credentials map[string]string) ([]byte, error) {
	return RenderInstances(path, RenderOptions{Instances: []Instance{{Address: target}}, Credentials: credentials})
}

// labelName is Prometheus's label name syntax.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// hostPort reads an address given as host:port or as a base URL.
func hostPort(addr string) (string, error) {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("%q is not host:port or a base URL", addr)
	}
	return addr, nil
}

func (o RenderOptions) validate() error {
	if len(o.Instances) == 0 {
		return errors.New("instances: none")
	}
	seen := map[string]int{}
	for i, in := range o.Instances {
		field := fmt.Sprintf("instances[%d]", i)
		if _, err := hostPort(in.Address); err != nil {
			return fmt.Errorf("%s.address: %w", field, err)
		}
		for k := range in.Labels {
			if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
				return fmt.Errorf("%s.labels: %q is not a label name Prometheus keeps", field, k)
			}
		}
		// Two groups with the same address and instance label would be one
		// series set scraped twice.
		id := in.Address + "\x00" + in.Labels["instance"]
		if j, ok := seen[id]; ok {
			return fmt.Errorf("%s: same address and instance as instances[%d]", field, j)
		}
		seen[id] = i
	}
	for i, a := range o.Alertmanagers {
		if _, err := hostPort(a); err != nil {
			return fmt.Errorf("alertmanagers[%d]: %w", i, err)
		}
	}
	if o.TLS != nil {
		return o.TLS.validate()
	}
	return nil
}

// RenderInstances rewrites the config file at path for a server watching
// o.Instances and sending alerts to o.Alertmanagers: every job's targets
// become one static_configs group per instance with its labels, every
// job's credentials_file becomes o.Credentials[job], rule_files become
// absolute paths next to path, with o.TLS every job scrapes over HTTPS
// with that tls_config, and, when o.Alertmanagers is set,
// alerting.alertmanagers points at them (alert_relabel_configs are kept).
// Everything else is kept.
func RenderInstances(path string, o RenderOptions) ([]byte, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if rf, ok := doc["rule_files"].([]any); ok {
		for i, f := range rf {
			if s, ok := f.(string); ok && !filepath.IsAbs(s) {
				rf[i] = filepath.Join(dir, s)
			}
		}
	}
	scs, _ := doc["scrape_configs"].([]any)
	if len(scs) == 0 {
		return nil, fmt.Errorf("%w: %s: scrape_configs: no job", ErrConfig, path)
	}
	groups := staticGroups(o.Instances)
	for i, x := range scs {
		sc, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s: scrape_configs[%d]: not a mapping", ErrConfig, path, i)
		}
		job, _ := sc["job_name"].(string)
		sc["static_configs"] = groups
		if o.TLS != nil {
			sc["scheme"] = "https"
			sc["tls_config"] = o.TLS.config()
		}
		if a, ok := sc["authorization"].(map[string]any); ok {
			f, ok := o.Credentials[job]
			if !ok {
				return nil, fmt.Errorf("%w: %s: scrape_configs[%d]: no credentials file for job %q", ErrConfig, path, i, job)
			}
			a["credentials_file"] = f
		}
	}
	doc["scrape_configs"] = withJobs(scs, o.Jobs)
	if len(o.Alertmanagers) > 0 {
		var targets []any
		for _, a := range o.Alertmanagers {
			hp, _ := hostPort(a) // validated
			targets = append(targets, hp)
		}
		alerting, ok := doc["alerting"].(map[string]any)
		if !ok {
			alerting = map[string]any{}
			doc["alerting"] = alerting
		}
		alerting["alertmanagers"] = []any{map[string]any{
			"static_configs": []any{map[string]any{"targets": targets}},
		}}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return out, nil
}
