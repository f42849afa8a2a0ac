package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
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
	if !sleep(ctx, r.spec.Baseline.Duration.D()) {
		return fmt.Errorf("interrupted during the baseline")
	}
	base := load.Summarise(r.gen.Records(), r.obs.BaselineStart, time.Now())
	if base.Requests == 0 || base.LiveRatio() < r.spec.Baseline.MinLiveRatio || count5xx(base) > 0 {
		now := time.Now()
		r.obs.BaselineFailed = "steady state not met: faults not injected"
		r.obs.FaultStart, r.obs.FaultEnd, r.obs.AfterStart, r.obs.AfterEnd = now, now, now, now
	}
	return nil
}

// faultPhase runs the fault schedule: each fault injected at its offset
// and reverted at the end of its own duration.
func (r *runner) faultPhase(ctx context.Context) error {
	zero := time.Now()
	_, evs, err := r.plan(zero)
	if err != nil {
		return err
	}
	r.obs.FaultStart = zero
	r.setPhase("fault", zero)
	if r.tgt != nil {
		r.tgt.CPUCores(ctx) // start the CPU samples at the fault
	}
	if err := r.runSchedule(ctx, evs); err != nil {
		if err == errInterrupted {
			return fmt.Errorf("interrupted during the fault")
		}
		return err
	}
	r.obs.FaultEnd = time.Now()
	return nil
}

// recovery waits until the live ratio of a RecoveryWindow is back and the
// alerts have settled, within the scenario's bounds.
func (r *runner) recovery(ctx context.Context) error {
	spec := r.spec
	end := r.obs.FaultEnd
	r.setPhase("recovery", end)
	waitUntil := end.Add(spec.Expect.Recovery.Within.D())
	for _, a := range spec.Expect.Alerts {
		waitUntil = maxTime(waitUntil, end.Add(a.ResolveWithin.D()))
	}
	minRatio := spec.Expect.Recovery.MinLiveRatio
	if minRatio == 0 {
		minRatio = spec.After.MinLiveRatio
	}
	for time.Now().Before(waitUntil) {
		if r.obs.RecoveredAt.IsZero() {
			if at, ok := RecoveredAt(r.gen.Records(), end, time.Now(), minRatio); ok {
				r.obs.RecoveredAt = at
				r.printf("gameday: %s: live ratio back to %.0f%% %.1fs after the revert", spec.Name, minRatio*100, at.Sub(end).Seconds())
			}
		}
		if !r.obs.RecoveredAt.IsZero() && alertsSettled(r.ev, spec.Expect.Alerts) {
			break
		}
		if !sleep(ctx, time.Second) {
			return fmt.Errorf("interrupted during recovery")
		}
	}
	return nil
}

// after holds the steady state again, then stops the load and the loops.
func (r *runner) after(ctx context.Context) error {
	r.obs.AfterStart = time.Now()
	r.setPhase("after", r.obs.AfterStart)
	if !sleep(ctx, r.spec.After.Duration.D()) {
		return fmt.Errorf("interrupted during the steady state after")
	}
	r.obs.AfterEnd = time.Now()
	return nil
}

// alertsSettled: no alert is firing, and every expected one is inactive.
func alertsSettled(ev *alerts.Evaluator, expected []scenario.AlertExpect) bool {
	st := ev.States()
	for _, a := range expected {
		if st[a.Name] != alerts.StateInactive {
			return false
		}
	}
	for _, s := range st {
		if s == alerts.StateFiring {
			return false
		}
	}
	return true
}

// assemble stops the load, reads the gate's counter again, computes the
// proofs that need the whole load, and fills the report and its checks.
func (r *runner) assemble(ctx context.Context) {
	r.rep.Harness.CPUCores = r.loadCPU.cores()
	r.stopLoad()
	r.setPhase("", time.Now())
	o := &r.obs
	if after, err := r.c.requestsTotal(ctx); err == nil {
		o.GateRequests += after
		o.GateCountOK = true
	}
	o.Records = r.gen.Records()
	if !o.RecoveredAt.IsZero() {
		rec := o.RecoveredAt.Sub(o.FaultEnd).Seconds()
		r.rep.RecoverySeconds = &rec
	}
	for _, s := range r.faults {
		if sl, ok := s.f.(fault.Slower); ok && !s.rec.RevertedAt.IsZero() {
			s.rec.Proof = latencyProof(o.Records, o.BaselineStart, o.FaultStart, s.rec.InjectedAt, s.rec.RevertedAt, sl.MinAdded())
		}
	}
	o.Faults = r.faultRecords()
	o.Alerts = r.ev.Timeline()
	r.rep.Alerts = o.Alerts
	r.mu.Lock()
	r.rep.Harness.Scrapes = r.scrapes
	o.Scrapes = r.scrapes
	o.Phases = append([]reports.Phase(nil), r.rep.Phases...)
	r.mu.Unlock()
	o.ScrapeInterval, o.ScrapeJobs = r.opts.ScrapeInterval, r.jobs
	r.rep.Load = reports.SummariseLoad(o.Records, float64(r.spec.Load.Rate), o.FaultStart, o.FaultEnd)
	r.rep.LiveRatio = reports.LiveRatioSeries(o.Records)
	for _, f := range o.Faults {
		if f.Proof != nil && f.Proof.Unit == "cores" {
			r.rep.Resources = append(r.rep.Resources, reports.Resource{At: f.RevertedAt, Source: "fault-summary",
				RequestedCores: f.Proof.Requested, AchievedCores: f.Proof.Achieved})
		}
	}
	if ext := r.opts.External; ext != nil && ext.Prometheus != "" {
		r.fromPrometheus(ctx, o) // the verdict's alerts and their evidence are the deployment's (monitoring.go)
	}
	r.rep.Checks = Checks(r.spec, *o)
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
