package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// healthy builds an observation that satisfies the io-glitch expectations:
// 20 req/s live, snapshots with Warning during the fault, the breaker alert
// firing and resolving, quick recovery, counters that agree.
func healthy(t *testing.T) (*scenario.Spec, Observation) {
	t.Helper()
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	spec := b["io-glitch"]
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := Observation{BaselineStart: t0, FaultStart: t0.Add(20 * time.Second), FaultEnd: t0.Add(80 * time.Second),
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
	fire, res := o.FaultStart.Add(15*time.Second), o.FaultEnd.Add(5*time.Second)
	o.Alerts = []reports.Alert{{Name: "CircuitBreakerActive", PendingAt: &fire, FiringAt: &fire, ResolvedAt: &res}}
	o.RecoveredAt = o.FaultEnd.Add(time.Second)
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
	if f := failing(Checks(spec, o)); len(f) != 0 {
		t.Fatalf("healthy observation failed %v", f)
	}
}

// TestEveryCheckCanFail breaks one thing at a time and expects exactly the
// matching check to fail: no check passes by construction.
func TestEveryCheckCanFail(t *testing.T) {
	cases := []struct {
		check  string
		break_ func(o *Observation)
	}{
		{"no_5xx", func(o *Observation) { o.Records[1000].Code = 503; o.Records[1000].Source = "none" }},
		{"all_200", func(o *Observation) { o.Records[1000].Code = 429; o.Records[1000].Source = "none" }},
		{"snapshots_during_fault", func(o *Observation) {
			for i := range o.Records {
				o.Records[i].Source, o.Records[i].Warning = "live", false
			}
		}},
		{"warning_on_snapshots", func(o *Observation) { o.Records[1000].Warning = false }},
		{"alert_fires:CircuitBreakerActive", func(o *Observation) { late := o.FaultStart.Add(time.Hour); o.Alerts[0].FiringAt = &late }},
		{"alert_resolves:CircuitBreakerActive", func(o *Observation) { o.Alerts[0].ResolvedAt = nil }},
		{"no_unexpected_alerts", func(o *Observation) {
			at := o.FaultStart
			o.Alerts = append(o.Alerts, reports.Alert{Name: "HighLatency", FiringAt: &at})
		}},
		{"recovery", func(o *Observation) { o.RecoveredAt = time.Time{} }},
		{"after_steady", func(o *Observation) {
			for i := range o.Records {
				if !o.Records[i].At.Before(o.AfterStart) {
					o.Records[i].Source = "snapshot"
					o.Records[i].Warning = true
				}
			}
		}},
		{"counters_agree", func(o *Observation) { o.GateRequests-- }},
		{"livesha_valid", func(o *Observation) { o.Records[5].LiveSHA, o.Records[5].SHAFailed = false, true }},
		{"faults_reverted", func(o *Observation) { o.RevertErrors = []string{"cache-readonly: chmod: permission denied"} }},
		{"baseline_steady", func(o *Observation) {
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
			f := failing(Checks(spec, o))
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
	f := strings.Join(failing(Checks(spec, o)), ",")
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
	at, ok := RecoveredAt(rs, t0, t0.Add(20*time.Second), 0.95)
	if !ok || at != t0.Add(5*time.Second) {
		t.Fatalf("RecoveredAt = %v %v, want 5s", at.Sub(t0), ok)
	}
	if _, ok := RecoveredAt(rs, t0, t0.Add(15*time.Second), 0.95); !ok {
		t.Fatal("a full window of live responses ending by now is a recovery")
	}
	if _, ok := RecoveredAt(rs[:150], t0, t0.Add(8*time.Second), 0.95); ok {
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
		`faults[0].name: unknown fault "disk-fill"`: strings.Replace(good, "cpu-spike", "disk-fill", 1),
		"faults[0].duration":                        strings.Replace(good, ", duration: 10s}]", "}]", 1),
		"not a duration":                            strings.Replace(good, "baseline: {duration: 10s}", "baseline: {duration: soon}", 1),
		"field colour not found":                    good + "colour: red\n",
		"baseline.min_live_ratio":                   strings.Replace(good, "baseline: {duration: 10s}", "baseline: {duration: 10s, min_live_ratio: 95}", 1),
		"expect.alerts[0].fire_within":              good + "expect: {alerts: [{name: HighLatency, resolve_within: 1m}]}\n",
		"expect.recovery.within":                    good + "expect: {recovery: {min_live_ratio: 0.95}}\n",
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
