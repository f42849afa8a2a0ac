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
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/quannex/gameday/gate/build"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// Options configure Run.
type Options struct {
	Target         string // container or process (resolve auto first)
	Artifacts      Artifacts
	RulesFile      string
	ReportDir      string
	ScrapeInterval time.Duration // default 5s
	Progress       io.Writer     // progress lines; nil: none
	// GateEnv adds gate configuration variables (GATE_BREAKER_COOLDOWN,
	// GATE_SNAPSHOT_MAX_AGE, ...) to the target; tokens are the harness's.
	GateEnv map[string]string
}

// Target is what the runner needs from a started gate.
type Target interface {
	fault.Target
	Kind() string
	Describe() (image, imageID, id string, cpus float64)
	CPUCores(ctx context.Context) (float64, error)
	Stop(ctx context.Context) error
}

// Run executes one scenario and writes its report. The returned report is
// complete even when err is not nil (err is then a run failure, such as a
// target that would not start, also recorded in the report).
func Run(ctx context.Context, spec *scenario.Spec, opts Options) (*reports.Report, string, error) {
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = 5 * time.Second
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	r := &runner{spec: spec, opts: opts, out: opts.Progress}
	rep := r.run(ctx)
	path, werr := reports.Write(opts.ReportDir, spec.Name, rep)
	if werr != nil {
		return rep, "", werr
	}
	if rep.Error != "" {
		return rep, path, fmt.Errorf("%s: %s", spec.Name, rep.Error)
	}
	return rep, path, nil
}

type runner struct {
	spec *scenario.Spec
	opts Options
	out  io.Writer

	mu      sync.Mutex
	phase   string
	rep     *reports.Report
	scrapes reports.Scrapes
}

func (r *runner) setPhase(name string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.rep.Phases); n > 0 && r.rep.Phases[n-1].End.IsZero() {
		r.rep.Phases[n-1].End = at
	}
	r.phase = name
	if name != "" {
		r.rep.Phases = append(r.rep.Phases, reports.Phase{Name: name, Start: at})
	}
}

func (r *runner) printf(format string, a ...any) { fmt.Fprintf(r.out, format+"\n", a...) }

func (r *runner) run(ctx context.Context) (rep *reports.Report) {
	spec := r.spec
	specJSON, _ := json.Marshal(spec)
	started := time.Now().UTC()
	rep = &reports.Report{Scenario: specJSON, Seed: spec.Seed, StartedAt: started,
		Target: reports.Target{Kind: r.opts.Target}, Harness: reports.Harness{Version: build.Current().Version}}
	r.rep = rep
	var schedule time.Duration
	defer func() {
		if p := recover(); p != nil {
			rep.Error = fmt.Sprintf("harness panic: %v", p)
		}
		r.setPhase("", time.Now())
		rep.FinishedAt = time.Now().UTC()
		rep.WallSeconds = rep.FinishedAt.Sub(rep.StartedAt).Seconds()
		rep.ScheduleSeconds = schedule.Seconds()
		rep.Harness.OverheadSeconds = rep.WallSeconds - rep.ScheduleSeconds
		rep.Verdict = reports.Fail
		if rep.Passed() {
			rep.Verdict = reports.Pass
		}
	}()

	tokGameday, tokScraper, tokAdmin := newToken(), newToken(), newToken()
	env := map[string]string{}
	for k, v := range r.opts.GateEnv {
		env[k] = v
	}
	for k, v := range map[string]string{
		"METRICS_TOKENS":      "gameday:" + tokGameday + ",scraper:" + tokScraper,
		"METRICS_RATE_LIMITS": "gameday=1000/s,scraper=600/min,admin=600/min",
		"GATE_ADMIN_TOKEN":    tokAdmin,
	} {
		env[k] = v
	}
	topts := target.Options{GateBin: r.opts.Artifacts.GateBin, StressorBin: r.opts.Artifacts.StressorBin, Env: env, CPUs: spec.Target.CPUs}
	if r.opts.ReportDir != "" {
		os.MkdirAll(r.opts.ReportDir, 0o755)
		topts.LogFile = filepath.Join(r.opts.ReportDir, fmt.Sprintf("%s-%s.gate.log", spec.Name, started.Format("20060102T150405Z")))
	}

	r.printf("gameday: %s: starting the %s target", spec.Name, r.opts.Target)
	ev, err := alerts.New(ctx, alerts.Options{RulesFile: r.opts.RulesFile, Interval: r.opts.ScrapeInterval, Job: "quannex-gate", Instance: spec.Name})
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	defer ev.Close()
	known := map[string]bool{}
	for _, n := range ev.Names() {
		known[n] = true
	}
	for i, a := range spec.Expect.Alerts {
		if !known[a.Name] {
			rep.Error = fmt.Sprintf("scenario: expect.alerts[%d].name: %q is not an alert in %s", i, a.Name, r.opts.RulesFile)
			return rep
		}
	}

	var tgt Target
	switch r.opts.Target {
	case TargetContainer:
		tgt, err = target.StartContainer(ctx, topts)
	case TargetProcess:
		tgt, err = target.StartProcess(ctx, topts)
	default:
		err = fmt.Errorf("unknown target %q", r.opts.Target)
	}
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tgt.Stop(sctx); err != nil {
			r.printf("gameday: %s: stopping the target: %v", spec.Name, err)
		}
	}()
	img, imgID, id, cpus := tgt.Describe()
	rep.Target = reports.Target{Kind: tgt.Kind(), Image: img, ImageID: imgID, Container: id, CPULimit: cpus, URL: tgt.BaseURL(), Build: map[string]string{}}
	r.printf("gameday: %s: target %s at %s", spec.Name, tgt.Kind(), tgt.BaseURL())

	c := &client{base: tgt.BaseURL(), scraper: tokScraper, admin: tokAdmin}
	if err := c.e2ePass(ctx); err != nil {
		rep.Error = "record the starting e2e pass: " + err.Error()
		return rep
	}
	before, err := c.requestsTotal(ctx)
	if err != nil {
		rep.Error = "read the gate's request counter: " + err.Error()
		return rep
	}
	if b, err := c.buildInfo(ctx); err == nil {
		rep.Target.Build = b
	}

	// Everything from here is the scenario's own schedule.
	schedStart := time.Now()
	defer func() { schedule = time.Since(schedStart) }()
	maxRun := spec.MaxSchedule() + time.Minute
	loadCPU, sampleCPU := newCPUMeter(), newCPUMeter()
	gen := load.Start(tgt.BaseURL()+"/metrics", tokGameday, spec.Load.Rate, maxRun)
	defer gen.Stop()
	sctx, stopScrape := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopScrape(); wg.Wait() }()
	wg.Add(2)
	go func() { defer wg.Done(); r.scrapeLoop(sctx, c, ev) }()
	go func() { defer wg.Done(); r.progressLoop(sctx, gen, ev, tgt, schedStart) }()

	obs := Observation{BaselineStart: time.Now()}
	r.setPhase("baseline", obs.BaselineStart)
	if !sleep(ctx, spec.Baseline.Duration.D()) {
		rep.Error = "interrupted during the baseline"
		return rep
	}
	base := load.Summarise(gen.Records(), obs.BaselineStart, time.Now())
	if base.Requests == 0 || base.LiveRatio() < spec.Baseline.MinLiveRatio || count5xx(base) > 0 {
		obs.BaselineFailed = "steady state not met: faults not injected"
		obs.FaultStart, obs.FaultEnd, obs.AfterStart, obs.AfterEnd = time.Now(), time.Now(), time.Now(), time.Now()
		gen.Stop()
		obs.Records = gen.Records()
		rep.Checks = Checks(spec, obs)
		r.fillLoad(rep, obs)
		return rep
	}

	// Faults: each at its offset from the end of the baseline, reverted at
	// its end or on any exit from this function.
	faultZero := time.Now()
	obs.FaultStart = faultZero
	r.setPhase("fault", faultZero)
	type active struct {
		f      fault.Fault
		spec   scenario.FaultSpec
		revert func(context.Context) error
		rec    *reports.Fault
		done   bool
	}
	var actives []*active
	revertAll := func() {
		for _, a := range actives {
			if a.done || a.revert == nil {
				continue
			}
			a.done = true
			rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := a.revert(rctx); err != nil {
				a.rec.RevertErr = err.Error()
				obs.RevertErrors = append(obs.RevertErrors, a.spec.Name+": "+err.Error())
			}
			cancel()
			a.rec.RevertedAt = time.Now().UTC()
			r.printf("gameday: %s: fault %s reverted", spec.Name, a.spec.Name)
		}
	}
	defer revertAll() // every exit path: error, panic (re-raised after), Ctrl-C
	order := append([]scenario.FaultSpec(nil), spec.Faults...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Offset < order[j].Offset })
	var cpuDuring []float64
	for _, fs := range order {
		if !sleepUntil(ctx, faultZero.Add(fs.Offset.D())) {
			rep.Error = "interrupted before injecting " + fs.Name
			return rep
		}
		f, err := fault.New(fs.Name, fs.Params)
		if err != nil {
			rep.Error = err.Error()
			return rep
		}
		a := &active{f: f, spec: fs, rec: &reports.Fault{Name: fs.Name, Params: fs.Params, InjectedAt: time.Now().UTC()}}
		a.revert, err = f.Inject(ctx, tgt, fault.Env{AdminToken: tokAdmin, Seed: spec.Seed, Duration: fs.Duration.D()})
		if err != nil {
			rep.Error = "inject " + fs.Name + ": " + err.Error()
			return rep
		}
		actives = append(actives, a)
		r.printf("gameday: %s: fault %s injected for %s", spec.Name, fs.Name, fs.Duration.D())
	}
	tgt.CPUCores(ctx) // reset the CPU baseline to the fault start
	for _, a := range actives {
		end := faultZero.Add(a.spec.Offset.D() + a.spec.Duration.D())
		for time.Now().Before(end) {
			if !sleepUntil(ctx, minTime(end, time.Now().Add(5*time.Second))) {
				rep.Error = "interrupted during the fault"
				return rep
			}
			if v, err := tgt.CPUCores(ctx); err == nil {
				cpuDuring = append(cpuDuring, v)
				req := 0.0
				if s, ok := a.f.(fault.Sampler); ok {
					req = s.Requested()
				}
				r.mu.Lock()
				rep.Resources = append(rep.Resources, reports.Resource{At: time.Now().UTC(), Source: sourceFor(tgt.Kind()), RequestedCores: req, TargetCores: v, HarnessCores: sampleCPU.cores()})
				r.mu.Unlock()
			}
		}
	}
	revertAll()
	obs.FaultEnd = time.Now()
	for _, a := range actives {
		rep.Faults = append(rep.Faults, *a.rec)
		if s, ok := a.f.(fault.Sampler); ok {
			achieved := s.Achieved()
			if tgt.Kind() == TargetContainer {
				achieved = mean(cpuDuring) // the container's CPU: stressor plus gate
			}
			rep.Resources = append(rep.Resources, reports.Resource{At: time.Now().UTC(), Source: "fault-summary", RequestedCores: s.Requested(), AchievedCores: achieved})
		}
	}

	// Recovery: until the live ratio of the last 10s is back, and the
	// expected alerts have resolved, within their bounds.
	r.setPhase("recovery", obs.FaultEnd)
	waitUntil := obs.FaultEnd.Add(spec.Expect.Recovery.Within.D())
	for _, a := range spec.Expect.Alerts {
		waitUntil = maxTime(waitUntil, obs.FaultEnd.Add(a.ResolveWithin.D()))
	}
	minRatio := spec.Expect.Recovery.MinLiveRatio
	if minRatio == 0 {
		minRatio = spec.After.MinLiveRatio
	}
	for time.Now().Before(waitUntil) {
		now := time.Now()
		if obs.RecoveredAt.IsZero() {
			if at, ok := RecoveredAt(gen.Records(), obs.FaultEnd, now, minRatio); ok {
				obs.RecoveredAt = at
				r.printf("gameday: %s: live ratio back to %.0f%% %.1fs after the revert", spec.Name, minRatio*100, at.Sub(obs.FaultEnd).Seconds())
			}
		}
		if !obs.RecoveredAt.IsZero() && alertsSettled(ev, spec) {
			break
		}
		if !sleep(ctx, time.Second) {
			rep.Error = "interrupted during recovery"
			return rep
		}
	}

	obs.AfterStart = time.Now()
	r.setPhase("after", obs.AfterStart)
	if !sleep(ctx, spec.After.Duration.D()) {
		rep.Error = "interrupted during the steady state after"
		return rep
	}
	obs.AfterEnd = time.Now()
	harnessCPU := loadCPU.cores()
	gen.Stop()
	stopScrape()
	wg.Wait()
	r.setPhase("", time.Now())

	if after, err := c.requestsTotal(ctx); err == nil {
		obs.GateRequests, obs.GateCountOK = after-before, true
	}
	obs.Records = gen.Records()
	if !obs.RecoveredAt.IsZero() {
		rec := obs.RecoveredAt.Sub(obs.FaultEnd).Seconds()
		rep.RecoverySeconds = &rec
	}
	obs.Alerts = ev.Timeline()
	rep.Alerts = obs.Alerts
	rep.Harness.CPUCores = harnessCPU
	r.mu.Lock()
	rep.Harness.Scrapes = r.scrapes
	r.mu.Unlock()
	r.fillLoad(rep, obs)
	rep.Checks = Checks(spec, obs)
	return rep
}

func alertsSettled(ev *alerts.Evaluator, spec *scenario.Spec) bool {
	st := ev.States()
	for _, a := range spec.Expect.Alerts {
		if st[a.Name] != alerts.StateInactive {
			return false
		}
	}
	for _, a := range ev.Timeline() {
		if a.FiringAt != nil && a.ResolvedAt == nil {
			return false
		}
	}
	return true
}

// fillLoad writes the load summary and the live-ratio series.
func (r *runner) fillLoad(rep *reports.Report, o Observation) {
	all := load.Summarise(o.Records, time.Time{}, farFuture)
	l := reports.Load{Requests: all.Requests, RequestedRate: float64(r.spec.Load.Rate), Codes: map[string]int{}, Errors: map[string]int{}, Sources: map[string]int{}}
	for c, n := range all.Codes {
		l.Codes[fmt.Sprint(c)] = n
	}
	for _, rec := range o.Records {
		if rec.Err != "" {
			l.Errors[shortErr(rec.Err)]++
		}
		src := rec.Source
		if src == "" {
			src = "none"
		}
		l.Sources[src]++
		if rec.SHAFailed {
			l.LiveSHAFailed++
		}
		if rec.Latency > 200*time.Millisecond {
			l.Over200ms++
		}
		if rec.Source == "snapshot" && !rec.Warning {
			l.SnapshotNoWarn++
		}
	}
	if n := len(o.Records); n > 1 {
		span := o.Records[n-1].At.Sub(o.Records[0].At).Seconds()
		if span > 0 {
			l.Rate = float64(n-1) / span
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs = ms(all.Quantile(0.5)), ms(all.Quantile(0.95)), ms(all.Quantile(0.99)), ms(all.Quantile(1))
	if !o.FaultStart.IsZero() && o.FaultEnd.After(o.FaultStart) {
		d := load.Summarise(o.Records, o.FaultStart, o.FaultEnd)
		l.DuringFault = &reports.Window{Requests: d.Requests, LiveRatio: d.LiveRatio(), P95Ms: ms(d.Quantile(0.95)),
			Rate: float64(d.Requests) / o.FaultEnd.Sub(o.FaultStart).Seconds()}
	}
	rep.Load = l
	if len(o.Records) > 0 {
		start := o.Records[0].At.Truncate(5 * time.Second)
		for t := start; !t.After(o.Records[len(o.Records)-1].At); t = t.Add(5 * time.Second) {
			w := load.Summarise(o.Records, t, t.Add(5*time.Second))
			rep.LiveRatio = append(rep.LiveRatio, reports.RatioPoint{At: t.UTC(), Live: w.Live, Snapshot: w.Snapshot, Other: w.Other, Ratio: w.LiveRatio()})
		}
	}
}

func shortErr(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

// scrapeLoop scrapes /metrics/self every interval into the evaluator and
// evaluates the rules; it returns when ctx ends.
func (r *runner) scrapeLoop(ctx context.Context, c *client, ev *alerts.Evaluator) {
	t := time.NewTicker(r.opts.ScrapeInterval)
	defer t.Stop()
	for {
		now := time.Now()
		body, ctype, err := c.self(ctx)
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		if err != nil {
			body = nil
			r.scrapes.Failed++
		} else {
			r.scrapes.OK++
		}
		r.mu.Unlock()
		if err := ev.Ingest(body, ctype, now); err == nil {
			for _, tr := range ev.Eval(ctx, now) {
				r.printf("gameday: %s: alert %s %s -> %s", r.spec.Name, tr.Alert, tr.From, tr.To)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// progressLoop prints a line every 5 seconds until ctx ends.
func (r *runner) progressLoop(ctx context.Context, gen *load.Generator, ev *alerts.Evaluator, tgt Target, start time.Time) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		w := load.Summarise(gen.Records(), now.Add(-5*time.Second), now)
		var states []string
		for name, st := range ev.States() {
			if st != alerts.StateInactive {
				states = append(states, name+"="+st)
			}
		}
		sort.Strings(states)
		if len(states) == 0 {
			states = []string{"none"}
		}
		r.mu.Lock()
		phase := r.phase
		r.mu.Unlock()
		r.printf("[%s] %-8s rate %5.1f/s  live %5.1f%%  p95 %4dms  codes %-12s alerts %s",
			elapsed(now.Sub(start)), phase, float64(w.Requests)/5, w.LiveRatio()*100, w.Quantile(0.95).Milliseconds(), codes(w.Codes), strings.Join(states, ","))
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func sleepUntil(ctx context.Context, at time.Time) bool { return sleep(ctx, time.Until(at)) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func sourceFor(kind string) string {
	if kind == TargetContainer {
		return "docker-stats"
	}
	return "gopsutil"
}

// cpuMeter measures the harness process's CPU use, in cores, between
// calls (gopsutil).
type cpuMeter struct {
	at  time.Time
	cpu float64
}

func newCPUMeter() *cpuMeter {
	m := &cpuMeter{}
	m.cores()
	return m
}

func (m *cpuMeter) cores() float64 {
	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		return 0
	}
	t, err := p.Times()
	if err != nil {
		return 0
	}
	now, cpu := time.Now(), t.User+t.System
	var v float64
	if !m.at.IsZero() {
		v = (cpu - m.cpu) / now.Sub(m.at).Seconds()
	}
	m.at, m.cpu = now, cpu
	return v
}

// client talks to the gate for the harness itself (not the load).
type client struct {
	base, scraper, admin string
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func (c *client) self(ctx context.Context) ([]byte, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics/self", nil)
	req.Header.Set("Authorization", "Bearer "+c.scraper)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET /metrics/self: %s", resp.Status)
	}
	return b, resp.Header.Get("Content-Type"), nil
}

func (c *client) e2ePass(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/e2e/pass", nil)
	req.Header.Set("Authorization", "Bearer "+c.admin)
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /e2e/pass: %s", resp.Status)
	}
	return nil
}

// requestsTotal reads sum(quannex_metrics_requests_total) from /metrics/self.
func (c *client) requestsTotal(ctx context.Context) (float64, error) {
	return c.sum(ctx, "quannex_metrics_requests_total")
}

func (c *client) sum(ctx context.Context, name string) (float64, error) {
	body, ctype, err := c.self(ctx)
	if err != nil {
		return 0, err
	}
	vec, err := integrity.Samples(body, ctype)
	if err != nil {
		return 0, err
	}
	return integrity.Sum(vec, name), nil
}

func (c *client) buildInfo(ctx context.Context) (map[string]string, error) {
	body, ctype, err := c.self(ctx)
	if err != nil {
		return nil, err
	}
	vec, err := integrity.Samples(body, ctype)
	if err != nil {
		return nil, err
	}
	for _, s := range vec {
		if string(s.Metric["__name__"]) == "quannex_build_info" {
			out := map[string]string{}
			for k, v := range s.Metric {
				if k != "__name__" {
					out[string(k)] = string(v)
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no quannex_build_info")
}

// RecoveryWindow is how long the live ratio must hold for the gate to count
// as recovered.
const RecoveryWindow = 10 * time.Second

// RecoveredAt finds the first live response after from that starts a
// RecoveryWindow (ending by now) whose live ratio is at least min.
func RecoveredAt(rs []load.Record, from, now time.Time, min float64) (time.Time, bool) {
	for _, r := range rs {
		if r.At.Before(from) || r.Source != "live" {
			continue
		}
		if r.At.Add(RecoveryWindow).After(now) {
			return time.Time{}, false
		}
		if w := load.Summarise(rs, r.At, r.At.Add(RecoveryWindow)); w.LiveRatio() >= min {
			return r.At, true
		}
	}
	return time.Time{}, false
}
