package harness

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// The fault schedule: every fault is injected at its offset from the end
// of the baseline and reverted at the end of its own duration, each on its
// own clock. Whatever is still injected when the schedule ends early
// (error, Ctrl-C, panic) is reverted by revertAll, and every injected
// fault is in the report with its revert.

// scheduled is one fault of the schedule.
type scheduled struct {
	spec scenario.FaultSpec
	// tgt and api are the gate the fault hits: the run's target, or in a
	// fleet one selected replica (instance names it).
	tgt      Target
	api      *gateapi.Client
	instance string
	f        fault.Fault
	rec      *reports.Fault
	revert   func(context.Context) error
	cpu      *cpuWindow // cpu-spike: the window's CPU
	probe    error      // Prober: the probe while injected
	active   bool
}

// event is an injection or a revert at an instant.
type event struct {
	at     time.Time
	revert bool
	s      *scheduled
}

// plan builds the faults (their parameters were validated when the
// scenario loaded; a failure here is a registry mismatch) and their events
// from zero.
func (r *runner) plan(zero time.Time) ([]*scheduled, []event, error) {
	var all []*scheduled
	var evs []event
	for i, fs := range r.spec.Faults {
		for _, h := range r.hitsOf(i) { // one fault value per gate it hits
			f, err := r.newFault(fs.Name, fs.Params)
			if err != nil {
				return nil, nil, fmt.Errorf("faults[%d]: %w", i, err)
			}
			s := &scheduled{spec: fs, f: f, tgt: h.tgt, api: h.api, instance: h.instance}
			all = append(all, s)
			start := zero.Add(fs.Offset.D())
			evs = append(evs, event{at: start, s: s}, event{at: start.Add(fs.Duration.D()), revert: true, s: s})
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
	return all, evs, nil
}

// hit is one gate a fault is injected into.
type hit struct {
	instance string // "" for the run's single target
	tgt      Target
	api      *gateapi.Client
}

// hitsOf returns the gates fault i hits: the run's target, or the
// replicas its selector picked.
func (r *runner) hitsOf(i int) []hit {
	if r.fl == nil {
		return []hit{{tgt: r.tgt, api: r.api}}
	}
	var out []hit
	for _, name := range r.fl.selected[i] {
		rep := r.fl.replicas[name]
		out = append(out, hit{instance: name, tgt: rep.tgt, api: rep.api})
	}
	return out
}

func (r *runner) newFault(name string, params map[string]string) (fault.Fault, error) {
	reg := r.opts.Faults
	if reg == nil {
		reg = fault.Registry
	}
	f, ok := reg[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", fault.ErrUnknown, name)
	}
	return f(params)
}

// runSchedule plays the events, sampling the target's CPU every 5 s while
// a fault is active. It returns when the last fault is reverted, or early
// with an error (the caller reverts what is left with revertAll).
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
			r.revertOne(ev.s)
			continue
		}
		if err := r.inject(ctx, ev.s); err != nil {
			return err
		}
	}
	return nil
}

// resourceEvery is how often the target's CPU is sampled during faults.
const resourceEvery = 5 * time.Second

var errInterrupted = errors.New("interrupted")

// inject starts one fault and records it at once, so an interrupted run's
// report still lists it.
func (r *runner) inject(ctx context.Context, s *scheduled) error {
	s.rec = &reports.Fault{Name: s.spec.Name, Instance: s.instance, Params: s.spec.Params, InjectedAt: time.Now().UTC()}
	if _, ok := s.f.(fault.Sampler); ok {
		s.cpu = startCPUWindow(ctx, s.tgt)
	}
	revert, err := s.f.Inject(ctx, s.tgt, fault.Env{Gate: s.api, Seed: r.spec.Seed, Duration: s.spec.Duration.D()})
	r.mu.Lock()
	r.faults = append(r.faults, s)
	r.mu.Unlock()
	if err != nil {
		s.rec.RevertErr = "not injected: " + err.Error()
		s.rec.RevertedAt = s.rec.InjectedAt
		return fmt.Errorf("inject %s: %w", s.spec.Name, err)
	}
	s.revert, s.active = revert, true
	if p, ok := s.f.(fault.Prober); ok {
		s.probe = p.Probe(ctx, s.tgt, true)
	}
	r.printf("gameday: %s: fault %s%s injected for %s", r.spec.Name, s.spec.Name, on(s.instance), s.spec.Duration.D())
	return nil
}

// revertOne ends one fault, with a fresh context (the run's may be gone),
// and collects its proof.
func (r *runner) revertOne(s *scheduled) {
	if !s.active {
		return
	}
	s.active = false
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.revert(ctx); err != nil {
		s.rec.RevertErr = err.Error()
	}
	s.rec.RevertedAt = time.Now().UTC()
	if sm, ok := s.f.(fault.Sampler); ok && s.cpu != nil {
		s.rec.Proof = cpuProof(ctx, s.tgt, s.cpu, sm.Requested(), s.tgt.AvailableCores())
	}
	if p, ok := s.f.(fault.Prober); ok {
		s.rec.Proof = writeProof(s.probe, p.Probe(ctx, s.tgt, false), true)
	}
	r.printf("gameday: %s: fault %s%s reverted%s", r.spec.Name, s.spec.Name, on(s.instance), suffix(s.rec.RevertErr))
}

// revertAll reverts every fault still injected: the exit path of every
// early return, error, panic and Ctrl-C.
func (r *runner) revertAll() {
	r.mu.Lock()
	faults := append([]*scheduled(nil), r.faults...)
	r.mu.Unlock()
	for _, s := range faults {
		r.revertOne(s)
	}
}

// faultRecords returns the report's faults, in injection order.
func (r *runner) faultRecords() []reports.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]reports.Fault, 0, len(r.faults))
	for _, s := range r.faults {
		out = append(out, *s.rec)
	}
	return out
}

// sampleResources records the target's CPU against what the active faults
// requested.
func (r *runner) sampleResources(ctx context.Context) {
	if r.tgt == nil { // a fleet: each replica's CPU is in its fault's proof
		return
	}
	v, err := r.tgt.CPUCores(ctx)
	if err != nil {
		return
	}
	req := 0.0
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.faults {
		if sm, ok := s.f.(fault.Sampler); ok && s.active {
			req += sm.Requested()
		}
	}
	r.rep.Resources = append(r.rep.Resources, reports.Resource{At: time.Now().UTC(), Source: sourceFor(r.tgt.Kind()),
		RequestedCores: req, TargetCores: v, HarnessCores: r.sampleCPU.cores()})
}

// on names the replica a fault hit, for progress lines.
func on(instance string) string {
	if instance == "" {
		return ""
	}
	return " on " + instance
}
