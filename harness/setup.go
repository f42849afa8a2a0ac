package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/quannex/gameday/gate/build"
	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// tokens are the run's fresh bearer tokens; they never leave the run.
type tokens struct {
	load, scraper, admin string
}

// begin opens the report.
func (r *runner) begin() {
	spec := r.spec
	specJSON, _ := json.Marshal(spec)
	r.rep = &reports.Report{Scenario: specJSON, Seed: spec.Seed, StartedAt: time.Now().UTC(),
		Target: reports.Target{Kind: r.opts.Target}, Harness: reports.Harness{Version: build.Current().Version}}
}

// setup loads the rules, starts the target with fresh tokens (or, for a
// gate the harness did not start, takes the deployment's), records the
// starting e2e pass and reads the gate's request counter.
func (r *runner) setup(ctx context.Context) error {
	spec := r.spec
	if r.opts.Target == TargetURL {
		if err := r.opts.External.validate(spec); err != nil {
			return err
		}
		ext := r.opts.External
		r.tokens = tokens{load: ext.Token, scraper: ext.Token, admin: ext.AdminToken}
	} else {
		r.tokens = tokens{load: newToken(), scraper: newToken(), admin: newToken()}
	}
	topts := target.Options{GateBin: r.opts.Artifacts.GateBin, StressorBin: r.opts.Artifacts.StressorBin, Env: r.gateEnv(), CPUs: spec.Target.CPUs, TLS: spec.Target.TLS}
	if r.opts.ReportDir != "" {
		os.MkdirAll(r.opts.ReportDir, 0o755)
		topts.LogFile = filepath.Join(r.opts.ReportDir, fmt.Sprintf("%s-%s.gate.log", spec.Name, r.rep.StartedAt.Format("20060102T150405Z")))
	}

	if r.opts.Target != TargetURL {
		r.printf("gameday: %s: starting the %s target", spec.Name, r.opts.Target)
	}
	jobs, err := scrapeJobs(r.opts.RulesFile)
	if err != nil {
		return fmt.Errorf("scrape config: %w", err)
	}
	r.jobs = len(jobs)
	r.ev, err = alerts.New(ctx, alerts.Options{RulesFile: r.opts.RulesFile, Interval: r.opts.ScrapeInterval})
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, n := range r.ev.Names() {
		known[n] = true
	}
	for i, a := range spec.Expect.Alerts {
		if !known[a.Name] {
			return fmt.Errorf("scenario: expect.alerts[%d].name: %q is not an alert in %s", i, a.Name, r.opts.RulesFile)
		}
	}

	switch r.opts.Target {
	case TargetContainer:
		r.tgt, err = target.StartContainer(ctx, topts)
	case TargetProcess:
		r.tgt, err = target.StartProcess(ctx, topts)
	case TargetURL: // the deployment's gate: nothing to start, env and logs are its own
		r.tgt, err = target.NewRemote(r.opts.External.URL)
	default:
		err = fmt.Errorf("unknown target %q", r.opts.Target)
	}
	if err != nil {
		r.tgt = nil
		return err
	}
	img, imgID, id, cpus := r.tgt.Describe()
	r.rep.Target = reports.Target{Kind: r.tgt.Kind(), Image: img, ImageID: imgID, Container: id, CPULimit: cpus, URL: r.tgt.BaseURL(), Build: map[string]string{}}
	r.printf("gameday: %s: target %s at %s", spec.Name, r.tgt.Kind(), r.tgt.BaseURL())
	if ext := r.opts.External; r.opts.Target == TargetURL && ext.Prometheus != "" {
		r.rep.Target.Prometheus, r.rep.Target.Instance, r.rep.Target.Alertmanager = ext.Prometheus, ext.instance(), ext.Alertmanager
	}

	hc := newHTTPClient(r.tgt.TLSConfig())
	r.api = gateapi.New(r.tgt.BaseURL(), r.tokens.scraper, r.tokens.admin, gateapi.WithHTTPClient(hc))
	r.c = &client{api: r.api, base: r.tgt.BaseURL(), scraper: r.tokens.scraper}
	if r.tokens.admin == "" {
		r.printf("gameday: %s: no admin token: the starting e2e pass is not recorded", spec.Name)
	} else if err := r.api.E2EPass(ctx); err != nil {
		return fmt.Errorf("record the starting e2e pass: %w", err)
	}
	before, err := r.c.requestsTotal(ctx)
	if err != nil {
		return fmt.Errorf("read the gate's request counter: %w", err)
	}
	r.obs.GateRequests = -before
	if b, err := r.api.BuildInfo(ctx); err == nil {
		r.rep.Target.Build = b
	}
	return nil
}

// teardown stops the target and closes the evaluator.
func (r *runner) teardown() {
	if r.tgt != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.tgt.Stop(ctx); err != nil {
			r.printf("gameday: %s: stopping the target: %v", r.spec.Name, err)
		}
	}
}

// startLoad starts the load, the scrape loop and the progress loop.
func (r *runner) startLoad(ctx context.Context) {
	maxRun := r.spec.MaxSchedule() + time.Minute
	r.loadCPU, r.sampleCPU = newCPUMeter(), newCPUMeter()
	r.gen = load.Start(r.tgt.BaseURL()+"/metrics", r.tokens.load, r.spec.Load.Rate, maxRun, load.WithTLS(r.tgt.TLSConfig()))
	bg, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.scrapeLoop(bg, r.c, r.ev) }()    // ends with bg
	go func() { defer wg.Done(); r.progressLoop(bg, time.Now()) }() // ends with bg
	var once sync.Once
	r.stopBg = func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// stopLoad ends the load and the loops; safe to call twice.
func (r *runner) stopLoad() {
	if r.gen != nil {
		r.gen.Stop()
	}
	if r.stopBg != nil {
		r.stopBg()
	}
}

// finish closes the report on every exit path: it reverts what is still
// injected, records every injected fault, the timing and the verdict.
func (r *runner) finish(schedStart time.Time) {
	r.revertAll()
	r.setPhase("", time.Now())
	rep := r.rep
	rep.Faults = r.faultRecords()
	if r.ev != nil {
		if rep.Alerts == nil {
			rep.Alerts = r.ev.Timeline()
		}
		r.ev.Close()
	}
	rep.FinishedAt = time.Now().UTC()
	rep.WallSeconds = rep.FinishedAt.Sub(rep.StartedAt).Seconds()
	if !schedStart.IsZero() {
		rep.ScheduleSeconds = time.Since(schedStart).Seconds()
	}
	rep.Harness.OverheadSeconds = rep.WallSeconds - rep.ScheduleSeconds
	rep.Verdict = reports.Fail
	if rep.Passed() {
		rep.Verdict = reports.Pass
	}
	rep.Score, rep.ScoreBreakdown = reports.ScoreOf(rep.Checks, rep.Error)
}
