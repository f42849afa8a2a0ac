package harness

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// An existing monitoring stack (External.Prometheus): the verdict's alerts
// are the ones that Prometheus raised for the gate's instance, read from
// its ALERTS series over the run, and the alert checks' scrape evidence is
// its own `up` series for that instance in every job of the production
// scrape config, phase by phase. The harness still scrapes the gate and
// evaluates the rules in-process, for its progress lines and to know when
// the alerts have settled; neither decides a check.

// instance is the instance label the Prometheus gives the gate.
func (e *External) instance() string {
	if e.Instance != "" {
		return e.Instance
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		return e.URL
	}
	return u.Host
}

// CheckMonitoring checks the existing stack before a run: the Prometheus
// and the Alertmanager answer /-/ready, the Prometheus scrapes the gate's
// instance in every job of the scrape config next to rulesFile, and has
// the alerting rules of rulesFile loaded, every alert the specs expect
// among them. Errors name the flag (--prometheus, --alertmanager).
func (e *External) CheckMonitoring(ctx context.Context, rulesFile string, specs []*scenario.Spec) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if e.Alertmanager != "" {
		if err := (promserver.API{URL: e.Alertmanager}).Ready(ctx); err != nil {
			return fmt.Errorf("--alertmanager: %s is not ready: %w", e.Alertmanager, err)
		}
	}
	if e.Prometheus == "" {
		return nil
	}
	api := promserver.API{URL: e.Prometheus}
	if err := api.Ready(ctx); err != nil {
		return fmt.Errorf("--prometheus: %s is not ready: %w", e.Prometheus, err)
	}
	jobs, err := scrapeJobs(rulesFile)
	if err != nil {
		return fmt.Errorf("scrape config: %w", err)
	}
	if _, err := e.scrapeIntervals(ctx, api, jobs); err != nil {
		return err
	}
	names, err := ruleNames(ctx, rulesFile)
	if err != nil {
		return err
	}
	_, missing, err := api.RuleInterval(ctx, names)
	if err != nil {
		return fmt.Errorf("--prometheus: %s has none of the alerting rules of %s loaded: %w", e.Prometheus, rulesFile, err)
	}
	gone := map[string]bool{}
	for _, n := range missing {
		gone[n] = true
	}
	for _, s := range specs {
		for i, a := range s.Expect.Alerts {
			if gone[a.Name] {
				return fmt.Errorf("--prometheus: %s has no alerting rule %s loaded (scenario %s: expect.alerts[%d])", e.Prometheus, a.Name, s.Name, i)
			}
		}
	}
	return nil
}

// ruleNames are the alert names of the rules file.
func ruleNames(ctx context.Context, rulesFile string) ([]string, error) {
	ev, err := alerts.New(ctx, alerts.Options{RulesFile: rulesFile, Interval: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	defer ev.Close()
	return ev.Names(), nil
}

// scrapeIntervals finds the gate's instance among the Prometheus's active
// targets in every job and returns each job's scrape interval.
func (e *External) scrapeIntervals(ctx context.Context, api promserver.API, jobs []scrapeJob) (map[string]time.Duration, error) {
	ts, err := api.Targets(ctx)
	if err != nil {
		return nil, fmt.Errorf("--prometheus: %w", err)
	}
	inst := e.instance()
	out := map[string]time.Duration{}
	for _, j := range jobs {
		var seen []string
		for _, t := range ts {
			if t.Labels["job"] != j.Name {
				continue
			}
			seen = append(seen, t.Labels["instance"])
			if t.Labels["instance"] == inst {
				out[j.Name] = t.ScrapeInterval
			}
		}
		iv, ok := out[j.Name]
		switch {
		case !ok && len(seen) == 0:
			return nil, fmt.Errorf("--prometheus: %s has no target in job %s", e.Prometheus, j.Name)
		case !ok:
			return nil, fmt.Errorf("--prometheus: %s does not scrape instance %q in job %s (it scrapes %s); give the gate's instance label with --prometheus-instance",
				e.Prometheus, inst, j.Name, strings.Join(seen, ", "))
		case iv <= 0:
			return nil, fmt.Errorf("--prometheus: %s does not say its scrape interval for job %s (Prometheus 2.33 or later does)", e.Prometheus, j.Name)
		}
	}
	return out, nil
}

// fromPrometheus replaces the observation's alerts and scrape evidence
// with the existing Prometheus's. A query that fails is a run error: the
// checks then have no alerts to judge, and say so.
func (r *runner) fromPrometheus(ctx context.Context, o *Observation) {
	ext := r.opts.External
	api := promserver.API{URL: ext.Prometheus}
	o.Alerts, o.Scrapes = nil, reports.Scrapes{}
	fail := func(err error) { r.fail("--prometheus: " + err.Error()) }
	jobs, err := scrapeJobs(r.opts.RulesFile)
	if err != nil {
		fail(err)
		return
	}
	ivs, err := ext.scrapeIntervals(ctx, api, jobs)
	if err != nil {
		fail(err)
		return
	}
	if api.Interval, _, err = api.RuleInterval(ctx, r.ev.Names()); err != nil {
		fail(err)
		return
	}
	inst := ext.instance()
	var wait time.Duration
	for _, iv := range ivs {
		wait = max(wait, iv)
	}
	r.awaitScrapes(ctx, api, fmt.Sprintf("instance=%q", inst), o.Phases, wait+10*time.Second) // 10 s: Prometheus's default scrape_timeout
	until := time.Now()
	al, err := api.Alerts(ctx, r.rep.StartedAt, until, fmt.Sprintf("instance=%q", inst))
	if err != nil {
		fail(err)
		return
	}
	o.Alerts = al
	r.rep.Alerts = al
	// The scrapes of each phase, on the grid of the shortest interval:
	// a job scraped every 2 intervals counts each success twice, so that
	// every job must cover the phase for the evidence to hold.
	grid := time.Duration(0)
	for _, iv := range ivs {
		if grid == 0 || iv < grid {
			grid = iv
		}
	}
	o.ScrapeInterval, o.ScrapeJobs = grid, len(jobs)
	o.Scrapes.ByPhase = map[string]reports.PhaseScrape{}
	for _, p := range o.Phases {
		if p.End.IsZero() || !p.End.After(p.Start) {
			continue
		}
		ps := reports.PhaseScrape{Planned: int(p.End.Sub(p.Start)/grid) * len(jobs)}
		for _, j := range jobs {
			sel := fmt.Sprintf("{job=%q,instance=%q}", j.Name, inst)
			rng := fmt.Sprintf("[%dms]", p.End.Sub(p.Start).Milliseconds())
			up, _, err := api.Scalar(ctx, "sum(sum_over_time(up"+sel+rng+"))", p.End)
			if err != nil {
				fail(err)
				return
			}
			all, _, err := api.Scalar(ctx, "sum(count_over_time(up"+sel+rng+"))", p.End)
			if err != nil {
				fail(err)
				return
			}
			scale := float64(ivs[j.Name]) / float64(grid)
			ps.OK += int(up*scale + 0.5)
			ps.Failed += int((all-up)*scale + 0.5)
		}
		o.Scrapes.ByPhase[p.Name] = ps
		o.Scrapes.OK += ps.OK
		o.Scrapes.Failed += ps.Failed
	}
	r.printf("gameday: %s: alerts and their scrape evidence from the Prometheus at %s (instance %s): %d alert series, %d scrapes", r.spec.Name, ext.Prometheus, inst, len(al), o.Scrapes.OK)
}

// awaitScrapes waits, for at most wait, until Prometheus has stored the
// scrapes that began before the last phase ended: a phase's evidence is
// read up to its end, and a scrape still in flight there would read as a
// missed one. If they do not land in time the evidence is read as it is,
// and says what is missing.
func (r *runner) awaitScrapes(ctx context.Context, api promserver.API, matchers string, phases []reports.Phase, wait time.Duration) {
	var last time.Time
	for _, p := range phases {
		if p.End.After(last) {
			last = p.End
		}
	}
	if last.IsZero() {
		return
	}
	ok, err := api.AwaitScrapesPast(ctx, matchers, last, max(time.Until(last.Add(wait)), time.Second))
	switch {
	case err != nil:
		r.printf("gameday: %s: waiting for Prometheus to store the last scrapes: %v", r.spec.Name, err)
	case !ok:
		r.printf("gameday: %s: Prometheus stored no scrape of every target within %s of the last phase's end; the scrape evidence is read as it is", r.spec.Name, wait)
	}
}
