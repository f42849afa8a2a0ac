package harness

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/reports"
)

// resumeEvidence is what the audit log of a gate whose audit disk a
// disk-full fault filled says once the run is over: whether its chain
// verifies, the audit_unwritable entries it holds (where entries could
// not be written), and which admin calls the gate acknowledged while the
// fault held are not in it.
type resumeEvidence struct {
	Faults   int      // disk-full faults on an audit log
	Problems []string // a chain that does not verify, a log that cannot be read
	Outages  []outage
	Calls    reports.AdminCalls // summed over the faults
	Missing  []string           // acknowledged entries not in the log (SEQ:HASH)
	Windows  []window           // each fault's injection to its revert
}

// outage is one audit_unwritable entry: since when the log could not be
// written, until the entry was, and how many writes failed.
type outage struct {
	Since, Until time.Time
	Failures     int
}

type window struct{ from, to time.Time }

// resumedAudit reads the audit log of every instance a disk-full fault on
// the audit log hit; nil when none did.
func (r *runner) resumedAudit(faults []reports.Fault) *resumeEvidence {
	var ev *resumeEvidence
	for _, f := range faults {
		if f.AdminCalls == nil {
			continue
		}
		if ev == nil {
			ev = &resumeEvidence{}
		}
		ev.Faults++
		ev.Calls.Made += f.AdminCalls.Made
		ev.Calls.Refused += f.AdminCalls.Refused
		ev.Calls.Acknowledged = append(ev.Calls.Acknowledged, f.AdminCalls.Acknowledged...)
		ev.Windows = append(ev.Windows, window{f.InjectedAt, f.RevertedAt})
		for _, in := range r.ins {
			if in.name == f.Instance {
				ev.read(in.name, in.host, f.AdminCalls.Acknowledged)
			}
		}
	}
	return ev
}

// read verifies one gate's audit log and collects its outages and the
// acknowledged entries it lacks.
func (ev *resumeEvidence) read(name string, host any, acked []string) {
	al, ok := host.(auditLogged)
	if !ok {
		ev.Problems = append(ev.Problems, prefix(name)+"the gate's audit log is not on this machine")
		return
	}
	rep, err := audit.VerifyFile(al.AuditLog(), audit.VerifyOptions{})
	switch {
	case err != nil:
		ev.Problems = append(ev.Problems, prefix(name)+err.Error())
		return
	case rep.Problem != nil:
		ev.Problems = append(ev.Problems, prefix(name)+rep.Problem.Error())
	}
	have, err := entries(al.AuditLog())
	if err != nil {
		ev.Problems = append(ev.Problems, prefix(name)+err.Error())
		return
	}
	for _, h := range acked {
		if !have[h] {
			ev.Missing = append(ev.Missing, prefix(name)+h)
		}
	}
	out, err := outages(al.AuditLog())
	if err != nil {
		ev.Problems = append(ev.Problems, prefix(name)+err.Error())
	}
	ev.Outages = append(ev.Outages, out...)
}

// outages lists the audit_unwritable entries of the log at path, its
// rotated segments included.
func outages(path string) ([]outage, error) {
	var out []outage
	err := eachEntry(path, func(e *audit.Entry) {
		if e.Event == audit.EventUnwritable {
			since, _ := time.Parse(time.RFC3339Nano, e.Fields["since"])
			n, _ := strconv.Atoi(e.Fields["failures"])
			out = append(out, outage{Since: since, Until: e.Time, Failures: n})
		}
	})
	return out, err
}

// revertSlack is how long before a disk-full fault's recorded revert
// the filesystem may have had space again: the revert frees it, then
// probes, then is recorded.
const revertSlack = 5 * time.Second

// auditResumed: after a full audit disk, the chain verifies, an
// audit_unwritable entry says the log could not be written from within
// the fault's window until after it, and every admin call the gate
// acknowledged while the disk was full is in the log.
func auditResumed(j *judging) {
	exp := "the audit chain verifies after the revert, an audit_unwritable entry covers the fault, every acknowledged admin call is in the log"
	a := j.o.Resume
	switch {
	case a == nil || a.Faults == 0:
		j.none("", exp, "no disk-full fault on an audit log ran", 0)
		return
	case a.Calls.Made == 0 && len(a.Problems) == 0:
		j.none("", exp, "no admin call was made while the audit disk was full: the log had nothing to fail on", 0)
		return
	case a.Calls.Refused == 0 && len(a.Problems) == 0:
		j.none("", exp, fmt.Sprintf("the gate refused none of the %d admin calls made while the audit disk was full: the log never failed to write, so there is no outage to judge", a.Calls.Made), 0)
		return
	}
	covered := 0
	for _, w := range a.Windows {
		for _, o := range a.Outages {
			if !o.Since.Before(w.from) && o.Since.Before(w.to) && o.Until.After(w.to.Add(-revertSlack)) && o.Failures > 0 {
				covered++
				break
			}
		}
	}
	obs := fmt.Sprintf("%d admin calls while full (%d refused, %d acknowledged, %d of those in the log); %d of %d faults covered by an audit_unwritable entry",
		a.Calls.Made, a.Calls.Refused, len(a.Calls.Acknowledged), len(a.Calls.Acknowledged)-len(a.Missing), covered, len(a.Windows))
	for _, o := range a.Outages {
		obs += fmt.Sprintf("; unwritable %s for %s (%d failed writes)", o.Since.Format("15:04:05"), o.Until.Sub(o.Since).Round(time.Second), o.Failures)
	}
	if len(a.Missing) > 0 {
		obs += "; missing " + strings.Join(a.Missing, ", ")
	}
	for _, p := range a.Problems {
		obs += "; " + p
	}
	j.add("", exp, obs, a.Calls.Made, len(a.Problems) == 0 && len(a.Missing) == 0 && covered == len(a.Windows))
}
