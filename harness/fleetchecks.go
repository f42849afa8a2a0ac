package harness

import (
	"fmt"
	"time"

	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// fleetChecks are a fleet run's checks besides the fleet-wide ones Checks
// shares with a single gate:
//
//   - healthy_live_ratio:INSTANCE — every replica no fault hit keeps the
//     baseline's live ratio during the fault (the blast radius held);
//   - recovery:INSTANCE — every faulted replica's live ratio is back
//     within the recovery bound of its own revert;
//   - alert_fires:X and alert_resolves:X — per instance: X fires for every
//     faulted replica within its bound and for no healthy one, and
//     resolves on each; every instance is counted in the observed value;
//   - alert_delivered:X and resolution_delivered:X — the firing and the
//     resolved notification for every faulted instance reached the
//     harness's receiver through Alertmanager within their bounds, none
//     for a healthy one, and no notification was malformed;
//   - canary_decision — the canary gate's decision against the run's
//     Prometheus is the expected one;
//   - no_unexpected_alerts, as for a single gate.
//
// Alert checks need the scrape evidence Prometheus's up series gives, for
// the fleet and for each instance.
func fleetChecks(l *checkList, spec *scenario.Spec, o Observation) {
	f := o.Fleet
	faulted := map[string]bool{}
	for _, n := range f.Faulted {
		faulted[n] = true
	}
	var healthy []string
	for _, n := range f.Instances {
		if !faulted[n] {
			healthy = append(healthy, n)
		}
	}
	for _, n := range healthy {
		w := load.Summarise(recordsOf(o.Records, n), o.FaultStart, o.FaultEnd)
		name, exp := "healthy_live_ratio:"+n, fmt.Sprintf("live ratio >= %.0f%% during the fault (no fault hit it)", spec.Baseline.MinLiveRatio*100)
		if w.Requests == 0 {
			l.none(name, exp, "no response from it during the fault", 0, "responses")
			continue
		}
		l.add(name, exp, fmt.Sprintf("%.1f%% live of %d, %d 5xx", w.LiveRatio()*100, w.Requests, count5xx(w)), w.Requests, "responses",
			w.LiveRatio() >= spec.Baseline.MinLiveRatio && count5xx(w) == 0)
	}
	if r := spec.Expect.Recovery; r.MinLiveRatio > 0 {
		for _, n := range f.Faulted {
			name := "recovery:" + n
			exp := fmt.Sprintf("live ratio back to >= %.0f%% within %s of its revert", r.MinLiveRatio*100, r.Within.D())
			since := load.Summarise(recordsOf(o.Records, n), f.Reverted[n], farFuture)
			switch at := f.Recovered[n]; {
			case since.Requests == 0:
				l.none(name, exp, "no response from it after the revert", 0, "responses")
			case at.IsZero():
				l.add(name, exp, "not recovered", since.Requests, "responses", false)
			default:
				d := at.Sub(f.Reverted[n])
				l.add(name, exp, fmt.Sprintf("%s after its revert", d.Round(time.Second)), since.Requests, "responses", d <= r.Within.D())
			}
		}
	}
	fleetAlertChecks(l, spec, o, healthy)
	if c := spec.Expect.Canary; c != nil {
		canaryCheck(l, c, f)
	}
}

// fleetAlertChecks are the per-instance alert and delivery checks.
func fleetAlertChecks(l *checkList, spec *scenario.Spec, o Observation, healthy []string) {
	e, f := spec.Expect, o.Fleet
	if len(e.Alerts) == 0 && !e.NoUnexpectedAlerts {
		return
	}
	cov, scrapes, gap := fleetScrapeCoverage(o)
	expected := map[string]bool{}
	for _, ae := range e.Alerts {
		expected[ae.Name] = true
		fireName, resName := "alert_fires:"+ae.Name, "alert_resolves:"+ae.Name
		fireExp := fmt.Sprintf("fires within %s of the fault for each of the %d faulted instances, for none of the %d healthy ones", ae.FireWithin.D(), len(f.Faulted), len(healthy))
		resExp := fmt.Sprintf("resolves within %s of the revert on each faulted instance and stays resolved", ae.ResolveWithin.D())
		if !cov {
			l.none(fireName, fireExp, gap, scrapes, "scrapes")
			l.none(resName, resExp, gap, scrapes, "scrapes")
		} else {
			var fireOK, resOK []string
			var fireBad, resBad []string
			for _, n := range f.Faulted {
				t := instanceTimeline(o.Alerts, ae.Name, n, f.Injected[n])
				switch {
				case t.before:
					fireBad = append(fireBad, n+" already firing before its fault")
				case t.first.IsZero():
					fireBad = append(fireBad, n+" never fired")
				case t.first.Sub(f.Injected[n]) > ae.FireWithin.D():
					fireBad = append(fireBad, fmt.Sprintf("%s fired %s after its fault", n, t.first.Sub(f.Injected[n]).Round(time.Second)))
				default:
					fireOK = append(fireOK, fmt.Sprintf("%s +%s", n, t.first.Sub(f.Injected[n]).Round(time.Second)))
				}
				switch {
				case t.firings == 0:
				case t.stillFiring:
					resBad = append(resBad, n+" still firing at the end")
				case t.firings > 1:
					resBad = append(resBad, fmt.Sprintf("%s fired %d times", n, t.firings))
				case t.resolved.Sub(f.Reverted[n]) > ae.ResolveWithin.D():
					resBad = append(resBad, fmt.Sprintf("%s resolved %s after its revert", n, t.resolved.Sub(f.Reverted[n]).Round(time.Second)))
				default:
					resOK = append(resOK, fmt.Sprintf("%s +%s", n, t.resolved.Sub(f.Reverted[n]).Round(time.Second)))
				}
			}
			var wrong []string
			for _, n := range healthy {
				if t := instanceTimeline(o.Alerts, ae.Name, n, o.FaultStart); t.firings > 0 || t.before {
					wrong = append(wrong, n)
				}
			}
			obs := fmt.Sprintf("faulted: %d of %d fired (%s); healthy: %d of %d fired (%s)",
				len(fireOK), len(f.Faulted), instanceList(append(fireOK, fireBad...)), len(wrong), len(healthy), instanceList(wrong))
			l.add(fireName, fireExp, obs, scrapes, "scrapes", len(f.Faulted) > 0 && len(fireOK) == len(f.Faulted) && len(wrong) == 0)
			obs = fmt.Sprintf("%d of %d faulted instances resolved (%s)", len(resOK), len(f.Faulted), instanceList(append(resOK, resBad...)))
			l.add(resName, resExp, obs, scrapes, "scrapes", len(f.Faulted) > 0 && len(resOK) == len(f.Faulted))
		}
		if ae.DeliveredWithin > 0 {
			deliveryCheck(l, "alert_delivered:"+ae.Name, ae.Name, "firing", ae.DeliveredWithin.D(), f.Injected, "fault", f, healthy)
		}
		if ae.ResolutionDeliveredWithin > 0 {
			deliveryCheck(l, "resolution_delivered:"+ae.Name, ae.Name, "resolved", ae.ResolutionDeliveredWithin.D(), f.Reverted, "revert", f, healthy)
		}
	}
	if e.NoUnexpectedAlerts {
		unexpectedAlerts(l, o, expected, cov, scrapes, gap)
	}
}

// fleetScrapeCoverage is scrapeCoverage for the fleet and then for each
// instance: "fired for none of the healthy ones" needs every one of them
// scraped, and 90 % of a fleet's scrapes can leave one replica unseen.
func fleetScrapeCoverage(o Observation) (ok bool, scrapes int, gap string) {
	if ok, scrapes, gap = scrapeCoverage(o); !ok {
		return ok, scrapes, gap
	}
	f := o.Fleet
	for _, n := range f.Instances {
		one := Observation{Phases: o.Phases, ScrapeInterval: o.ScrapeInterval, ScrapeJobs: f.ScrapeJobs, Scrapes: f.Scrapes[n]}
		if f.ScrapeJobs <= 0 {
			return false, scrapes, "no scrape jobs recorded per instance"
		}
		if iok, _, igap := scrapeCoverage(one); !iok {
			return false, scrapes, n + ": " + igap
		}
	}
	return true, scrapes, ""
}

// timeline is one alert's history on one instance.
type timeline struct {
	before          bool // fired before from
	first, resolved time.Time
	firings         int
	stillFiring     bool
}

func instanceTimeline(all []reports.Alert, name, instance string, from time.Time) timeline {
	var t timeline
	for _, a := range all {
		if a.Name != name || a.Labels["instance"] != instance {
			continue
		}
		for _, tr := range a.Transitions {
			switch {
			case tr.To == alertFiring && tr.At.Before(from):
				t.before = true
			case tr.To == alertFiring:
				t.firings++
				if t.first.IsZero() || tr.At.Before(t.first) {
					t.first = tr.At
				}
			case tr.From == alertFiring && !tr.At.Before(from) && tr.At.After(t.resolved):
				t.resolved = tr.At
			}
		}
		if n := len(a.Transitions); n > 0 && a.Transitions[n-1].To == alertFiring {
			t.stillFiring = true
		}
	}
	return t
}

// deliveryCheck: a notification of alert with status reached the
// receiver for every faulted instance within bound of since[instance], and
// none for a healthy instance; a malformed notification fails it too. The
// evidence is the notifications received.
func deliveryCheck(l *checkList, name, alert, status string, bound time.Duration, since map[string]time.Time, what string, f *FleetObservation, healthy []string) {
	exp := fmt.Sprintf("a %s notification for each of the %d faulted instances within %s of its %s, none for a healthy one, none malformed",
		status, len(f.Faulted), bound, what)
	var ok, bad, wrong []string
	for _, n := range f.Faulted {
		nt, found := firstNotification(f.Notifications, alert, n, status, since[n])
		switch {
		case !found:
			bad = append(bad, n+" none")
		case nt.ReceivedAt.Sub(since[n]) > bound:
			bad = append(bad, fmt.Sprintf("%s after %s", n, nt.ReceivedAt.Sub(since[n]).Round(time.Second)))
		default:
			ok = append(ok, fmt.Sprintf("%s +%s", n, nt.ReceivedAt.Sub(since[n]).Round(time.Second)))
		}
	}
	for _, n := range healthy {
		if _, found := firstNotification(f.Notifications, alert, n, status, time.Time{}); found {
			wrong = append(wrong, n)
		}
	}
	received := 0
	for _, nt := range f.Notifications {
		if nt.Malformed == "" {
			received++
		}
	}
	if received == 0 {
		l.none(name, exp, fmt.Sprintf("no well-formed notification reached the receiver (%d malformed)", f.Malformed), 0, "notifications")
		return
	}
	obs := fmt.Sprintf("faulted: %d of %d delivered (%s); healthy: %d delivered (%s); %d malformed; %d notifications received",
		len(ok), len(f.Faulted), instanceList(append(ok, bad...)), len(wrong), instanceList(wrong), f.Malformed, received)
	l.add(name, exp, obs, received, "notifications", len(f.Faulted) > 0 && len(ok) == len(f.Faulted) && len(wrong) == 0 && f.Malformed == 0)
}

// firstNotification is the first well-formed notification of alert on
// instance with status received at or after since.
func firstNotification(ns []reports.Notification, alert, instance, status string, since time.Time) (reports.Notification, bool) {
	var best reports.Notification
	found := false
	for _, n := range ns {
		if n.Malformed != "" || n.Alert != alert || n.Instance != instance || n.Status != status || n.ReceivedAt.Before(since) {
			continue
		}
		if !found || n.ReceivedAt.Before(best.ReceivedAt) {
			best, found = n, true
		}
	}
	return best, found
}

// canaryCheck: the canary gate decided as expected; an error or an
// inconclusive decision is no evidence.
func canaryCheck(l *checkList, c *scenario.CanaryExpect, f *FleetObservation) {
	name := "canary_decision"
	exp := fmt.Sprintf("the canary gate decides %s over %s (max delta %.0f points, >= %.0f requests a side)", c.Decision, c.Window.D(), c.MaxDelta*100, c.MinRequests)
	switch res := f.Canary; {
	case f.CanaryErr != nil:
		l.none(name, exp, "the canary gate could not query Prometheus: "+f.CanaryErr.Error(), 0, "requests")
	case res == nil:
		l.none(name, exp, "the canary gate was not evaluated", 0, "requests")
	default:
		n := int(min(res.Stable.Requests, res.Canary.Requests))
		obs := fmt.Sprintf("%s: canary %.1f%% snapshots of %.0f, stable %.1f%% of %.0f (delta %+.1f points): %s",
			res.Decision, res.Canary.SnapshotRatio*100, res.Canary.Requests, res.Stable.SnapshotRatio*100, res.Stable.Requests, res.Delta*100, res.Reason)
		if res.Decision == canary.Inconclusive {
			l.none(name, exp, obs, n, "requests (the smaller side)")
			return
		}
		l.add(name, exp, obs, n, "requests (the smaller side)", res.Decision == c.Decision)
	}
}
