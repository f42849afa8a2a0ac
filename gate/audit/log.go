package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quannex/gameday/gate/internal/safefile"
)

// DefaultMaxBytes is the size at which the active segment is rotated.
const DefaultMaxBytes = 64 << 20

// Options configure a Log.
type Options struct {
	// Key turns the chain into HMAC-SHA-256. Empty: plain SHA-256.
	Key []byte
	// Buffer bounds the entries waiting to be written (default 4096). When
	// it is full, Record drops the entry, counts it by event, and the next
	// write records an audit_gap entry with those counts.
	Buffer int
	// MaxBytes is the size past which the active segment is renamed to the
	// next numbered segment and a new one is started (default
	// DefaultMaxBytes). A batch is never split, so one larger than MaxBytes
	// makes a segment larger than MaxBytes.
	MaxBytes int64
	// RetryEvery is how often an unwritable log is tried again (default 1s).
	RetryEvery time.Duration
	Logger     *slog.Logger
	// OnWrite, if set, is called by the writer for every durable entry.
	OnWrite func(event string)
	// Sync makes the written bytes durable (nil: f.Sync). Tests replace it
	// to simulate a slow or failing disk.
	Sync func(f *os.File) error
	// HeadFile, if set, anchors the head outside the log (see head.go):
	// it is replaced after every durable batch, and on open the log must
	// reach the head it holds. Empty: no head file.
	HeadFile string
}

// Head file states found at open (HeadFileStatus.AtOpen).
const (
	HeadFileOK        = "ok"        // present, trusted, and the log reaches it
	HeadFileNew       = "new"       // absent, and so is the log: a first start
	HeadFileAbsent    = "absent"    // absent while the log has entries: a cut tail cannot be told
	HeadFileUntrusted = "untrusted" // present, but it does not verify
)

// HeadFileStatus is what Status says of the head file.
type HeadFileStatus struct {
	Path       string `json:"path,omitempty"`
	AtOpen     string `json:"at_open"`
	Detail     string `json:"detail,omitempty"`
	WriteError string `json:"write_error,omitempty"` // the last write's failure; "" since a success
}

// Status is what selftest shows about the log.
type Status struct {
	Path          string `json:"path"`
	Alg           string `json:"alg"`
	Head          Head   `json:"head"`
	Pending       int    `json:"pending"`
	Dropped       uint64 `json:"dropped"`
	WriteFailures uint64 `json:"write_failures"`
	LastError     string `json:"last_error,omitempty"`
	// Writable is false while the last attempt to write failed.
	Writable bool `json:"writable"`
	// Damage is set when the active segment held damage that no checkpoint
	// recorded yet: found at this open, recorded by a new checkpoint.
	Damage *Problem `json:"damage,omitempty"`
	// KnownDamage counts damaged stretches found at open that checkpoints
	// already record (reported by an earlier start, not again).
	KnownDamage int `json:"known_damage,omitempty"`
	// TornTail is set when a torn tail was found (and set aside) at open.
	TornTail *TornTail `json:"torn_tail,omitempty"`
	// HeadFile is nil without Options.HeadFile.
	HeadFile *HeadFileStatus `json:"head_file,omitempty"`
}

// state is the part of Status the writer changes. It is replaced whole
// (never modified) and read through an atomic pointer, so Status and Head
// never wait for the writer, whatever the disk is doing.
type state struct {
	head        Head
	writable    bool
	lastError   string
	damage      *Problem
	knownDamage int
	tornTail    *TornTail
	headFile    *HeadFileStatus
}

type request struct {
	event  string
	fields map[string]string
	at     time.Time
	done   chan result // nil for Record
}

type result struct {
	entry Entry
	err   error
}

// Log is an open audit log. Create it with Open; the writer goroutine runs
// until Close.
type Log struct {
	path string
	opts Options
	alg  string
	log  *slog.Logger

	queue    chan request
	closed   atomic.Bool   // set by Close: Record and Append refuse
	inflight atomic.Int64  // Record/Append calls between the closed check and the send
	closing  chan struct{} // closed by Close: drain and stop
	abort    chan struct{} // closed by Close when its ctx ends: stop retrying
	stopped  chan struct{} // closed by the writer when it exits
	once     sync.Once

	st            atomic.Pointer[state]
	dropped       atomic.Uint64
	writeFailures atomic.Uint64

	// dropMu guards byEvent only; it is never held across I/O.
	dropMu      sync.Mutex
	byEvent     map[string]uint64 // dropped since the last gap entry
	dropLogging bool              // a drop was logged since the last gap entry

	// Owned by the writer goroutine (and by Open before it starts).
	f         *os.File
	offset    int64 // end of the last durable entry
	head      Head
	headKnown bool      // the existing log has been read and the head set
	front     []request // entries about the log itself, written first
	nextSeg   int       // number the active segment gets when rotated
	rotateErr string    // last rotation failure logged
	headErr   string    // last head file write failure logged
	unwritten int       // entries given up at shutdown
	// outage is the run of failed writes since the last durable batch;
	// the next durable batch starts with an audit_unwritable entry for it.
	outage struct {
		since    time.Time
		failures uint64
		err      string
	}
}

// Open starts a log at path, the active segment (see Segments). It never
// fails because the file or its directory is unwritable: entries then wait
// in the buffer and the writer retries, and Status says so.
//
// On open the active segment is read line by line (memory does not grow
// with its size) and verified, chained on from the last entry of the
// previous segment. A torn tail is moved to PATH.torn-UNIXNANO and recorded
// as an audit_torn_tail entry. Damage that no checkpoint records yet gets an
// audit_checkpoint entry naming it (see Damage); the chain verifies again
// from that checkpoint, and the next open does not report it again. Older
// segments are not read: `gate audit verify` checks the whole log.
func Open(path string, opts Options) *Log {
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sync == nil {
		opts.Sync = (*os.File).Sync
	}
	l := &Log{
		path:    path,
		opts:    opts,
		alg:     AlgSHA256,
		log:     opts.Logger,
		queue:   make(chan request, opts.Buffer),
		closing: make(chan struct{}),
		abort:   make(chan struct{}),
		stopped: make(chan struct{}),
		byEvent: map[string]uint64{},
	}
	if len(opts.Key) > 0 {
		l.alg = AlgHMACSHA256
	}
	l.st.Store(&state{writable: true})
	if err := l.ensureOpen(); err != nil {
		l.failed(err)
	}
	go l.run()
	return l
}

// Record queues an entry and returns at once. It never blocks, on the
// buffer or on the writer: when the buffer is full the entry is dropped and
// counted (see Options.Buffer).
func (l *Log) Record(event string, fields map[string]string) {
	l.inflight.Add(1)
	defer l.inflight.Add(-1)
	if l.closed.Load() {
		l.drop(event)
		return
	}
	select {
	case l.queue <- request{event: event, fields: fields, at: time.Now().UTC()}:
	default:
		l.drop(event)
	}
}

func (l *Log) drop(event string) {
	l.dropped.Add(1)
	l.dropMu.Lock()
	l.byEvent[event]++
	first := !l.dropLogging
	l.dropLogging = true
	l.dropMu.Unlock()
	if first { // once per episode: a flood of drops must not become a flood of logs
		l.log.Error("audit entries dropped: buffer full or log closed (counted, and recorded as an audit_gap entry)", "event", event)
	}
}

// Append writes an entry and returns it once it is durable.
func (l *Log) Append(ctx context.Context, event string, fields map[string]string) (Entry, error) {
	req := request{event: event, fields: fields, at: time.Now().UTC(), done: make(chan result, 1)}
	l.inflight.Add(1)
	if l.closed.Load() {
		l.inflight.Add(-1)
		return Entry{}, ErrClosed
	}
	select {
	case l.queue <- req:
		l.inflight.Add(-1)
	case <-ctx.Done():
		l.inflight.Add(-1)
		return Entry{}, ctx.Err()
	case <-l.closing:
		l.inflight.Add(-1)
		return Entry{}, ErrClosed
	}
	select {
	case res := <-req.done:
		return res.entry, res.err
	case <-ctx.Done():
		return Entry{}, fmt.Errorf("audit append: %w (the entry stays queued)", ctx.Err())
	}
}

// Head returns the newest durable entry's sequence and hash.
func (l *Log) Head() Head { return l.st.Load().head }

// Status returns the log's state. It reads atomics only: a writer stuck in
// a slow fsync does not delay it.
func (l *Log) Status() Status {
	s := l.st.Load()
	return Status{
		Path: l.path, Alg: l.alg, Head: s.head,
		Pending:       len(l.queue),
		Dropped:       l.dropped.Load(),
		WriteFailures: l.writeFailures.Load(),
		LastError:     s.lastError,
		Writable:      s.writable,
		Damage:        s.damage,
		KnownDamage:   s.knownDamage,
		TornTail:      s.tornTail,
		HeadFile:      s.headFile,
	}
}

// setState replaces the state with a changed copy. Only the writer (and
// Open, before the writer starts) calls it.
func (l *Log) setState(change func(*state)) {
	s := *l.st.Load()
	change(&s)
	l.st.Store(&s)
}

// Close stops accepting entries and writes what is queued. If the file is
// unwritable the writer keeps retrying until ctx is done; Close then returns
// an error naming how many entries could not be written (they are also in
// Status().Dropped).
func (l *Log) Close(ctx context.Context) error {
	l.once.Do(func() {
		l.closed.Store(true)
		close(l.closing)
	})
	select {
	case <-l.stopped:
	case <-ctx.Done():
		select {
		case <-l.abort:
		default:
			close(l.abort)
		}
		<-l.stopped
	}
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if l.unwritten > 0 {
		return fmt.Errorf("close audit log: %d entries not written: %s", l.unwritten, l.st.Load().lastError)
	}
	return nil
}

// drained reports whether nothing is queued and no Record or Append can
// still queue: checked after closed is set, inflight first.
func (l *Log) drained() bool {
	return l.inflight.Load() == 0 && len(l.queue) == 0
}

// run is the single writer. It exits once Close was called and everything
// queued is written, or when Close's context ends first (abort).
func (l *Log) run() {
	defer close(l.stopped)
	var batch []request
	for {
		if len(batch) == 0 && len(l.front) == 0 {
			select {
			case r := <-l.queue:
				batch = append(batch, r)
			case <-l.closing:
				if l.drained() {
					return
				}
				if len(l.queue) == 0 {
					time.Sleep(time.Millisecond) // a Record is between its check and its send
				}
				continue
			}
		}
	fill:
		for len(batch) < 512 {
			select {
			case r := <-l.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		err := l.write(batch)
		if err == nil {
			batch = batch[:0]
			continue
		}
		l.failed(err)
		select {
		case <-time.After(l.opts.RetryEvery):
		case <-l.abort:
			l.giveUp(batch, err)
			return
		}
	}
}

// giveUp fails the entries that could not be written when Close's deadline
// passed, counting them so nothing is lost silently.
func (l *Log) giveUp(batch []request, err error) {
	for !l.drained() {
		select {
		case r := <-l.queue:
			batch = append(batch, r)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	l.unwritten = len(batch)
	l.dropped.Add(uint64(len(batch)))
	for _, r := range batch {
		if r.done != nil {
			r.done <- result{err: err}
		}
	}
	l.log.Error("audit entries not written at shutdown", "count", len(batch), "error", err)
}

func (l *Log) failed(err error) {
	first := l.st.Load().writable
	l.writeFailures.Add(1)
	if l.outage.failures == 0 {
		l.outage.since = time.Now().UTC()
	}
	l.outage.failures++
	l.outage.err = err.Error()
	l.setState(func(s *state) { s.writable, s.lastError = false, err.Error() })
	if first {
		l.log.Error("audit log unwritable: entries wait in the buffer", "error", err)
	}
}

// takeDropped returns the drops since the last gap entry and forgets them;
// putBack restores them when the write fails.
func (l *Log) takeDropped() map[string]uint64 {
	l.dropMu.Lock()
	defer l.dropMu.Unlock()
	if len(l.byEvent) == 0 {
		return nil
	}
	m := l.byEvent
	l.byEvent = map[string]uint64{}
	return m
}

func (l *Log) putBack(m map[string]uint64) {
	l.dropMu.Lock()
	defer l.dropMu.Unlock()
	for ev, n := range m {
		l.byEvent[ev] += n
	}
}

// write makes batch durable: build the lines, write them in one call, sync,
// and only then advance the head and acknowledge. On failure the file is
// cut back to the last durable entry so no partial line is left behind.
// Only the writer goroutine calls it, and it holds no lock: nothing else
// waits for it but Append's callers.
func (l *Log) write(batch []request) error {
	if err := l.ensureOpen(); err != nil {
		return err
	}
	head := l.head
	var buf []byte
	entries := make([]Entry, 0, len(l.front)+len(batch)+1)
	add := func(event string, fields map[string]string, at time.Time) error {
		e := Entry{Seq: head.Seq + 1, ID: newID(), Time: at, Event: event, Fields: fields, Alg: l.alg, Prev: head.Hash}
		if e.Seq == 1 {
			e.Prev = Genesis
		}
		h, err := computeHash(&e, l.opts.Key)
		if err != nil {
			return err
		}
		e.Hash = h
		line, err := marshalLine(&e)
		if err != nil {
			return err
		}
		buf = append(buf, line...)
		entries = append(entries, e)
		head = Head{Seq: e.Seq, Hash: e.Hash}
		return nil
	}
	for _, r := range l.front {
		if err := add(r.event, r.fields, r.at); err != nil {
			return err
		}
	}
	if o := l.outage; o.failures > 0 {
		f := map[string]string{"since": o.since.Format(time.RFC3339Nano), "failures": strconv.FormatUint(o.failures, 10), "error": o.err}
		if err := add(EventUnwritable, f, time.Now().UTC()); err != nil {
			return err
		}
	}
	dropped := l.takeDropped()
	if len(dropped) > 0 {
		f := map[string]string{}
		var total uint64
		for ev, n := range dropped {
			f["dropped_"+ev] = strconv.FormatUint(n, 10)
			total += n
		}
		f["dropped_total"] = strconv.FormatUint(total, 10)
		if err := add(EventGap, f, time.Now().UTC()); err != nil {
			l.putBack(dropped)
			return err
		}
	}
	for _, r := range batch {
		if err := add(r.event, r.fields, r.at); err != nil {
			l.putBack(dropped)
			return err
		}
	}
	if l.offset > 0 && l.offset+int64(len(buf)) > l.opts.MaxBytes {
		if err := l.rotate(); err != nil {
			l.putBack(dropped)
			return err
		}
	}
	if _, err := l.f.WriteAt(buf, l.offset); err != nil {
		l.putBack(dropped)
		l.cutBack()
		return fmt.Errorf("write audit log: %w", err)
	}
	if err := l.opts.Sync(l.f); err != nil {
		l.putBack(dropped)
		l.cutBack()
		return fmt.Errorf("fsync audit log: %w", err)
	}
	l.offset += int64(len(buf))
	l.head = head
	l.front = nil
	l.outage.failures = 0
	if len(dropped) > 0 {
		l.dropMu.Lock()
		l.dropLogging = len(l.byEvent) > 0
		l.dropMu.Unlock()
	}
	if !l.st.Load().writable {
		l.log.Info("audit log writable again", "head_seq", head.Seq)
	}
	l.setState(func(s *state) { s.head, s.writable, s.lastError = head, true, "" })
	l.writeHead(head)
	skip := len(entries) - len(batch)
	for i, e := range entries {
		if l.opts.OnWrite != nil {
			l.opts.OnWrite(e.Event)
		}
		if i >= skip && batch[i-skip].done != nil {
			batch[i-skip].done <- result{entry: e}
		}
	}
	return nil
}

// writeHead replaces the head file with head, after a durable batch. A
// failure counts as a write failure (quannex_audit_write_failures_total)
// and is logged once per distinct error; the entries are durable all the
// same, and the next batch tries again.
func (l *Log) writeHead(head Head) {
	if l.opts.HeadFile == "" {
		return
	}
	err := writeHeadFile(l.opts.HeadFile, head, l.opts.Key, l.opts.Sync)
	msg := ""
	if err != nil {
		msg = err.Error()
		l.writeFailures.Add(1)
		if msg != l.headErr {
			l.log.Error("audit head file not written: a cut tail of the log could go unnoticed until it is", "error", err)
		}
	} else if l.headErr != "" {
		l.log.Info("audit head file written again", "head_seq", head.Seq)
	}
	l.headErr = msg
	l.setState(func(s *state) {
		hf := *s.headFile
		hf.WriteError = msg
		s.headFile = &hf
	})
}

// rotate renames the full active segment to the next numbered one and
// starts a new active file. The head is unchanged, so the next entry chains
// to the previous segment's last. If the rename fails, the failure is
// logged and the active segment keeps growing: auditing never stops for
// rotation. If the rename worked but the new file cannot be created, the
// write fails and is retried like any other (ensureOpen creates the file).
func (l *Log) rotate() error {
	next := segmentName(l.path, l.nextSeg)
	err := func() error {
		if _, err := os.Stat(next); err == nil {
			return fmt.Errorf("rotate audit log: %s exists", filepath.Base(next))
		}
		return os.Rename(l.path, next)
	}()
	if err != nil {
		if err.Error() != l.rotateErr {
			l.rotateErr = err.Error()
			l.log.Error("audit log rotation failed; the active segment keeps growing", "error", err)
		}
		return nil
	}
	l.rotateErr = ""
	l.nextSeg++
	l.f.Close()
	l.f, l.offset = nil, 0
	syncDir(filepath.Dir(l.path))
	l.log.Info("audit log rotated", "segment", filepath.Base(next), "head_seq", l.head.Seq)
	return l.ensureOpen()
}

// cutBack drops whatever a failed write left past the last durable entry,
// and closes the file so the next attempt reopens it.
func (l *Log) cutBack() {
	_ = l.f.Truncate(l.offset) // best effort; verification would flag a leftover as a torn tail
	l.f.Close()
	l.f = nil
}

// ensureOpen opens the active segment if it is not open. The first
// successful open reads it to find the head, sets aside a torn tail and
// records damage. Only the writer (and Open, before it starts) calls it.
func (l *Log) ensureOpen() error {
	if l.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	created := false
	if _, err := os.Stat(l.path); errors.Is(err, fs.ErrNotExist) {
		created = true
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	if created {
		syncDir(filepath.Dir(l.path))
	}
	if l.headKnown {
		// Reopened after a failure: the in-memory head is authoritative.
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("open audit log: %w", err)
		}
		if fi.Size() < l.offset { // not the file written so far (replaced, or a new segment)
			l.offset = fi.Size()
		}
		l.f = f
		return nil
	}
	if err := l.readExisting(f); err != nil {
		f.Close()
		return err
	}
	l.f = f
	l.headKnown = true
	return nil
}

// readExisting verifies the active segment f, chained on from the newest
// rotated segment's last entry, and sets the head, the offset and the
// entries about the log's own state to write first.
func (l *Log) readExisting(f *os.File) error {
	segs, err := rotated(l.path)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	read := []segment{{name: filepath.Base(l.path), r: f, size: fi.Size()}}
	var start *Head
	l.nextSeg = 1
	if n := len(segs); n > 0 {
		prev := segs[n-1]
		l.nextSeg = prev.num + 1
		var e *Entry
		ln, err := lastLine(prev.path)
		if err == nil {
			e, err = ParseLine(ln)
		}
		if err == nil {
			start = &Head{Seq: e.Seq, Hash: e.Hash}
		} else {
			// Read the previous segment too, from its first entry, to find
			// the last one that parses and record the damage.
			l.log.Error("the newest rotated audit segment does not end with an entry; reading it whole",
				"segment", filepath.Base(prev.path), "error", err)
			pf, err := os.Open(prev.path)
			if err != nil {
				return fmt.Errorf("read audit log: %w", err)
			}
			defer pf.Close()
			pfi, err := pf.Stat()
			if err != nil {
				return fmt.Errorf("read audit log: %w", err)
			}
			read = append([]segment{{name: filepath.Base(prev.path), num: prev.num, r: pf, size: pfi.Size()}}, read...)
			start = &Head{} // its first entry is the start
		}
	}
	anchor := l.readHeadFile()
	rep, err := verify(read, VerifyOptions{Key: l.opts.Key, ExpectHead: anchor}, start)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	torn, savedTo := rep.TornTail, ""
	if torn != nil {
		if savedTo, err = l.setAsideTornTail(f, torn); err != nil {
			return err
		}
	}
	l.offset = rep.GoodBytes
	l.head = rep.Head
	var front []request
	var first *Problem
	known := 0
	now := time.Now().UTC()
	for _, d := range rep.Damage {
		if d.RecordedBy != 0 {
			known++
			continue
		}
		if first == nil {
			p := d.Problem
			first = &p
		}
		l.log.Error("audit log damaged; a checkpoint records the damage and the chain verifies again from it",
			"segment", d.Segment, "line", d.Line, "kind", d.Kind, "detail", d.Detail, "after_seq", d.After.Seq)
		front = append(front, request{event: EventCheckpoint, at: now, fields: map[string]string{
			"damage_after": d.After.String(), "segment": d.Segment, "line": strconv.Itoa(d.Line),
			"end_line": strconv.Itoa(d.EndLine), "kind": d.Kind, "detail": d.Detail}})
	}
	if n := len(rep.Damage); n > 0 && rep.Damage[n-1].ResumedAt == nil {
		// The tail does not verify: the checkpoint starts a new chain after
		// the last entry that parsed, with a sequence number never used.
		l.head = Head{Seq: rep.maxSeq, Hash: rep.lastHash}
		if l.head.Hash == "" {
			l.head.Hash = Genesis
		}
		// Nor one the head file shows was used, when the tail was cut
		// past it: the head never goes back.
		if anchor != nil && anchor.Seq > l.head.Seq {
			l.head = *anchor
		}
	}
	if hf := l.st.Load().headFile; hf != nil && hf.AtOpen == HeadFileNew && rep.Entries > 0 {
		l.log.Error("audit head file absent although the log holds entries: a cut tail cannot be told", "head_file", hf.Path)
		l.setState(func(s *state) {
			s.headFile = &HeadFileStatus{Path: hf.Path, AtOpen: HeadFileAbsent,
				Detail: "absent while the log holds entries: whether its tail was cut since the last start cannot be told"}
		})
	}
	if torn != nil {
		front = append(front, request{event: EventTornTail, at: now, fields: map[string]string{
			"offset": strconv.FormatInt(torn.Offset, 10), "length": strconv.Itoa(torn.Length),
			"sha256": torn.SHA256, "saved_to": savedTo}})
	}
	l.front = front
	if known > 0 {
		l.log.Info("audit log holds damage already recorded by checkpoints", "stretches", known)
	}
	l.setState(func(s *state) {
		s.head, s.damage, s.knownDamage = l.head, first, known
		s.tornTail = torn
	})
	return nil
}

// readHeadFile reads Options.HeadFile at open and notes what it found; it
// returns the head the log must reach, nil when there is none to trust.
func (l *Log) readHeadFile() *Head {
	if l.opts.HeadFile == "" {
		return nil
	}
	hf := &HeadFileStatus{Path: l.opts.HeadFile, AtOpen: HeadFileOK}
	defer l.setState(func(s *state) { s.headFile = hf })
	h, err := readHeadFile(l.opts.HeadFile, l.opts.Key, func(p string) (*os.File, fs.FileInfo, error) {
		return safefile.Open(p, os.O_RDONLY, 0)
	})
	switch {
	case errors.Is(err, ErrNoHeadFile):
		hf.AtOpen = HeadFileNew // readExisting makes it absent if the log is not empty
		return nil
	case err != nil:
		hf.AtOpen, hf.Detail = HeadFileUntrusted, err.Error()
		l.log.Error("audit head file cannot be trusted: a cut tail cannot be told", "error", err)
		return nil
	}
	return &h
}

// setAsideTornTail copies a torn tail to its own file and cuts it from the
// log: a crash's leftovers are kept and accounted for (an entry says where
// they went), never silently dropped, and never mistaken for tampering.
func (l *Log) setAsideTornTail(f *os.File, t *TornTail) (savedTo string, err error) {
	aside := fmt.Sprintf("%s.torn-%d", l.path, time.Now().UnixNano())
	out, err := os.OpenFile(aside, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", fmt.Errorf("set aside torn audit tail: %w", err)
	}
	_, err = io.Copy(out, io.NewSectionReader(f, t.Offset, int64(t.Length)))
	if err == nil {
		err = l.opts.Sync(out) // the copy is durable before the tail is cut
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("set aside torn audit tail: %w", err)
	}
	syncDir(filepath.Dir(aside))
	if err := f.Truncate(t.Offset); err != nil {
		return "", fmt.Errorf("cut torn audit tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("cut torn audit tail: %w", err)
	}
	savedTo = filepath.Base(aside)
	l.log.Warn("audit log had a torn last line (crash during append); set aside",
		"offset", t.Offset, "length", t.Length, "saved_to", savedTo)
	return savedTo, nil
}

func marshalLine(e *Entry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode audit entry: %w", err)
	}
	return append(b, '\n'), nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: makes the new file's name durable
		d.Close()
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
