// Package audit is the gate's tamper-evident audit log: append-only JSON
// lines, each carrying the hash of the one before it.
//
// An entry's hash is SHA-256 — or HMAC-SHA-256 when a key is configured —
// of its own canonical JSON encoding (every field but the hash, the previous
// hash included). Editing an entry breaks its hash; deleting, inserting or
// reordering entries breaks the sequence numbers or the chain; with a key,
// nobody without it can recompute the chain after an edit. Truncating the
// end can only be detected against a head (sequence and hash) recorded
// elsewhere, which is why the head is exposed in selftest and as a metric.
//
// Writing: one goroutine owns the file. Record queues an entry without
// blocking (the /metrics path uses it): a full buffer drops the entry,
// counts it, and the next write records an audit_gap entry with the counts.
// Append waits until the entry is durable. The writer takes whatever is
// queued, writes it, fsyncs the file, and only then advances the head and
// acknowledges: the fsync policy is one fsync per batch, so an acknowledged
// entry survives a crash and the head never points at bytes that are not on
// disk. The writer holds no lock that readers take: Status and Head read
// atomics, so a disk that takes seconds per fsync delays the log, never the
// callers of Record, Status or Head.
//
// Reading: Open and Verify read line by line and keep only the chain state,
// so memory does not grow with the log. The log rotates by size into
// numbered segments chained to each other (see Segments). After damage, a
// checkpoint entry starts a verifiable chain again (see EventCheckpoint and
// Damage).
//
// This package does not know about HTTP or metrics; the gate passes hooks.
package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Chain algorithms, recorded in every entry.
const (
	AlgSHA256     = "sha256"
	AlgHMACSHA256 = "hmac-sha256"
)

// Events the gate writes. Others are allowed; these are the documented set.
const (
	EventBreakerChange    = "circuit_breaker_change"
	EventBreakerReset     = "breaker_reset"
	EventSnapshotFallback = "snapshot_fallback"
	// EventSnapshotRejected: a cache file (snapshot slot, e2e state) was
	// refused: fields file, reason, detail. Gates before the cache key
	// wrote snapshot_corrupt for the files that failed their digests.
	EventSnapshotRejected = "snapshot_rejected"
	EventCounterChange    = "metrics_counter_change"
	EventAuth             = "auth_event"
	EventRateLimit        = "rate_limit_event"
	EventFaultInjected    = "fault_injected"
	EventFaultCleared     = "fault_cleared"
	// EventLease: the GameDay lease taken, renewed or released (fields
	// action, holder, expires).
	EventLease     = "gameday_lease"
	EventE2EPass   = "e2e_pass"
	EventGateStart = "gate_start"
	EventGateStop  = "gate_stop"
	EventTornTail  = "audit_torn_tail"
	EventGap       = "audit_gap"
	// EventUnwritable is the first entry written after the log could not
	// be written: since (the first failed attempt, RFC 3339), failures
	// (attempts that failed) and error (the last failure). It says where
	// the chain has a hole in time: the entries recorded meanwhile waited
	// in memory and follow it, and none was lost unless an audit_gap
	// entry follows.
	EventUnwritable = "audit_unwritable"
	// EventCheckpoint follows damage found at open: its fields name the
	// damage it records (damage_after: the last entry verified before it,
	// SEQ:HASH; segment, line, end_line, kind, detail), and the chain
	// verifies again from it. It is signed like every entry (HMAC with a
	// key), so without the key nobody can forge one to hide damage.
	EventCheckpoint = "audit_checkpoint"
	// EventChainDamaged is what logs written before checkpoints existed
	// recorded at each open that found damage.
	EventChainDamaged = "audit_chain_damaged"
)

// Events lists the events the gate writes today (EventChainDamaged and
// earlier names excepted), for counters that start each at zero.
var Events = []string{EventBreakerChange, EventBreakerReset, EventSnapshotFallback, EventSnapshotRejected,
	EventCounterChange, EventAuth, EventRateLimit, EventFaultInjected, EventFaultCleared, EventLease, EventE2EPass,
	EventGateStart, EventGateStop, EventTornTail, EventGap, EventUnwritable, EventCheckpoint}

// Genesis is the previous hash of the first entry.
var Genesis = hex.EncodeToString(make([]byte, sha256.Size))

// Entry is one line of the log.
type Entry struct {
	Seq    uint64            `json:"seq"`
	ID     string            `json:"id"`
	Time   time.Time         `json:"ts"`
	Event  string            `json:"event"`
	Fields map[string]string `json:"fields,omitempty"`
	Alg    string            `json:"alg"`
	Prev   string            `json:"prev"`
	Hash   string            `json:"hash"`
}

// signed is Entry without its hash: what the hash covers. encoding/json
// writes struct fields in order and map keys sorted, so the encoding of a
// given entry is always the same bytes.
type signed struct {
	Seq    uint64            `json:"seq"`
	ID     string            `json:"id"`
	Time   time.Time         `json:"ts"`
	Event  string            `json:"event"`
	Fields map[string]string `json:"fields,omitempty"`
	Alg    string            `json:"alg"`
	Prev   string            `json:"prev"`
}

// computeHash returns the hash e should carry under key (nil: plain SHA-256).
func computeHash(e *Entry, key []byte) (string, error) {
	b, err := json.Marshal(signed{e.Seq, e.ID, e.Time, e.Event, e.Fields, e.Alg, e.Prev})
	if err != nil {
		return "", fmt.Errorf("encode audit entry: %w", err)
	}
	if len(key) > 0 {
		m := hmac.New(sha256.New, key)
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil)), nil
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// ParseLine decodes one log line. It rejects unknown fields and entries
// missing what every entry has, and never panics (see FuzzParseLine).
func ParseLine(line []byte) (*Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("not an audit entry: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not an audit entry: trailing data")
	}
	switch {
	case e.Seq == 0:
		return nil, fmt.Errorf("not an audit entry: no seq")
	case e.Event == "":
		return nil, fmt.Errorf("not an audit entry: no event")
	case e.Alg != AlgSHA256 && e.Alg != AlgHMACSHA256:
		return nil, fmt.Errorf("not an audit entry: unknown alg %q", e.Alg)
	case len(e.Prev) != 2*sha256.Size || len(e.Hash) != 2*sha256.Size:
		return nil, fmt.Errorf("not an audit entry: prev and hash must be 64 hex digits")
	}
	return &e, nil
}

// Head identifies the newest durable entry: record it outside the host to
// detect truncation later.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// String renders the head as SEQ:HASH, the form ParseHead and
// `gate audit verify --expect-head` read.
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.Hash) }

// ParseHead reads SEQ:HASH.
func ParseHead(s string) (Head, error) {
	var h Head
	seq, hash, ok := strings.Cut(s, ":")
	if !ok {
		return h, fmt.Errorf("head %q: want SEQ:HASH", s)
	}
	if _, err := fmt.Sscanf(seq, "%d", &h.Seq); err != nil || h.Seq == 0 {
		return h, fmt.Errorf("head %q: sequence must be a positive integer", s)
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return h, fmt.Errorf("head %q: hash must be 64 hex digits", s)
	}
	h.Hash = hash
	return h, nil
}
