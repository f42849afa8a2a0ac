package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/reports"
)

// setPhase closes the open phase at at and opens name ("" opens none).
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

// baseline checks the steady-state hypothesis before any fault: a live
// ratio at the baseline minimum and no 5xx. When it does not hold, no
// fault is injected and obs.BaselineFailed says why.
func (r *runner) baseline(ctx context.Context) error {
	r.obs.BaselineStart = time.Now()
	r.setPhase("baseline", r.obs.BaselineStart)
	t := time.NewTimer(r.spec.Baseline.Duration.D())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted during the baseline")
	case <-r.breached: // a stop condition breached before any fault: the pre-flight says so
	case <-t.C:
	}
	if err := r.preflight(ctx); err != nil {
		return err
	}
	base := load.Summarise(r.gen.Records(), r.obs.BaselineStart, time.Now())
	if base.Requests == 0 || base.LiveRatio() < r.spec.Baseline.MinLiveRatio || count5xx(base) > 0 {
		now := time.Now()
		r.obs.BaselineFailed = "steady state not met: faults not injected"
		r.obs.FaultStart, r.obs.FaultEnd, r.obs.AfterStart, r.obs.AfterEnd = now, now, now, now
	}
	return nil
}

// faultPhase runs the fault schedule (schedule.go): each fault injected at
// its offset and reverted at the end of its own duration. As the faults
// end, the canary gate decides, where the scenario expects a decision.
func (r *runner) faultPhase(ctx context.Context) error {
	zero := time.Now()
	evs, err := r.plan(zero)
	if err != nil {
		return err
	}
	r.obs.FaultStart = zero
	r.setPhase("fault", zero)
	if one := r.single(); one != nil {
		one.host.CPUCores(ctx) // start the CPU samples at the fault
	}
	// The schedule runs on its own context: a breach cancels it, and no
	// fault is injected after the breach.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	r.cancelSchedule = cancel
	r.mu.Unlock()
	if r.aborted() {
		cancel()
	}
	r.allowSnapshots(zero, time.Time{})
	if err := r.runSchedule(sctx, evs); err != nil {
		switch {
		case ctx.Err() == nil && r.aborted():
			// The brake stopped the schedule and reverts every fault;
			// wait for its reverts (a fault whose injection was in
			// flight reverted itself as it landed).
			if !r.hooks.SkipRevertOnStop {
				r.revertAll()
			}
			r.closeAbort()
			r.sweep()
			r.notifyAbort()
		case err == errInterrupted:
			return fmt.Errorf("interrupted during the fault")
		default:
			return err
		}
	}
	r.obs.FaultEnd = time.Now()
	r.allowSnapshots(zero, r.obs.FaultEnd.Add(r.spec.Expect.Recovery.Within.D()))
	r.judgeCanary(ctx)
	return nil
}

// single is the run's one gate when it has one unnamed gate (a container,
// a process, a url target), whose CPU the resource samples measure; nil
// for a fleet, whose replicas' CPU is in their faults' proofs.
func (r *runner) single() *instance {
	if len(r.ins) == 1 && r.ins[0].name == "" {
		return r.ins[0]
	}
	return nil
}

// judgeCanary runs the rollout's canary gate against the Prometheus the
// run's alerts come from, when the scenario expects a decision.
func (r *runner) judgeCanary(ctx context.Context) {
	c := r.spec.Expect.Canary
	if c == nil {
		return
	}
	r.canary.at = time.Now()
	p, ok := r.src.(interface{ prometheusURL() string })
	if !ok {
		r.canary.err = fmt.Errorf("no Prometheus: the run's alerts are evaluated in-process")
		return
	}
	o := canary.Options{Prometheus: p.prometheusURL(),
		Stable: fmt.Sprintf(`job=%q,track="stable"`, selfJob), Canary: fmt.Sprintf(`job=%q,track="canary"`, selfJob),
		Window: c.Window.D(), MaxDelta: c.MaxDelta, MinRequests: c.MinRequests, Timeout: 10 * time.Second}
	r.canary.res, r.canary.err = canary.Evaluate(ctx, o)
	if r.canary.err == nil {
		r.say("canary gate: %s (%s)", r.canary.res.Decision, r.canary.res.Reason)
	}
}

// recovery waits until the live ratio is back (of every faulted replica,
// each after its own revert, in a fleet; of the run's load otherwise) and
// the alerts have settled, within the scenario's bounds.
func (r *runner) recovery(ctx context.Context) error {
	defer r.endBrake() // the stop conditions are watched to the end of recovery
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
	faulted := r.faultedReplicas()
	injected := map[string]time.Time{}
	for _, in := range faulted {
		injected[in.name] = r.injectionOf(in.name)
	}
	for time.Now().Before(waitUntil) {
		rs := r.gen.Records()
		back := r.loadBack(rs, end, minRatio, len(faulted) == 0)
		if len(faulted) > 0 {
			back = r.replicasBack(rs, faulted, minRatio)
		}
		if back && r.src.settled(ctx, injected) {
			break
		}
		if !sleep(ctx, time.Second) {
			return fmt.Errorf("interrupted during recovery")
		}
	}
	return nil
}

// loadBack records when the live ratio of the whole load came back after
// the last revert (the report's recovery figure) and reports whether it
// has; say prints it, for a run without replicas of its own to name.
func (r *runner) loadBack(rs []load.Record, end time.Time, minRatio float64, say bool) bool {
	if r.obs.recoveredAt.IsZero() {
		if at, ok := recoveredAt(rs, end, time.Now(), minRatio); ok {
			r.obs.recoveredAt = at
			if say {
				r.say("live ratio back to %.0f%% %.1fs after the revert", minRatio*100, at.Sub(end).Seconds())
			}
		}
	}
	return !r.obs.recoveredAt.IsZero()
}

// replicasBack records each faulted replica's recovery after its own
// revert and reports whether every one is back.
func (r *runner) replicasBack(rs []load.Record, faulted []*instance, minRatio float64) bool {
	by := load.ByInstance(rs)
	all := true
	for _, in := range faulted {
		if in.recoveredAt.IsZero() {
			rev := r.revertOf(in.name)
			if at, ok := recoveredAt(by[in.name], rev, time.Now(), minRatio); ok {
				in.recoveredAt = at
				r.say("%s live ratio back to %.0f%% %.1fs after its revert", in.name, minRatio*100, at.Sub(rev).Seconds())
			}
		}
		all = all && !in.recoveredAt.IsZero()
	}
	return all
}

// after holds the steady state again.
func (r *runner) after(ctx context.Context) error {
	r.obs.AfterStart = time.Now()
	r.setPhase("after", r.obs.AfterStart)
	if !sleep(ctx, r.spec.After.Duration.D()) {
		return fmt.Errorf("interrupted during the steady state after")
	}
	r.obs.AfterEnd = time.Now()
	return nil
}

// recoveryWindow is how long the live ratio must hold for the gate to count
// as recovered.
const recoveryWindow = 10 * time.Second

// recoveredAt finds the first live response after from that starts a
// recoveryWindow (ending by now) whose live ratio is at least min.
func recoveredAt(rs []load.Record, from, now time.Time, min float64) (time.Time, bool) {
	for _, r := range rs {
		if r.At.Before(from) || r.Source != "live" {
			continue
		}
		if r.At.Add(recoveryWindow).After(now) {
			return time.Time{}, false
		}
		if w := load.Summarise(rs, r.At, r.At.Add(recoveryWindow)); w.LiveRatio() >= min {
			return r.At, true
		}
	}
	return time.Time{}, false
}
