package harness

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/reports"
)

// ScrapeConfigName is the production scrape config's file name; the
// harness reads it next to the rules file.
const ScrapeConfigName = "prometheus.yml"

// scrapeJob is one job of the production scrape config as the harness
// runs it.
type scrapeJob struct {
	Name    string
	Path    string
	Timeout time.Duration
}

// DefaultScrapeJobs are the jobs of config/prometheus.yml, used when no
// scrape config sits next to the rules file (a test's rules in a temporary
// directory); TestDefaultScrapeJobsMatchTheConfig keeps them equal.
var DefaultScrapeJobs = []promserver.Job{
	{Name: "quannex-gate", MetricsPath: "/metrics", Scheme: "http", Interval: 5 * time.Second, Timeout: 4 * time.Second},
	{Name: "quannex-gate-self", MetricsPath: "/metrics/self", Scheme: "http", Interval: 5 * time.Second, Timeout: 4 * time.Second},
}

// scrapeJobs reads the jobs of the scrape config next to rulesFile, or the
// defaults when there is none.
func scrapeJobs(rulesFile string) ([]scrapeJob, error) {
	jobs := DefaultScrapeJobs
	path := filepath.Join(filepath.Dir(rulesFile), ScrapeConfigName)
	if _, err := os.Stat(path); err == nil {
		cfg, err := promserver.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		jobs = cfg.Jobs
	}
	out := make([]scrapeJob, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, scrapeJob{Name: j.Name, Path: j.MetricsPath, Timeout: j.Timeout})
	}
	return out, nil
}

// scrapeLoop scrapes every job of the production scrape config each
// interval, as a Prometheus server running config/prometheus.yml would:
// each payload is ingested with its job and instance labels, then the rules
// are evaluated once at that instant. It counts scrapes per phase and
// returns when ctx ends. When Options.OnTargetReady is set, the observer
// is started with the first scrape and stopped on return.
func (r *runner) scrapeLoop(ctx context.Context, c *client, ev *alerts.Evaluator) {
	jobs, err := scrapeJobs(r.opts.RulesFile)
	if err != nil {
		r.fail("scrape config: " + err.Error())
		return
	}
	if r.opts.OnTargetReady != nil {
		// The observer starts beside the first scrapes (a Prometheus takes
		// a second or two to be ready; the harness's scrape coverage must
		// not pay for it) and is stopped when this loop returns. Its
		// context is not cancelled with the loop's: stop, always called,
		// ends it, after it has been read.
		started := make(chan func(), 1)
		tls := scrapeTLS(r.tgt)
		go func() { // ends when OnTargetReady returns
			stop, err := startObserver(context.WithoutCancel(ctx), r.opts.OnTargetReady, c, jobs, tls)
			if err != nil {
				r.fail("observer: " + err.Error())
			}
			started <- stop
		}()
		defer func() {
			if stop := <-started; stop != nil {
				stop()
			}
		}()
	}
	instance := c.instance()
	interval := r.opts.ScrapeInterval
	t := time.NewTicker(interval)
	defer t.Stop()
	var last time.Time
	for {
		now := time.Now()
		// Planned scrapes: one per job and interval elapsed, so that a
		// stalled loop shows as missing coverage rather than as nothing.
		rounds := 1
		if !last.IsZero() {
			rounds = max(1, int((now.Sub(last)+interval/2)/interval))
		}
		last = now
		r.mu.Lock()
		phase := r.phase
		r.mu.Unlock()
		for _, j := range jobs {
			body, ctype, err := c.scrape(ctx, j)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				body = nil
			}
			r.countScrape(phase, rounds, err == nil)
			rounds = 1
			if err := ev.Ingest(alerts.Target{Job: j.Name, Instance: instance}, body, ctype, now); err != nil {
				r.printf("gameday: %s: ingest %s: %v", r.spec.Name, j.Name, err)
			}
		}
		for _, tr := range ev.Eval(ctx, now) {
			r.printf("gameday: %s: alert %s%s %s -> %s", r.spec.Name, tr.Alert, alertLabelSuffix(tr.Labels), tr.From, tr.To)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// countScrape records one scrape of a job (and rounds-1 missed ones) in
// phase.
func (r *runner) countScrape(phase string, rounds int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.scrapes.OK++
	} else {
		r.scrapes.Failed++
	}
	if phase == "" {
		return
	}
	if r.scrapes.ByPhase == nil {
		r.scrapes.ByPhase = map[string]reports.PhaseScrape{}
	}
	p := r.scrapes.ByPhase[phase]
	p.Planned += rounds
	if ok {
		p.OK++
	} else {
		p.Failed++
	}
	r.scrapes.ByPhase[phase] = p
}

// fail records a run error once, from a goroutine of the run.
func (r *runner) fail(msg string) {
	r.printf("gameday: %s: %s", r.spec.Name, msg)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rep.Error == "" {
		r.rep.Error = msg
	}
}

// alertLabelSuffix prints the labels that tell two alerts of one name apart.
func alertLabelSuffix(l map[string]string) string {
	s := ""
	for _, k := range []string{"job", "window"} {
		if v, ok := l[k]; ok {
			s += fmt.Sprintf(" %s=%s", k, v)
		}
	}
	if s == "" {
		return ""
	}
	return "{" + s[1:] + "}"
}

// client is the scrape loop's view of the gate: the gate API client (one
// for the whole harness, package gateapi) plus what scraping adds — the
// scraper's token for an observer's credentials files, and the count of
// the harness's own /metrics answers.
type client struct {
	api     *gateapi.Client
	base    string
	scraper string
	// payloadAnswers counts the /metrics responses the harness's own
	// scrapes got: the gate counts them in quannex_metrics_requests_total
	// like the load's, and requestsTotal takes them out again.
	payloadAnswers atomic.Int64
}

// newHTTPClient is the harness's client for the gate: plain, or speaking
// the target's TLS (its CA, the run's client certificate).
func newHTTPClient(cfg *tls.Config) *http.Client {
	c := &http.Client{Timeout: gateapi.DefaultTimeout}
	if cfg != nil {
		c.Transport = &http.Transport{TLSClientConfig: cfg}
	}
	return c
}

// instance is the gate's host:port, the instance label Prometheus gives a
// static target.
func (c *client) instance() string {
	u, err := url.Parse(c.base)
	if err != nil {
		return c.base
	}
	return u.Host
}

// scrape fetches one job's path with the scraper token, within the job's
// timeout.
func (c *client) scrape(ctx context.Context, j scrapeJob) ([]byte, string, error) {
	if j.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.Timeout)
		defer cancel()
	}
	body, ctype, err := c.api.Payload(ctx, j.Path)
	var status *gateapi.StatusError
	if j.Path == "/metrics" && (err == nil || errors.As(err, &status)) {
		c.payloadAnswers.Add(1) // the gate answered, so it counted it
	}
	return body, ctype, err
}

// requestsTotal reads sum(quannex_metrics_requests_total) from
// /metrics/self, less the /metrics responses the harness's own scrapes got
// so far: what is left is the load's (and any other caller's) share.
func (c *client) requestsTotal(ctx context.Context) (float64, error) {
	v, err := c.api.Sum(ctx, "quannex_metrics_requests_total")
	return v - float64(c.payloadAnswers.Load()), err
}
