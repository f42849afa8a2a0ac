package harness

import (
	"context"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/reports"
)

// assemble stops the load, reads the gates' counters again, computes the
// proofs that need the whole load, reads the alert source's evidence and
// fills the report and its checks.
func (r *runner) assemble(ctx context.Context) {
	r.assembled = true
	r.rep.Harness.CPUCores = r.loadCPU.cores()
	r.stopLoad(ctx)
	r.setPhase("", time.Now())
	o := &r.obs
	o.GateCountOK = true
	for _, in := range r.ins {
		after, err := in.api.RequestsTotal(ctx)
		if err != nil {
			o.GateCountOK = false
			break
		}
		o.GateRequests += after
	}
	o.Records = r.gen.Records()
	if !o.recoveredAt.IsZero() {
		rec := o.recoveredAt.Sub(o.FaultEnd).Seconds()
		r.rep.RecoverySeconds = &rec
	}
	r.latencyProofs()
	r.pathProofs()
	o.Faults = r.faultRecords()
	o.Audit = r.crashAudit(o.Faults)
	o.Resume = r.resumedAudit(o.Faults)
	r.mu.Lock()
	o.Phases = append([]reports.Phase(nil), r.rep.Phases...)
	if ab := r.rep.Abort; ab != nil {
		cp := *ab
		cp.Reverts = append([]reports.Revert(nil), ab.Reverts...)
		o.Abort = &cp
	}
	o.StopEvals = map[string]int{}
	for _, c := range r.stops {
		o.StopEvals[c.name] = c.evals
	}
	r.mu.Unlock()
	ev, err := r.src.evidence(ctx, r.since(), o.Phases)
	if err != nil {
		r.fail(err.Error())
	}
	r.observe(ev)
	r.rep.Load = summariseLoad(o.Records, float64(r.spec.Load.Rate), o.FaultStart, o.FaultEnd)
	r.rep.LiveRatio = liveRatioSeries(o.Records)
	for _, f := range o.Faults {
		if f.Proof != nil && f.Proof.Unit == "cores" {
			r.rep.Resources = append(r.rep.Resources, reports.Resource{At: f.RevertedAt, Source: "fault-summary",
				RequestedCores: f.Proof.Requested, AchievedCores: f.Proof.Achieved})
		}
	}
	r.rep.Checks = checks(r.spec, *o)
}

// latencyProofs proves each reverted latency fault by the live responses
// of the instance it hit (fault.Slower).
func (r *runner) latencyProofs() {
	o := &r.obs
	by := load.ByInstance(o.Records)
	for _, inj := range r.faults {
		if sl, ok := inj.f.(fault.Slower); ok && !inj.rec.RevertedAt.IsZero() {
			inj.rec.Proof = latencyProof(by[inj.in.name], o.BaselineStart, o.FaultStart, inj.rec.InjectedAt, inj.rec.RevertedAt, sl.MinAdded())
		}
	}
}

// pathProofs proves each reverted fault on the scrape path
// (fault.PathBreaker) by the harness's own scrapes during it against
// those of the baseline.
func (r *runner) pathProofs() {
	o := &r.obs
	for _, inj := range r.faults {
		pb, ok := inj.f.(fault.PathBreaker)
		if !ok || inj.rec.RevertedAt.IsZero() || inj.rec.RevertErr != "" && inj.rec.RevertedAt.Equal(inj.rec.InjectedAt) {
			continue
		}
		src, ok := r.src.(*inProcess)
		if !ok || src.path == nil {
			inj.rec.Proof = &reports.Proof{Unit: "scrapes", Detail: "no evidence: the run had no scrape path of its own"}
			continue
		}
		base, during := src.pathScrapes(o.BaselineStart, o.FaultStart, false), src.pathScrapes(inj.rec.InjectedAt, inj.rec.RevertedAt, true)
		during.toxic = pb.Toxic()
		inj.rec.Proof = pathProof(pb, base, during)
	}
}

// observe takes the alert source's evidence into the observation and the
// report; a run of named replicas is judged per replica too.
func (r *runner) observe(ev evidence) {
	o := &r.obs
	o.Alerts = ev.alerts
	o.Scrapes, o.ScrapeInterval = ev.scrapes, ev.grid
	o.ScrapeJobs = ev.jobs * max(1, len(ev.byInstance))
	r.rep.Alerts = reportAlerts(ev.alerts)
	r.rep.Harness.Scrapes = ev.scrapes
	if r.rep.Fleet != nil {
		r.rep.Fleet.Notifications, r.rep.Fleet.Malformed = reportNotifications(ev.notifications), ev.malformed
		for i := range r.rep.Fleet.Replicas {
			rp := &r.rep.Fleet.Replicas[i]
			w := load.Summarise(load.ByInstance(o.Records)[rp.Instance], time.Time{}, farFuture)
			rp.Requests, rp.LiveRatio = w.Requests, w.LiveRatio()
		}
	}
	if r.single() != nil {
		return
	}
	fo := &fleetObservation{Notifications: ev.notifications, Malformed: ev.malformed, Delivered: ev.delivered,
		Canary: r.canary.res, CanaryErr: r.canary.err, CanaryAt: r.canary.at,
		Injected: map[string]time.Time{}, Reverted: map[string]time.Time{}, Recovered: map[string]time.Time{},
		Scrapes: ev.byInstance, ScrapeJobs: ev.jobs}
	for _, in := range r.ins {
		fo.Instances = append(fo.Instances, in.name)
	}
	for _, in := range r.faultedReplicas() {
		fo.Faulted = append(fo.Faulted, in.name)
		fo.Injected[in.name], fo.Reverted[in.name] = r.injectionOf(in.name), r.revertOf(in.name)
		fo.Recovered[in.name] = in.recoveredAt
	}
	o.Fleet = fo
}

// since is where the run's alerts are read from: the baseline's start.
func (r *runner) since() time.Time {
	if !r.obs.BaselineStart.IsZero() {
		return r.obs.BaselineStart
	}
	return r.rep.StartedAt
}

// salvage keeps, for a run that ends before assemble (an error, Ctrl-C, a
// panic), the alerts raised and the notifications received so far. The
// lifecycle runs it after the faults are reverted and the load stopped,
// before the alert source's servers go.
func (r *runner) salvage(ctx context.Context) {
	if r.assembled {
		return
	}
	ev, err := r.src.evidence(ctx, r.since(), nil)
	if err != nil {
		r.say("the evidence so far: %v", err)
	}
	if r.rep.Alerts == nil {
		r.rep.Alerts = reportAlerts(ev.alerts)
	}
	if r.rep.Fleet != nil && ev.delivered && r.rep.Fleet.Notifications == nil {
		r.rep.Fleet.Notifications, r.rep.Fleet.Malformed = reportNotifications(ev.notifications), ev.malformed
	}
}

// finish closes the report on every exit path, once the lifecycle has
// reverted the faults and stopped what ran: every injected fault, the
// timing, the verdict and the score.
func (r *runner) finish(schedStart time.Time) {
	r.setPhase("", time.Now())
	rep := r.rep
	rep.Faults = r.faultRecords()
	rep.FinishedAt = time.Now().UTC()
	rep.WallSeconds = rep.FinishedAt.Sub(rep.StartedAt).Seconds()
	if !schedStart.IsZero() {
		rep.ScheduleSeconds = time.Since(schedStart).Seconds()
	}
	rep.Harness.OverheadSeconds = rep.WallSeconds - rep.ScheduleSeconds
	r.closeAbort() // the lifecycle's reverts too
	rep.Verdict = reports.Fail
	switch {
	case rep.Abort != nil:
		rep.Verdict = reports.Aborted
	case rep.Passed():
		rep.Verdict = reports.Pass
	}
	rep.Score, rep.ScoreBreakdown = reports.ScoreOf(rep.Checks, rep.Error)
}

// reportAlerts is the report's form of the alert timelines.
func reportAlerts(ts []alerts.Timeline) []reports.Alert {
	if ts == nil {
		return nil
	}
	out := make([]reports.Alert, 0, len(ts))
	for _, t := range ts {
		a := reports.Alert{Name: t.Name, Labels: t.Labels, Severity: t.Severity, PendingAt: t.PendingAt, FiringAt: t.FiringAt,
			ResolvedAt: t.ResolvedAt, Firings: t.Firings, Transitions: make([]reports.Transition, 0, len(t.Transitions))}
		for _, tr := range t.Transitions {
			a.Transitions = append(a.Transitions, reports.Transition{At: tr.At, From: tr.From, To: tr.To})
		}
		out = append(out, a)
	}
	return out
}

// reportNotifications is the report's form of what the receiver got.
func reportNotifications(ns []receiver.Notification) []reports.Notification {
	if ns == nil {
		return nil
	}
	out := make([]reports.Notification, 0, len(ns))
	for _, n := range ns {
		out = append(out, reports.Notification{ReceivedAt: n.ReceivedAt, Alert: n.Alert, Instance: n.Instance, Status: n.Status,
			StartsAt: n.StartsAt, EndsAt: n.EndsAt, Receiver: n.Receiver, Labels: n.Labels, Malformed: n.Malformed})
	}
	return out
}
