package harness

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/reports"
)

// auditEvidence is what the audit logs of the gates a crash fault killed
// say once the run is over: whether each chain verifies across the kills
// (a torn last line is a crash's, not damage), and which of the admin
// calls the gates acknowledged before a kill are not in them.
type auditEvidence struct {
	Logs     int      // audit logs read
	Problems []string // a chain that does not verify, or a log that cannot be read
	Acked    int      // admin calls acknowledged before the kills
	Missing  []string // of those, the entries not in the log (SEQ:HASH)
}

// auditLogged is a host whose gate's audit log is on this machine (the
// process and container targets).
type auditLogged interface {
	AuditLog() string
}

// crashAudit reads the audit log of every instance a crash fault killed;
// nil when no fault killed a gate.
func (r *runner) crashAudit(faults []reports.Fault) *auditEvidence {
	acked := map[string][]string{} // instance name -> acknowledged entries
	killed := map[string]bool{}
	for _, f := range faults {
		for _, k := range f.Kills {
			if !landed(k) {
				continue // nothing of the log to judge across a kill that never came
			}
			killed[f.Instance] = true
			acked[f.Instance] = append(acked[f.Instance], k.Acknowledged...)
		}
	}
	if len(killed) == 0 {
		return nil
	}
	ev := &auditEvidence{}
	for _, in := range r.ins {
		if !killed[in.name] {
			continue
		}
		al, ok := in.host.(auditLogged)
		if !ok {
			ev.Problems = append(ev.Problems, prefix(in.name)+"the gate's audit log is not on this machine")
			continue
		}
		ev.Logs++
		ev.Acked += len(acked[in.name])
		rep, err := audit.VerifyFile(al.AuditLog(), audit.VerifyOptions{})
		switch {
		case err != nil:
			ev.Problems = append(ev.Problems, prefix(in.name)+err.Error())
			continue
		case rep.Problem != nil:
			ev.Problems = append(ev.Problems, prefix(in.name)+rep.Problem.Error())
		}
		have, err := entries(al.AuditLog())
		if err != nil {
			ev.Problems = append(ev.Problems, prefix(in.name)+err.Error())
			continue
		}
		for _, h := range acked[in.name] {
			if !have[h] {
				ev.Missing = append(ev.Missing, prefix(in.name)+h)
			}
		}
	}
	return ev
}

// entries lists the heads (SEQ:HASH) of every entry in the audit log at
// path, its rotated segments included.
func entries(path string) (map[string]bool, error) {
	have := map[string]bool{}
	err := eachEntry(path, func(e *audit.Entry) { have[audit.Head{Seq: e.Seq, Hash: e.Hash}.String()] = true })
	return have, err
}

// eachEntry calls fn with every entry of the audit log at path, its
// rotated segments included, oldest first; a line that does not parse is
// skipped (the chain's verification names it).
func eachEntry(path string, fn func(*audit.Entry)) error {
	files, err := audit.Segments(path)
	if err != nil {
		return err
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if e, err := audit.ParseLine(sc.Bytes()); err == nil {
				fn(e)
			}
		}
		f.Close()
	}
	return nil
}

// landed: the kill ended the gate (the target restarted it, or says why
// not after the death); a kill whose error came before any death (an OOM
// that never came) did not.
func landed(k reports.Kill) bool {
	return k.Error == "" || k.Restarts > k.RestartsBefore || k.Signal != ""
}

// firstLiveAfter is when the first live 200 of the load after at was
// sent; zero: none.
func firstLiveAfter(rs []load.Record, at time.Time) time.Time {
	for _, r := range rs {
		if r.At.After(at) && r.Code == 200 && r.Source == "live" {
			return r.At
		}
	}
	return time.Time{}
}

// crashRecovery: each kill's gate live again within the bound.
func crashRecovery(j *judging) {
	within := j.spec.Expect.Crash.BackWithin.D()
	exp := "a live 200 within " + within.String() + " of each kill"
	type kill struct {
		reports.Kill
		instance string
	}
	var kills []kill
	for _, f := range j.o.Faults {
		for _, k := range f.Kills {
			kills = append(kills, kill{k, f.Instance})
		}
	}
	if len(kills) == 0 {
		j.none("", exp, "no kill landed", 0)
		return
	}
	by := load.ByInstance(j.o.Records) // in a fleet, the killed replica's own responses
	var obs, bad []string
	for i, k := range kills {
		back := firstLiveAfter(by[k.instance], k.At)
		switch {
		case !landed(k.Kill):
			bad = append(bad, fmt.Sprintf("kill %d", i+1)+": did not land: "+k.Error)
		case back.IsZero():
			bad = append(bad, fmt.Sprintf("kill %d", i+1)+": no live 200 after it")
		case back.Sub(k.At) > within:
			bad = append(bad, fmt.Sprintf("kill %d", i+1)+": live "+back.Sub(k.At).Round(10*time.Millisecond).String()+" after it")
		default:
			obs = append(obs, back.Sub(k.At).Round(10*time.Millisecond).String())
		}
	}
	observed := "live again " + strings.Join(obs, ", ") + " after the kills"
	if len(bad) > 0 {
		observed = strings.Join(append(bad, obs...), "; ")
	}
	j.add("", exp, observed, len(kills), len(bad) == 0)
}

// cacheAfterRestart: each restarted gate kept what the killed one
// recorded in its cache directory: its e2e pass as recent as the last one
// acknowledged before the kill, no cache file refused at its start, a
// verified snapshot.
func cacheAfterRestart(j *judging) {
	exp := "each restarted gate keeps what the killed one recorded: its e2e pass, its snapshots (none refused)"
	n := 0
	var bad []string
	for _, f := range j.o.Faults {
		for i, k := range f.Kills {
			if k.BackAt.IsZero() || len(k.Acknowledged) == 0 {
				continue // not back, or no pass acknowledged to keep
			}
			n++
			switch {
			case !k.E2EKept:
				bad = append(bad, fmt.Sprintf("kill %d: the e2e pass acknowledged before it was lost", i+1))
			case k.Rejected > 0:
				bad = append(bad, fmt.Sprintf("kill %d: %d cache file(s) refused at the restart", i+1, k.Rejected))
			case !k.SnapshotVerified:
				bad = append(bad, fmt.Sprintf("kill %d: no verified snapshot after the restart", i+1))
			}
		}
	}
	if n == 0 {
		j.none("", exp, "no killed gate came back after an acknowledged e2e pass", 0)
		return
	}
	obs := fmt.Sprintf("%d of %d restarts kept their e2e pass and snapshots", n-len(bad), n)
	if len(bad) > 0 {
		obs += "; " + strings.Join(bad, "; ")
	}
	j.add("", exp, obs, n, len(bad) == 0)
}

func auditIntact(j *judging) {
	exp := "the audit chain verifies across the kills, every acknowledged admin call in it"
	a := j.o.Audit
	switch {
	case a == nil || a.Logs == 0 && len(a.Problems) == 0:
		j.none("", exp, "no killed gate's audit log was read", 0)
		return
	case a.Acked == 0 && len(a.Problems) == 0:
		j.none("", exp, "no admin call was acknowledged before a kill", 0)
		return
	}
	obs := fmt.Sprintf("%d of %d acknowledged admin calls in the log", a.Acked-len(a.Missing), a.Acked)
	if len(a.Missing) > 0 {
		obs += "; missing " + strings.Join(a.Missing, ", ")
	}
	if len(a.Problems) > 0 {
		obs += "; " + strings.Join(a.Problems, "; ")
	}
	j.add("", exp, obs, a.Acked, len(a.Missing) == 0 && len(a.Problems) == 0)
}
