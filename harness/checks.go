package harness

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// observation is everything a run saw; checks turns it into the named
// checks of the report. Kept apart from the run so that every check can be
// shown to fail on observations that break it.
type observation struct {
	Records       []load.Record
	BaselineStart time.Time
	FaultStart    time.Time // first injection
	FaultEnd      time.Time // last revert
	AfterStart    time.Time
	AfterEnd      time.Time
	Alerts        []alerts.Timeline
	// Phases and Scrapes give the alert checks their evidence: the
	// scrapes that succeeded in each phase against the ones planned (one
	// per job and ScrapeInterval), and the longest stretch without one.
	Phases         []reports.Phase
	Scrapes        reports.Scrapes
	ScrapeInterval time.Duration
	ScrapeJobs     int
	recoveredAt    time.Time // zero: never
	GateRequests   float64   // delta of quannex_metrics_requests_total over the load
	GateCountOK    bool      // the delta could be read
	// Faults are the injected faults with their reverts and proofs.
	Faults         []reports.Fault
	BaselineFailed string
	// Fleet is set for a run of named replicas: its alert checks are per
	// instance and delivery-aware (fleetchecks.go).
	Fleet *fleetObservation
	// Abort is the breach that stopped the run, as it stood when the run
	// was judged (nil: none); StopEvals counts each stop condition's
	// evaluations, the brake checks' evidence.
	Abort     *reports.Abort
	StopEvals map[string]int
	// Audit is what the audit logs of the gates a crash fault killed say
	// (crash.go); nil when no gate was killed.
	Audit *auditEvidence
	// Resume is what the audit logs of the gates whose audit disk a
	// disk-full fault filled say once the run is over.
	Resume *resumeEvidence
}

// fleetObservation is what a fleet run saw besides the load: the replicas,
// the faulted ones with their injection, revert and recovery, the
// notifications the receiver got and the canary gate's decision.
type fleetObservation struct {
	Instances     []string
	Faulted       []string
	Injected      map[string]time.Time // first injection per faulted instance
	Reverted      map[string]time.Time // last revert per faulted instance
	Recovered     map[string]time.Time // zero: never
	Notifications []receiver.Notification
	Malformed     int
	Delivered     bool // a receiver listened
	Canary        *canary.Result
	CanaryErr     error
	CanaryAt      time.Time
	// Scrapes is each instance's scrape evidence, phase by phase, on the
	// observation's ScrapeInterval; ScrapeJobs is the jobs of one instance.
	// An instance's alert verdict needs its own coverage: the fleet's can
	// hold with one replica never scraped.
	Scrapes    map[string]reports.Scrapes
	ScrapeJobs int
}

// A checkRow is one check, or one family of checks (a name ending in ':',
// one member per expected alert, replica or fault): its name, the
// severity its failure weighs in the score, the evidence its count is of,
// the expectation that asks for it, and how it judges an observation.
// checkTable holds them all, in report order; adding a check is adding a
// row (and its broken variants in checks_test.go).
type checkRow struct {
	name     string
	severity string
	evidence string
	// enabled says whether the scenario asks for the check; nil: always.
	enabled func(s *scenario.Spec, o *observation) bool
	judge   func(j *judging)
}

var checkTable = []checkRow{
	{"baseline_steady", reports.Critical, "responses", nil, baselineSteady},
	{"no_5xx", reports.Critical, "responses", expect(func(e scenario.Expect) bool { return e.No5xx }), no5xx},
	{"no_transport_errors", reports.Critical, "requests", expect(func(e scenario.Expect) bool { return e.NoTransportErrors }), noTransportErrors},
	{"all_200", reports.Warning, "requests", expect(func(e scenario.Expect) bool { return e.All200 }), all200},
	{"live_ratio_during_fault", reports.Warning, "responses", expect(func(e scenario.Expect) bool { return e.MinLiveRatioDuring > 0 }), liveRatioDuring},
	{"snapshots_during_fault", reports.Warning, "responses", expect(func(e scenario.Expect) bool { return e.SnapshotsDuring }), snapshotsDuring},
	{"warning_on_snapshots", reports.Warning, "snapshot responses", expect(func(e scenario.Expect) bool { return e.WarningOnSnapshots }), warningOnSnapshots},
	{"p95_during_fault", reports.Warning, "responses", expect(func(e scenario.Expect) bool { return e.MinP95During > 0 }), p95During},
	{"healthy_live_ratio:", reports.Warning, "responses", inFleet, healthyLiveRatio},
	{"recovery:", reports.Warning, "responses", func(s *scenario.Spec, o *observation) bool {
		return o.Fleet != nil && s.Expect.Recovery.MinLiveRatio > 0
	}, replicaRecovery},
	{"alert_fires:", reports.Critical, "scrapes", expect(func(e scenario.Expect) bool { return len(e.Alerts) > 0 }), alertFires},
	{"alert_resolves:", reports.Warning, "scrapes", expect(func(e scenario.Expect) bool { return len(e.Alerts) > 0 }), alertResolves},
	{"alert_delivered:", reports.Warning, "notifications", inFleet, alertDelivered},
	{"resolution_delivered:", reports.Warning, "notifications", inFleet, resolutionDelivered},
	{"no_unexpected_alerts", reports.Warning, "scrapes", expect(func(e scenario.Expect) bool { return e.NoUnexpectedAlerts }), noUnexpectedAlerts},
	{"canary_decision", reports.Warning, "requests (the smaller side)", expect(func(e scenario.Expect) bool { return e.Canary != nil }), canaryDecision},
	{"recovery", reports.Critical, "responses", expect(func(e scenario.Expect) bool { return e.Recovery.MinLiveRatio > 0 }), recovery},
	{"after_steady", reports.Warning, "responses", nil, afterSteady},
	{"counters_agree", reports.Warning, "responses", expect(func(e scenario.Expect) bool { return e.CountersAgree }), countersAgree},
	{"livesha_valid", reports.Critical, "payloads", expect(func(e scenario.Expect) bool { return e.LiveSHAValid }), liveSHAValid},
	{"fault_achieved:", reports.Critical, "samples", nil, faultAchieved},
	{"faults_reverted", reports.Critical, "faults", nil, faultsReverted},
	{"crash_recovery", reports.Warning, "kills", expectCrash, crashRecovery},
	{"cache_after_restart", reports.Critical, "restarts", expectCrash, cacheAfterRestart},
	{"audit_intact", reports.Critical, "acknowledged admin calls", expectCrash, auditIntact},
	{"audit_resumed", reports.Critical, "admin calls while full", expect(func(e scenario.Expect) bool { return e.AuditResumed }), auditResumed},
	{"stopped_by", reports.Critical, "evaluations", expectStop, stoppedBy},
	{"reverted_on_stop", reports.Critical, "faults", expectStop, revertedOnStop},
}

func expectStop(s *scenario.Spec, _ *observation) bool { return s.Expect.Stop != nil }

func expectCrash(s *scenario.Spec, _ *observation) bool { return s.Expect.Crash != nil }

func expect(f func(scenario.Expect) bool) func(*scenario.Spec, *observation) bool {
	return func(s *scenario.Spec, _ *observation) bool { return f(s.Expect) }
}

func inFleet(_ *scenario.Spec, o *observation) bool { return o.Fleet != nil }

// checks evaluates spec's expectations against o, row by row.
func checks(spec *scenario.Spec, o observation) []reports.Check {
	j := &judging{spec: spec, o: &o,
		all:    load.Summarise(o.Records, time.Time{}, farFuture),
		base:   load.Summarise(o.Records, o.BaselineStart, o.FaultStart),
		during: load.Summarise(o.Records, o.FaultStart, o.FaultEnd),
		after:  load.Summarise(o.Records, o.AfterStart, o.AfterEnd)}
	j.answered = j.all.Requests - j.all.Codes[0]
	j.cov, j.scrapes, j.gap = scrapeCoverage(o)
	if o.Fleet != nil && j.cov {
		j.cov, j.scrapes, j.gap = fleetScrapeCoverage(o)
	}
	for _, row := range checkTable {
		if row.enabled == nil || row.enabled(spec, &o) {
			j.row = row
			row.judge(j)
		}
	}
	return j.out
}

// judging is one evaluation of the table: the observation, the windows
// every row reads, the alert evidence, and the checks so far.
type judging struct {
	spec                     *scenario.Spec
	o                        *observation
	all, base, during, after load.Window
	answered                 int
	// cov says whether the alert checks have evidence: scrapes is how
	// many succeeded, gap why not.
	cov     bool
	scrapes int
	gap     string

	row checkRow
	out []reports.Check
}

// add records a check of the current row; member names a family's member
// ("" for a row that is one check).
func (j *judging) add(member, expected, observed string, evidence int, pass bool) *reports.Check {
	j.out = append(j.out, reports.Check{Name: j.row.name + member, Expected: expected, Observed: observed,
		Evidence: evidence, EvidenceOf: j.row.evidence, Severity: j.row.severity, Pass: pass})
	return &j.out[len(j.out)-1]
}

// none records a check that failed for want of evidence.
func (j *judging) none(member, expected, why string, evidence int) {
	j.add(member, expected, "no evidence: "+why, evidence, false)
}

func baselineSteady(j *judging) {
	s, base := j.spec, j.base
	j.add("", fmt.Sprintf("live ratio >= %.0f%% and no 5xx before the fault", s.Baseline.MinLiveRatio*100),
		fmt.Sprintf("%.1f%% live of %d, %d 5xx%s", base.LiveRatio()*100, base.Requests, count5xx(base), suffix(j.o.BaselineFailed)),
		base.Requests, base.Requests > 0 && base.LiveRatio() >= s.Baseline.MinLiveRatio && count5xx(base) == 0 && j.o.BaselineFailed == "")
}

func no5xx(j *judging) {
	if j.answered == 0 {
		j.none("", "0 responses >= 500", "no response with a status", j.answered)
		return
	}
	j.add("", "0 responses >= 500", fmt.Sprintf("%d of %d (codes %s)", count5xx(j.all), j.answered, codes(j.all.Codes)), j.answered, count5xx(j.all) == 0)
}

func noTransportErrors(j *judging) {
	n, kinds := transportErrors(j.o.Records)
	if j.all.Requests == 0 {
		j.none("", "every request gets a status", "no request was sent", 0)
		return
	}
	obs := fmt.Sprintf("%d of %d without a status", n, j.all.Requests)
	if n > 0 {
		obs += " (" + kinds + ")"
	}
	j.add("", "every request gets a status (no refused, reset or timed-out request)", obs, j.all.Requests, n == 0)
}

func all200(j *judging) {
	n := j.all.Codes[200]
	if j.all.Requests == 0 {
		j.none("", "every response 200", "no request was sent", 0)
		return
	}
	j.add("", "every response 200", fmt.Sprintf("%d of %d (codes %s)", n, j.all.Requests, codes(j.all.Codes)), j.all.Requests, n == j.all.Requests)
}

func liveRatioDuring(j *judging) {
	min := j.spec.Expect.MinLiveRatioDuring
	exp := fmt.Sprintf(">= %.0f%%", min*100)
	if j.during.Requests == 0 {
		j.none("", exp, "no response during the fault", 0)
		return
	}
	j.add("", exp, fmt.Sprintf("%.1f%% of %d", j.during.LiveRatio()*100, j.during.Requests), j.during.Requests, j.during.LiveRatio() >= min)
}

func snapshotsDuring(j *judging) {
	exp := "the verified snapshot is served during the fault"
	if j.during.Requests == 0 {
		j.none("", exp, "no response during the fault", 0)
		return
	}
	j.add("", exp, fmt.Sprintf("%d snapshot responses of %d", j.during.Snapshot, j.during.Requests), j.during.Requests, j.during.Snapshot > 0)
}

func warningOnSnapshots(j *judging) {
	snaps, missing := 0, 0
	for _, r := range j.o.Records {
		if r.Source == "snapshot" {
			snaps++
			if !r.Warning {
				missing++
			}
		}
	}
	exp := "every snapshot response carries Warning: 110"
	if snaps == 0 {
		j.none("", exp, "0 snapshot responses", 0)
		return
	}
	j.add("", exp, fmt.Sprintf("%d of %d snapshot responses without Warning", missing, snaps), snaps, missing == 0)
}

func p95During(j *judging) {
	min := j.spec.Expect.MinP95During.D()
	exp := fmt.Sprintf("> %s", min)
	if j.during.Requests < minLatencySamples {
		j.none("", exp, fmt.Sprintf("%d responses during the fault, want >= %d", j.during.Requests, minLatencySamples), j.during.Requests)
		return
	}
	p95 := j.during.Quantile(0.95)
	j.add("", exp, p95.Round(time.Millisecond).String(), j.during.Requests, p95 > min)
}

func recovery(j *judging) {
	rc, o := j.spec.Expect.Recovery, j.o
	exp := fmt.Sprintf("live ratio back to >= %.0f%% within %s of the revert", rc.MinLiveRatio*100, rc.Within.D())
	since := load.Summarise(o.Records, o.FaultEnd, farFuture)
	switch {
	case since.Requests == 0:
		j.none("", exp, "no response after the revert", 0)
	case o.recoveredAt.IsZero():
		j.add("", exp, "not recovered", since.Requests, false)
	default:
		d := o.recoveredAt.Sub(o.FaultEnd)
		j.add("", exp, fmt.Sprintf("live ratio >= %.0f%% %s after the revert", rc.MinLiveRatio*100, d.Round(time.Second)),
			since.Requests, d <= rc.Within.D())
	}
}

func afterSteady(j *judging) {
	min := j.spec.After.MinLiveRatio
	exp := fmt.Sprintf("live ratio >= %.0f%% after", min*100)
	if j.after.Requests == 0 {
		j.none("", exp, "no response in the steady state after", 0)
		return
	}
	j.add("", exp, fmt.Sprintf("%.1f%% live of %d", j.after.LiveRatio()*100, j.after.Requests), j.after.Requests, j.after.LiveRatio() >= min)
}

func countersAgree(j *judging) {
	exp := "responses the client got = the gate's quannex_metrics_requests_total increase"
	switch {
	case !j.o.GateCountOK:
		j.none("", exp, "the gate's counter could not be read", j.answered)
	case j.answered == 0:
		j.none("", exp, "no response with a status", 0)
	default:
		j.add("", exp, fmt.Sprintf("client %d, gate %.0f", j.answered, j.o.GateRequests), j.answered, float64(j.answered) == j.o.GateRequests)
	}
}

func liveSHAValid(j *judging) {
	failed, checked := 0, 0
	for _, r := range j.o.Records {
		if r.SHAFailed {
			failed++
		}
		if r.LiveSHA || r.SHAFailed {
			checked++
		}
	}
	exp := "every payload's LIVESHA verifies"
	if checked == 0 {
		j.none("", exp, "no payload carried a LIVESHA line", 0)
		return
	}
	j.add("", exp, fmt.Sprintf("%d of %d failed", failed, checked), checked, failed == 0)
}

// faultAchieved: every injected fault proves it happened.
func faultAchieved(j *judging) {
	names := map[string]int{}
	for _, f := range j.o.Faults {
		names[f.Name]++
	}
	seen := map[string]int{}
	for _, f := range j.o.Faults {
		member := f.Name
		if names[f.Name] > 1 {
			seen[f.Name]++
			member = fmt.Sprintf("%s#%d", member, seen[f.Name])
		}
		p := f.Proof
		if p == nil {
			j.none(member, "the fault proves it took effect", "the fault measured nothing", 0)
			continue
		}
		j.add(member, proofExpected(f.Name, p), p.Detail, p.Samples, p.OK && p.Samples > 0)
	}
}

// faultsReverted: every injected fault was reverted without error.
func faultsReverted(j *judging) {
	exp := "every fault reverted without error"
	fs := j.o.Faults
	if len(fs) == 0 {
		j.none("", exp, "no fault was injected", 0)
		return
	}
	var bad []string
	for _, f := range fs {
		switch {
		case f.RevertErr != "":
			bad = append(bad, f.Name+": "+f.RevertErr)
		case f.RevertedAt.IsZero():
			bad = append(bad, f.Name+": never reverted")
		}
	}
	obs := fmt.Sprintf("%d of %d reverted cleanly", len(fs)-len(bad), len(fs))
	if len(bad) > 0 {
		obs += "; " + strings.Join(bad, "; ")
	}
	j.add("", exp, obs, len(fs), len(bad) == 0)
}

// stoppedBy: a brake GameDay ends stopped by the condition it names,
// which must have been evaluated (the operator's stop: received).
func stoppedBy(j *judging) {
	by, ab := j.spec.Expect.Stop.By, j.o.Abort
	exp := "the run stopped by " + by
	evals := j.o.StopEvals[by]
	if by == scenario.StopByOperator && ab != nil && ab.Condition == by {
		evals = 1 // the stop received
	}
	switch {
	case evals == 0 && by == scenario.StopByOperator:
		j.none("", exp, "no operator's stop was received", 0)
	case evals == 0:
		j.none("", exp, by+" was never evaluated", 0)
	case ab == nil:
		j.add("", exp, fmt.Sprintf("not stopped: %s evaluated %d times without a breach", by, evals), evals, false)
	case ab.Condition != by:
		j.add("", exp, fmt.Sprintf("stopped by %s instead (%s)", ab.Condition, ab.Reason), evals, false)
	default:
		j.add("", exp, fmt.Sprintf("stopped by %s in the %s phase, after %d evaluations: %s", by, ab.Phase, evals, ab.Reason), evals, true)
	}
}

// revertedOnStop: every fault injected at the stop was reverted, without
// error, within the bound of the breach, and nothing of ours was left
// active in a gate's fault API.
func revertedOnStop(j *judging) {
	within, ab := j.spec.Expect.Stop.RevertWithin.D(), j.o.Abort
	exp := fmt.Sprintf("every fault injected at the stop reverted within %s of the breach, none left active", within)
	switch {
	case ab == nil:
		j.none("", exp, "the run was not stopped", 0)
		return
	case len(ab.Reverts) == 0:
		j.none("", exp, "no fault was injected at the stop", 0)
		return
	}
	var bad []string
	slowest := time.Duration(0)
	for _, rv := range ab.Reverts {
		d := rv.RevertedAt.Sub(ab.BreachedAt)
		switch {
		case rv.RevertedAt.IsZero():
			bad = append(bad, rv.Fault+on(rv.Instance)+": not reverted when the run was judged")
			continue
		case rv.Error != "":
			bad = append(bad, rv.Fault+on(rv.Instance)+": "+rv.Error)
		case d > within:
			bad = append(bad, fmt.Sprintf("%s%s: reverted %s after the breach", rv.Fault, on(rv.Instance), d.Round(10*time.Millisecond)))
		}
		slowest = max(slowest, d)
	}
	ok := len(ab.Reverts) - len(bad)
	if ab.SweptAt == nil {
		bad = append(bad, "no sweep for faults left behind ran")
	}
	for _, l := range ab.LeftBehind {
		bad = append(bad, "left behind: "+l)
	}
	obs := fmt.Sprintf("%d of %d reverted in time, the slowest %s after the breach", ok, len(ab.Reverts), slowest.Round(10*time.Millisecond))
	if len(bad) > 0 {
		obs += "; " + strings.Join(bad, "; ")
	}
	j.add("", exp, obs, len(ab.Reverts), len(bad) == 0)
}

func proofExpected(name string, p *reports.Proof) string {
	switch p.Unit {
	case "cores":
		return fmt.Sprintf(">= %.0f%% of min(requested, available) cores burned in the target's CPU domain", cpuAchievedFloor*100)
	case "ms":
		return fmt.Sprintf("live p%.0f during the fault >= %.0f ms above the baseline median", latencyProofQuantile*100, p.Requested)
	case "writes":
		return "a write as the gate's user fails while injected and succeeds after the revert"
	case "restarts":
		return "each kill ended the gate by SIGKILL and its target restarted it, once per kill"
	case "scrapes":
		return fmt.Sprintf("the toxic on the scrape path while injected and gone after, and >= %.0f%% of the harness's scrapes wholly under it failed", pathFailFloor*100)
	case "scrape-ms":
		return fmt.Sprintf("the toxic on the scrape path while injected and gone after, and the median scrape wholly under it >= %.0f ms slower than the baseline's (%.0f%% of what was asked)", p.Requested, pathSlowFloor*100)
	}
	return name + " proves it took effect"
}

// scrapeCoverage reports whether every phase had scrape evidence for the
// alert checks: at least one successful scrape, at least
// minScrapeCoverage of the planned ones, and no stretch without one
// longer than maxScrapeGap intervals. scrapes is the number that
// succeeded, and gap names the first phase short of it.
func scrapeCoverage(o observation) (ok bool, scrapes int, gap string) {
	scrapes = o.Scrapes.OK + o.Scrapes.PathBroken
	jobs := max(o.ScrapeJobs, 1)
	if o.ScrapeInterval <= 0 {
		return false, scrapes, "no scrape interval recorded"
	}
	if len(o.Phases) == 0 {
		return false, scrapes, "no phase was recorded"
	}
	for _, p := range o.Phases {
		if p.End.IsZero() || !p.End.After(p.Start) {
			continue
		}
		ps := o.Scrapes.ByPhase[p.Name]
		planned := int(p.End.Sub(p.Start)/o.ScrapeInterval) * jobs
		// A scrape that failed on a path the scrape-path fault broke is
		// evidence: the rules judged the up == 0 of a dark path.
		got, what := ps.OK, "succeeded"
		if ps.PathBroken > 0 {
			got, what = ps.OK+ps.PathBroken, "succeeded or failed on the broken scrape path"
		}
		switch {
		case got == 0:
			return false, scrapes, fmt.Sprintf("no scrape succeeded in the %s phase (%s long, scraped every %s)", p.Name, p.End.Sub(p.Start).Round(time.Second), o.ScrapeInterval)
		case float64(got) < minScrapeCoverage*float64(planned):
			return false, scrapes, fmt.Sprintf("%d of %d planned scrapes %s in the %s phase (want >= %.0f%%)",
				got, planned, what, p.Name, minScrapeCoverage*100)
		case ps.MaxGapSeconds > ps.GapAllowedSeconds:
			return false, scrapes, fmt.Sprintf("the %s phase went %.0fs without a successful scrape of a job (at most %.1fs: %.1f of its intervals)",
				p.Name, ps.MaxGapSeconds, ps.GapAllowedSeconds, maxScrapeGap)
		}
	}
	return true, scrapes, ""
}

// alertCoverage says whether the alert rows have evidence, recording the
// row's checks as none for want of it otherwise.
func (j *judging) alertCoverage(member, expected string) bool {
	if !j.cov {
		j.none(member, expected, j.gap, j.scrapes)
	}
	return j.cov
}

// alertFires: each expected alert fires after the fault began (not
// before), within its bound.
func alertFires(j *judging) {
	if j.o.Fleet != nil {
		fleetAlertFires(j)
		return
	}
	o := j.o
	for _, ae := range j.spec.Expect.Alerts {
		exp := fmt.Sprintf("fires within %s of the fault, not before", ae.FireWithin.D())
		if !j.alertCoverage(ae.Name, exp) {
			continue
		}
		t := timelineOf(o.Alerts, ae.Name, func(map[string]string) bool { return true }, o.FaultStart)
		switch {
		case len(t.beforeAt) > 0:
			j.add(ae.Name, exp, "already firing: fired "+strings.Join(t.beforeAt, ", "), j.scrapes, false)
		case t.first.IsZero():
			j.add(ae.Name, exp, "never fired", j.scrapes, false)
		default:
			d := t.first.Sub(o.FaultStart)
			j.add(ae.Name, exp, "fired "+rel(t.first, o.FaultStart, "the fault began"), j.scrapes, d <= ae.FireWithin.D())
		}
	}
}

// alertResolves: each expected alert resolves once, within its bound of
// the revert, and stays resolved.
func alertResolves(j *judging) {
	if j.o.Fleet != nil {
		fleetAlertResolves(j)
		return
	}
	o := j.o
	for _, ae := range j.spec.Expect.Alerts {
		exp := fmt.Sprintf("resolves within %s of the revert and stays resolved", ae.ResolveWithin.D())
		if !j.alertCoverage(ae.Name, exp) {
			continue
		}
		t := timelineOf(o.Alerts, ae.Name, func(map[string]string) bool { return true }, o.FaultStart)
		switch {
		case t.firings == 0:
			j.add(ae.Name, exp, "never fired after the fault began", j.scrapes, false)
		case t.stillFiring:
			j.add(ae.Name, exp, fmt.Sprintf("still firing at the end of the run (fired %d times)", t.firings), j.scrapes, false)
		case t.firings > 1:
			j.add(ae.Name, exp, fmt.Sprintf("fired %d times: it resolved and fired again", t.firings), j.scrapes, false)
		default:
			d := t.resolved.Sub(o.FaultEnd)
			j.add(ae.Name, exp, "resolved "+rel(t.resolved, o.FaultEnd, "the revert"), j.scrapes, d <= ae.ResolveWithin.D())
		}
	}
}

// noUnexpectedAlerts: no alert outside the expected ones fires (pending
// ones are a warning).
func noUnexpectedAlerts(j *judging) {
	exp := "no other alert fires"
	if !j.alertCoverage("", exp) {
		return
	}
	expected := map[string]bool{}
	for _, ae := range j.spec.Expect.Alerts {
		expected[ae.Name] = true
	}
	var fired, pending []string
	for _, a := range j.o.Alerts {
		if expected[a.Name] {
			continue
		}
		id := a.Name + labelSuffix(a.Labels)
		if a.Firings > 0 || a.FiringAt != nil {
			at := "?"
			if a.FiringAt != nil {
				at = "+" + a.FiringAt.Sub(j.o.BaselineStart).Round(time.Second).String()
			}
			fired = append(fired, fmt.Sprintf("%s fired at %s", id, at))
		} else {
			pending = append(pending, id)
		}
	}
	sort.Strings(fired)
	sort.Strings(pending)
	obs := "none"
	if len(fired) > 0 {
		obs = strings.Join(fired, ", ")
	}
	c := j.add("", exp, obs, j.scrapes, len(fired) == 0)
	if len(pending) > 0 {
		c.Warning = "pending but never fired: " + strings.Join(pending, ", ")
	}
}

// timeline is one alert's history over the label sets a filter keeps,
// from an instant on.
type timeline struct {
	beforeAt        []string // firings before from, described
	first, resolved time.Time
	firings         int
	stillFiring     bool
}

// timelineOf reads the alert called name across the label sets keep
// accepts: firings before from, the first firing at or after it, the last
// resolution after it, and whether it is still firing.
func timelineOf(all []alerts.Timeline, name string, keep func(map[string]string) bool, from time.Time) timeline {
	var t timeline
	for _, a := range all {
		if a.Name != name || !keep(a.Labels) {
			continue
		}
		for _, tr := range a.Transitions {
			switch {
			case tr.To == alerts.StateFiring && tr.At.Before(from):
				t.beforeAt = append(t.beforeAt, rel(tr.At, from, "the fault began")+labelSuffix(a.Labels))
			case tr.To == alerts.StateFiring:
				t.firings++
				if t.first.IsZero() || tr.At.Before(t.first) {
					t.first = tr.At
				}
			case tr.From == alerts.StateFiring && !tr.At.Before(from) && tr.At.After(t.resolved):
				t.resolved = tr.At
			}
		}
		if a.StillFiring() {
			t.stillFiring = true
		}
	}
	return t
}

// rel says when t was relative to from, such as "5s after the revert".
func rel(t, from time.Time, what string) string {
	d := t.Sub(from).Round(time.Second)
	if d < 0 {
		return fmt.Sprintf("%s before %s", -d, what)
	}
	return fmt.Sprintf("%s after %s", d, what)
}

// transportErrors counts the requests that got no status and names their
// kinds with counts, most frequent first.
func transportErrors(rs []load.Record) (int, string) {
	kinds := map[string]int{}
	n := 0
	for _, r := range rs {
		if r.Code != 0 {
			continue
		}
		n++
		kinds[errorKind(r.Err)]++
	}
	type kc struct {
		k string
		c int
	}
	var list []kc
	for k, c := range kinds {
		list = append(list, kc{k, c})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].c != list[j].c {
			return list[i].c > list[j].c
		}
		return list[i].k < list[j].k
	})
	var parts []string
	for _, x := range list {
		parts = append(parts, fmt.Sprintf("%s: %d", x.k, x.c))
	}
	return n, strings.Join(parts, ", ")
}

// errorKind classifies a client error without echoing it whole.
func errorKind(err string) string {
	s := strings.ToLower(err)
	switch {
	case strings.Contains(s, "connection refused"):
		return "refused"
	case strings.Contains(s, "connection reset"), strings.Contains(s, "broken pipe"):
		return "reset"
	case strings.Contains(s, "timeout"), strings.Contains(s, "deadline exceeded"):
		return "timeout"
	case strings.Contains(s, "eof"):
		return "closed"
	case s == "":
		return "no status"
	}
	return "other"
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func count5xx(w load.Window) int {
	n := 0
	for c, k := range w.Codes {
		if c >= 500 {
			n += k
		}
	}
	return n
}

func codes(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}
