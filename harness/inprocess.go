package harness

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/certs"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/internal/seam"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/scrapepath"
	"github.com/quannex/gameday/reports"
)

// inProcess is the alert source of a gate without a Prometheus of its own:
// the harness scrapes every job of the production scrape config each
// interval, as a Prometheus server running config/prometheus.yml would,
// ingests each payload with its job and instance labels into an
// in-process TSDB, and evaluates the production rules with the Prometheus
// rules engine at that instant. Every scrape is kept as its up sample, the
// evidence the alert checks need.
type inProcess struct {
	mon      *monitoring
	interval time.Duration
	expect   []scenario.AlertExpect
	printf   func(string, ...any)
	fail     func(string)
	hooks    *seam.Hooks
	tok      tokens

	// breaksPath: the scenario breaks the scrape path (scrape-path), so
	// the scrapes go through a proxy of the harness's own, path.
	breaksPath bool

	ev *alerts.Evaluator
	in *instance
	// label is the gate's instance label, its host:port as a static
	// target's, also when the scrapes go through path.
	label string
	// api scrapes: the gate's client, or one through path.
	api  *gateapi.Client
	path *scrapepath.Path

	mu      sync.Mutex
	samples []scrapeSeries // one per job
}

// prepare: the harness scrapes every job of the production config at the
// run's interval.
func (s *inProcess) prepare(context.Context) ([]promserver.Job, string, error) {
	jobs := make([]promserver.Job, 0, len(s.mon.jobs))
	for _, j := range s.mon.jobs {
		j.Interval = s.interval
		jobs = append(jobs, j)
	}
	return jobs, "--scrape-interval", nil
}

func (s *inProcess) start(ctx context.Context, life *lifecycle, ins []*instance) error {
	if len(ins) != 1 {
		return fmt.Errorf("the in-process alert source scrapes one gate, not %d", len(ins))
	}
	ev, err := alerts.New(ctx, alerts.Options{Rules: s.mon.rules, Interval: s.interval})
	if err != nil {
		return err
	}
	life.push("the rules engine", func(context.Context) error { return ev.Close() })
	s.ev, s.in, s.api = ev, ins[0], ins[0].api
	s.label = ins[0].url
	u, err := url.Parse(ins[0].url)
	if err == nil {
		s.label = u.Host
	}
	if s.breaksPath {
		if err != nil {
			return fmt.Errorf("the scrape path: the gate's URL: %w", err)
		}
		p, err := scrapepath.Start(u.Host)
		if err != nil {
			return err
		}
		life.push("the scrape path", noErr(p.Stop))
		// The same host name, so that TLS verifies the gate's name; the
		// proxy listens on the loopback the gate's URL names.
		via := *u
		via.Host = net.JoinHostPort(u.Hostname(), p.Port())
		s.path, s.api = p, gateapi.New(via.String(), s.tok.scraper, s.tok.admin, gateapi.WithTLS(ins[0].host.TLSConfig()))
		s.printf("scraping through the scrape path %s (the load goes straight to the gate)", via.Host)
	}
	for _, j := range s.mon.jobs {
		s.samples = append(s.samples, scrapeSeries{job: j.Name, instance: s.label, interval: s.interval})
	}
	return nil
}

// observe scrapes and evaluates each interval until ctx ends. An observer
// set through seam.Hooks.Observe starts beside the first scrapes (a
// Prometheus takes a second or two to be ready; the harness's coverage
// must not pay for it) and is stopped when observe returns.
func (s *inProcess) observe(ctx context.Context) {
	if s.hooks.Observe != nil {
		started := make(chan func(), 1)
		go func() { // ends when Observe returns
			stop, err := s.startObserver(context.WithoutCancel(ctx))
			if err != nil {
				s.fail("observer: " + err.Error())
			}
			started <- stop
		}()
		defer func() {
			if stop := <-started; stop != nil {
				stop()
			}
		}()
	}
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if !s.scrape(ctx, time.Now()) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scrape takes one round at now: every job at once (a dark path holds
// each scrape for its timeout, and the round must fit in an interval),
// then one evaluation. It returns false once ctx has ended.
func (s *inProcess) scrape(ctx context.Context, now time.Time) bool {
	type result struct {
		body  []byte
		ctype string
		err   error
		took  time.Duration
		path  bool // the path's toxic was on when the scrape began or ended
		whole bool // ... when it began and when it ended
	}
	res := make([]result, len(s.mon.jobs))
	var wg sync.WaitGroup
	for i, j := range s.mon.jobs {
		wg.Go(func() {
			jctx := ctx
			if j.Timeout > 0 {
				var cancel context.CancelFunc
				jctx, cancel = context.WithTimeout(ctx, j.Timeout)
				defer cancel()
			}
			r := &res[i]
			before := s.path != nil && s.path.Active()
			start := time.Now()
			r.body, r.ctype, r.err = s.api.Payload(jctx, j.MetricsPath)
			r.took = time.Since(start)
			after := s.path != nil && s.path.Active()
			r.path, r.whole = before || after, before && after
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return false
	}
	for i, j := range s.mon.jobs {
		r := res[i]
		if r.err != nil {
			r.body = nil
		}
		s.mu.Lock()
		s.samples[i].samples = append(s.samples[i].samples, upSample{at: now, ok: r.err == nil, pathBroken: r.path, underToxic: r.whole, took: r.took})
		s.mu.Unlock()
		if err := s.ev.Ingest(alerts.Origin{Job: j.Name, Instance: s.label}, r.body, r.ctype, now); err != nil {
			s.printf("ingest %s: %v", j.Name, err)
		}
	}
	for _, tr := range s.ev.Eval(ctx, now) {
		s.printf("alert %s%s %s -> %s", tr.Alert, jobSuffix(tr.Labels), tr.From, tr.To)
	}
	return true
}

func (s *inProcess) states(context.Context) []string {
	var out []string
	for name, st := range s.ev.States() {
		if st != alerts.StateInactive {
			out = append(out, name+"="+st)
		}
	}
	sort.Strings(out)
	return out
}

// settled: no alert is firing, and every expected one is inactive.
func (s *inProcess) settled(context.Context, map[string]time.Time) bool {
	st := s.ev.States()
	for _, a := range s.expect {
		if st[a.Name] != alerts.StateInactive {
			return false
		}
	}
	for _, v := range st {
		if v == alerts.StateFiring {
			return false
		}
	}
	return true
}

func (s *inProcess) evidence(_ context.Context, _ time.Time, phases []reports.Phase) (evidence, error) {
	s.mu.Lock()
	series := make([]scrapeSeries, len(s.samples))
	for i, ss := range s.samples {
		series[i] = ss
		series[i].samples = append([]upSample(nil), ss.samples...)
	}
	s.mu.Unlock()
	ev := evidence{alerts: s.ev.Timeline()}
	ev.coverage = coverageOf(series, phases)
	return ev, nil
}

func (s *inProcess) describe(*reports.Report) {}

// query runs expr on the in-process TSDB: the scrapes and what the rules
// wrote (ALERTS, recording rules).
func (s *inProcess) query(ctx context.Context, expr string, at time.Time) ([]float64, error) {
	if s.ev == nil {
		return nil, fmt.Errorf("the rules engine has not started")
	}
	vec, err := s.ev.Query(ctx, expr, at)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(vec))
	for _, smp := range vec {
		out = append(out, smp.F)
	}
	return out, nil
}

// startObserver writes a token file per job and calls the Observe hook;
// the returned stop stops the observer and removes the files.
func (s *inProcess) startObserver(ctx context.Context) (func(), error) {
	dir, err := os.MkdirTemp("", "gameday-scrape-credentials-*")
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	creds, err := writeCredentials(dir, s.mon.jobs, s.tok.scraper)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stop, err := s.hooks.Observe(ctx, seam.Observed{URL: s.in.url, ScrapeCredentials: creds, TLS: observedTLS(s.in.host)})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return func() {
		if stop != nil {
			stop()
		}
		os.RemoveAll(dir)
	}, nil
}

// writeCredentials writes the scraper token into dir, one 0600 file per
// job, as a Prometheus's credentials_file reads it, and returns the paths
// by job.
func writeCredentials(dir string, jobs []promserver.Job, token string) (map[string]string, error) {
	creds := make(map[string]string, len(jobs))
	for _, j := range jobs {
		p := filepath.Join(dir, j.Name+".token")
		if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		creds[j.Name] = p
	}
	return creds, nil
}

// tlsFiler is a gate serving TLS from files the harness wrote
// (target.Process, target.Container).
type tlsFiler interface {
	TLSFiles() (certs.Files, bool)
}

// observedTLS is the TLS an observer scrapes h with; nil: plain HTTP, or a
// gate whose TLS material is not the harness's.
func observedTLS(h host) *seam.TLSFiles {
	f, ok := h.(tlsFiler)
	if !ok {
		return nil
	}
	files, ok := f.TLSFiles()
	if !ok {
		return nil
	}
	return &seam.TLSFiles{CAFile: files.Path(certs.CAFile), CertFile: files.Path(certs.ClientCertFile), KeyFile: files.Path(certs.ClientKeyFile)}
}

// jobSuffix prints the labels that tell two alerts of one name apart in
// an in-process evaluation: the job and the window.
func jobSuffix(l map[string]string) string {
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

// pathScrapes is what the harness's scrapes of every job saw in [from,
// to): for the proof of a fault on the scrape path. underToxic keeps only
// the scrapes the toxic held from their start to their end: one that
// began before the injection or ended after the revert is no evidence of
// what the toxic did.
func (s *inProcess) pathScrapes(from, to time.Time, underToxic bool) pathScrapes {
	var ps pathScrapes
	for _, j := range s.mon.jobs {
		if j.Timeout > 0 && (ps.timeout == 0 || j.Timeout < ps.timeout) {
			ps.timeout = j.Timeout
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.samples {
		for _, u := range ss.samples {
			if u.at.Before(from) || !u.at.Before(to) || underToxic && !u.underToxic {
				continue
			}
			ps.all++
			ps.took = append(ps.took, u.took)
			if !u.ok {
				ps.failed++
			}
		}
	}
	return ps
}
