package promserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// Render rewrites the config file at path for a server watching one gate:
// every job's targets become target (host:port), every job's
// credentials_file becomes credentials[job] (a job missing from
// credentials is an error, so a token is never silently dropped), and
// rule_files become absolute paths next to path. Everything else is kept.
func Render(path, target string, credentials map[string]string) ([]byte, error) {
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
	for i, x := range scs {
		sc, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s: scrape_configs[%d]: not a mapping", ErrConfig, path, i)
		}
		job, _ := sc["job_name"].(string)
		sc["static_configs"] = []any{map[string]any{"targets": []any{target}}}
		if a, ok := sc["authorization"].(map[string]any); ok {
			f, ok := credentials[job]
			if !ok {
				return nil, fmt.Errorf("%w: %s: scrape_configs[%d]: no credentials file for job %q", ErrConfig, path, i, job)
			}
			a["credentials_file"] = f
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return out, nil
}
