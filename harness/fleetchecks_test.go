package harness

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/receiver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// healthyFleet builds an observation that satisfies fleet-canary: ten
// replicas at 5 req/s each, replica-1 (the canary) serving snapshots with
// Warning during the fault, CircuitBreakerActive firing and resolving for
// replica-1 only, both notifications delivered, the canary gate aborting.
func healthyFleet(t *testing.T) (*scenario.Spec, observation) {
	t.Helper()
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	spec := b["fleet-canary"]
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := observation{BaselineStart: t0, FaultStart: t0.Add(20 * time.Second), FaultEnd: t0.Add(95 * time.Second),
		AfterStart: t0.Add(110 * time.Second), AfterEnd: t0.Add(130 * time.Second), GateCountOK: true}
	var names []string
	for i := 1; i <= 10; i++ {
		names = append(names, scenario.ReplicaName(i))
	}
	for i := 0; i < 130*50; i++ {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		r := load.Record{At: at, Code: 200, Latency: time.Millisecond, Source: "live", LiveSHA: true, Instance: names[i%10]}
		if r.Instance == "replica-1" && !at.Before(o.FaultStart) && at.Before(o.FaultEnd) {
			r.Source, r.Warning = "snapshot", true
		}
		o.Records = append(o.Records, r)
	}
	o.GateRequests = float64(len(o.Records))
	pend, fire, res := o.FaultStart.Add(5*time.Second), o.FaultStart.Add(15*time.Second), o.FaultEnd.Add(5*time.Second)
	o.Alerts = []alerts.Timeline{{Name: "CircuitBreakerActive", Labels: map[string]string{"instance": "replica-1", "track": "canary"},
		PendingAt: &pend, FiringAt: &fire, ResolvedAt: &res, Firings: 1, Transitions: []alerts.Transition{
			{At: pend, From: "inactive", To: "pending"}, {At: fire, From: "pending", To: "firing"}, {At: res, From: "firing", To: "inactive"}}}}
	o.recoveredAt = o.FaultEnd.Add(time.Second)
	o.Phases = []reports.Phase{{Name: "baseline", Start: t0, End: o.FaultStart}, {Name: "fault", Start: o.FaultStart, End: o.FaultEnd},
		{Name: "recovery", Start: o.FaultEnd, End: o.AfterStart}, {Name: "after", Start: o.AfterStart, End: o.AfterEnd}}
	o.ScrapeInterval, o.ScrapeJobs = 5*time.Second, 20
	o.Scrapes.ByPhase = map[string]reports.PhaseScrape{}
	byInstance := map[string]reports.Scrapes{}
	for _, p := range o.Phases {
		n := int(p.End.Sub(p.Start)/o.ScrapeInterval) * o.ScrapeJobs
		o.Scrapes.ByPhase[p.Name] = reports.PhaseScrape{Planned: n, OK: n}
		o.Scrapes.OK += n
		for _, name := range names {
			s := byInstance[name]
			if s.ByPhase == nil {
				s.ByPhase = map[string]reports.PhaseScrape{}
			}
			s.ByPhase[p.Name] = reports.PhaseScrape{Planned: n / 10, OK: n / 10}
			s.OK += n / 10
			byInstance[name] = s
		}
	}
	o.Faults = []reports.Fault{{Name: "cache-readonly", Instance: "replica-1", InjectedAt: o.FaultStart, RevertedAt: o.FaultEnd,
		Proof: &reports.Proof{Unit: "writes", Requested: 2, Achieved: 2, Samples: 2, OK: true}}}
	o.Fleet = &fleetObservation{Instances: names, Faulted: []string{"replica-1"},
		Injected:  map[string]time.Time{"replica-1": o.FaultStart},
		Reverted:  map[string]time.Time{"replica-1": o.FaultEnd},
		Recovered: map[string]time.Time{"replica-1": o.FaultEnd.Add(2 * time.Second)},
		Scrapes:   byInstance, ScrapeJobs: 2,
		Notifications: []receiver.Notification{
			{ReceivedAt: fire.Add(2 * time.Second), Alert: "CircuitBreakerActive", Instance: "replica-1", Status: "firing", Receiver: "gameday"},
			{ReceivedAt: res.Add(2 * time.Second), Alert: "CircuitBreakerActive", Instance: "replica-1", Status: "resolved", Receiver: "gameday"},
		},
		Canary: &canary.Result{Decision: canary.Abort, Reason: "canary above stable", Delta: 0.9, MaxDelta: 0.02,
			Canary: canary.Side{Requests: 300, SnapshotRatio: 0.9}, Stable: canary.Side{Requests: 2700}},
		CanaryAt: o.FaultEnd,
	}
	return spec, o
}

func TestFleetChecksPassOnHealthyObservation(t *testing.T) {
	spec, o := healthyFleet(t)
	checks := checks(spec, o)
	if f := failing(checks); len(f) != 0 {
		t.Fatalf("healthy fleet observation failed %v", f)
	}
	want := []string{"healthy_live_ratio:replica-2", "healthy_live_ratio:replica-10", "recovery:replica-1",
		"alert_fires:CircuitBreakerActive", "alert_resolves:CircuitBreakerActive", "alert_delivered:CircuitBreakerActive",
		"resolution_delivered:CircuitBreakerActive", "canary_decision", "no_unexpected_alerts"}
	names := map[string]reports.Check{}
	for _, c := range checks {
		names[c.Name] = c
	}
	for _, w := range want {
		if _, ok := names[w]; !ok {
			t.Errorf("check %s missing", w)
		}
	}
	if _, ok := names["healthy_live_ratio:replica-1"]; ok {
		t.Error("the faulted replica was checked as healthy")
	}
	if obs := names["alert_fires:CircuitBreakerActive"].Observed; !strings.Contains(obs, "faulted: 1 of 1") || !strings.Contains(obs, "healthy: 0 of 9") {
		t.Errorf("alert_fires observed %q: want each side counted", obs)
	}
}

// TestEveryFleetCheckCanFail breaks one thing at a time; the matching
// check must fail.
func TestEveryFleetCheckCanFail(t *testing.T) {
	otherFires := func(o *observation) {
		a := o.Alerts[0]
		a.Labels = map[string]string{"instance": "replica-4", "track": "stable"}
		o.Alerts = append(o.Alerts, a)
	}
	cases := []struct {
		check  string
		break_ func(o *observation)
	}{
		{"healthy_live_ratio:replica-2", func(o *observation) {
			for i := range o.Records {
				if o.Records[i].Instance == "replica-2" && !o.Records[i].At.Before(o.FaultStart) && o.Records[i].At.Before(o.FaultEnd) {
					o.Records[i].Source, o.Records[i].Warning = "snapshot", true
				}
			}
		}},
		{"recovery:replica-1", func(o *observation) { o.Fleet.Recovered["replica-1"] = time.Time{} }},
		{"recovery:replica-1", func(o *observation) { o.Fleet.Recovered["replica-1"] = o.FaultEnd.Add(6 * time.Minute) }},
		{"alert_fires:CircuitBreakerActive", otherFires},
		{"alert_fires:CircuitBreakerActive", func(o *observation) { o.Alerts[0].Labels["instance"] = "replica-3" }},
		{"alert_fires:CircuitBreakerActive", func(o *observation) { o.Alerts[0].Transitions[1].At = o.FaultStart.Add(time.Minute) }},
		{"alert_resolves:CircuitBreakerActive", func(o *observation) { o.Alerts[0].Transitions = o.Alerts[0].Transitions[:2] }},
		{"alert_delivered:CircuitBreakerActive", func(o *observation) { o.Fleet.Notifications = o.Fleet.Notifications[1:] }},
		{"alert_delivered:CircuitBreakerActive", func(o *observation) { o.Fleet.Notifications[0].ReceivedAt = o.FaultStart.Add(2 * time.Minute) }},
		{"alert_delivered:CircuitBreakerActive", func(o *observation) {
			o.Fleet.Malformed = 1
			o.Fleet.Notifications = append(o.Fleet.Notifications, receiver.Notification{ReceivedAt: o.FaultStart, Malformed: "not JSON"})
		}},
		{"alert_delivered:CircuitBreakerActive", func(o *observation) {
			n := o.Fleet.Notifications[0]
			n.Instance = "replica-7"
			o.Fleet.Notifications = append(o.Fleet.Notifications, n)
		}},
		{"resolution_delivered:CircuitBreakerActive", func(o *observation) { o.Fleet.Notifications = o.Fleet.Notifications[:1] }},
		{"canary_decision", func(o *observation) { o.Fleet.Canary.Decision = canary.Pass }},
		{"canary_decision", func(o *observation) { o.Fleet.Canary.Decision = canary.Inconclusive }},
		{"canary_decision", func(o *observation) { o.Fleet.Canary, o.Fleet.CanaryErr = nil, fmt.Errorf("connection refused") }},
		{"no_unexpected_alerts", func(o *observation) {
			at := o.FaultStart
			o.Alerts = append(o.Alerts, alerts.Timeline{Name: "HighLatency", Labels: map[string]string{"instance": "replica-2"}, FiringAt: &at, Firings: 1,
				Transitions: []alerts.Transition{{At: at, From: "pending", To: "firing"}}})
		}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s#%d", c.check, i), func(t *testing.T) {
			spec, o := healthyFleet(t)
			c.break_(&o)
			f := failing(checks(spec, o))
			found := false
			for _, name := range f {
				found = found || name == c.check
			}
			if !found {
				t.Fatalf("breaking %s did not fail it (failed: %v)", c.check, f)
			}
		})
	}
}

// TestFleetDeliveryChecksNeedNotifications: with nothing received (or
// only malformed bodies) the delivery checks fail for want of evidence.
func TestFleetDeliveryChecksNeedNotifications(t *testing.T) {
	for name, ns := range map[string][]receiver.Notification{
		"none":           nil,
		"malformed only": {{ReceivedAt: time.Now(), Malformed: "not JSON"}},
	} {
		t.Run(name, func(t *testing.T) {
			spec, o := healthyFleet(t)
			o.Fleet.Notifications, o.Fleet.Malformed = ns, len(ns)
			n := 0
			for _, c := range checks(spec, o) {
				if strings.HasPrefix(c.Name, "alert_delivered:") || strings.HasPrefix(c.Name, "resolution_delivered:") {
					n++
					if c.Pass || !strings.HasPrefix(c.Observed, "no evidence:") || c.Evidence != 0 {
						t.Errorf("%s: pass=%v evidence=%d %q", c.Name, c.Pass, c.Evidence, c.Observed)
					}
				}
			}
			if n != 2 {
				t.Fatalf("%d delivery checks, want 2", n)
			}
		})
	}
}

func TestFleetAlertChecksNeedScrapeEvidence(t *testing.T) {
	for name, break_ := range map[string]func(o *observation){
		"half the fault's scrapes": func(o *observation) {
			ps := o.Scrapes.ByPhase["fault"]
			ps.OK = ps.Planned / 2
			o.Scrapes.ByPhase["fault"] = ps
		},
		// The fleet keeps 90 % of its scrapes while one healthy replica
		// is never scraped in the fault: "fired for none of the healthy
		// ones" would be said of a replica nobody looked at.
		"a healthy replica never scraped in the fault": func(o *observation) {
			s := o.Fleet.Scrapes["replica-7"]
			s.ByPhase = map[string]reports.PhaseScrape{"baseline": s.ByPhase["baseline"], "recovery": s.ByPhase["recovery"], "after": s.ByPhase["after"],
				"fault": {Planned: s.ByPhase["fault"].Planned, Failed: s.ByPhase["fault"].Planned}}
			o.Fleet.Scrapes["replica-7"] = s
			ps := o.Scrapes.ByPhase["fault"]
			ps.OK -= s.ByPhase["fault"].Planned
			o.Scrapes.ByPhase["fault"] = ps
		},
		"no per-instance evidence": func(o *observation) { o.Fleet.Scrapes = nil },
	} {
		t.Run(name, func(t *testing.T) {
			spec, o := healthyFleet(t)
			break_(&o)
			if ok, _, gap := scrapeCoverage(o); name != "half the fault's scrapes" && !ok {
				t.Fatalf("the fleet-wide coverage should hold here: %s", gap)
			}
			for _, c := range checks(spec, o) {
				if strings.HasPrefix(c.Name, "alert_fires:") || strings.HasPrefix(c.Name, "alert_resolves:") || c.Name == "no_unexpected_alerts" {
					if c.Pass || !strings.HasPrefix(c.Observed, "no evidence:") {
						t.Errorf("%s: pass=%v %q", c.Name, c.Pass, c.Observed)
					}
				}
			}
		})
	}
}
