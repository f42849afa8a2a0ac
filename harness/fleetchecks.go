package harness

import (
	"fmt"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/receiver"
)

// A fleet run's rows of the check table judge every replica on its own:
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
//     Prometheus is the expected one.
//
// Alert checks need the scrape evidence Prometheus's up series gives, for
// the fleet and for each instance.

// healthy lists the fleet's instances no fault hit.
func (f *fleetObservation) healthy() []string {
	faulted := map[string]bool{}
	for _, n := range f.Faulted {
		faulted[n] = true
	}
	var out []string
	for _, n := range f.Instances {
		if !faulted[n] {
			out = append(out, n)
		}
	}
	return out
}

func healthyLiveRatio(j *judging) {
	o, min := j.o, j.spec.Baseline.MinLiveRatio
	by := load.ByInstance(o.Records)
	for _, n := range o.Fleet.healthy() {
		w := load.Summarise(by[n], o.FaultStart, o.FaultEnd)
		exp := fmt.Sprintf("live ratio >= %.0f%% during the fault (no fault hit it)", min*100)
		if w.Requests == 0 {
			j.none(n, exp, "no response from it during the fault", 0)
			continue
		}
		j.add(n, exp, fmt.Sprintf("%.1f%% live of %d, %d 5xx", w.LiveRatio()*100, w.Requests, count5xx(w)), w.Requests,
			w.LiveRatio() >= min && count5xx(w) == 0)
	}
}

func replicaRecovery(j *judging) {
	o, f, rc := j.o, j.o.Fleet, j.spec.Expect.Recovery
	by := load.ByInstance(o.Records)
	for _, n := range f.Faulted {
		exp := fmt.Sprintf("live ratio back to >= %.0f%% within %s of its revert", rc.MinLiveRatio*100, rc.Within.D())
		since := load.Summarise(by[n], f.Reverted[n], farFuture)
		switch at := f.Recovered[n]; {
		case since.Requests == 0:
			j.none(n, exp, "no response from it after the revert", 0)
		case at.IsZero():
			j.add(n, exp, "not recovered", since.Requests, false)
		default:
			d := at.Sub(f.Reverted[n])
			j.add(n, exp, fmt.Sprintf("%s after its revert", d.Round(time.Second)), since.Requests, d <= rc.Within.D())
		}
	}
}

// onInstance keeps the label sets of one instance.
func onInstance(name string) func(map[string]string) bool {
	return func(l map[string]string) bool { return l["instance"] == name }
}

func fleetAlertFires(j *judging) {
	f := j.o.Fleet
	healthy := f.healthy()
	for _, ae := range j.spec.Expect.Alerts {
		exp := fmt.Sprintf("fires within %s of the fault for each of the %d faulted instances, for none of the %d healthy ones", ae.FireWithin.D(), len(f.Faulted), len(healthy))
		if !j.alertCoverage(ae.Name, exp) {
			continue
		}
		var ok, bad, wrong []string
		for _, n := range f.Faulted {
			t := timelineOf(j.o.Alerts, ae.Name, onInstance(n), f.Injected[n])
			switch d := t.first.Sub(f.Injected[n]); {
			case len(t.beforeAt) > 0:
				bad = append(bad, n+" already firing before its fault")
			case t.first.IsZero():
				bad = append(bad, n+" never fired")
			case d > ae.FireWithin.D():
				bad = append(bad, fmt.Sprintf("%s fired %s after its fault", n, d.Round(time.Second)))
			default:
				ok = append(ok, fmt.Sprintf("%s +%s", n, d.Round(time.Second)))
			}
		}
		for _, n := range healthy {
			if t := timelineOf(j.o.Alerts, ae.Name, onInstance(n), j.o.FaultStart); t.firings > 0 || len(t.beforeAt) > 0 {
				wrong = append(wrong, n)
			}
		}
		obs := fmt.Sprintf("faulted: %d of %d fired (%s); healthy: %d of %d fired (%s)",
			len(ok), len(f.Faulted), instanceList(append(ok, bad...)), len(wrong), len(healthy), instanceList(wrong))
		j.add(ae.Name, exp, obs, j.scrapes, len(f.Faulted) > 0 && len(ok) == len(f.Faulted) && len(wrong) == 0)
	}
}

func fleetAlertResolves(j *judging) {
	f := j.o.Fleet
	for _, ae := range j.spec.Expect.Alerts {
		exp := fmt.Sprintf("resolves within %s of the revert on each faulted instance and stays resolved", ae.ResolveWithin.D())
		if !j.alertCoverage(ae.Name, exp) {
			continue
		}
		var ok, bad []string
		for _, n := range f.Faulted {
			t := timelineOf(j.o.Alerts, ae.Name, onInstance(n), f.Injected[n])
			switch d := t.resolved.Sub(f.Reverted[n]); {
			case t.firings == 0:
			case t.stillFiring:
				bad = append(bad, n+" still firing at the end")
			case t.firings > 1:
				bad = append(bad, fmt.Sprintf("%s fired %d times", n, t.firings))
			case d > ae.ResolveWithin.D():
				bad = append(bad, fmt.Sprintf("%s resolved %s after its revert", n, d.Round(time.Second)))
			default:
				ok = append(ok, fmt.Sprintf("%s +%s", n, d.Round(time.Second)))
			}
		}
		obs := fmt.Sprintf("%d of %d faulted instances resolved (%s)", len(ok), len(f.Faulted), instanceList(append(ok, bad...)))
		j.add(ae.Name, exp, obs, j.scrapes, len(f.Faulted) > 0 && len(ok) == len(f.Faulted))
	}
}

// fleetScrapeCoverage is scrapeCoverage for every instance: "fired for
// none of the healthy ones" needs every one of them scraped, and 90 % of a
// fleet's scrapes can leave one replica unseen.
func fleetScrapeCoverage(o observation) (ok bool, scrapes int, gap string) {
	f := o.Fleet
	scrapes = o.Scrapes.OK
	if f.ScrapeJobs <= 0 {
		return false, scrapes, "no scrape jobs recorded per instance"
	}
	for _, n := range f.Instances {
		one := observation{Phases: o.Phases, ScrapeInterval: o.ScrapeInterval, ScrapeJobs: f.ScrapeJobs, Scrapes: f.Scrapes[n]}
		if iok, _, igap := scrapeCoverage(one); !iok {
			return false, scrapes, n + ": " + igap
		}
	}
	return true, scrapes, ""
}

func alertDelivered(j *judging) {
	for _, ae := range j.spec.Expect.Alerts {
		if ae.DeliveredWithin > 0 {
			j.delivery(ae.Name, "firing", ae.DeliveredWithin.D(), j.o.Fleet.Injected, "fault")
		}
	}
}

func resolutionDelivered(j *judging) {
	for _, ae := range j.spec.Expect.Alerts {
		if ae.ResolutionDeliveredWithin > 0 {
			j.delivery(ae.Name, "resolved", ae.ResolutionDeliveredWithin.D(), j.o.Fleet.Reverted, "revert")
		}
	}
}

// delivery: a notification of alert with status reached the receiver for
// every faulted instance within bound of since[instance], and none for a
// healthy instance; a malformed notification fails it too. The evidence
// is the notifications received.
func (j *judging) delivery(alert, status string, bound time.Duration, since map[string]time.Time, what string) {
	f := j.o.Fleet
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
	for _, n := range f.healthy() {
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
		j.none(alert, exp, fmt.Sprintf("no well-formed notification reached the receiver (%d malformed)", f.Malformed), 0)
		return
	}
	obs := fmt.Sprintf("faulted: %d of %d delivered (%s); healthy: %d delivered (%s); %d malformed; %d notifications received",
		len(ok), len(f.Faulted), instanceList(append(ok, bad...)), len(wrong), instanceList(wrong), f.Malformed, received)
	j.add(alert, exp, obs, received, len(f.Faulted) > 0 && len(ok) == len(f.Faulted) && len(wrong) == 0 && f.Malformed == 0)
}

// firstNotification is the first well-formed notification of alert on
// instance with status received at or after since.
func firstNotification(ns []receiver.Notification, alert, instance, status string, since time.Time) (receiver.Notification, bool) {
	var best receiver.Notification
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

// canaryDecision: the canary gate decided as expected; an error or an
// inconclusive decision is no evidence.
func canaryDecision(j *judging) {
	c := j.spec.Expect.Canary
	exp := fmt.Sprintf("the canary gate decides %s over %s (max delta %.0f points, >= %.0f requests a side)", c.Decision, c.Window.D(), c.MaxDelta*100, c.MinRequests)
	f := j.o.Fleet
	switch {
	case f == nil || f.Canary == nil && f.CanaryErr == nil:
		j.none("", exp, "the canary gate was not evaluated", 0)
	case f.CanaryErr != nil:
		j.none("", exp, "the canary gate could not query Prometheus: "+f.CanaryErr.Error(), 0)
	default:
		res := f.Canary
		n := int(min(res.Stable.Requests, res.Canary.Requests))
		obs := fmt.Sprintf("%s: canary %.1f%% snapshots of %.0f, stable %.1f%% of %.0f (delta %+.1f points): %s",
			res.Decision, res.Canary.SnapshotRatio*100, res.Canary.Requests, res.Stable.SnapshotRatio*100, res.Stable.Requests, res.Delta*100, res.Reason)
		if res.Decision == canary.Inconclusive {
			j.none("", exp, obs, n)
			return
		}
		j.add("", exp, obs, n, res.Decision == c.Decision)
	}
}

// instanceList renders instances for observed values.
func instanceList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
