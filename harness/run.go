package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// Options configure Run.
type Options struct {
	Target string // container, process or url (resolve auto first)
	// External is the deployment a url target runs against: the gate's
	// URL and tokens. Required with TargetURL, unused otherwise.
	External       *External
	Artifacts      Artifacts
	RulesFile      string
	ReportDir      string
	ScrapeInterval time.Duration // default 5s
	Progress       io.Writer     // progress lines; nil: none
	// GateEnv adds gate configuration variables (GATE_BREAKER_COOLDOWN,
	// GATE_SNAPSHOT_MAX_AGE, ...) to the target; tokens are the harness's.
	GateEnv map[string]string
	// Faults builds the scenario's faults by name; nil means
	// fault.Registry. Tests supply broken faults through it.
	Faults map[string]fault.Factory
	// OnTargetReady, when set, is called once the target is up and the
	// harness starts scraping it, so that an observer (a real Prometheus in
	// the differential test) can scrape the same gate; stop is called when
	// the harness stops scraping. See ReadyTarget.
	OnTargetReady func(ctx context.Context, t ReadyTarget) (stop func(), err error)
	// PrometheusBin and AlertmanagerBin are the servers a fleet run
	// starts; empty: prometheus and alertmanager (or
	// prometheus-alertmanager) on PATH.
	PrometheusBin, AlertmanagerBin string
	// AlertmanagerDrop routes these alert names to a receiver that
	// delivers nothing: a broken route, for the tests that prove the
	// delivery checks fail on it.
	AlertmanagerDrop []string
}

// Target is what the runner needs from a started gate.
type Target interface {
	fault.Target
	Kind() string
	Describe() (image, imageID, id string, cpus float64)
	// CPUCores is the target domain's CPU use, in cores, since the last call.
	CPUCores(ctx context.Context) (float64, error)
	// CPUTime is the target domain's cumulative CPU time at an instant.
	CPUTime(ctx context.Context) (time.Time, time.Duration, error)
	// TLSConfig is what the harness speaks to an https:// target with
	// (the run's CA and client certificate); nil: plain HTTP.
	TLSConfig() *tls.Config
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

// runner is one run: the phases are its methods, in the order run calls
// them — setup (setup.go), baseline, faults (schedule.go), recovery and
// after (phases.go), then the report (assemble).
type runner struct {
	spec *scenario.Spec
	opts Options
	out  io.Writer
	// outMu serialises writes to out.
	outMu sync.Mutex

	// Set by setup.
	tgt    Target
	ev     *alerts.Evaluator
	c      *client
	api    *gateapi.Client // the harness's own calls: e2e pass, faults, counters
	tokens tokens
	jobs   int // scrape jobs per interval

	// Set by startLoad.
	gen       *load.Generator
	loadCPU   *cpuMeter
	sampleCPU *cpuMeter
	stopBg    func() // stops the scrape and progress loops and waits

	obs Observation

	mu      sync.Mutex // guards what the scrape and progress loops share
	phase   string
	rep     *reports.Report
	scrapes reports.Scrapes
	faults  []*scheduled

	fl *fleetState // a fleet run's replicas and monitoring (fleet.go)
}

// printf writes one progress line. The progress loop and the phases both
// print, and Options.Progress need not be safe for concurrent writes.
func (r *runner) printf(format string, a ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.out, format+"\n", a...)
}

// run plays the phases. Every exit path — error, interruption, panic —
// goes through finish, which reverts what is still injected and records
// every injected fault. The report is returned on every path (the result
// is named so that a recovered panic returns it, not nil).
func (r *runner) run(ctx context.Context) (rep *reports.Report) {
	r.begin()
	if r.spec.Target.Kind == scenario.KindFleet {
		return r.runFleet(ctx)
	}
	var schedStart time.Time
	defer func() {
		if p := recover(); p != nil {
			r.rep.Error = fmt.Sprintf("harness panic: %v", p)
		}
		r.finish(schedStart)
		rep = r.rep
	}()
	defer r.teardown() // before setup: setup may fail or panic after the target started (the first e2e pass, the counter)
	if err := r.setup(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}

	schedStart = time.Now()
	r.startLoad(ctx)
	defer r.stopLoad()
	defer r.revertAll() // before the load stops and the target goes: an early exit's faults are reverted and probed on a live target
	if err := r.baseline(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	if r.obs.BaselineFailed != "" {
		r.assemble(ctx)
		return r.rep
	}
	if err := r.faultPhase(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	if err := r.recovery(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	if err := r.after(ctx); err != nil {
		r.rep.Error = err.Error()
		return r.rep
	}
	r.assemble(ctx)
	return r.rep
}
