package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// healthy builds an observation that satisfies the io-glitch expectations:
// 20 req/s live, snapshots with Warning during the fault, the breaker alert
// firing and resolving, quick recovery, counters that agree.
func healthy(t *testing.T) (*scenario.Spec, observation) {
	t.Helper()
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	spec := b["io-glitch"]
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := observation{BaselineStart: t0, FaultStart: t0.Add(20 * time.Second), FaultEnd: t0.Add(80 * time.Second),
		AfterStart: t0.Add(90 * time.Second), AfterEnd: t0.Add(110 * time.Second), GateCountOK: true}
	for i := 0; i < 110*20; i++ {
		at := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		r := load.Record{At: at, Code: 200, Latency: time.Millisecond, Source: "live", LiveSHA: true}
		if !at.Before(o.FaultStart) && at.Before(o.FaultEnd) {
			r.Source, r.Warning = "snapshot", true
		}
		o.Records = append(o.Records, r)
	}
	o.GateRequests = float64(len(o.Records))
	pend, fire, res := o.FaultStart.Add(5*time.Second), o.FaultStart.Add(15*time.Second), o.FaultEnd.Add(5*time.Second)
	o.Alerts = []alerts.Timeline{{Name: "CircuitBreakerActive", Labels: map[string]string{"instance": "127.0.0.1:1"},
		PendingAt: &pend, FiringAt: &fire, ResolvedAt: &res, Firings: 1, Transitions: []alerts.Transition{
			{At: pend, From: "inactive", To: "pending"}, {At: fire, From: "pending", To: "firing"}, {At: res, From: "firing", To: "inactive"}}}}
	o.recoveredAt = o.FaultEnd.Add(time.Second)
	o.Phases = []reports.Phase{{Name: "baseline", Start: t0, End: o.FaultStart}, {Name: "fault", Start: o.FaultStart, End: o.FaultEnd},
		{Name: "recovery", Start: o.FaultEnd, End: o.AfterStart}, {Name: "after", Start: o.AfterStart, End: o.AfterEnd}}
	o.ScrapeInterval, o.ScrapeJobs = 5*time.Second, 2
	o.Scrapes.ByPhase = map[string]reports.PhaseScrape{}
	for _, p := range o.Phases {
		n := int(p.End.Sub(p.Start)/o.ScrapeInterval) * o.ScrapeJobs
		o.Scrapes.ByPhase[p.Name] = reports.PhaseScrape{Planned: n, OK: n}
		o.Scrapes.OK += n
	}
	o.Faults = []reports.Fault{{Name: "cache-readonly", InjectedAt: o.FaultStart, RevertedAt: o.FaultEnd,
		Proof: &reports.Proof{Unit: "writes", Requested: 2, Achieved: 2, Samples: 2, OK: true}}}
	return spec, o
}

func failing(checks []reports.Check) []string {
	var out []string
	for _, c := range checks {
		if !c.Pass {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestChecksPassOnHealthyObservation(t *testing.T) {
	spec, o := healthy(t)
	if f := failing(checks(spec, o)); len(f) != 0 {
		t.Fatalf("healthy observation failed %v", f)
	}
}

// TestEveryCheckCanFail breaks one thing at a time and expects exactly the
// matching check to fail: no check passes by construction.
func TestEveryCheckCanFail(t *testing.T) {
	cases := []struct {
		check  string
		break_ func(o *observation)
	}{
		{"no_5xx", func(o *observation) { o.Records[1000].Code = 503; o.Records[1000].Source = "none" }},
		{"no_transport_errors", func(o *observation) {
			o.Records[1000].Code, o.Records[1000].Source, o.Records[1000].Err = 0, "", "read tcp: connection reset by peer"
		}},
		{"all_200", func(o *observation) { o.Records[1000].Code = 429; o.Records[1000].Source = "none" }},
		{"snapshots_during_fault", func(o *observation) {
			for i := range o.Records {
				o.Records[i].Source, o.Records[i].Warning = "live", false
			}
		}},
		{"warning_on_snapshots", func(o *observation) { o.Records[1000].Warning = false }},
		{"alert_fires:CircuitBreakerActive", func(o *observation) { o.Alerts[0].Transitions[1].At = o.FaultStart.Add(time.Hour) }},
		{"alert_resolves:CircuitBreakerActive", func(o *observation) { o.Alerts[0].Transitions = o.Alerts[0].Transitions[:2] }},
		{"no_unexpected_alerts", func(o *observation) {
			at := o.FaultStart
			o.Alerts = append(o.Alerts, alerts.Timeline{Name: "HighLatency", FiringAt: &at, Firings: 1,
				Transitions: []alerts.Transition{{At: at, From: "pending", To: "firing"}}})
		}},
		{"fault_achieved:cache-readonly", func(o *observation) {
			o.Faults[0].Proof = &reports.Proof{Unit: "writes", Samples: 1, Detail: "a write succeeded while the fault was active"}
		}},
		{"recovery", func(o *observation) { o.recoveredAt = time.Time{} }},
		{"after_steady", func(o *observation) {
			for i := range o.Records {
				if !o.Records[i].At.Before(o.AfterStart) {
					o.Records[i].Source = "snapshot"
					o.Records[i].Warning = true
				}
			}
		}},
		{"counters_agree", func(o *observation) { o.GateRequests-- }},
		{"livesha_valid", func(o *observation) { o.Records[5].LiveSHA, o.Records[5].SHAFailed = false, true }},
		{"faults_reverted", func(o *observation) { o.Faults[0].RevertErr = "cache-readonly revert: chmod: permission denied" }},
		{"baseline_steady", func(o *observation) {
			for i := 0; i < 100; i++ {
				o.Records[i].Source = "snapshot"
				o.Records[i].Warning = true
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.check, func(t *testing.T) {
			spec, o := healthy(t)
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

func TestLatencyChecksCanFail(t *testing.T) {
	b, _ := scenario.Builtins(fault.Known)
	spec := b["latency"]
	_, o := healthy(t)
	o.Alerts = nil
	for i := range o.Records {
		o.Records[i].Source, o.Records[i].Warning = "live", false
	}
	f := strings.Join(failing(checks(spec, o)), ",")
	for _, want := range []string{"p95_during_fault", "alert_fires:HighLatency", "alert_resolves:HighLatency"} {
		if !strings.Contains(f, want) {
			t.Errorf("%s did not fail on fast responses without alerts (failed: %s)", want, f)
		}
	}
}

func TestRecoveredAt(t *testing.T) {
	t0 := time.Unix(0, 0)
	var rs []load.Record
	for i := 0; i < 400; i++ { // 20/s for 20s: snapshots until 5s, then live
		src := "live"
		if i < 100 {
			src = "snapshot"
		}
		rs = append(rs, load.Record{At: t0.Add(time.Duration(i) * 50 * time.Millisecond), Source: src, Code: 200})
	}
	at, ok := recoveredAt(rs, t0, t0.Add(20*time.Second), 0.95)
	if !ok || at != t0.Add(5*time.Second) {
		t.Fatalf("recoveredAt = %v %v, want 5s", at.Sub(t0), ok)
	}
	if _, ok := recoveredAt(rs, t0, t0.Add(15*time.Second), 0.95); !ok {
		t.Fatal("a full window of live responses ending by now is a recovery")
	}
	if _, ok := recoveredAt(rs[:150], t0, t0.Add(8*time.Second), 0.95); ok {
		t.Fatal("recovery declared before a full window was seen")
	}
}

func TestScenarioValidationNamesTheField(t *testing.T) {
	good := `name: x
load: {rate: 20}
baseline: {duration: 10s}
faults: [{name: cpu-spike, duration: 10s}]
after: {duration: 10s}
`
	if _, err := scenario.Parse(strings.NewReader(good), fault.Known); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	cases := map[string]string{
		"name":                 strings.Replace(good, "name: x\n", "", 1),
		"load.rate":            strings.Replace(good, "load: {rate: 20}\n", "", 1),
		"load.rate: at most":   strings.Replace(good, "rate: 20", "rate: 5000", 1),
		"baseline.duration":    strings.Replace(good, "baseline: {duration: 10s}\n", "", 1),
		"after.duration":       strings.Replace(good, "after: {duration: 10s}\n", "", 1),
		"faults: at least one": strings.Replace(good, "faults: [{name: cpu-spike, duration: 10s}]\n", "", 1),
		`faults[0].name: unknown fault "disk-fill"`:                            strings.Replace(good, "cpu-spike", "disk-fill", 1),
		"faults[0].duration":                                                   strings.Replace(good, ", duration: 10s}]", "}]", 1),
		"not a duration":                                                       strings.Replace(good, "baseline: {duration: 10s}", "baseline: {duration: soon}", 1),
		"colour: unknown field (known here: after, baseline":                   good + "colour: red\n",
		"baseline.min_live_ratio":                                              strings.Replace(good, "baseline: {duration: 10s}", "baseline: {duration: 10s, min_live_ratio: 95}", 1),
		"expect.alerts[0].fire_within":                                         good + "expect: {alerts: [{name: HighLatency, resolve_within: 1m}]}\n",
		"expect.recovery.within":                                               good + "expect: {recovery: {min_live_ratio: 0.95}}\n",
		"faults[0].params.cores":                                               strings.Replace(good, "duration: 10s}]", "duration: 10s, params: {cores: \"lots\"}}]", 1),
		"faults[0].params.colour":                                              strings.Replace(good, "duration: 10s}]", "duration: 10s, params: {colour: red}}]", 1),
		"expect.warning_on_snapshots: no fault":                                good + "expect: {warning_on_snapshots: true}\n",
		"expect.snapshots_during: no fault":                                    good + "expect: {snapshots_during: true}\n",
		"expect.counters_agree: faults[0] (scrape-path) breaks the path":       strings.Replace(good, "cpu-spike", "scrape-path", 1) + "expect: {counters_agree: true}\n",
		"expect.audit_resumed: no disk-full fault with params.path: audit":     strings.Replace(good, "cpu-spike", "disk-full", 1) + "expect: {audit_resumed: true}\n",
		`faults[0].params.path: disk-full: parameter path: "logs": want cache`: strings.Replace(strings.Replace(good, "cpu-spike", "disk-full", 1), "duration: 10s}]", "duration: 10s, params: {path: logs}}]", 1),
		`faults[0].params.size: disk-full: parameter size: "2GiB"`:             strings.Replace(strings.Replace(good, "cpu-spike", "disk-full", 1), "duration: 10s}]", "duration: 10s, params: {size: 2GiB}}]", 1),
	}
	for want, doc := range cases {
		_, err := scenario.Parse(strings.NewReader(doc), fault.Known)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
	if _, err := scenario.Parse(bytes.NewReader(nil), fault.Known); err == nil {
		t.Error("empty file accepted")
	}
}

// TestChecksFailWithoutEvidence: a check never passes on nothing; each
// missing piece of evidence fails the checks that need it, saying so.
func TestChecksFailWithoutEvidence(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(o *observation)
		want   []string
	}{
		{"no snapshot responses", func(o *observation) {
			for i := range o.Records {
				o.Records[i].Source, o.Records[i].Warning = "live", false
			}
		}, []string{"warning_on_snapshots"}},
		{"no scrape in the fault phase", func(o *observation) {
			p := o.Scrapes.ByPhase["fault"]
			p.OK = p.Planned * 8 / 10
			o.Scrapes.ByPhase["fault"] = p
		}, []string{"alert_fires:CircuitBreakerActive", "alert_resolves:CircuitBreakerActive", "no_unexpected_alerts"}},
		{"no scrape at all", func(o *observation) { o.Scrapes = reports.Scrapes{} },
			[]string{"alert_fires:CircuitBreakerActive", "no_unexpected_alerts"}},
		{"no response at all", func(o *observation) { o.Records = nil },
			[]string{"no_5xx", "no_transport_errors", "all_200", "warning_on_snapshots", "livesha_valid", "counters_agree", "recovery", "after_steady"}},
		{"no fault proof", func(o *observation) { o.Faults[0].Proof = nil }, []string{"fault_achieved:cache-readonly"}},
		{"no fault", func(o *observation) { o.Faults = nil }, []string{"faults_reverted"}},
		{"gate counter unreadable", func(o *observation) { o.GateCountOK = false }, []string{"counters_agree"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec, o := healthy(t)
			c.break_(&o)
			byName := map[string]reports.Check{}
			for _, ch := range checks(spec, o) {
				byName[ch.Name] = ch
			}
			for _, w := range c.want {
				ch, ok := byName[w]
				if !ok {
					t.Fatalf("%s missing", w)
				}
				if ch.Pass || !strings.HasPrefix(ch.Observed, "no evidence:") {
					t.Errorf("%s: pass=%v observed %q, want a failure saying no evidence", w, ch.Pass, ch.Observed)
				}
			}
		})
	}
}

// TestEveryCheckCarriesItsEvidence: on a healthy observation every check
// names how much it looked at.
func TestEveryCheckCarriesItsEvidence(t *testing.T) {
	spec, o := healthy(t)
	for _, c := range checks(spec, o) {
		if c.Evidence <= 0 || c.EvidenceOf == "" {
			t.Errorf("%s: evidence %d %q", c.Name, c.Evidence, c.EvidenceOf)
		}
	}
}

// TestAlertTimelines: an alert already firing before the fault fails
// alert_fires, naming when; one that resolves and fires again fails
// alert_resolves, naming the count; an unexpected alert that only went
// pending is a warning, not a failure.
func TestAlertTimelines(t *testing.T) {
	spec, o := healthy(t)
	early := o.FaultStart.Add(-8 * time.Second)
	a := &o.Alerts[0]
	a.Transitions = append([]alerts.Transition{{At: early, From: "pending", To: "firing"}}, a.Transitions...)
	got := map[string]reports.Check{}
	for _, c := range checks(spec, o) {
		got[c.Name] = c
	}
	if c := got["alert_fires:CircuitBreakerActive"]; c.Pass || !strings.Contains(c.Observed, "8s before the fault began") {
		t.Errorf("already firing: %+v", c)
	}

	spec, o = healthy(t)
	a = &o.Alerts[0]
	refire := a.Transitions[2].At.Add(10 * time.Second)
	a.Transitions = append(a.Transitions, alerts.Transition{At: refire, From: "pending", To: "firing"},
		alerts.Transition{At: refire.Add(5 * time.Second), From: "firing", To: "inactive"})
	a.Firings = 2
	got = map[string]reports.Check{}
	for _, c := range checks(spec, o) {
		got[c.Name] = c
	}
	if c := got["alert_resolves:CircuitBreakerActive"]; c.Pass || !strings.Contains(c.Observed, "fired 2 times") {
		t.Errorf("flapping: %+v", c)
	}
	if c := got["alert_fires:CircuitBreakerActive"]; !c.Pass {
		t.Errorf("alert_fires failed on a flapping alert that did fire in time: %+v", c)
	}

	spec, o = healthy(t)
	at := o.FaultStart.Add(3 * time.Second)
	o.Alerts = append(o.Alerts, alerts.Timeline{Name: "HighLatency", PendingAt: &at,
		Transitions: []alerts.Transition{{At: at, From: "inactive", To: "pending"}, {At: at.Add(5 * time.Second), From: "pending", To: "inactive"}}})
	got = map[string]reports.Check{}
	for _, c := range checks(spec, o) {
		got[c.Name] = c
	}
	if c := got["no_unexpected_alerts"]; !c.Pass || !strings.Contains(c.Warning, "HighLatency") {
		t.Errorf("pending-only unexpected alert: %+v", c)
	}
}

// TestTransportErrorsNamed: the observed value names the kinds and counts.
func TestTransportErrorsNamed(t *testing.T) {
	spec, o := healthy(t)
	for i, e := range []string{"dial tcp: connection refused", "read: connection reset by peer", "read: connection reset by peer",
		"Get: context deadline exceeded (Client.Timeout exceeded)"} {
		o.Records[100+i].Code, o.Records[100+i].Source, o.Records[100+i].Err = 0, "", e
	}
	for _, c := range checks(spec, o) {
		if c.Name != "no_transport_errors" {
			continue
		}
		if c.Pass || !strings.Contains(c.Observed, "reset: 2") || !strings.Contains(c.Observed, "refused: 1") || !strings.Contains(c.Observed, "timeout: 1") {
			t.Fatalf("%+v", c)
		}
		return
	}
	t.Fatal("no no_transport_errors check")
}
