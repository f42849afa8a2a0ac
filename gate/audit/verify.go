package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Kinds of damage Verify reports.
const (
	DamageEdited      = "edited"
	DamageDeleted     = "deleted"
	DamageInserted    = "inserted"
	DamageReordered   = "reordered"
	DamageTruncated   = "truncated"
	DamageCorrupt     = "corrupt"
	DamageUnsigned    = "unsigned"
	DamageKeyRequired = "key_required"
)

// Problem is the first bad entry found.
type Problem struct {
	Line   int    `json:"line"`          // 1-based line number in the file
	Seq    uint64 `json:"seq,omitempty"` // the entry's sequence, when it parsed
	Kind   string `json:"kind"`          // one of the Damage* constants
	Detail string `json:"detail"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("audit log damaged at line %d: %s: %s", p.Line, p.Kind, p.Detail)
}

// TornTail is an incomplete last line: what a crash in the middle of an
// append leaves. It is not tampering, and it was never acknowledged.
type TornTail struct {
	Offset int64  `json:"offset"`
	Length int    `json:"length"`
	SHA256 string `json:"sha256"`
}

// Report is the outcome of Verify.
type Report struct {
	Entries  int       `json:"entries"`
	Head     Head      `json:"head"`
	Alg      string    `json:"alg,omitempty"`
	First    time.Time `json:"first,omitempty"`
	Last     time.Time `json:"last,omitempty"`
	TornTail *TornTail `json:"torn_tail,omitempty"`
	Problem  *Problem  `json:"problem,omitempty"`
	// GoodBytes is the length of the prefix of the file made of complete
	// lines (everything but a torn tail).
	GoodBytes int64 `json:"-"`
}

// OK reports whether the log verified (a torn tail does not count against it).
func (r *Report) OK() bool { return r.Problem == nil }

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Key        []byte // HMAC key; required for an HMAC-chained log
	ExpectHead *Head  // detect truncation against a head recorded elsewhere
}

// VerifyFile verifies the log at path.
func VerifyFile(path string, opts VerifyOptions) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	return Verify(data, opts), nil
}

// Verify checks a whole log and reports the first bad entry and the kind of
// damage. Classification uses every sequence number in the file, so a
// reordered entry is not mistaken for a deletion.
func Verify(data []byte, opts VerifyOptions) *Report {
	r := &Report{}
	lines, torn := splitLines(data)
	if torn != nil {
		r.TornTail = torn
		r.GoodBytes = torn.Offset
	} else {
		r.GoodBytes = int64(len(data))
	}

	entries := make([]*Entry, len(lines))
	seen := map[uint64][]int{} // seq -> line numbers
	for i, ln := range lines {
		e, err := ParseLine(ln)
		if err != nil {
			r.Problem = &Problem{Line: i + 1, Kind: DamageCorrupt, Detail: err.Error()}
			return r
		}
		entries[i] = e
		seen[e.Seq] = append(seen[e.Seq], i+1)
	}

	expected, prev := uint64(1), Genesis
	for i, e := range entries {
		line := i + 1
		if at := seen[e.Seq]; len(at) > 1 {
			r.Problem = &Problem{Line: at[0], Seq: e.Seq, Kind: DamageInserted,
				Detail: fmt.Sprintf("sequence %d appears on lines %v: an entry was inserted", e.Seq, at)}
			return r
		}
		if e.Seq != expected {
			r.Problem = &Problem{Line: line, Seq: e.Seq}
			switch {
			case len(seen[expected]) > 0:
				r.Problem.Kind = DamageReordered
				r.Problem.Detail = fmt.Sprintf("expected sequence %d here, found %d; %d is on line %d",
					expected, e.Seq, expected, seen[expected][0])
			case e.Seq > expected:
				r.Problem.Kind = DamageDeleted
				r.Problem.Detail = fmt.Sprintf("entries %d to %d are missing before this line", expected, e.Seq-1)
			default:
				r.Problem.Kind = DamageReordered
				r.Problem.Detail = fmt.Sprintf("expected sequence %d here, found %d", expected, e.Seq)
			}
			return r
		}
		if p := checkHash(e, line, opts.Key); p != nil {
			r.Problem = p
			return r
		}
		if e.Prev != prev {
			r.Problem = &Problem{Line: line - 1, Seq: e.Seq - 1, Kind: DamageEdited,
				Detail: fmt.Sprintf("entry %d's hash was recomputed after its content changed: entry %d on the next line no longer chains to it", e.Seq-1, e.Seq)}
			if e.Seq == 1 {
				r.Problem = &Problem{Line: line, Seq: e.Seq, Kind: DamageEdited, Detail: "first entry does not start from the genesis hash"}
			}
			return r
		}
		if r.Entries == 0 {
			r.Alg, r.First = e.Alg, e.Time
		}
		r.Entries++
		r.Last = e.Time
		r.Head = Head{Seq: e.Seq, Hash: e.Hash}
		expected, prev = e.Seq+1, e.Hash
	}

	if h := opts.ExpectHead; h != nil {
		switch {
		case r.Head.Seq < h.Seq:
			r.Problem = &Problem{Line: len(lines) + 1, Seq: r.Head.Seq + 1, Kind: DamageTruncated,
				Detail: fmt.Sprintf("log ends at sequence %d but the expected head is %d: entries %d to %d were removed",
					r.Head.Seq, h.Seq, r.Head.Seq+1, h.Seq)}
		default:
			e := entries[h.Seq-1] // sequences were checked contiguous from 1
			if e.Hash != h.Hash {
				r.Problem = &Problem{Line: int(h.Seq), Seq: h.Seq, Kind: DamageEdited,
					Detail: "entry at the expected head has a different hash: the chain was rewritten up to here"}
			}
		}
	}
	return r
}

func checkHash(e *Entry, line int, key []byte) *Problem {
	switch {
	case e.Alg == AlgHMACSHA256 && len(key) == 0:
		return &Problem{Line: line, Seq: e.Seq, Kind: DamageKeyRequired,
			Detail: "entry is HMAC-chained: set AUDIT_HMAC_KEY to verify it"}
	case e.Alg == AlgSHA256 && len(key) > 0:
		return &Problem{Line: line, Seq: e.Seq, Kind: DamageUnsigned,
			Detail: "entry is plain SHA-256 in a log verified with an HMAC key: it may have been rewritten without the key"}
	}
	k := key
	if e.Alg == AlgSHA256 {
		k = nil
	}
	want, err := computeHash(e, k)
	if err != nil || want != e.Hash {
		d := "content does not match its hash"
		if len(key) > 0 {
			d += " (or the HMAC key is not the one the log was written with)"
		}
		return &Problem{Line: line, Seq: e.Seq, Kind: DamageEdited, Detail: d}
	}
	return nil
}

// splitLines returns the complete lines of data and, when data does not end
// with a newline, the incomplete last line as a torn tail.
func splitLines(data []byte) ([][]byte, *TornTail) {
	var lines [][]byte
	var torn *TornTail
	if n := len(data); n > 0 && data[n-1] != '\n' {
		cut := bytes.LastIndexByte(data, '\n') + 1
		sum := sha256.Sum256(data[cut:])
		torn = &TornTail{Offset: int64(cut), Length: n - cut, SHA256: hex.EncodeToString(sum[:])}
		data = data[:cut]
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		lines = append(lines, data[:i])
		data = data[i+1:]
	}
	return lines, torn
}

// Stats counts entries by event within a time range.
type Stats struct {
	Entries int            `json:"entries"`
	ByEvent map[string]int `json:"by_event"`
	First   time.Time      `json:"first,omitempty"`
	Last    time.Time      `json:"last,omitempty"`
	Corrupt int            `json:"unparseable_lines"`
}

// ComputeStats reads a log and counts the entries whose time is within
// [since, until) (zero bounds are open). Lines that do not parse are counted
// apart; stats are not a verification (use Verify).
func ComputeStats(r io.Reader, since, until time.Time) (*Stats, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	lines, torn := splitLines(data)
	st := &Stats{ByEvent: map[string]int{}}
	if torn != nil {
		st.Corrupt++
	}
	for _, ln := range lines {
		e, err := ParseLine(ln)
		if err != nil {
			st.Corrupt++
			continue
		}
		if (!since.IsZero() && e.Time.Before(since)) || (!until.IsZero() && !e.Time.Before(until)) {
			continue
		}
		st.Entries++
		st.ByEvent[e.Event]++
		if st.First.IsZero() || e.Time.Before(st.First) {
			st.First = e.Time
		}
		if e.Time.After(st.Last) {
			st.Last = e.Time
		}
	}
	return st, nil
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log closed")
