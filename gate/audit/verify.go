package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// Problem is a bad entry.
type Problem struct {
	Segment string `json:"segment,omitempty"` // file name of the segment, when the log was read from files
	Line    int    `json:"line"`              // 1-based line number in the segment
	Seq     uint64 `json:"seq,omitempty"`     // the entry's sequence, when it parsed
	Kind    string `json:"kind"`              // one of the Damage* constants
	Detail  string `json:"detail"`
}

func (p *Problem) Error() string {
	where := fmt.Sprintf("line %d", p.Line)
	if p.Segment != "" {
		where = p.Segment + " " + where
	}
	return fmt.Sprintf("audit log damaged at %s: %s: %s", where, p.Kind, p.Detail)
}

// Damage is a stretch of the log that does not verify: from its first bad
// line up to the line before the checkpoint where the chain verifies again,
// or to the end of the log.
type Damage struct {
	Problem
	// After is the last entry verified before the damage (seq 0: none). A
	// checkpoint names the damage it covers by this head.
	After      Head   `json:"after"`
	EndSegment string `json:"end_segment,omitempty"`
	EndLine    int    `json:"end_line"`
	// ResumedAt is the checkpoint from which the chain verifies again; nil:
	// the damage runs to the end of the log.
	ResumedAt *Head `json:"resumed_at,omitempty"`
	// RecordedBy is the sequence of a checkpoint that records this damage
	// (the gate wrote it on finding the damage); 0: not recorded.
	RecordedBy uint64 `json:"recorded_by,omitempty"`
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
	// Entries counts the entries whose chain verified.
	Entries  int       `json:"entries"`
	Segments []string  `json:"segments,omitempty"`
	Head     Head      `json:"head"`
	Alg      string    `json:"alg,omitempty"`
	First    time.Time `json:"first,omitempty"`
	Last     time.Time `json:"last,omitempty"`
	TornTail *TornTail `json:"torn_tail,omitempty"`
	// Problem is the first bad entry, or the truncation or rewrite found
	// against VerifyOptions.ExpectHead.
	Problem *Problem `json:"problem,omitempty"`
	// Damage lists every damaged stretch in order (at most maxDamage;
	// DamageOmitted counts the rest).
	Damage        []Damage `json:"damage,omitempty"`
	DamageOmitted int      `json:"damage_omitted,omitempty"`
	// GoodBytes is the length of the prefix of the last segment made of
	// complete lines (everything but a torn tail).
	GoodBytes int64 `json:"-"`

	// For the writer: the highest sequence seen and the hash of the last
	// entry that parsed, verified or not, so a checkpoint after a damaged
	// tail gets a fresh sequence number.
	maxSeq   uint64
	lastHash string
}

// OK reports whether the log verified (a torn tail does not count against it).
func (r *Report) OK() bool { return r.Problem == nil }

// maxDamage bounds the damaged stretches a report lists, so a log of
// garbage cannot make verification hold memory in proportion to it.
const maxDamage = 1000

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Key        []byte // HMAC key; required for an HMAC-chained log
	ExpectHead *Head  // detect truncation against a head recorded elsewhere
}

// segment is one file of a log as the verifier reads it.
type segment struct {
	name string // base name; "" for a log given as bytes
	num  int    // rotated segment number; 0: active
	r    io.ReaderAt
	size int64
}

// VerifyFile verifies the log at path: the active file with its rotated
// segments beside it, or a directory of one log's segments. It reads line
// by line: memory does not grow with the size of the log.
func VerifyFile(path string, opts VerifyOptions) (*Report, error) {
	files, err := segmentFiles(path)
	if err != nil {
		return nil, fmt.Errorf("verify %w", err)
	}
	segs := make([]segment, 0, len(files))
	for _, sf := range files {
		f, err := os.Open(sf.path)
		if err != nil {
			return nil, fmt.Errorf("verify audit log: %w", err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("verify audit log: %w", err)
		}
		segs = append(segs, segment{name: filepath.Base(sf.path), num: sf.num, r: f, size: fi.Size()})
	}
	rep, err := verify(segs, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	return rep, nil
}

// Verify checks a log held in memory as one segment.
func Verify(data []byte, opts VerifyOptions) *Report {
	rep, _ := verify([]segment{{r: bytes.NewReader(data), size: int64(len(data))}}, opts, nil) // a bytes.Reader does not fail
	return rep
}

// verifier holds the chain state while the lines stream past: a few
// heads, never the entries.
type verifier struct {
	opts VerifyOptions
	r    *Report

	expected uint64 // next sequence
	prev     string // hash the next entry must carry as prev
	before   Head   // the verified entry before r.Head
	lastTime time.Time

	// Where the current run of contiguous sequences began in this segment,
	// so a repeated sequence can be placed on its first line.
	baseSeq  uint64
	baseLine int

	damaged  *Damage           // open damaged stretch, while looking for a checkpoint
	recorded map[string]uint64 // damage anchor (Head.String) -> checkpoint seq
	expect   int               // ExpectHead: 0 not reached, 1 matched, 2 differed, 3 fell in damage
	expectAt Problem
	// trustFirst: the first entry that parses sets the start.
	trustFirst bool
}

// verify streams segs in order and checks the chain across them. start,
// if set, is the head the first segment chains on from (the writer passes
// the previous segment's head when it reads only the active segment); a
// start with no hash takes the first entry's own sequence and prev as the
// start (the writer reads a segment that does not begin the log).
//
// After damage the verifier looks for a checkpoint entry whose own hash
// verifies; the chain verifies again from there. Classification looks
// ahead in the current segment (to tell a reordered entry from a deleted
// one) by reading it again, never by holding it.
func verify(segs []segment, opts VerifyOptions, start *Head) (*Report, error) {
	v := &verifier{opts: opts, r: &Report{}, expected: 1, prev: Genesis, recorded: map[string]uint64{}}
	switch {
	case start != nil && start.Hash == "":
		v.trustFirst = true
	case start != nil:
		v.expected, v.prev, v.r.Head = start.Seq+1, start.Hash, *start
	}
	var lastName string
	var lastLine int
	for i, sg := range segs {
		if sg.name != "" {
			v.r.Segments = append(v.r.Segments, sg.name)
		}
		missing := missingBefore(segs, i)
		v.baseSeq, v.baseLine = v.expected, 1
		lr := newLineReader(io.NewSectionReader(sg.r, 0, sg.size))
		line := 0
		for {
			ln, off, complete, err := lr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			line++
			lastName, lastLine = sg.name, line
			if !complete && i == len(segs)-1 {
				t, err := tornTail(sg, off)
				if err != nil {
					return nil, err
				}
				v.r.TornTail = t
				lastLine--
				break
			}
			v.line(sg, line, lr.off, ln, missing)
			missing = ""
		}
		if i == len(segs)-1 {
			v.r.GoodBytes = sg.size
			if t := v.r.TornTail; t != nil {
				v.r.GoodBytes = t.Offset
			}
		}
	}
	if d := v.damaged; d != nil {
		d.EndSegment, d.EndLine = lastName, lastLine
		v.closeDamage()
	}
	v.checkExpectHead(lastName, lastLine)
	for i := range v.r.Damage {
		v.r.Damage[i].RecordedBy = v.recorded[v.r.Damage[i].After.String()]
	}
	return v.r, nil
}

// missingBefore names the rotated segments missing between segs[i-1] and
// segs[i] (or before the first one), "" if none are.
func missingBefore(segs []segment, i int) string {
	sg := segs[i]
	if sg.name == "" {
		return ""
	}
	if sg.num == 0 { // the active file follows the newest rotated segment
		if i == 0 {
			return ""
		}
		return fmt.Sprintf("segment %s may be missing", numbered(segs[i-1], segs[i-1].num+1))
	}
	from := 1
	if i > 0 {
		from = segs[i-1].num + 1
	}
	to := sg.num - 1
	switch {
	case to < from:
		return ""
	case to == from:
		return fmt.Sprintf("segment %s is missing", numbered(sg, from))
	}
	return fmt.Sprintf("segments %s to %s are missing", numbered(sg, from), numbered(sg, to))
}

// numbered renders the name of segment n of the log sg belongs to.
func numbered(sg segment, n int) string {
	ext := filepath.Ext(sg.name)
	stem := strings.TrimSuffix(sg.name, ext)
	if i := strings.LastIndexByte(stem, '-'); i > 0 && sg.num > 0 {
		stem = stem[:i]
	}
	return segmentName(stem+ext, n)
}

func tornTail(sg segment, off int64) (*TornTail, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(sg.r, off, sg.size-off))
	if err != nil {
		return nil, err
	}
	return &TornTail{Offset: off, Length: int(n), SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// line checks one complete line. next is the offset after it.
func (v *verifier) line(sg segment, line int, next int64, ln []byte, missing string) {
	at := func(seq uint64, kind, detail string) *Problem {
		return &Problem{Segment: sg.name, Line: line, Seq: seq, Kind: kind, Detail: detail}
	}
	e, err := ParseLine(ln)
	if err != nil {
		if v.damaged == nil {
			v.startDamage(at(0, DamageCorrupt, err.Error()), v.r.Head)
		}
		v.noteEnd(sg, line)
		return
	}
	if e.Seq >= v.r.maxSeq {
		v.r.maxSeq = e.Seq
	}
	v.r.lastHash = e.Hash
	if v.trustFirst {
		v.trustFirst = false
		v.expected, v.prev, v.baseSeq, v.baseLine = e.Seq, e.Prev, e.Seq, line
		v.r.Head = Head{Seq: e.Seq - 1, Hash: e.Prev}
	}

	if v.damaged != nil {
		if e.Event == EventCheckpoint && checkHash(e, line, v.opts.Key) == nil {
			v.resume(e, line, sg)
			return
		}
		v.noteExpect(e, sg, line, true)
		v.noteEnd(sg, line)
		return
	}

	if e.Seq != v.expected {
		p := at(e.Seq, DamageReordered, "")
		switch {
		case e.Seq < v.expected && e.Seq >= v.baseSeq:
			first := v.baseLine + int(e.Seq-v.baseSeq)
			p.Line, p.Kind = first, DamageInserted
			p.Detail = fmt.Sprintf("sequence %d appears on lines [%d %d]: an entry was inserted", e.Seq, first, line)
		case e.Seq > v.expected:
			if l, ok := findSeq(sg, next, v.expected); ok {
				p.Detail = fmt.Sprintf("expected sequence %d here, found %d; %d is on line %d", v.expected, e.Seq, v.expected, line+l)
			} else {
				p.Kind = DamageDeleted
				p.Detail = fmt.Sprintf("entries %d to %d are missing before this line", v.expected, e.Seq-1)
				if missing != "" {
					p.Detail += ": " + missing
				}
			}
		default:
			p.Detail = fmt.Sprintf("expected sequence %d here, found %d", v.expected, e.Seq)
		}
		v.startDamage(p, v.r.Head)
		v.noteEnd(sg, line)
		if e.Event == EventCheckpoint && checkHash(e, line, v.opts.Key) == nil {
			// Entries went missing right before a checkpoint: the gate
			// wrote it on finding its log cut short of its head file.
			v.resume(e, line, sg)
		}
		return
	}
	if p := checkHash(e, line, v.opts.Key); p != nil {
		p.Segment = sg.name
		v.startDamage(p, v.r.Head)
		v.noteEnd(sg, line)
		return
	}
	if e.Prev != v.prev {
		switch {
		case e.Seq == 1:
			v.startDamage(at(e.Seq, DamageEdited, "first entry does not start from the genesis hash"), v.r.Head)
		case line == 1:
			v.startDamage(at(e.Seq, DamageEdited, fmt.Sprintf("first entry of the segment does not chain to entry %d, the previous segment's last", e.Seq-1)), v.r.Head)
		default:
			// The previous entry verified on its own but is not the one
			// this entry was chained to: it was rewritten and rehashed.
			p := at(e.Seq-1, DamageEdited, fmt.Sprintf("entry %d's hash was recomputed after its content changed: entry %d on the next line no longer chains to it", e.Seq-1, e.Seq))
			p.Line = line - 1
			v.r.Entries--
			v.r.Head = v.before
			v.startDamage(p, v.before)
		}
		v.noteEnd(sg, line)
		return
	}
	v.accept(e, line, sg)
}

// resume closes the open damaged stretch at checkpoint e, whose own hash
// verified, and takes the chain on from it.
func (v *verifier) resume(e *Entry, line int, sg segment) {
	v.closeDamage()
	h := Head{Seq: e.Seq, Hash: e.Hash}
	v.r.Damage[len(v.r.Damage)-1].ResumedAt = &h
	v.accept(e, line, sg)
	v.baseSeq, v.baseLine = e.Seq, line // a new run starts here
}

// accept takes e as verified and the new head.
func (v *verifier) accept(e *Entry, line int, sg segment) {
	if v.r.Entries == 0 && v.r.Alg == "" {
		v.r.Alg, v.r.First = e.Alg, e.Time
	}
	v.r.Entries++
	v.r.Last = e.Time
	v.before, v.r.Head = v.r.Head, Head{Seq: e.Seq, Hash: e.Hash}
	v.expected, v.prev = e.Seq+1, e.Hash
	if e.Event == EventCheckpoint {
		if a := e.Fields["damage_after"]; a != "" {
			if _, ok := v.recorded[a]; !ok && len(v.recorded) < maxDamage {
				v.recorded[a] = e.Seq
			}
		}
	}
	v.noteExpect(e, sg, line, false)
}

func (v *verifier) startDamage(p *Problem, after Head) {
	if v.r.Problem == nil {
		v.r.Problem = p
	}
	v.damaged = &Damage{Problem: *p, After: after}
}

func (v *verifier) noteEnd(sg segment, line int) {
	if v.damaged != nil {
		v.damaged.EndSegment, v.damaged.EndLine = sg.name, line
	}
}

func (v *verifier) closeDamage() {
	if len(v.r.Damage) < maxDamage {
		v.r.Damage = append(v.r.Damage, *v.damaged)
	} else {
		v.r.DamageOmitted++
		v.r.Damage[len(v.r.Damage)-1] = *v.damaged // keep the newest: the writer resumes after it
	}
	v.damaged = nil
}

// noteExpect compares e against VerifyOptions.ExpectHead.
func (v *verifier) noteExpect(e *Entry, sg segment, line int, damaged bool) {
	h := v.opts.ExpectHead
	if h == nil || e.Seq != h.Seq || v.expect == 1 {
		return
	}
	switch {
	case damaged:
		v.expect = 3
	case e.Hash == h.Hash:
		v.expect = 1
		return
	default:
		v.expect = 2
	}
	v.expectAt = Problem{Segment: sg.name, Line: line, Seq: e.Seq}
}

func (v *verifier) checkExpectHead(lastName string, lastLine int) {
	h := v.opts.ExpectHead
	if h == nil || v.expect == 1 {
		return
	}
	p := v.expectAt
	switch v.expect {
	case 0:
		if v.r.Head.Seq >= h.Seq {
			return // reached only through damage already reported
		}
		p = Problem{Segment: lastName, Line: lastLine + 1, Seq: v.r.Head.Seq + 1, Kind: DamageTruncated,
			Detail: fmt.Sprintf("log ends at sequence %d but the expected head is %d: entries %d to %d were removed",
				v.r.Head.Seq, h.Seq, v.r.Head.Seq+1, h.Seq)}
	case 2:
		p.Kind, p.Detail = DamageEdited, "entry at the expected head has a different hash: the chain was rewritten up to here"
	case 3:
		p.Kind, p.Detail = DamageEdited, "the entry at the expected head lies in a damaged stretch and cannot be confirmed"
	}
	if v.r.Problem == nil {
		v.r.Problem = &p
	}
	d := Damage{Problem: p, After: v.r.Head, EndSegment: p.Segment, EndLine: p.Line}
	if len(v.r.Damage) < maxDamage {
		v.r.Damage = append(v.r.Damage, d)
	}
}

// findSeq reads the rest of sg from off and returns how many lines after
// the current one seq appears, if it does.
func findSeq(sg segment, off int64, seq uint64) (int, bool) {
	lr := newLineReader(io.NewSectionReader(sg.r, off, sg.size-off))
	for n := 1; ; n++ {
		ln, _, _, err := lr.next()
		if err != nil {
			return 0, false
		}
		if e, err := ParseLine(ln); err == nil && e.Seq == seq {
			return n, true
		}
	}
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

// Stats counts entries by event within a time range.
type Stats struct {
	Entries int            `json:"entries"`
	ByEvent map[string]int `json:"by_event"`
	First   time.Time      `json:"first,omitempty"`
	Last    time.Time      `json:"last,omitempty"`
	Corrupt int            `json:"unparseable_lines"`
}

// ComputeStats reads a log line by line and counts the entries whose time
// is within [since, until) (zero bounds are open). Lines that do not parse
// are counted apart; stats are not a verification (use Verify). To count
// across segments, pass them to io.MultiReader oldest first.
func ComputeStats(r io.Reader, since, until time.Time) (*Stats, error) {
	st := &Stats{ByEvent: map[string]int{}}
	lr := newLineReader(r)
	for {
		ln, _, complete, err := lr.next()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e, perr := ParseLine(ln)
		if !complete || perr != nil {
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
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log closed")
