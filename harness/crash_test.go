package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// crashed builds an observation of two kills that went well: the gate
// live again 2 s after each, its snapshot verified at each restart, 10
// admin calls acknowledged before the kills and all in the log.
func crashed(t *testing.T) (*scenario.Spec, observation) {
	t.Helper()
	spec, err := scenario.Parse(strings.NewReader(`name: crash-checks
load: {rate: 20}
baseline: {duration: 20s}
faults: [{name: crash, duration: 40s, params: {times: "2", every: 20s}}]
expect: {crash: {back_within: 10s}}
after: {duration: 10s}
`), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := observation{BaselineStart: t0, FaultStart: t0.Add(20 * time.Second), FaultEnd: t0.Add(60 * time.Second),
		AfterStart: t0.Add(60 * time.Second), AfterEnd: t0.Add(70 * time.Second)}
	kills := []reports.Kill{
		{At: t0.Add(20 * time.Second), Signal: "killed", ExitCode: -1, Restarts: 1, BackAt: t0.Add(21 * time.Second), SnapshotVerified: true, E2EKept: true, Acknowledged: []string{"7:aa", "8:bb"}},
		{At: t0.Add(40 * time.Second), Signal: "killed", ExitCode: -1, RestartsBefore: 1, Restarts: 2, BackAt: t0.Add(41 * time.Second), SnapshotVerified: true, E2EKept: true, Acknowledged: []string{"20:cc"}},
	}
	for i := 0; i < 70*20; i++ {
		at := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		r := load.Record{At: at, Code: 200, Source: "live"}
		for _, k := range kills {
			if !at.Before(k.At) && at.Before(k.At.Add(2*time.Second)) {
				r = load.Record{At: at, Err: "connection refused"}
			}
		}
		o.Records = append(o.Records, r)
	}
	o.Faults = []reports.Fault{{Name: "crash", InjectedAt: t0.Add(20 * time.Second), RevertedAt: t0.Add(60 * time.Second), Kills: kills}}
	o.Audit = &auditEvidence{Logs: 1, Acked: 10}
	return spec, o
}

func crashCheck(t *testing.T, spec *scenario.Spec, o observation, name string) reports.Check {
	t.Helper()
	for _, c := range checks(spec, o) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s", name)
	return reports.Check{}
}

// TestCrashChecks: the three crash checks pass on two kills that went
// well, each turns red on what it judges, and none passes on nothing.
func TestCrashChecks(t *testing.T) {
	spec, o := crashed(t)
	for _, name := range []string{"crash_recovery", "cache_after_restart", "audit_intact"} {
		if c := crashCheck(t, spec, o, name); !c.Pass || c.Evidence == 0 {
			t.Errorf("healthy: %+v", c)
		}
	}
	for _, c := range []struct {
		check, name string
		break_      func(o *observation)
		noEvidence  bool
	}{
		{"crash_recovery", "live only 15 s after the second kill", func(o *observation) {
			k := o.Faults[0].Kills[1]
			for i, r := range o.Records {
				if !r.At.Before(k.At) && r.At.Before(k.At.Add(15*time.Second)) {
					o.Records[i] = load.Record{At: r.At, Err: "connection refused"}
				}
			}
		}, false},
		{"crash_recovery", "no kill landed", func(o *observation) { o.Faults[0].Kills = nil }, true},
		{"crash_recovery", "a kill that did not come (no OOM)", func(o *observation) {
			o.Faults[0].Kills[1] = reports.Kill{At: o.Faults[0].Kills[1].At, ExitCode: -1, RestartsBefore: 1, Restarts: 0, Error: "the gate container did not die within 30s"}
		}, false},
		{"cache_after_restart", "a restarted gate without its snapshot", func(o *observation) { o.Faults[0].Kills[0].SnapshotVerified = false }, false},
		{"cache_after_restart", "the e2e pass lost", func(o *observation) { o.Faults[0].Kills[1].E2EKept = false }, false},
		{"cache_after_restart", "a cache file refused at the restart", func(o *observation) { o.Faults[0].Kills[0].Rejected = 2 }, false},
		{"cache_after_restart", "no gate came back", func(o *observation) {
			for i := range o.Faults[0].Kills {
				o.Faults[0].Kills[i].BackAt = time.Time{}
			}
		}, true},
		{"cache_after_restart", "nothing acknowledged to keep", func(o *observation) {
			for i := range o.Faults[0].Kills {
				o.Faults[0].Kills[i].Acknowledged = nil
			}
		}, true},
		{"audit_intact", "an acknowledged call missing", func(o *observation) { o.Audit.Missing = []string{"41:ab12"} }, false},
		{"audit_intact", "a chain that does not verify", func(o *observation) { o.Audit.Problems = []string{"line 40: edited"} }, false},
		{"audit_intact", "no audit log read", func(o *observation) { o.Audit = nil }, true},
		{"audit_intact", "nothing acknowledged", func(o *observation) { o.Audit.Acked = 0 }, true},
	} {
		t.Run(c.check+"/"+c.name, func(t *testing.T) {
			spec, o := crashed(t)
			c.break_(&o)
			ch := crashCheck(t, spec, o, c.check)
			if ch.Pass || strings.HasPrefix(ch.Observed, "no evidence:") != c.noEvidence {
				t.Fatalf("%+v, want red (no evidence: %v)", ch, c.noEvidence)
			}
		})
	}
}
