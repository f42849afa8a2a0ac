package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/audit"
)

const auditVerifyHelp = `Check the audit log's hash chain across its segments.

Example: gate audit verify --log /var/lib/gate/audit/audit.jsonl

--log is the active audit file (its rotated segments FILE-000001.jsonl, …
beside it are read too, oldest first) or a directory holding one log.
verify checks the hash chain across the segments and names each damaged
stretch and the kind of damage: edited, deleted (a missing segment is
named), inserted, reordered, corrupt, truncated, unsigned or key_required.
A cut tail (truncated) is found against the audit head file the gate keeps
(gate serve --audit-head-file: --head-file, else GATE_AUDIT_HEAD_FILE,
else the active file's path + .head), which verify reads by itself; when
there is none it says so, and --expect-head SEQ:HASH (the head recorded
elsewhere, from /metrics/selftest or quannex_audit_head_sequence) takes
its place. A head file that does not verify fails the check. After
damage, verification resumes at the checkpoint entry the gate writes when
it finds damage at start, and says whether a checkpoint records it. An
HMAC-chained log needs AUDIT_HMAC_KEY. A torn last line (a crash during an
append) is reported but is not damage. Exit 0: intact; 1: damaged (recorded
damage included); 2: usage; 3: unreadable.`

const auditStatsHelp = `Count audit entries by event between --since and --until.

Example: gate audit stats --log audit/audit.jsonl --since 2026-12-01T00:00:00Z

--since and --until are RFC 3339 times; the segments beside the active
file are read too.`

// addAudit declares gate audit verify and gate audit stats.
func addAudit(app *cli.App, stdout io.Writer) (verify, stats func() error) {
	group := app.Cmd(nil, "audit", "Check and count the audit log.")
	v := app.Cmd(group, "verify", auditVerifyHelp)
	vPath := app.Flag(v, "log", "GATE_AUDIT_LOG", "audit log: the active file or its directory").Default(gate.DefaultAuditLog).String()
	expect := v.Flag("expect-head", "SEQ:HASH recorded elsewhere: the log must reach it (instead of the head file's)").String()
	headFile := v.Flag("head-file", "the gate's audit head file (default: GATE_AUDIT_HEAD_FILE, else the active file's path + .head)").String()
	vOut := app.Output(v, "json", auditVerified{})
	st := app.Cmd(group, "stats", auditStatsHelp)
	sPath := app.Flag(st, "log", "GATE_AUDIT_LOG", "audit log: the active file or its directory").Default(gate.DefaultAuditLog).String()
	var since, until timeFlag
	st.Flag("since", "count entries at or after this RFC 3339 time").SetValue(&since)
	st.Flag("until", "count entries before this RFC 3339 time").SetValue(&until)
	sOut := app.Output(st, "json", audit.Stats{})
	verify = func() error { return auditVerify(stdout, *vPath, *expect, *headFile, *vOut) }
	stats = func() error { return auditStats(stdout, *sPath, time.Time(since), time.Time(until), *sOut) }
	return verify, stats
}

// auditVerified is gate audit verify's result.
type auditVerified struct {
	*audit.Report
	HeadFile headFileCheck `json:"head_file"`
}

func auditVerify(stdout io.Writer, path, expect, headFile, out string) error {
	opts := audit.VerifyOptions{}
	if expect != "" {
		h, err := audit.ParseHead(expect)
		if err != nil {
			return usagef("--expect-head: %v", err)
		}
		opts.ExpectHead = &h
	}
	if k := os.Getenv("AUDIT_HMAC_KEY"); k != "" {
		opts.Key = []byte(k)
	}
	hc, err := checkHeadFile(path, headFile, opts.Key)
	if err != nil {
		return err
	}
	if hc.head != nil && opts.ExpectHead == nil {
		opts.ExpectHead = hc.head
	}
	rep, err := audit.VerifyFile(path, opts)
	if err != nil {
		return err
	}
	result := auditVerified{rep, hc}
	if err := cli.Write(stdout, out, result, func(w io.Writer) error {
		printReport(w, path, rep, hc, expect != "")
		return nil
	}); err != nil {
		return err
	}
	if p := rep.Problem; p != nil {
		return problemError{fmt.Sprintf("audit log damaged: %s: %s", where(p.Segment, p.Line), p.Kind)}
	}
	if hc.State == audit.HeadFileUntrusted {
		return problemError{"audit head file cannot be trusted: " + hc.Detail}
	}
	return nil
}

// headFileCheck is what verify found of the audit head file.
type headFileCheck struct {
	Path   string `json:"path"`
	State  string `json:"state"` // ok, absent or untrusted
	Head   string `json:"head,omitempty"`
	Detail string `json:"detail,omitempty"`
	head   *audit.Head
}

// checkHeadFile reads the head file of the log at logPath: flag, else
// GATE_AUDIT_HEAD_FILE, else the active file's path + .head.
func checkHeadFile(logPath, flagPath string, key []byte) (headFileCheck, error) {
	p := flagPath
	if p == "" {
		p = os.Getenv("GATE_AUDIT_HEAD_FILE")
	}
	if p == "" {
		active, err := audit.ActivePath(logPath)
		if err != nil {
			return headFileCheck{}, err
		}
		p = audit.DefaultHeadFile(active)
	}
	hc := headFileCheck{Path: p, State: audit.HeadFileOK}
	h, err := audit.ReadHeadFile(p, key)
	switch {
	case errors.Is(err, audit.ErrNoHeadFile):
		hc.State = audit.HeadFileAbsent
	case err != nil:
		hc.State, hc.Detail = audit.HeadFileUntrusted, err.Error()
	default:
		hc.Head, hc.head = h.String(), &h
	}
	return hc, nil
}

// printReport writes rep for a person: the head, what the head file says,
// then each damaged stretch with where the chain verifies again and
// whether a checkpoint records it.
func printReport(w io.Writer, path string, rep *audit.Report, hc headFileCheck, expectGiven bool) {
	segs := ""
	if n := len(rep.Segments); n > 1 {
		segs = fmt.Sprintf(" in %d segments (%s to %s)", n, rep.Segments[0], rep.Segments[n-1])
	}
	fmt.Fprintf(w, "audit log %s: %d entries verified%s, chain %s\n", path, rep.Entries, segs, orNone(rep.Alg))
	if rep.Entries > 0 {
		fmt.Fprintf(w, "  head %s\n  from %s to %s\n", rep.Head, rep.First.Format(time.RFC3339), rep.Last.Format(time.RFC3339))
	}
	switch {
	case hc.State == audit.HeadFileAbsent && !expectGiven:
		fmt.Fprintf(w, "  NO HEAD FILE at %s: a cut tail cannot be detected; give --expect-head SEQ:HASH (the head recorded elsewhere) or --head-file\n", hc.Path)
	case hc.State == audit.HeadFileAbsent:
		fmt.Fprintf(w, "  no head file at %s; checked against --expect-head\n", hc.Path)
	case hc.State == audit.HeadFileUntrusted:
		fmt.Fprintf(w, "  HEAD FILE UNTRUSTED: %s\n", hc.Detail)
	case expectGiven:
		fmt.Fprintf(w, "  head file %s holds %s; checked against --expect-head instead\n", hc.Path, hc.Head)
	default:
		fmt.Fprintf(w, "  head file %s: the log reaches its head %s unless reported below\n", hc.Path, hc.Head)
	}
	if t := rep.TornTail; t != nil {
		fmt.Fprintf(w, "  torn tail: %d bytes at offset %d (an append cut short by a crash; not tampering, never acknowledged)\n", t.Length, t.Offset)
	}
	for _, d := range rep.Damage {
		fmt.Fprintf(w, "  DAMAGED from %s to %s (after entry %d): %s: %s\n",
			where(d.Segment, d.Line), where(d.EndSegment, d.EndLine), d.After.Seq, d.Kind, d.Detail)
		switch {
		case d.ResumedAt != nil:
			fmt.Fprintf(w, "    chain verified again from checkpoint entry %d\n", d.ResumedAt.Seq)
		case d.Kind != audit.DamageTruncated:
			fmt.Fprintln(w, "    no checkpoint after it: nothing past it verifies (the gate writes one when it next starts)")
		}
		if d.RecordedBy != 0 {
			fmt.Fprintf(w, "    recorded by checkpoint entry %d (known damage)\n", d.RecordedBy)
		}
	}
	if n := rep.DamageOmitted; n > 0 {
		fmt.Fprintf(w, "  … and %d more damaged stretches (see -o json)\n", n)
	}
	if p := rep.Problem; p != nil {
		fmt.Fprintf(w, "  FIRST BAD ENTRY: %s, %s: %s\n", where(p.Segment, p.Line), p.Kind, p.Detail)
	} else {
		fmt.Fprintln(w, "  OK: chain intact")
	}
}

// where renders a line of a segment: "line 4" or "audit.jsonl line 4".
func where(segment string, line int) string {
	if segment == "" {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("%s line %d", segment, line)
}

func orNone(s string) string {
	if s == "" {
		return "(empty log)"
	}
	return s
}

func auditStats(stdout io.Writer, path string, since, until time.Time, out string) error {
	files, err := audit.Segments(path)
	if err != nil {
		return fmt.Errorf("audit stats: %w", err)
	}
	readers := make([]io.Reader, 0, len(files))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("audit stats: %w", err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	st, err := audit.ComputeStats(io.MultiReader(readers...), since, until)
	if err != nil {
		return err
	}
	return cli.Write(stdout, out, st, func(stdout io.Writer) error {
		printStats(stdout, path, st)
		return nil
	})
}

// printStats is audit stats as a table.
func printStats(stdout io.Writer, path string, st *audit.Stats) {
	fmt.Fprintf(stdout, "audit log %s: %d entries", path, st.Entries)
	if st.Entries > 0 {
		fmt.Fprintf(stdout, " from %s to %s", st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	events := make([]string, 0, len(st.ByEvent))
	for e := range st.ByEvent {
		events = append(events, e)
	}
	sort.Strings(events)
	for _, e := range events {
		fmt.Fprintf(stdout, "  %-28s %d\n", e, st.ByEvent[e])
	}
	if st.Corrupt > 0 {
		fmt.Fprintf(stdout, "  %d line(s) did not parse: run gate audit verify\n", st.Corrupt)
	}
}

// byteSize is a size flag: a number of bytes, with an optional suffix
// KiB, MiB or GiB.
type byteSize int64

var byteUnits = []struct {
	suffix string
	n      int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func (b *byteSize) String() string {
	if b == nil || *b == 0 {
		return "0"
	}
	for _, u := range byteUnits[:3] {
		if int64(*b)%u.n == 0 {
			return fmt.Sprintf("%d%s", int64(*b)/u.n, u.suffix)
		}
	}
	return fmt.Sprint(int64(*b))
}

func (b *byteSize) Set(s string) error {
	num, mult := s, int64(1)
	for _, u := range byteUnits {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(v), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("want a positive size such as 64MiB, 512KiB or 1048576")
	}
	*b = byteSize(n * mult)
	return nil
}

// timeFlag is an RFC 3339 time flag.
type timeFlag time.Time

func (t *timeFlag) String() string {
	if t == nil || time.Time(*t).IsZero() {
		return ""
	}
	return time.Time(*t).Format(time.RFC3339)
}

func (t *timeFlag) Set(s string) error {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-11-27T10:00:00Z")
	}
	*t = timeFlag(v)
	return nil
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
