package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/amserver"
	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// A fleet run (scenario target.kind: fleet) plays the same phases as a
// single gate's, against Replicas gates on a private Docker network. The
// monitoring is production's, not the harness's: a real Prometheus
// scrapes every replica with config/prometheus.yml's jobs and evaluates
// config/alerts.yml, and a real Alertmanager routes its alerts to a
// webhook receiver inside the harness. The load rotates over the
// replicas; each fault hits the replicas its selector picked.

// selfJob is the scrape job the rules and the canary read.
const selfJob = "quannex-gate-self"

// fleetState is what a fleet run holds besides the runner's own state.
type fleetState struct {
	fleet     *target.Fleet
	replicas  map[string]*fleetReplica
	names     []string   // replica-1 ... replica-N
	selected  [][]string // per fault index, the instances it hits
	recv      *receiver.Receiver
	am        *amserver.Server
	prom      *promserver.Server
	credDir   string
	canary    *canary.Result
	canaryAt  time.Time
	canaryErr error
}

// fleetReplica is one replica as the runner uses it.
type fleetReplica struct {
	rep         *target.Replica
	tgt         Target
	api         *gateapi.Client
	c           *client
	recoveredAt time.Time
}

// faulted returns the instances any fault hits, sorted.
func (f *fleetState) faulted() []string {
	set := map[string]bool{}
	for _, s := range f.selected {
		for _, n := range s {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// runFleet is run for a fleet target.
func (r *runner) runFleet(ctx context.Context) (rep *reports.Report) {
	var schedStart time.Time
	defer func() {
		if p := recover(); p != nil {
			r.rep.Error = fmt.Sprintf("harness panic: %v", p)
		}
		r.finish(schedStart)
		rep = r.rep // a recovered panic returns the report too
	}()
	defer r.teardownFleet() // before setup: whatever setupFleet started is stopped, even on a panic
	if err := r.setupFleet(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	schedStart = time.Now()
	r.startFleetLoad(ctx)
	defer r.stopLoad()
	defer r.revertAll()
	if err := r.baseline(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	if r.obs.BaselineFailed != "" {
		r.assembleFleet(ctx)
		return r.rep
	}
	if err := r.faultPhase(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	r.evaluateCanary(ctx)
	if err := r.recoveryFleet(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	if err := r.after(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	r.assembleFleet(ctx)
	return r.rep
}

// setupFleet starts, in order, the receiver, Alertmanager, the replicas
// and Prometheus, and waits until Prometheus scrapes every replica. Each
// piece is recorded as soon as it runs, so teardownFleet stops what
// started whatever failed.
func (r *runner) setupFleet(ctx context.Context) error {
	spec := r.spec
	fl := &fleetState{replicas: map[string]*fleetReplica{}}
	r.fl = fl
	r.tokens = tokens{load: newToken(), scraper: newToken(), admin: newToken()}
	env := r.gateEnv()
	jobs, err := scrapeJobs(r.opts.RulesFile)
	if err != nil {
		return fmt.Errorf("scrape config: %w", err)
	}
	if err := r.checkAlertNames(ctx); err != nil {
		return err
	}
	for i := range spec.Faults {
		fl.selected = append(fl.selected, spec.Faults[i].Select.Pick(spec.Target.Replicas, spec.Seed, i))
	}
	r.rep.Fleet = &reports.Fleet{}
	for i, s := range fl.selected {
		r.rep.Fleet.Selections = append(r.rep.Fleet.Selections, reports.Selection{Fault: i, Name: spec.Faults[i].Name,
			Selector: spec.Faults[i].Select.String(), Instances: s})
	}

	if fl.recv, err = receiver.Start(); err != nil {
		return fmt.Errorf("alert receiver: %w", err)
	}
	if fl.am, err = amserver.Start(ctx, amserver.Options{Binary: r.opts.AlertmanagerBin, WebhookURL: fl.recv.URL(), Drop: r.opts.AlertmanagerDrop}); err != nil {
		return err
	}
	r.rep.Fleet.Alertmanager = fl.am.URL

	r.printf("gameday: %s: starting a fleet of %d replicas (%d canary)", spec.Name, spec.Target.Replicas, spec.Target.Canary)
	topts := target.Options{GateBin: r.opts.Artifacts.GateBin, StressorBin: r.opts.Artifacts.StressorBin, Env: env, CPUs: spec.Target.CPUs}
	if r.opts.ReportDir != "" {
		os.MkdirAll(r.opts.ReportDir, 0o755)
		topts.LogFile = filepath.Join(r.opts.ReportDir, fmt.Sprintf("%s-%s.gate.log", spec.Name, r.rep.StartedAt.Format("20060102T150405Z")))
	}
	fl.fleet, err = target.StartFleet(ctx, target.FleetOptions{Options: topts, Replicas: spec.Target.Replicas, Canary: spec.Target.Canary})
	if err != nil {
		fl.fleet = nil
		return err
	}
	r.rep.Target = reports.Target{Kind: scenario.KindFleet, Build: map[string]string{}}
	var instances []promserver.Instance
	for _, rp := range fl.fleet.Replicas {
		hc := newHTTPClient(rp.TLSConfig())
		api := gateapi.New(rp.BaseURL(), r.tokens.scraper, r.tokens.admin, gateapi.WithHTTPClient(hc))
		fr := &fleetReplica{rep: rp, tgt: rp, api: api, c: &client{api: api, base: rp.BaseURL(), scraper: r.tokens.scraper}}
		fl.replicas[rp.Name] = fr
		fl.names = append(fl.names, rp.Name)
		instances = append(instances, promserver.Instance{Address: rp.BaseURL(), Labels: map[string]string{"instance": rp.Name, "track": rp.Track}})
		img, _, id, _ := rp.Describe()
		r.rep.Target.Image = img
		r.rep.Fleet.Replicas = append(r.rep.Fleet.Replicas, reports.Replica{Instance: rp.Name, Track: rp.Track, URL: rp.BaseURL(), Container: id})
	}
	r.rep.Target.URL = fl.replicas[fl.names[0]].rep.BaseURL()
	for _, name := range fl.names {
		fr := fl.replicas[name]
		if err := fr.api.E2EPass(ctx); err != nil {
			return fmt.Errorf("%s: record the starting e2e pass: %w", name, err)
		}
		before, err := fr.c.requestsTotal(ctx)
		if err != nil {
			return fmt.Errorf("%s: read the gate's request counter: %w", name, err)
		}
		r.obs.GateRequests -= before
	}
	if b, err := fl.replicas[fl.names[0]].api.BuildInfo(ctx); err == nil {
		r.rep.Target.Build = b
	}

	if fl.credDir, err = os.MkdirTemp("", "gameday-fleet-credentials-*"); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	creds := map[string]string{}
	for _, j := range jobs {
		p := filepath.Join(fl.credDir, j.Name+".token")
		if err := os.WriteFile(p, []byte(r.tokens.scraper), 0o600); err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
		creds[j.Name] = p
	}
	r.jobs = len(jobs) * len(fl.names)
	fl.prom, err = promserver.Start(ctx, promserver.Options{Binary: r.opts.PrometheusBin,
		ConfigFile: filepath.Join(filepath.Dir(r.opts.RulesFile), ScrapeConfigName),
		Instances:  instances, Alertmanagers: []string{fl.am.Addr()}, Credentials: creds})
	if err != nil {
		return err
	}
	r.rep.Fleet.Prometheus = fl.prom.URL
	r.printf("gameday: %s: Prometheus %s, Alertmanager %s; waiting until every replica is scraped", spec.Name, fl.prom.URL, fl.am.URL)
	return r.waitScraped(ctx, len(fl.names)*len(jobs))
}

// gateEnv is the gate configuration every target gets: the caller's
// variables and the run's tokens.
func (r *runner) gateEnv() map[string]string {
	env := map[string]string{}
	for k, v := range r.opts.GateEnv {
		env[k] = v
	}
	for k, v := range map[string]string{
		"METRICS_TOKENS":      "gameday:" + r.tokens.load + ",scraper:" + r.tokens.scraper,
		"METRICS_RATE_LIMITS": "gameday=1000/s,scraper=600/min,admin=600/min",
		"GATE_ADMIN_TOKEN":    r.tokens.admin,
	} {
		env[k] = v
	}
	return env
}

// checkAlertNames refuses expected alerts the rules file does not define.
func (r *runner) checkAlertNames(ctx context.Context) error {
	ev, err := alerts.New(ctx, alerts.Options{RulesFile: r.opts.RulesFile, Interval: r.opts.ScrapeInterval})
	if err != nil {
		return err
	}
	defer ev.Close()
	known := map[string]bool{}
	for _, n := range ev.Names() {
		known[n] = true
	}
	for i, a := range r.spec.Expect.Alerts {
		if !known[a.Name] {
			return fmt.Errorf("scenario: expect.alerts[%d].name: %q is not an alert in %s", i, a.Name, r.opts.RulesFile)
		}
	}
	return nil
}

// waitScraped waits until Prometheus has scraped every job of every
// replica successfully (want up series at 1), for at most a minute.
func (r *runner) waitScraped(ctx context.Context, want int) error {
	deadline := time.Now().Add(time.Minute)
	got := 0
	for time.Now().Before(deadline) {
		if v, err := promScalar(ctx, r.fl.prom, "count(up == 1)", time.Now()); err == nil {
			got = int(v)
			if got >= want {
				return nil
			}
		}
		if !sleep(ctx, time.Second) {
			return fmt.Errorf("interrupted waiting for Prometheus")
		}
	}
	return fmt.Errorf("Prometheus scraped %d of %d replica jobs successfully within a minute%s", got, want, firstScrapeError(ctx, r.fl.prom))
}

// firstScrapeError names a failing target of s and its last scrape error,
// from /api/v1/targets, or its log's tail.
func firstScrapeError(ctx context.Context, s *promserver.Server) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/targets?state=active", nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var ans struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL string `json:"scrapeUrl"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&ans) == nil {
			for _, t := range ans.Data.ActiveTargets {
				if t.Health != "up" {
					return fmt.Sprintf(": %s is %s: %s", t.ScrapeURL, t.Health, t.LastError)
				}
			}
		}
	}
	log := s.Log()
	if len(log) > 500 {
		log = log[len(log)-500:]
	}
	return "; its log ends: " + log
}

// teardownFleet stops everything setupFleet started, in reverse order.
func (r *runner) teardownFleet() {
	fl := r.fl
	if fl == nil {
		return
	}
	if fl.prom != nil {
		// An early exit skips assembleFleet: the report still gets the
		// alerts Prometheus raised so far.
		if r.rep.Alerts == nil && !r.rep.StartedAt.IsZero() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if al, err := fl.prom.Alerts(ctx, r.rep.StartedAt, time.Now()); err == nil {
				r.rep.Alerts = al
			}
			cancel()
		}
		fl.prom.Stop()
	}
	if fl.fleet != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := fl.fleet.Stop(ctx); err != nil {
			r.printf("gameday: %s: stopping the fleet: %v", r.spec.Name, err)
		}
		cancel()
	}
	if fl.am != nil {
		fl.am.Stop()
	}
	if fl.recv != nil {
		fl.recv.Close()
		// An early exit (error, Ctrl-C, panic) skips assembleFleet: the
		// report still lists every notification received.
		if r.rep.Fleet != nil && r.rep.Fleet.Notifications == nil {
			r.rep.Fleet.Notifications, r.rep.Fleet.Malformed = fl.recv.Notifications(), fl.recv.Malformed()
		}
	}
	if fl.credDir != "" {
		os.RemoveAll(fl.credDir)
	}
}

// startFleetLoad rotates the load over the replicas and starts the
// progress loop; Prometheus does the scraping.
func (r *runner) startFleetLoad(ctx context.Context) {
	maxRun := r.spec.MaxSchedule() + time.Minute
	r.loadCPU, r.sampleCPU = newCPUMeter(), newCPUMeter()
	var eps []load.Endpoint
	for _, n := range r.fl.names {
		eps = append(eps, load.Endpoint{Name: n, URL: r.fl.replicas[n].rep.BaseURL() + "/metrics"})
	}
	r.gen = load.StartMany(eps, r.tokens.load, r.spec.Load.Rate, maxRun)
	bg, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.progressLoop(bg, time.Now()) }() // ends with bg
	var once sync.Once
	r.stopBg = func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// evaluateCanary runs the rollout's canary gate against the run's
// Prometheus as the faults end, when the scenario expects a decision.
func (r *runner) evaluateCanary(ctx context.Context) {
	c := r.spec.Expect.Canary
	if c == nil {
		return
	}
	o := canary.Options{Prometheus: r.fl.prom.URL,
		Stable: fmt.Sprintf(`job=%q,track="stable"`, selfJob), Canary: fmt.Sprintf(`job=%q,track="canary"`, selfJob),
		Window: c.Window.D(), MaxDelta: c.MaxDelta, MinRequests: c.MinRequests, Timeout: 10 * time.Second}
	r.fl.canaryAt = time.Now()
	r.fl.canary, r.fl.canaryErr = canary.Evaluate(ctx, o)
	if r.fl.canaryErr == nil {
		r.printf("gameday: %s: canary gate: %s (%s)", r.spec.Name, r.fl.canary.Decision, r.fl.canary.Reason)
	}
}

// recoveryFleet waits until every faulted replica's live ratio is back,
// no alert fires in Prometheus and every expected resolution reached the
// receiver, within the scenario's bounds.
func (r *runner) recoveryFleet(ctx context.Context) error {
	spec := r.spec
	end := r.obs.FaultEnd
	r.setPhase("recovery", end)
	waitUntil := end.Add(spec.Expect.Recovery.Within.D())
	for _, a := range spec.Expect.Alerts {
		waitUntil = maxTime(waitUntil, end.Add(max(a.ResolveWithin.D(), a.ResolutionDeliveredWithin.D())))
	}
	minRatio := spec.Expect.Recovery.MinLiveRatio
	if minRatio == 0 {
		minRatio = spec.After.MinLiveRatio
	}
	faulted := r.fl.faulted()
	for time.Now().Before(waitUntil) {
		rs := r.gen.Records()
		done := true
		for _, name := range faulted {
			fr := r.fl.replicas[name]
			if fr.recoveredAt.IsZero() {
				if at, ok := RecoveredAt(recordsOf(rs, name), r.revertOf(name), time.Now(), minRatio); ok {
					fr.recoveredAt = at
					r.printf("gameday: %s: %s live ratio back to %.0f%% %.1fs after its revert", spec.Name, name, minRatio*100, at.Sub(r.revertOf(name)).Seconds())
				}
			}
			done = done && !fr.recoveredAt.IsZero()
		}
		if r.obs.RecoveredAt.IsZero() {
			if at, ok := RecoveredAt(rs, end, time.Now(), minRatio); ok {
				r.obs.RecoveredAt = at
			}
		}
		if done && r.fleetAlertsSettled(ctx, faulted) {
			break
		}
		if !sleep(ctx, time.Second) {
			return fmt.Errorf("interrupted during recovery")
		}
	}
	return nil
}

// fleetAlertsSettled: Prometheus has no firing alert and the receiver has
// every expected resolution.
func (r *runner) fleetAlertsSettled(ctx context.Context, faulted []string) bool {
	v, err := promScalar(ctx, r.fl.prom, `count(ALERTS{alertstate="firing"}) or vector(0)`, time.Now())
	if err != nil || v > 0 {
		return false
	}
	for _, a := range r.spec.Expect.Alerts {
		if a.ResolutionDeliveredWithin <= 0 {
			continue
		}
		for _, name := range faulted {
			if _, ok := r.fl.recv.First(a.Name, name, "resolved", r.injectionOf(name)); !ok {
				return false
			}
		}
	}
	return true
}

// injectionOf is the first injection on instance; revertOf its last
// revert (the fault window's end when none is recorded yet).
func (r *runner) injectionOf(instance string) time.Time {
	var at time.Time
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.faults {
		if s.instance == instance && s.rec != nil && (at.IsZero() || s.rec.InjectedAt.Before(at)) {
			at = s.rec.InjectedAt
		}
	}
	if at.IsZero() {
		return r.obs.FaultStart
	}
	return at
}

func (r *runner) revertOf(instance string) time.Time {
	var at time.Time
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.faults {
		if s.instance == instance && s.rec != nil && s.rec.RevertedAt.After(at) {
			at = s.rec.RevertedAt
		}
	}
	if at.IsZero() {
		return r.obs.FaultEnd
	}
	return at
}

// recordsOf returns the records of one replica.
func recordsOf(rs []load.Record, instance string) []load.Record {
	var out []load.Record
	for _, r := range rs {
		if r.Target == instance {
			out = append(out, r)
		}
	}
	return out
}

// assembleFleet is assemble for a fleet: the alerts come from
// Prometheus, the scrape evidence from its up series, the notifications
// from the receiver.
func (r *runner) assembleFleet(ctx context.Context) {
	fl := r.fl
	r.rep.Harness.CPUCores = r.loadCPU.cores()
	r.stopLoad()
	r.setPhase("", time.Now())
	o := &r.obs
	o.GateCountOK = true
	for _, name := range fl.names {
		after, err := fl.replicas[name].c.requestsTotal(ctx)
		if err != nil {
			o.GateCountOK = false
			break
		}
		o.GateRequests += after
	}
	o.Records = r.gen.Records()
	if !o.RecoveredAt.IsZero() {
		rec := o.RecoveredAt.Sub(o.FaultEnd).Seconds()
		r.rep.RecoverySeconds = &rec
	}
	for _, s := range r.faults {
		if sl, ok := s.f.(fault.Slower); ok && !s.rec.RevertedAt.IsZero() {
			rs := recordsOf(o.Records, s.instance)
			s.rec.Proof = latencyProof(rs, o.BaselineStart, o.FaultStart, s.rec.InjectedAt, s.rec.RevertedAt, sl.MinAdded())
		}
	}
	o.Faults = r.faultRecords()
	r.mu.Lock()
	o.Phases = append([]reports.Phase(nil), r.rep.Phases...)
	r.mu.Unlock()
	var byInstance map[string]reports.Scrapes
	var perInstance int
	o.Scrapes, byInstance, o.ScrapeInterval, perInstance = r.promScrapes(ctx, o.Phases)
	o.ScrapeJobs = perInstance * len(fl.names)
	r.rep.Harness.Scrapes = o.Scrapes
	from := o.BaselineStart
	if from.IsZero() {
		from = r.rep.StartedAt
	}
	if al, err := fl.prom.Alerts(ctx, from, time.Now()); err == nil {
		o.Alerts = al
	} else {
		r.printf("gameday: %s: reading alerts from Prometheus: %v", r.spec.Name, err)
	}
	r.rep.Alerts = o.Alerts
	fo := &FleetObservation{Instances: fl.names, Faulted: fl.faulted(), Malformed: fl.recv.Malformed(),
		Notifications: fl.recv.Notifications(), Canary: fl.canary, CanaryErr: fl.canaryErr, CanaryAt: fl.canaryAt,
		Injected: map[string]time.Time{}, Reverted: map[string]time.Time{}, Recovered: map[string]time.Time{},
		Scrapes: byInstance, ScrapeJobs: perInstance}
	for _, name := range fo.Faulted {
		fo.Injected[name], fo.Reverted[name] = r.injectionOf(name), r.revertOf(name)
		fo.Recovered[name] = fl.replicas[name].recoveredAt
	}
	o.Fleet = fo
	r.rep.Fleet.Notifications, r.rep.Fleet.Malformed = fo.Notifications, fo.Malformed
	for i := range r.rep.Fleet.Replicas {
		rp := &r.rep.Fleet.Replicas[i]
		w := load.Summarise(recordsOf(o.Records, rp.Instance), time.Time{}, farFuture)
		rp.Requests, rp.LiveRatio = w.Requests, w.LiveRatio()
	}
	r.rep.Load = reports.SummariseLoad(o.Records, float64(r.spec.Load.Rate), o.FaultStart, o.FaultEnd)
	r.rep.LiveRatio = reports.LiveRatioSeries(o.Records)
	r.rep.Checks = Checks(r.spec, *o)
}

// promScrapes reads the scrape evidence of each phase from Prometheus's
// up series: fleet-wide and per instance, the samples of every job (all)
// and those at 1 (ok). The plan is the config Prometheus runs, not the
// harness's --scrape-interval (which a fleet's Prometheus never sees): on
// the grid of its shortest job interval, so that a job scraped every two
// intervals counts each sample twice and every job must cover the phase.
// perInstance is the jobs of one instance; a failed query leaves its phase
// out, which the checks read as no evidence.
func (r *runner) promScrapes(ctx context.Context, phases []reports.Phase) (out reports.Scrapes, byInstance map[string]reports.Scrapes, grid time.Duration, perInstance int) {
	jobs := r.fl.prom.Config().Jobs
	var wait time.Duration
	for _, j := range jobs {
		if grid == 0 || j.Interval < grid {
			grid = j.Interval
		}
		wait = max(wait, j.Interval+j.Timeout)
	}
	r.awaitScrapes(ctx, r.fl.prom.API(), "", phases, wait)
	out = reports.Scrapes{ByPhase: map[string]reports.PhaseScrape{}}
	byInstance = map[string]reports.Scrapes{}
	for _, n := range r.fl.names {
		byInstance[n] = reports.Scrapes{ByPhase: map[string]reports.PhaseScrape{}}
	}
	for _, p := range phases {
		if p.End.IsZero() || !p.End.After(p.Start) {
			continue
		}
		rng := fmt.Sprintf("[%dms]", p.End.Sub(p.Start).Milliseconds())
		ok, all := map[string]float64{}, map[string]float64{}
		failed := false
		for _, j := range jobs {
			sel := fmt.Sprintf("{job=%q}", j.Name)
			up, err1 := promByInstance(ctx, r.fl.prom, "sum by (instance) (sum_over_time(up"+sel+rng+"))", p.End)
			n, err2 := promByInstance(ctx, r.fl.prom, "sum by (instance) (count_over_time(up"+sel+rng+"))", p.End)
			if err1 != nil || err2 != nil {
				failed = true
				break
			}
			scale := float64(j.Interval) / float64(grid)
			for inst, v := range up {
				ok[inst] += v * scale
			}
			for inst, v := range n {
				all[inst] += v * scale
			}
		}
		if failed {
			continue
		}
		planned := int(p.End.Sub(p.Start)/grid) * len(jobs)
		ps := reports.PhaseScrape{}
		for _, name := range r.fl.names {
			is := reports.PhaseScrape{Planned: planned, OK: int(ok[name] + 0.5), Failed: int(all[name] - ok[name] + 0.5)}
			s := byInstance[name]
			s.ByPhase[p.Name] = is
			s.OK, s.Failed = s.OK+is.OK, s.Failed+is.Failed
			byInstance[name] = s
			ps.Planned, ps.OK, ps.Failed = ps.Planned+is.Planned, ps.OK+is.OK, ps.Failed+is.Failed
		}
		out.ByPhase[p.Name] = ps
		out.OK, out.Failed = out.OK+ps.OK, out.Failed+ps.Failed
	}
	return out, byInstance, grid, len(jobs)
}

// promByInstance runs an instant query answering one sample per instance.
func promByInstance(ctx context.Context, s *promserver.Server, q string, at time.Time) (map[string]float64, error) {
	data, err := s.Query(ctx, q, at)
	if err != nil {
		return nil, err
	}
	var ans struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	if ans.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, want a vector", q, ans.ResultType)
	}
	out := map[string]float64{}
	for _, smp := range ans.Result {
		if len(smp.Value) != 2 {
			return nil, fmt.Errorf("query %s: malformed sample", q)
		}
		str, _ := smp.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q, err)
		}
		out[smp.Metric["instance"]] = v
	}
	return out, nil
}

// FleetObservation is what a fleet run saw besides the load: the replicas,
// the faulted ones with their injection, revert and recovery, the
// notifications the receiver got and the canary gate's decision.
type FleetObservation struct {
	Instances     []string
	Faulted       []string
	Injected      map[string]time.Time // first injection per faulted instance
	Reverted      map[string]time.Time // last revert per faulted instance
	Recovered     map[string]time.Time // zero: never
	Notifications []reports.Notification
	Malformed     int
	Canary        *canary.Result
	CanaryErr     error
	CanaryAt      time.Time
	// Scrapes is each instance's scrape evidence, phase by phase, on the
	// Observation's ScrapeInterval; ScrapeJobs is the jobs of one instance.
	// An instance's alert verdict needs its own coverage: the fleet's can
	// hold with one replica never scraped.
	Scrapes    map[string]reports.Scrapes
	ScrapeJobs int
}

// instanceList renders instances for observed values.
func instanceList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// promScalar runs an instant query whose answer is one number (a vector
// of one sample or a scalar); an empty vector is an error.
func promScalar(ctx context.Context, s *promserver.Server, q string, at time.Time) (float64, error) {
	data, err := s.Query(ctx, q, at)
	if err != nil {
		return 0, err
	}
	var ans struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return 0, fmt.Errorf("query %s: %w", q, err)
	}
	var pair []any
	switch ans.ResultType {
	case "scalar":
		if err := json.Unmarshal(ans.Result, &pair); err != nil {
			return 0, fmt.Errorf("query %s: %w", q, err)
		}
	case "vector":
		var vec []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(ans.Result, &vec); err != nil {
			return 0, fmt.Errorf("query %s: %w", q, err)
		}
		if len(vec) != 1 {
			return 0, fmt.Errorf("query %s: %d samples, want 1", q, len(vec))
		}
		pair = vec[0].Value
	default:
		return 0, fmt.Errorf("query %s: a %s, want a number", q, ans.ResultType)
	}
	if len(pair) != 2 {
		return 0, fmt.Errorf("query %s: malformed sample", q)
	}
	str, _ := pair[1].(string)
	return strconv.ParseFloat(str, 64)
}

// promAlertStates lists the alerts Prometheus holds pending or firing, as
// name{instance,window}=state, sorted.
func promAlertStates(ctx context.Context, s *promserver.Server) []string {
	data, err := s.Query(ctx, "ALERTS", time.Now())
	if err != nil {
		return []string{"unknown (" + err.Error() + ")"}
	}
	var ans struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	}
	if json.Unmarshal(data, &ans) != nil {
		return []string{"unknown"}
	}
	var out []string
	for _, r := range ans.Result {
		m := r.Metric
		out = append(out, m["alertname"]+labelSuffix(m)+"="+m["alertstate"])
	}
	sort.Strings(out)
	return out
}
