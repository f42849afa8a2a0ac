package harness

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// Evidence rules. A check whose evidence is below these fails with an
// observed value that starts "no evidence:"; it never passes on nothing.
const (
	// MinScrapeCoverage is the share of planned scrapes that must have
	// succeeded in every phase for the alert checks to have evidence.
	MinScrapeCoverage = 0.90
	// MinLatencySamples is the fewest responses a latency check reads.
	MinLatencySamples = 20
)

// Observation is everything a run saw; Checks turns it into the named
// checks of the report. Kept apart from Run so that every check can be
// shown to fail on observations that break it.
type Observation struct {
	Records       []load.Record
	BaselineStart time.Time
	FaultStart    time.Time // first injection
	FaultEnd      time.Time // last revert
	AfterStart    time.Time
	AfterEnd      time.Time
	Alerts        []reports.Alert
	// Phases and Scrapes give the alert checks their evidence: the
	// scrapes that succeeded in each phase against the ones planned (one
	// per job and ScrapeInterval).
	Phases         []reports.Phase
	Scrapes        reports.Scrapes
	ScrapeInterval time.Duration
	ScrapeJobs     int
	RecoveredAt    time.Time // zero: never
	GateRequests   float64   // delta of quannex_metrics_requests_total over the load
	GateCountOK    bool      // the delta could be read
	// Faults are the injected faults with their reverts and proofs.
	Faults         []reports.Fault
	BaselineFailed string
	// Fleet is set for a fleet run: its alert checks are per instance
	// and delivery-aware (fleetchecks.go).
	Fleet *FleetObservation
}

// checkList collects checks in order.
type checkList []reports.Check

func (l *checkList) add(name, expected, observed string, evidence int, of string, pass bool) *reports.Check {
	*l = append(*l, reports.Check{Name: name, Expected: expected, Observed: observed, Evidence: evidence, EvidenceOf: of, Pass: pass})
	return &(*l)[len(*l)-1]
}

// none records a check that failed for want of evidence.
func (l *checkList) none(name, expected, why string, evidence int, of string) {
	l.add(name, expected, "no evidence: "+why, evidence, of, false)
}

// Checks evaluates spec's expectations against o.
func Checks(spec *scenario.Spec, o Observation) []reports.Check {
	var l checkList
	all := load.Summarise(o.Records, time.Time{}, farFuture)
	base := load.Summarise(o.Records, o.BaselineStart, o.FaultStart)
	during := load.Summarise(o.Records, o.FaultStart, o.FaultEnd)
	after := load.Summarise(o.Records, o.AfterStart, o.AfterEnd)
	answered := all.Requests - all.Codes[0]

	l.add("baseline_steady", fmt.Sprintf("live ratio >= %.0f%% and no 5xx before the fault", spec.Baseline.MinLiveRatio*100),
		fmt.Sprintf("%.1f%% live of %d, %d 5xx%s", base.LiveRatio()*100, base.Requests, count5xx(base), suffix(o.BaselineFailed)),
		base.Requests, "responses",
		base.Requests > 0 && base.LiveRatio() >= spec.Baseline.MinLiveRatio && count5xx(base) == 0 && o.BaselineFailed == "")

	e := spec.Expect
	if e.No5xx {
		if answered == 0 {
			l.none("no_5xx", "0 responses >= 500", "no response with a status", answered, "responses")
		} else {
			l.add("no_5xx", "0 responses >= 500", fmt.Sprintf("%d of %d (codes %s)", count5xx(all), answered, codes(all.Codes)),
				answered, "responses", count5xx(all) == 0)
		}
	}
	if e.NoTransportErrors {
		n, kinds := transportErrors(o.Records)
		if all.Requests == 0 {
			l.none("no_transport_errors", "every request gets a status", "no request was sent", 0, "requests")
		} else {
			obs := fmt.Sprintf("%d of %d without a status", n, all.Requests)
			if n > 0 {
				obs += " (" + kinds + ")"
			}
			l.add("no_transport_errors", "every request gets a status (no refused, reset or timed-out request)", obs, all.Requests, "requests", n == 0)
		}
	}
	if e.All200 {
		n := all.Codes[200]
		if all.Requests == 0 {
			l.none("all_200", "every response 200", "no request was sent", 0, "requests")
		} else {
			l.add("all_200", "every response 200", fmt.Sprintf("%d of %d (codes %s)", n, all.Requests, codes(all.Codes)), all.Requests, "requests", n == all.Requests)
		}
	}
	if e.MinLiveRatioDuring > 0 {
		exp := fmt.Sprintf(">= %.0f%%", e.MinLiveRatioDuring*100)
		if during.Requests == 0 {
			l.none("live_ratio_during_fault", exp, "no response during the fault", 0, "responses")
		} else {
			l.add("live_ratio_during_fault", exp, fmt.Sprintf("%.1f%% of %d", during.LiveRatio()*100, during.Requests),
				during.Requests, "responses", during.LiveRatio() >= e.MinLiveRatioDuring)
		}
	}
	if e.SnapshotsDuring {
		exp := "the verified snapshot is served during the fault"
		if during.Requests == 0 {
			l.none("snapshots_during_fault", exp, "no response during the fault", 0, "responses")
		} else {
			l.add("snapshots_during_fault", exp, fmt.Sprintf("%d snapshot responses of %d", during.Snapshot, during.Requests),
				during.Requests, "responses", during.Snapshot > 0)
		}
	}
	if e.WarningOnSnapshots {
		snaps, missing := 0, 0
		for _, r := range o.Records {
			if r.Source == "snapshot" {
				snaps++
				if !r.Warning {
					missing++
				}
			}
		}
		exp := "every snapshot response carries Warning: 110"
		if snaps == 0 {
			l.none("warning_on_snapshots", exp, "0 snapshot responses", 0, "snapshot responses")
		} else {
			l.add("warning_on_snapshots", exp, fmt.Sprintf("%d of %d snapshot responses without Warning", missing, snaps),
				snaps, "snapshot responses", missing == 0)
		}
	}
	if e.MinP95During > 0 {
		exp := fmt.Sprintf("> %s", e.MinP95During.D())
		if during.Requests < MinLatencySamples {
			l.none("p95_during_fault", exp, fmt.Sprintf("%d responses during the fault, want >= %d", during.Requests, MinLatencySamples),
				during.Requests, "responses")
		} else {
			p95 := during.Quantile(0.95)
			l.add("p95_during_fault", exp, p95.Round(time.Millisecond).String(), during.Requests, "responses", p95 > e.MinP95During.D())
		}
	}
	if o.Fleet == nil {
		alertChecks(&l, spec, o)
	} else {
		fleetChecks(&l, spec, o)
	}
	if r := e.Recovery; r.MinLiveRatio > 0 {
		exp := fmt.Sprintf("live ratio back to >= %.0f%% within %s of the revert", r.MinLiveRatio*100, r.Within.D())
		since := load.Summarise(o.Records, o.FaultEnd, farFuture)
		switch {
		case since.Requests == 0:
			l.none("recovery", exp, "no response after the revert", 0, "responses")
		case o.RecoveredAt.IsZero():
			l.add("recovery", exp, "not recovered", since.Requests, "responses", false)
		default:
			d := o.RecoveredAt.Sub(o.FaultEnd)
			l.add("recovery", exp, fmt.Sprintf("live ratio >= %.0f%% %s after the revert", r.MinLiveRatio*100, d.Round(time.Second)),
				since.Requests, "responses", d <= r.Within.D())
		}
	}
	afterExp := fmt.Sprintf("live ratio >= %.0f%% after", spec.After.MinLiveRatio*100)
	if after.Requests == 0 {
		l.none("after_steady", afterExp, "no response in the steady state after", 0, "responses")
	} else {
		l.add("after_steady", afterExp, fmt.Sprintf("%.1f%% live of %d", after.LiveRatio()*100, after.Requests),
			after.Requests, "responses", after.LiveRatio() >= spec.After.MinLiveRatio)
	}
	if e.CountersAgree {
		exp := "responses the client got = the gate's quannex_metrics_requests_total increase"
		switch {
		case !o.GateCountOK:
			l.none("counters_agree", exp, "the gate's counter could not be read", answered, "responses")
		case answered == 0:
			l.none("counters_agree", exp, "no response with a status", 0, "responses")
		default:
			l.add("counters_agree", exp, fmt.Sprintf("client %d, gate %.0f", answered, o.GateRequests), answered, "responses",
				float64(answered) == o.GateRequests)
		}
	}
	if e.LiveSHAValid {
		failed, checked := 0, 0
		for _, r := range o.Records {
			if r.SHAFailed {
				failed++
			}
			if r.LiveSHA || r.SHAFailed {
				checked++
			}
		}
		exp := "every payload's LIVESHA verifies"
		if checked == 0 {
			l.none("livesha_valid", exp, "no payload carried a LIVESHA line", 0, "payloads")
		} else {
			l.add("livesha_valid", exp, fmt.Sprintf("%d of %d failed", failed, checked), checked, "payloads", failed == 0)
		}
	}
	faultChecks(&l, o)
	return l
}

// faultChecks: every injected fault proves it happened and was reverted.
func faultChecks(l *checkList, o Observation) {
	names := map[string]int{}
	for _, f := range o.Faults {
		names[f.Name]++
	}
	seen := map[string]int{}
	for _, f := range o.Faults {
		name := "fault_achieved:" + f.Name
		if names[f.Name] > 1 {
			seen[f.Name]++
			name = fmt.Sprintf("%s#%d", name, seen[f.Name])
		}
		p := f.Proof
		if p == nil {
			l.none(name, "the fault proves it took effect", "the fault measured nothing", 0, "samples")
			continue
		}
		l.add(name, proofExpected(f.Name, p), p.Detail, p.Samples, "samples", p.OK && p.Samples > 0)
	}
	exp := "every fault reverted without error"
	if len(o.Faults) == 0 {
		l.none("faults_reverted", exp, "no fault was injected", 0, "faults")
		return
	}
	var bad []string
	for _, f := range o.Faults {
		switch {
		case f.RevertErr != "":
			bad = append(bad, f.Name+": "+f.RevertErr)
		case f.RevertedAt.IsZero():
			bad = append(bad, f.Name+": never reverted")
		}
	}
	obs := fmt.Sprintf("%d of %d reverted cleanly", len(o.Faults)-len(bad), len(o.Faults))
	if len(bad) > 0 {
		obs += "; " + strings.Join(bad, "; ")
	}
	l.add("faults_reverted", exp, obs, len(o.Faults), "faults", len(bad) == 0)
}

func proofExpected(name string, p *reports.Proof) string {
	switch p.Unit {
	case "cores":
		return fmt.Sprintf(">= %.0f%% of min(requested, available) cores burned in the target's CPU domain", CPUAchievedFloor*100)
	case "ms":
		return fmt.Sprintf("live p%.0f during the fault >= %.0f ms above the baseline median", LatencyProofQuantile*100, p.Requested)
	case "writes":
		return "a write as the gate's user fails while injected and succeeds after the revert"
	}
	return name + " proves it took effect"
}

// alertChecks: each expected alert fires after the fault began (not
// before) and resolves once, within its bounds; no other alert fires. All
// of them need scrape coverage of every phase.
func alertChecks(l *checkList, spec *scenario.Spec, o Observation) {
	e := spec.Expect
	if len(e.Alerts) == 0 && !e.NoUnexpectedAlerts {
		return
	}
	cov, scrapes, gap := scrapeCoverage(o)
	byName := map[string][]reports.Alert{}
	for _, a := range o.Alerts {
		byName[a.Name] = append(byName[a.Name], a)
	}
	rel := func(t time.Time, from time.Time, what string) string {
		d := t.Sub(from).Round(time.Second)
		if d < 0 {
			return fmt.Sprintf("%s before %s", -d, what)
		}
		return fmt.Sprintf("%s after %s", d, what)
	}
	expected := map[string]bool{}
	for _, ae := range e.Alerts {
		expected[ae.Name] = true
		fireName, resName := "alert_fires:"+ae.Name, "alert_resolves:"+ae.Name
		fireExp := fmt.Sprintf("fires within %s of the fault, not before", ae.FireWithin.D())
		resExp := fmt.Sprintf("resolves within %s of the revert and stays resolved", ae.ResolveWithin.D())
		if !cov {
			l.none(fireName, fireExp, gap, scrapes, "scrapes")
			l.none(resName, resExp, gap, scrapes, "scrapes")
			continue
		}
		var before []string
		var first time.Time
		firings, stillFiring := 0, false
		var resolved time.Time
		for _, tl := range byName[ae.Name] {
			for _, tr := range tl.Transitions {
				switch {
				case tr.To == alertFiring && tr.At.Before(o.FaultStart):
					before = append(before, rel(tr.At, o.FaultStart, "the fault began")+labelSuffix(tl.Labels))
				case tr.To == alertFiring:
					firings++
					if first.IsZero() || tr.At.Before(first) {
						first = tr.At
					}
				case tr.From == alertFiring && !tr.At.Before(o.FaultStart):
					if tr.At.After(resolved) {
						resolved = tr.At
					}
				}
			}
			if n := len(tl.Transitions); n > 0 && tl.Transitions[n-1].To == alertFiring {
				stillFiring = true
			}
		}
		switch {
		case len(before) > 0:
			l.add(fireName, fireExp, "already firing: fired "+strings.Join(before, ", "), scrapes, "scrapes", false)
		case first.IsZero():
			l.add(fireName, fireExp, "never fired", scrapes, "scrapes", false)
		default:
			d := first.Sub(o.FaultStart)
			l.add(fireName, fireExp, "fired "+rel(first, o.FaultStart, "the fault began"), scrapes, "scrapes", d <= ae.FireWithin.D())
		}
		switch {
		case firings == 0:
			l.add(resName, resExp, "never fired after the fault began", scrapes, "scrapes", false)
		case stillFiring:
			l.add(resName, resExp, fmt.Sprintf("still firing at the end of the run (fired %d times)", firings), scrapes, "scrapes", false)
		case firings > 1:
			l.add(resName, resExp, fmt.Sprintf("fired %d times: it resolved and fired again", firings), scrapes, "scrapes", false)
		default:
			d := resolved.Sub(o.FaultEnd)
			l.add(resName, resExp, "resolved "+rel(resolved, o.FaultEnd, "the revert"), scrapes, "scrapes", d <= ae.ResolveWithin.D())
		}
	}
	if e.NoUnexpectedAlerts {
		unexpectedAlerts(l, o, expected, cov, scrapes, gap)
	}
}

// unexpectedAlerts: no alert outside expected fires (pending ones are a
// warning).
func unexpectedAlerts(l *checkList, o Observation, expected map[string]bool, cov bool, scrapes int, gap string) {
	exp := "no other alert fires"
	if !cov {
		l.none("no_unexpected_alerts", exp, gap, scrapes, "scrapes")
		return
	}
	var fired, pending []string
	for _, a := range o.Alerts {
		if expected[a.Name] {
			continue
		}
		id := a.Name + labelSuffix(a.Labels)
		if a.Firings > 0 || a.FiringAt != nil {
			at := "?"
			if a.FiringAt != nil {
				at = "+" + a.FiringAt.Sub(o.BaselineStart).Round(time.Second).String()
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
	c := l.add("no_unexpected_alerts", exp, obs, scrapes, "scrapes", len(fired) == 0)
	if len(pending) > 0 {
		c.Warning = "pending but never fired: " + strings.Join(pending, ", ")
	}
}

// Alert states as the timelines record them.
const (
	alertFiring = "firing"
)

// labelSuffix renders the labels that tell alerts of one name apart: the
// instance and, for burn-rate alerts, the window.
func labelSuffix(ls map[string]string) string {
	var parts []string
	for _, k := range []string{"instance", "window"} {
		if v, ok := ls[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// scrapeCoverage reports whether every phase had at least
// MinScrapeCoverage of its planned scrapes succeed; scrapes is the number
// that succeeded, and gap names the first phase short of it.
func scrapeCoverage(o Observation) (ok bool, scrapes int, gap string) {
	scrapes = o.Scrapes.OK
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
		planned := int(p.End.Sub(p.Start)/o.ScrapeInterval) * jobs
		if planned == 0 {
			continue
		}
		got := o.Scrapes.ByPhase[p.Name].OK
		if float64(got) < MinScrapeCoverage*float64(planned) {
			return false, scrapes, fmt.Sprintf("%d of %d planned scrapes succeeded in the %s phase (want >= %.0f%%)",
				got, planned, p.Name, MinScrapeCoverage*100)
		}
	}
	return true, scrapes, ""
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
