package harness

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// The fault schedule: every fault is injected at its offset from the end
// of the baseline and reverted at the end of its own duration, each on its
// own clock, into every instance the topology says it hits. Whatever is
// still injected when the schedule ends early (error, Ctrl-C, panic) is
// reverted by revertAll, which the lifecycle runs first on every exit
// path, and every injected fault is in the report with its revert.

// injection is one fault injected into one instance.
type injection struct {
	spec   scenario.FaultSpec
	in     *instance
	f      fault.Fault
	rec    *reports.Fault
	revert func(context.Context) error
	cpu    *cpuWindow // cpu-spike: the window's CPU
	probe  error      // Prober: the probe while injected
	// active is true from the injection to the start of its revert;
	// reverted is closed once the revert completed (nil: the fault was
	// never injected). Both are guarded by the runner's mu.
	active   bool
	reverted chan struct{}
}

// event is an injection or a revert at an instant.
type event struct {
	at     time.Time
	revert bool
	inj    *injection
}

// plan builds the faults (their parameters were validated when the
// scenario loaded; a failure here is a registry mismatch) and their events
// from zero, one injection per instance each fault hits.
func (r *runner) plan(zero time.Time) ([]event, error) {
	var evs []event
	for i, fs := range r.spec.Faults {
		for _, in := range r.topo.hits(i) {
			f, err := r.buildFault(i, fs)
			if err != nil {
				return nil, fmt.Errorf("faults[%d]: %w", i, err)
			}
			inj := &injection{spec: fs, in: in, f: f}
			start := zero.Add(fs.Offset.D())
			evs = append(evs, event{at: start, inj: inj}, event{at: start.Add(fs.Duration.D()), revert: true, inj: inj})
		}
	}
	// In time order; at the same instant a revert goes before an injection,
	// so back-to-back faults do not overlap.
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].at.Equal(evs[j].at) {
			return evs[i].at.Before(evs[j].at)
		}
		return evs[i].revert && !evs[j].revert
	})
	return evs, nil
}

// chaosTopology is a topology that injects some faults itself (a kube
// target's Chaos Mesh objects); ok false: the registry's fault.
type chaosTopology interface {
	chaosFault(i int, fs scenario.FaultSpec) (f fault.Fault, ok bool, err error)
}

// buildFault is fault i: the topology's own, or the registry's.
func (r *runner) buildFault(i int, fs scenario.FaultSpec) (fault.Fault, error) {
	if ct, ok := r.topo.(chaosTopology); ok {
		if f, ok, err := ct.chaosFault(i, fs); ok || err != nil {
			return f, err
		}
	}
	return r.newFault(fs.Name, fs.Params)
}

// newFault builds a fault from the registry, or from the one a test seam
// supplies (seam.Hooks.Faults).
func (r *runner) newFault(name string, params map[string]string) (fault.Fault, error) {
	reg := r.hooks.Faults
	if reg == nil {
		reg = fault.Registry
	}
	f, ok := reg[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", fault.ErrUnknown, name)
	}
	return f(params)
}

// runSchedule plays the events, sampling the gate's CPU every
// resourceEvery while a fault is active. It returns when the last fault is
// reverted, or early with an error (revertAll reverts what is left).
func (r *runner) runSchedule(ctx context.Context, evs []event) error {
	for _, ev := range evs {
		for {
			next := minTime(ev.at, time.Now().Add(resourceEvery))
			if !sleepUntil(ctx, next) {
				return errInterrupted
			}
			if !time.Now().Before(ev.at) {
				break
			}
			r.sampleResources(ctx)
		}
		if ev.revert {
			r.revertOne(ev.inj)
			continue
		}
		if err := r.inject(ctx, ev.inj); err != nil {
			return err
		}
	}
	return nil
}

// scrapePath is the path the harness scrapes its gate through, when the
// scenario breaks it; nil otherwise (never a nil *scrapepath.Path in the
// interface).
func (r *runner) scrapePath() fault.ScrapePath {
	if s, ok := r.src.(*inProcess); ok && s.path != nil {
		return s.path
	}
	return nil
}

// resourceEvery is how often the gate's CPU is sampled during faults.
const resourceEvery = 5 * time.Second

var errInterrupted = errors.New("interrupted")

// notInjectedCondition is the stop condition a fault that never landed
// breaches: a chaos object not proved injected within its deadline.
var notInjectedCondition = &condition{name: "fault_not_injected", expr: "a fault's injection proof within its deadline"}

// inject starts one fault and records it at once, so an interrupted run's
// report still lists it. A fault that lands after a breach (its injection
// was in flight when the brake stopped the run) is reverted at once.
func (r *runner) inject(ctx context.Context, inj *injection) error {
	inj.rec = &reports.Fault{Name: inj.spec.Name, Instance: inj.in.name, Params: inj.spec.Params, InjectedAt: time.Now().UTC()}
	if _, ok := inj.f.(fault.Sampler); ok {
		inj.cpu = startCPUWindow(ctx, inj.in.host)
	}
	revert, err := inj.f.Inject(ctx, inj.in.host, fault.Env{Gate: inj.in.api, ScrapePath: r.scrapePath(), Seed: r.spec.Seed, Duration: inj.spec.Duration.D()})
	if err == nil {
		if p, ok := inj.f.(fault.Prober); ok {
			inj.probe = p.Probe(ctx, inj.in.host, true)
		}
	}
	var notLanded *fault.NotLandedError
	landed := err == nil || (errors.As(err, &notLanded) && revert != nil)
	r.mu.Lock()
	r.faults = append(r.faults, inj)
	if cr, ok := inj.f.(fault.ChaosRecorder); ok {
		inj.rec.Chaos = cr.Chaos()
	}
	if landed {
		inj.revert, inj.active, inj.reverted = revert, true, make(chan struct{})
	} else {
		inj.rec.RevertErr = "not injected: " + err.Error()
		inj.rec.RevertedAt = inj.rec.InjectedAt
	}
	r.mu.Unlock()
	if notLanded != nil && landed {
		// Started but never proved: revert it (and every other fault) and
		// end the run aborted, as a breached stop condition does.
		r.say("fault %s%s %v", inj.spec.Name, on(inj.in.name), err)
		r.stopRun(breach{cond: notInjectedCondition, reason: fmt.Sprintf("faults: %s %v", inj.spec.Name, err), at: time.Now()})
		return nil
	}
	if err != nil {
		return fmt.Errorf("inject %s: %w", inj.spec.Name, err)
	}
	r.say("fault %s%s injected for %s", inj.spec.Name, on(inj.in.name), inj.spec.Duration.D())
	if r.aborted() && !r.hooks.SkipRevertOnStop {
		r.revertOne(inj)
		r.closeAbort()
	}
	return nil
}

// revertOne ends one fault, with a fresh context (the run's may be gone),
// and collects its proof. Called from the schedule, the brake and the
// lifecycle, it reverts once; a second caller waits for the first's
// revert to complete.
func (r *runner) revertOne(inj *injection) {
	r.mu.Lock()
	done := inj.reverted
	first := inj.active
	inj.active = false
	r.mu.Unlock()
	if done == nil {
		return // never injected
	}
	if !first {
		<-done
		return
	}
	defer close(done)
	budget := 30 * time.Second
	if b, ok := inj.f.(revertBudgeter); ok {
		budget = b.RevertBudget()
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	err := inj.revert(ctx)
	at := time.Now().UTC()
	var proof *reports.Proof
	if sm, ok := inj.f.(fault.Sampler); ok && inj.cpu != nil {
		proof = cpuProof(ctx, inj.in.host, inj.cpu, sm.Requested(), inj.in.host.AvailableCores())
	}
	if p, ok := inj.f.(fault.Prober); ok {
		proof = writeProof(inj.probe, p.Probe(ctx, inj.in.host, false), true)
	}
	if sp, ok := inj.f.(fault.SelfProver); ok {
		proof = sp.Proof()
	}
	var kills []reports.Kill
	if kr, ok := inj.f.(fault.KillRecorder); ok {
		kills = kr.Kills()
	}
	var calls *reports.AdminCalls
	if ac, ok := inj.f.(fault.AdminCaller); ok {
		calls = ac.AdminCalls()
	}
	var ch *reports.Chaos
	if cr, ok := inj.f.(fault.ChaosRecorder); ok {
		ch = cr.Chaos()
	}
	r.mu.Lock()
	inj.rec.Kills, inj.rec.AdminCalls, inj.rec.Chaos = kills, calls, ch
	if err != nil {
		inj.rec.RevertErr = err.Error()
	}
	inj.rec.RevertedAt = at
	if proof != nil {
		inj.rec.Proof = proof
	}
	msg := suffix(inj.rec.RevertErr)
	r.mu.Unlock()
	r.say("fault %s%s reverted%s", inj.spec.Name, on(inj.in.name), msg)
}

// revertBudgeter is a fault whose revert takes longer than the usual 30 s
// (a chaos object waits for Chaos Mesh's recovery).
type revertBudgeter interface{ RevertBudget() time.Duration }

// revertAll reverts every fault still injected: the exit path of every
// early return, error, panic and Ctrl-C.
func (r *runner) revertAll() {
	r.mu.Lock()
	faults := append([]*injection(nil), r.faults...)
	r.mu.Unlock()
	for _, inj := range faults {
		r.revertOne(inj)
	}
}

// faultRecords returns the report's faults, in injection order.
func (r *runner) faultRecords() []reports.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]reports.Fault, 0, len(r.faults))
	for _, inj := range r.faults {
		out = append(out, *inj.rec)
	}
	return out
}

// faultedReplicas are the named instances (a fleet's replicas) any fault
// of the scenario hits, sorted by name.
func (r *runner) faultedReplicas() []*instance {
	seen := map[string]*instance{}
	for i := range r.spec.Faults {
		for _, in := range r.topo.hits(i) {
			if in.name != "" {
				seen[in.name] = in
			}
		}
	}
	out := make([]*instance, 0, len(seen))
	for _, in := range seen {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// injectionOf is the first injection into the named instance; revertOf
// its last revert (the fault window's start and end when none is
// recorded).
func (r *runner) injectionOf(name string) time.Time {
	var at time.Time
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inj := range r.faults {
		if inj.in.name == name && inj.rec != nil && (at.IsZero() || inj.rec.InjectedAt.Before(at)) {
			at = inj.rec.InjectedAt
		}
	}
	if at.IsZero() {
		return r.obs.FaultStart
	}
	return at
}

func (r *runner) revertOf(name string) time.Time {
	var at time.Time
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inj := range r.faults {
		if inj.in.name == name && inj.rec != nil && inj.rec.RevertedAt.After(at) {
			at = inj.rec.RevertedAt
		}
	}
	if at.IsZero() {
		return r.obs.FaultEnd
	}
	return at
}

// sampleResources records the run's one gate's CPU against what the
// active faults requested (a fleet's replicas' CPU is in their proofs).
func (r *runner) sampleResources(ctx context.Context) {
	one := r.single()
	if one == nil {
		return
	}
	v, err := one.host.CPUCores(ctx)
	if err != nil {
		return
	}
	req := 0.0
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inj := range r.faults {
		if sm, ok := inj.f.(fault.Sampler); ok && inj.active {
			req += sm.Requested()
		}
	}
	r.rep.Resources = append(r.rep.Resources, reports.Resource{At: time.Now().UTC(), Source: cpuSource(one.host.Kind()),
		RequestedCores: req, TargetCores: v, HarnessCores: r.sampleCPU.cores()})
}

// on names the replica a fault hit, for progress lines.
func on(instance string) string {
	if instance == "" {
		return ""
	}
	return " on " + instance
}
