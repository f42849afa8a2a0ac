package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quannex/gameday/gate/build"
	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/internal/seam"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// runner is one run. The phases are its methods, in the order run calls
// them: setup (setup.go), baseline, the faults (schedule.go), recovery and
// after (phases.go), then assemble and finish (assemble.go). They are
// written once, over the run's topology and alert source.
type runner struct {
	spec  *scenario.Spec
	opts  Options
	hooks *seam.Hooks
	out   io.Writer
	outMu sync.Mutex // serialises writes to out

	// Set by setup.
	mon  *monitoring
	tok  tokens
	topo topology
	src  alertSource
	ins  []*instance
	life lifecycle // what started, stopped in reverse order

	// Set by startLoad.
	gen                *load.Generator
	loadCPU, sampleCPU *cpuMeter
	stopLoad           func(context.Context) error

	obs       observation
	assembled bool // assemble ran: the early-exit evidence is not needed
	canary    canaryOutcome

	mu     sync.Mutex // guards what the background loops share
	phase  string
	rep    *reports.Report
	faults []*injection

	// The brake (brake.go): the stop conditions and what they saw, whether
	// they are watched, the stretch in which the scenario expects
	// snapshots, the schedule's cancel, and breached, closed at the breach.
	stops                         []*condition
	braking                       atomic.Bool
	snapshotsFrom, snapshotsUntil time.Time
	cancelSchedule                context.CancelFunc
	breached                      chan struct{}
	preflightErr                  *PreflightError // what stopped the run before its first fault
}

// canaryOutcome is the canary gate's decision, taken as the faults end.
type canaryOutcome struct {
	res *canary.Result
	at  time.Time
	err error
}

// newRunner opens the run's report.
func newRunner(ctx context.Context, spec *scenario.Spec, opts Options) *runner {
	specJSON, _ := json.Marshal(spec)
	return &runner{spec: spec, opts: opts, hooks: seam.From(ctx), out: opts.Progress, breached: make(chan struct{}),
		rep: &reports.Report{Scenario: specJSON, Seed: spec.Seed, StartedAt: time.Now().UTC(),
			Target: reports.Target{Kind: opts.Target}, Harness: reports.Harness{Version: build.Current().Version}}}
}

// run plays the phases. Every exit path — error, interruption, panic —
// stops what started in reverse order (the faults first, reverted on a
// live gate; then the load, the monitoring, the gates) and goes through
// finish, which records every injected fault and the verdict. The report
// is returned on every path (the result is named so that a recovered
// panic returns it, not nil).
func (r *runner) run(ctx context.Context) (rep *reports.Report) {
	var schedStart time.Time
	defer func() {
		if p := recover(); p != nil {
			r.mu.Lock()
			r.rep.Error = fmt.Sprintf("harness panic: %v", p)
			r.mu.Unlock()
		}
		r.finish(schedStart)
		rep = r.rep
	}()
	defer r.life.stopAll(r.say) // runs before the recover above, panic or not
	if err := r.setup(ctx); err != nil {
		r.fail(err.Error())
		return r.rep
	}
	schedStart = time.Now()
	r.startLoad(ctx)
	if err := r.baseline(ctx); err != nil {
		r.fail(err.Error())
		return r.rep
	}
	if r.obs.BaselineFailed != "" {
		r.endBrake()
	} else {
		for _, phase := range []func(context.Context) error{r.faultPhase, r.recovery, r.after} {
			if err := phase(ctx); err != nil {
				r.fail(err.Error())
				return r.rep
			}
		}
	}
	r.assemble(ctx)
	return r.rep
}

// printf writes one progress line. The progress loop and the phases both
// print, and Options.Progress need not be safe for concurrent writes.
func (r *runner) printf(format string, a ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.out, format+"\n", a...)
}

// say writes a progress line about the scenario.
func (r *runner) say(format string, a ...any) {
	r.printf("gameday: %s: "+format, append([]any{r.spec.Name}, a...)...)
}

// fail records a run error once, from any goroutine of the run; the
// first one is the report's.
func (r *runner) fail(msg string) {
	r.mu.Lock()
	first := r.rep.Error == ""
	if first {
		r.rep.Error = msg
	}
	r.mu.Unlock()
	if first {
		r.say("%s", msg)
	}
}

// startLoad starts the load over every instance, the alert source's
// watch and the progress loop; the load stops by itself after the longest
// schedule and a minute. It pushes the load's stop and then the faults'
// revert on the lifecycle, so an early exit reverts the faults first, on a
// gate still under load.
func (r *runner) startLoad(ctx context.Context) {
	maxRun := r.spec.MaxSchedule() + time.Minute
	r.loadCPU, r.sampleCPU = newCPUMeter(), newCPUMeter()
	eps := make([]load.Endpoint, 0, len(r.ins))
	for _, in := range r.ins {
		eps = append(eps, load.Endpoint{Name: in.name, URL: in.url + "/metrics"})
	}
	var opts []load.Option
	if len(r.ins) == 1 { // a fleet's replicas each have their own CA
		opts = append(opts, load.WithTLS(r.ins[0].host.TLSConfig()))
	}
	r.gen = load.StartMany(eps, r.tok.load, r.spec.Load.Rate, maxRun, opts...)
	bg, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.src.observe(bg) }()              // ends with bg
	go func() { defer wg.Done(); r.progressLoop(bg, time.Now()) }() // ends with bg
	r.startBrake(bg, &wg)
	r.stopLoad = once(func(context.Context) error {
		r.gen.Stop()
		cancel()
		wg.Wait()
		return nil
	})
	r.life.push("the load", r.stopLoad)
	r.life.push("the faults", noErr(r.revertAll))
}
