package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/quannex/gameday/harness/amserver"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// promSource reads a run's alerts from a Prometheus's ALERTS series and
// their scrape evidence from its own up series, job by job and phase by
// phase: no series, no evidence, and the checks fail. The Prometheus is
// either the deployment's (External.Prometheus: the harness reads the
// gate's instance there and starts nothing) or, for a fleet, one the run
// starts with the production scrape config and rules, beside an
// Alertmanager that routes every alert to a webhook receiver inside the
// harness (production's monitoring, and the delivery checks' evidence).
type promSource struct {
	mon    *monitoring
	expect []scenario.AlertExpect
	printf func(string, ...any)

	// The deployment's Prometheus: ext is set, matchers select the gate.
	ext      *External
	matchers string
	missing  []string // expected alert names it has no rule for

	// A fleet's own: bins, the scraper token, and what started.
	bins   [2]string // prometheus, alertmanager; "": on PATH
	tok    tokens
	server *promserver.Server
	am     *amserver.Server
	recv   *receiver.Receiver

	api  promserver.API
	jobs []promserver.Job // with the intervals and timeouts the server scrapes at
	// labels are the instance labels whose scrapes are evidence: the
	// gate's at the deployment's Prometheus, every replica at a fleet's.
	labels []string
}

// newExistingPrometheus reads the deployment's Prometheus.
func newExistingPrometheus(ext *External, mon *monitoring) *promSource {
	return &promSource{mon: mon, ext: ext, matchers: fmt.Sprintf("instance=%q", ext.instance()), labels: []string{ext.instance()},
		api: promserver.API{URL: ext.Prometheus}, printf: func(string, ...any) {}}
}

// newFleetMonitoring starts a Prometheus, an Alertmanager and a receiver
// for a fleet when start is called.
func newFleetMonitoring(mon *monitoring, promBin, amBin string, tok tokens) *promSource {
	return &promSource{mon: mon, bins: [2]string{promBin, amBin}, tok: tok, printf: func(string, ...any) {}}
}

// prepare reaches the deployment's Prometheus (reach); a fleet's runs the
// production scrape config, whose intervals it returns.
func (s *promSource) prepare(ctx context.Context) ([]promserver.Job, string, error) {
	if s.ext == nil {
		return s.mon.jobs, "the scrape config " + s.configFile(), nil
	}
	if err := s.reach(ctx); err != nil {
		return nil, "", err
	}
	return s.jobs, "--prometheus: " + s.ext.Prometheus + "'s scrape interval", nil
}

func (s *promSource) start(ctx context.Context, life *lifecycle, ins []*instance) error {
	if s.ext != nil {
		return nil // reached by prepare; the deployment's own servers run by themselves
	}
	var err error
	if s.recv, err = receiver.Start(); err != nil {
		return fmt.Errorf("alert receiver: %w", err)
	}
	life.push("the alert receiver", func(context.Context) error { return s.recv.Close() })
	if s.am, err = amserver.Start(ctx, amserver.Options{Binary: s.bins[1], WebhookURL: s.recv.URL()}); err != nil {
		return err
	}
	life.push("Alertmanager", noErr(s.am.Stop))
	credDir, err := os.MkdirTemp("", "gameday-fleet-credentials-*")
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	life.push("the scrape credentials", func(context.Context) error { return os.RemoveAll(credDir) })
	creds, err := writeCredentials(credDir, s.mon.jobs, s.tok.scraper)
	if err != nil {
		return err
	}
	var targets []promserver.Instance
	for _, in := range ins {
		targets = append(targets, promserver.Instance{Address: in.url, Labels: map[string]string{"instance": in.name, "track": in.track}})
		s.labels = append(s.labels, in.name)
	}
	if s.server, err = promserver.Start(ctx, promserver.Options{Binary: s.bins[0], ConfigFile: s.configFile(),
		Instances: targets, Alertmanagers: []string{s.am.Addr()}, Credentials: creds}); err != nil {
		return err
	}
	life.push("Prometheus", noErr(s.server.Stop))
	s.api, s.jobs = s.server.API(), s.server.Config().Jobs
	s.printf("Prometheus %s, Alertmanager %s; waiting until every replica is scraped", s.server.URL, s.am.URL)
	return s.waitScraped(ctx, len(ins)*len(s.jobs))
}

// configFile is the production scrape config the fleet's Prometheus runs.
func (s *promSource) configFile() string {
	if s.mon.config != "" {
		return s.mon.config
	}
	return filepath.Join(filepath.Dir(s.mon.rules.File), ScrapeConfigName)
}

// reach checks the deployment's Prometheus: ready, scraping the gate's
// instance in every job of the production scrape config (at the intervals
// it reports), with the alerting rules loaded. Errors name --prometheus.
func (s *promSource) reach(ctx context.Context) error {
	e := s.ext
	if err := s.api.Ready(ctx); err != nil {
		return fmt.Errorf("--prometheus: %s is not ready: %w", e.Prometheus, err)
	}
	ts, err := s.api.Targets(ctx)
	if err != nil {
		return fmt.Errorf("--prometheus: %w", err)
	}
	inst := e.instance()
	s.jobs = nil
	for _, j := range s.mon.jobs {
		var seen []string
		var got *promserver.ScrapeTarget
		for i, t := range ts {
			if t.Labels["job"] != j.Name {
				continue
			}
			seen = append(seen, t.Labels["instance"])
			if t.Labels["instance"] == inst {
				got = &ts[i]
			}
		}
		switch {
		case got == nil && len(seen) == 0:
			return fmt.Errorf("--prometheus: %s has no target in job %s", e.Prometheus, j.Name)
		case got == nil:
			return fmt.Errorf("--prometheus: %s does not scrape instance %q in job %s (it scrapes %s); give the gate's instance label with --prometheus-instance",
				e.Prometheus, inst, j.Name, strings.Join(seen, ", "))
		case got.ScrapeInterval <= 0:
			return fmt.Errorf("--prometheus: %s does not say its scrape interval for job %s (Prometheus 2.33 or later does)", e.Prometheus, j.Name)
		}
		j.Interval, j.Timeout = got.ScrapeInterval, got.ScrapeTimeout
		if j.Timeout <= 0 {
			j.Timeout = 10 * time.Second // Prometheus's default scrape_timeout
		}
		s.jobs = append(s.jobs, j)
	}
	iv, missing, err := s.api.RuleInterval(ctx, s.mon.rules.Names())
	if err != nil {
		return fmt.Errorf("--prometheus: %s has none of the alerting rules of %s loaded: %w", e.Prometheus, s.mon.rules.File, err)
	}
	s.api.Interval, s.missing = iv, missing
	return nil
}

// waitScraped waits until Prometheus has scraped every job of every
// replica successfully (want up series at 1), for at most a minute.
func (s *promSource) waitScraped(ctx context.Context, want int) error {
	deadline := time.Now().Add(time.Minute)
	got := 0
	for time.Now().Before(deadline) {
		if v, ok, err := s.api.Scalar(ctx, "count(up == 1)", time.Now()); err == nil && ok {
			if got = int(v); got >= want {
				return nil
			}
		}
		if !sleep(ctx, time.Second) {
			return fmt.Errorf("interrupted waiting for Prometheus")
		}
	}
	return fmt.Errorf("Prometheus scraped %d of %d replica jobs successfully within a minute%s", got, want, s.firstScrapeError(ctx))
}

// firstScrapeError names a failing target and its last scrape error, or
// the server's log's tail.
func (s *promSource) firstScrapeError(ctx context.Context) string {
	if ts, err := s.api.Targets(ctx); err == nil {
		for _, t := range ts {
			if t.Health != "up" {
				return fmt.Sprintf(": %s is %s: %s", t.ScrapeURL, t.Health, t.LastError)
			}
		}
	}
	log := s.server.Log()
	if len(log) > 500 {
		log = log[len(log)-500:]
	}
	return "; its log ends: " + log
}

func (s *promSource) observe(context.Context) {}

func (s *promSource) states(ctx context.Context) []string {
	as, err := s.api.AlertStates(ctx, s.matchers)
	if err != nil {
		return []string{"unknown (" + err.Error() + ")"}
	}
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Name+labelSuffix(a.Labels)+"="+a.State)
	}
	return out
}

// settled: the server holds no firing alert and none of the expected ones
// (for the gate's instance, at the deployment's), and the receiver has
// every expected resolution for each faulted instance.
func (s *promSource) settled(ctx context.Context, injected map[string]time.Time) bool {
	sel := []string{`ALERTS{alertstate="firing"` + prefixed(s.matchers) + `}`}
	for _, a := range s.expect {
		sel = append(sel, fmt.Sprintf("ALERTS{alertname=%q%s}", a.Name, prefixed(s.matchers)))
	}
	v, ok, err := s.api.Scalar(ctx, "count("+strings.Join(sel, " or ")+") or vector(0)", time.Now())
	if err != nil || !ok || v > 0 {
		return false
	}
	if s.recv == nil {
		return true
	}
	for _, a := range s.expect {
		if a.ResolutionDeliveredWithin <= 0 {
			continue
		}
		for name, at := range injected {
			if _, ok := s.recv.First(a.Name, name, "resolved", at); !ok {
				return false
			}
		}
	}
	return true
}

// errorf names the Prometheus an error came from: the --prometheus flag
// for the deployment's, the fleet's own otherwise.
func (s *promSource) errorf(format string, a ...any) error {
	if s.ext != nil {
		return fmt.Errorf("--prometheus: "+format, a...)
	}
	return fmt.Errorf("the fleet's Prometheus: "+format, a...)
}

func prefixed(matchers string) string {
	if matchers == "" {
		return ""
	}
	return "," + matchers
}

// evidence waits, bounded by the longest interval and scrape timeout,
// until the server has stored the scrapes that began before the last phase
// ended (a scrape in flight is stamped with its start but stored when it
// completes, and would read as a missed one), then reads the alerts and
// every job's up samples of each phase.
func (s *promSource) evidence(ctx context.Context, since time.Time, phases []reports.Phase) (evidence, error) {
	var wait time.Duration
	for _, j := range s.jobs {
		wait = max(wait, j.Interval+j.Timeout)
	}
	s.awaitScrapes(ctx, phases, wait)
	var ev evidence
	if s.recv != nil { // first: they are kept whatever the queries answer
		ev.notifications, ev.malformed, ev.delivered = s.recv.Notifications(), s.recv.Malformed(), true
	}
	al, err := s.api.Alerts(ctx, since, time.Now(), s.matchers)
	if err != nil {
		return ev, s.errorf("reading alerts: %w", err)
	}
	ev.alerts = al
	var series []scrapeSeries
	for _, j := range s.jobs {
		byInstance := map[string]*scrapeSeries{}
		for _, p := range phases {
			if p.End.IsZero() || !p.End.After(p.Start) {
				continue
			}
			m, err := s.api.Samples(ctx, fmt.Sprintf("up{job=%q%s}[%dms]", j.Name, prefixed(s.matchers), p.End.Sub(p.Start).Milliseconds()), p.End)
			if err != nil {
				return ev, s.errorf("reading the scrapes of job %s: %w", j.Name, err)
			}
			for _, stream := range m {
				inst := string(stream.Metric["instance"])
				ss := byInstance[inst]
				if ss == nil {
					ss = &scrapeSeries{job: j.Name, instance: inst, interval: j.Interval}
					byInstance[inst] = ss
				}
				ss.samples = append(ss.samples, upSamples(stream.Values)...)
			}
		}
		for _, want := range s.labels {
			if byInstance[want] == nil { // never scraped: planned, with no sample
				byInstance[want] = &scrapeSeries{job: j.Name, instance: want, interval: j.Interval}
			}
		}
		for _, ss := range byInstance {
			sort.Slice(ss.samples, func(a, b int) bool { return ss.samples[a].at.Before(ss.samples[b].at) })
			series = append(series, *ss)
		}
	}
	ev.coverage = coverageOf(series, phases)
	if s.ext != nil && len(phases) > 0 {
		s.printf("alerts and their scrape evidence from the Prometheus at %s (instance %s): %d alert series, %d scrapes",
			s.ext.Prometheus, s.ext.instance(), len(ev.alerts), ev.scrapes.OK)
	}
	return ev, nil
}

func upSamples(ps []model.SamplePair) []upSample {
	out := make([]upSample, 0, len(ps))
	for _, p := range ps {
		out = append(out, upSample{at: p.Timestamp.Time(), ok: p.Value == 1})
	}
	return out
}

// awaitScrapes waits, for at most wait, until Prometheus has stored the
// scrapes that began before the last phase ended. If they do not land in
// time the evidence is read as it is, and says what is missing.
func (s *promSource) awaitScrapes(ctx context.Context, phases []reports.Phase, wait time.Duration) {
	var last time.Time
	for _, p := range phases {
		if p.End.After(last) {
			last = p.End
		}
	}
	if last.IsZero() {
		return
	}
	ok, err := s.api.AwaitScrapesPast(ctx, s.matchers, last, max(time.Until(last.Add(wait)), time.Second))
	switch {
	case err != nil:
		s.printf("waiting for Prometheus to store the last scrapes: %v", err)
	case !ok:
		s.printf("Prometheus stored no scrape of every target within %s of the last phase's end; the scrape evidence is read as it is", wait)
	}
}

func (s *promSource) describe(rep *reports.Report) {
	if s.ext != nil {
		rep.Target.Prometheus, rep.Target.Instance, rep.Target.Alertmanager = s.ext.Prometheus, s.ext.instance(), s.ext.Alertmanager
		return
	}
	if rep.Fleet == nil {
		rep.Fleet = &reports.Fleet{}
	}
	if s.am != nil {
		rep.Fleet.Alertmanager = s.am.URL
	}
	if s.server != nil {
		rep.Fleet.Prometheus = s.server.URL
	}
}

// prometheusURL is the server the canary gate queries.
func (s *promSource) prometheusURL() string { return s.api.URL }

// query runs expr on the Prometheus the verdict reads.
func (s *promSource) query(ctx context.Context, expr string, at time.Time) ([]float64, error) {
	vec, err := s.api.Vector(ctx, expr, at)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(vec))
	for _, smp := range vec {
		out = append(out, float64(smp.Value))
	}
	return out, nil
}

// labelSuffix renders the labels that tell alerts of one name apart: the
// instance and, for burn-rate alerts, the window.
func labelSuffix(ls map[string]string) string {
	var parts []string
	for _, k := range []string{"instance", "window"} {
		if v, ok := ls[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}
