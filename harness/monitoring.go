package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/promserver"
)

// ScrapeConfigName is the production scrape config's file name; the
// harness reads it next to the rules file.
const ScrapeConfigName = "prometheus.yml"

// defaultScrapeJobs are the jobs of config/prometheus.yml, used when no
// scrape config sits next to the rules file (a test's rules in a temporary
// directory); TestDefaultScrapeJobsMatchTheConfig keeps them equal.
var defaultScrapeJobs = []promserver.Job{
	{Name: "quannex-gate", MetricsPath: "/metrics", Scheme: "http", Interval: 5 * time.Second, Timeout: 4 * time.Second},
	{Name: "quannex-gate-self", MetricsPath: "/metrics/self", Scheme: "http", Interval: 5 * time.Second, Timeout: 4 * time.Second},
}

// selfJob is the scrape job of the gate's own health metrics, the one the
// rules and the canary gate read.
const selfJob = "quannex-gate-self"

// monitoring is production's monitoring configuration as a run uses it,
// read once: the alert rules and the scrape config beside them.
type monitoring struct {
	rules *alerts.Rules
	// config is the scrape config's path; "" when none sits beside the
	// rules (jobs are then defaultScrapeJobs).
	config string
	jobs   []promserver.Job
}

// loadMonitoring reads the rules file and the scrape config next to it.
func loadMonitoring(rulesFile string) (*monitoring, error) {
	rules, err := alerts.LoadRules(rulesFile)
	if err != nil {
		return nil, err
	}
	m := &monitoring{rules: rules, jobs: defaultScrapeJobs}
	path := filepath.Join(filepath.Dir(rulesFile), ScrapeConfigName)
	if _, err := os.Stat(path); err == nil {
		cfg, err := promserver.LoadConfig(path)
		if err != nil {
			return nil, fmt.Errorf("scrape config: %w", err)
		}
		m.config, m.jobs = path, cfg.Jobs
	}
	return m, nil
}

// checkAlerts refuses expected alerts the rules do not define, naming the
// scenario's field.
func (m *monitoring) checkAlerts(expected []string) error {
	for i, a := range expected {
		if !m.rules.Has(a) {
			return fmt.Errorf("scenario: expect.alerts[%d].name: %q is not an alert in %s", i, a, m.rules.File)
		}
	}
	return nil
}
