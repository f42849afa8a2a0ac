package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/audit"
)

const auditUsage = `Usage:
  gate audit verify [--log FILE] [--expect-head SEQ:HASH] [--json]
  gate audit stats  [--log FILE] [--since T] [--until T] [--json]

verify checks the hash chain and names the first bad entry and the kind of
damage: edited, deleted, inserted, reordered, corrupt, truncated (only with
--expect-head, the head recorded earlier from /metrics/selftest or the
quannex_audit_head_sequence metric), unsigned or key_required. An HMAC-chained
log needs AUDIT_HMAC_KEY. A torn last line (a crash during an append) is
reported but is not damage. Exit 0: intact; 1: damaged; 2: usage; 3: unreadable.

stats counts entries by event between --since and --until (RFC 3339 times).
`

func auditCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return usagef("audit: missing subcommand (verify or stats)")
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "stats":
		return auditStats(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	return usagef("audit: unknown subcommand %q (want verify or stats)", args[0])
}

func auditFlags(name string, stderr io.Writer) (*flag.FlagSet, *string, *bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditUsage, "\nFlags:\n"); fs.PrintDefaults() }
	path := fs.String("log", envOr("GATE_AUDIT_LOG", gate.DefaultAuditLog), "audit log file (env GATE_AUDIT_LOG)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	return fs, path, asJSON
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs, path, asJSON := auditFlags("gate audit verify", stderr)
	expect := fs.String("expect-head", "", "SEQ:HASH recorded earlier; detects truncation and rewrites up to it")
	if err := parse(fs, args); err != nil {
		return err
	}
	opts := audit.VerifyOptions{}
	if *expect != "" {
		h, err := audit.ParseHead(*expect)
		if err != nil {
			return usagef("--expect-head: %v", err)
		}
		opts.ExpectHead = &h
	}
	if k := os.Getenv("AUDIT_HMAC_KEY"); k != "" {
		opts.Key = []byte(k)
	}
	rep, err := audit.VerifyFile(*path, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSONTo(stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "audit log %s: %d entries, chain %s\n", *path, rep.Entries, orNone(rep.Alg))
		if rep.Entries > 0 {
			fmt.Fprintf(stdout, "  head %s\n  from %s to %s\n", rep.Head, rep.First.Format(time.RFC3339), rep.Last.Format(time.RFC3339))
		}
		if t := rep.TornTail; t != nil {
			fmt.Fprintf(stdout, "  torn tail: %d bytes at offset %d (an append cut short by a crash; not tampering, never acknowledged)\n", t.Length, t.Offset)
		}
		if p := rep.Problem; p != nil {
			fmt.Fprintf(stdout, "  FIRST BAD ENTRY: line %d, %s: %s\n", p.Line, p.Kind, p.Detail)
		} else {
			fmt.Fprintln(stdout, "  OK: chain intact")
		}
	}
	if rep.Problem != nil {
		return problemError{fmt.Sprintf("audit log damaged: line %d: %s", rep.Problem.Line, rep.Problem.Kind)}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(empty log)"
	}
	return s
}

func auditStats(args []string, stdout, stderr io.Writer) error {
	fs, path, asJSON := auditFlags("gate audit stats", stderr)
	var since, until timeFlag
	fs.Var(&since, "since", "count entries at or after this RFC 3339 time")
	fs.Var(&until, "until", "count entries before this RFC 3339 time")
	if err := parse(fs, args); err != nil {
		return err
	}
	f, err := os.Open(*path)
	if err != nil {
		return fmt.Errorf("audit stats: %w", err)
	}
	defer f.Close()
	st, err := audit.ComputeStats(f, time.Time(since), time.Time(until))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(stdout, st)
	}
	fmt.Fprintf(stdout, "audit log %s: %d entries", *path, st.Entries)
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
