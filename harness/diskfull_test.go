package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// auditFilled builds an observation of a full audit disk that went well:
// 20 admin calls while full (12 refused, 8 acknowledged and in the log),
// the log unwritable from 2 s into the fault until 1 s after its revert.
func auditFilled(t *testing.T) (*scenario.Spec, observation) {
	t.Helper()
	spec, err := scenario.Parse(strings.NewReader(`name: disk-full-checks
load: {rate: 20}
baseline: {duration: 20s}
faults: [{name: disk-full, duration: 60s, params: {path: audit}}]
expect: {audit_resumed: true}
after: {duration: 10s}
`), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in, out := t0.Add(20*time.Second), t0.Add(80*time.Second)
	o := observation{BaselineStart: t0, FaultStart: in, FaultEnd: out, AfterStart: out, AfterEnd: out.Add(10 * time.Second)}
	calls := &reports.AdminCalls{Made: 20, Refused: 12, Acknowledged: []string{"3:aa", "4:bb", "5:cc", "6:dd", "7:ee", "8:ff", "9:ab", "10:cd"}}
	o.Faults = []reports.Fault{{Name: "disk-full", InjectedAt: in, RevertedAt: out, AdminCalls: calls}}
	o.Resume = &resumeEvidence{Faults: 1, Calls: *calls, Windows: []window{{in, out}},
		Outages: []outage{{Since: in.Add(2 * time.Second), Until: out.Add(time.Second), Failures: 59}}}
	return spec, o
}

// TestAuditResumed: the check passes on a full audit disk the gate rode
// out, turns red on each thing it judges, and never passes on nothing.
func TestAuditResumed(t *testing.T) {
	spec, o := auditFilled(t)
	if c := crashCheck(t, spec, o, "audit_resumed"); !c.Pass || c.Evidence != 20 || !strings.Contains(c.Observed, "59 failed writes") {
		t.Fatalf("healthy: %+v", c)
	}
	for _, c := range []struct {
		name       string
		break_     func(o *observation)
		noEvidence bool
	}{
		{"an acknowledged call missing from the log", func(o *observation) { o.Resume.Missing = []string{"9:ab"} }, false},
		{"a chain that does not verify", func(o *observation) { o.Resume.Problems = []string{"line 12: edited"} }, false},
		{"the log deleted", func(o *observation) { o.Resume.Problems = []string{"open audit.jsonl: no such file or directory"} }, false},
		{"no audit_unwritable entry", func(o *observation) { o.Resume.Outages = nil }, false},
		{"an outage that ended long before the revert", func(o *observation) {
			o.Resume.Outages[0].Until = o.FaultStart.Add(10 * time.Second)
		}, false},
		{"an outage from before the fault", func(o *observation) {
			o.Resume.Outages[0].Since = o.FaultStart.Add(-time.Minute)
		}, false},
		{"no admin call made", func(o *observation) { o.Resume.Calls = reports.AdminCalls{} }, true},
		{"every call acknowledged: the log never failed", func(o *observation) { o.Resume.Calls.Refused = 0 }, true},
		{"no disk-full fault on an audit log ran", func(o *observation) { o.Resume = nil }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, o := auditFilled(t)
			c.break_(&o)
			ch := crashCheck(t, spec, o, "audit_resumed")
			if ch.Pass || strings.HasPrefix(ch.Observed, "no evidence:") != c.noEvidence {
				t.Fatalf("%+v, want red (no evidence: %v)", ch, c.noEvidence)
			}
		})
	}
}
