package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Options configure a Log.
type Options struct {
	// Key turns the chain into HMAC-SHA-256. Empty: plain SHA-256.
	Key []byte
	// Buffer bounds the entries waiting to be written (default 4096). When
	// it is full, Record drops the entry, counts it by event, and the next
	// write records an audit_gap entry with those counts.
	Buffer int
	// RetryEvery is how often an unwritable log is tried again (default 1s).
	RetryEvery time.Duration
	Logger     *slog.Logger
	// OnWrite, if set, is called by the writer for every durable entry.
	OnWrite func(event string)
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
	// Damage is set when the log on disk did not verify at open.
	Damage *Problem `json:"damage,omitempty"`
	// TornTail is set when a torn tail was found (and set aside) at open.
	TornTail *TornTail `json:"torn_tail,omitempty"`
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

	queue   chan request
	closing chan struct{} // closed by Close: stop accepting, drain
	abort   chan struct{} // closed by Close when its ctx ends: stop retrying
	stopped chan struct{} // closed by the writer when it exits
	once    sync.Once

	mu        sync.Mutex
	st        Status
	dropped   map[string]uint64 // by event, since the last gap entry
	f         *os.File
	offset    int64 // end of the last durable entry
	headKnown bool  // the existing file has been read and the head set
	unwritten int   // entries given up at shutdown
}

// Open starts a log at path. It never fails because the file or its
// directory is unwritable: entries then wait in the buffer and the writer
// retries, and Status says so. On open, an existing log is verified; a torn
// tail is moved to PATH.torn-UNIXNANO and recorded as an audit_torn_tail
// entry, damage is recorded as audit_chain_damaged, and new entries chain on
// from the last complete entry either way.
func Open(path string, opts Options) *Log {
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
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
		dropped: map[string]uint64{},
	}
	if len(opts.Key) > 0 {
		l.alg = AlgHMACSHA256
	}
	l.st = Status{Path: path, Alg: l.alg, Writable: true}
	l.mu.Lock()
	err := l.openLocked()
	l.mu.Unlock()
	if err != nil {
		l.failed(err)
	}
	go l.run()
	return l
}

// Record queues an entry and returns at once. It never blocks: when the
// buffer is full the entry is dropped and counted (see Options.Buffer).
func (l *Log) Record(event string, fields map[string]string) {
	select {
	case <-l.closing:
		l.drop(event)
		return
	default:
	}
	select {
	case l.queue <- request{event: event, fields: fields, at: time.Now().UTC()}:
	default:
		l.drop(event)
	}
}

func (l *Log) drop(event string) {
	l.mu.Lock()
	l.dropped[event]++
	l.st.Dropped++
	l.mu.Unlock()
	l.log.Error("audit entry dropped: buffer full or log closed", "event", event)
}

// Append writes an entry and returns it once it is durable.
func (l *Log) Append(ctx context.Context, event string, fields map[string]string) (Entry, error) {
	req := request{event: event, fields: fields, at: time.Now().UTC(), done: make(chan result, 1)}
	select {
	case <-l.closing:
		return Entry{}, ErrClosed
	default:
	}
	select {
	case l.queue <- req:
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	case <-l.closing:
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
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Head
}

// Status returns a copy of the log's state.
func (l *Log) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.st
	s.Pending = len(l.queue)
	return s
}

// Close stops accepting entries and writes what is queued. If the file is
// unwritable the writer keeps retrying until ctx is done; Close then returns
// an error naming how many entries could not be written (they are also in
// Status().Dropped).
func (l *Log) Close(ctx context.Context) error {
	l.once.Do(func() { close(l.closing) })
	select {
	case <-l.stopped:
	case <-ctx.Done():
		close(l.abort)
		<-l.stopped
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if l.unwritten > 0 {
		return fmt.Errorf("close audit log: %d entries not written: %s", l.unwritten, l.st.LastError)
	}
	return nil
}

// run is the single writer. It exits once Close was called and everything
// queued is written, or when Close's context ends first (abort).
func (l *Log) run() {
	defer close(l.stopped)
	var batch []request
	for {
		if len(batch) == 0 {
			select {
			case r := <-l.queue:
				batch = append(batch, r)
			case <-l.closing:
				if len(l.queue) == 0 {
					return
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
	for {
		select {
		case r := <-l.queue:
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	l.mu.Lock()
	l.unwritten = len(batch)
	l.st.Dropped += uint64(len(batch))
	l.mu.Unlock()
	for _, r := range batch {
		if r.done != nil {
			r.done <- result{err: err}
		}
	}
	l.log.Error("audit entries not written at shutdown", "count", len(batch), "error", err)
}

func (l *Log) failed(err error) {
	l.mu.Lock()
	first := l.st.Writable
	l.st.Writable = false
	l.st.WriteFailures++
	l.st.LastError = err.Error()
	l.mu.Unlock()
	if first {
		l.log.Error("audit log unwritable: entries wait in the buffer", "error", err)
	}
}

// write makes batch durable: build the lines, write them in one call, fsync,
// and only then advance the head and acknowledge. On failure the file is cut
// back to the last durable entry so no partial line is left behind.
func (l *Log) write(batch []request) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.openLocked(); err != nil {
		return err
	}
	head := l.st.Head
	var buf []byte
	entries := make([]Entry, 0, len(batch)+1)
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
	if len(l.dropped) > 0 {
		f := map[string]string{}
		var total uint64
		for ev, n := range l.dropped {
			f["dropped_"+ev] = strconv.FormatUint(n, 10)
			total += n
		}
		f["dropped_total"] = strconv.FormatUint(total, 10)
		if err := add(EventGap, f, time.Now().UTC()); err != nil {
			return err
		}
	}
	for _, r := range batch {
		if err := add(r.event, r.fields, r.at); err != nil {
			return err
		}
	}
	if _, err := l.f.WriteAt(buf, l.offset); err != nil {
		l.cutBack()
		return fmt.Errorf("write audit log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		l.cutBack()
		return fmt.Errorf("fsync audit log: %w", err)
	}
	l.offset += int64(len(buf))
	l.st.Head = head
	clear(l.dropped)
	if !l.st.Writable {
		l.log.Info("audit log writable again", "head_seq", head.Seq)
	}
	l.st.Writable, l.st.LastError = true, ""
	gap := len(entries) - len(batch)
	for i, e := range entries {
		if l.opts.OnWrite != nil {
			l.opts.OnWrite(e.Event)
		}
		if i >= gap && batch[i-gap].done != nil {
			batch[i-gap].done <- result{entry: e}
		}
	}
	return nil
}

// cutBack drops whatever a failed write left past the last durable entry,
// and closes the file so the next attempt reopens it.
func (l *Log) cutBack() {
	_ = l.f.Truncate(l.offset) // best effort; verification would flag a leftover as a torn tail
	l.f.Close()
	l.f = nil
}

// openLocked opens the file if it is not open. The first successful open
// reads the existing log to find the head, sets aside a torn tail and
// records damage. Must be called with mu held.
func (l *Log) openLocked() error {
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
	data, err := os.ReadFile(l.path)
	if err != nil {
		f.Close()
		return fmt.Errorf("read audit log: %w", err)
	}
	rep := Verify(data, VerifyOptions{Key: l.opts.Key})
	if rep.TornTail != nil {
		if err := l.setAsideTornTail(f, data, rep.TornTail); err != nil {
			f.Close()
			return err
		}
	}
	l.f = f
	l.offset = rep.GoodBytes
	if l.headKnown {
		return nil // reopened after a failure: the in-memory head is authoritative
	}
	l.headKnown = true
	l.st.Head = rep.Head
	if rep.Problem != nil {
		// Chain on from the last complete entry, whatever its state, so new
		// entries are still written and verifiable from the damage on.
		l.st.Damage = rep.Problem
		if last := lastEntry(data[:rep.GoodBytes]); last != nil {
			l.st.Head = Head{Seq: last.Seq, Hash: last.Hash}
		}
		l.log.Error("audit log did not verify at open; new entries chain from its last entry",
			"line", rep.Problem.Line, "kind", rep.Problem.Kind, "detail", rep.Problem.Detail)
		l.requeueFront(EventChainDamaged, map[string]string{
			"line": strconv.Itoa(rep.Problem.Line), "kind": rep.Problem.Kind, "detail": rep.Problem.Detail})
	}
	return nil
}

// setAsideTornTail copies a torn tail to its own file, cuts it from the log
// and queues an entry that says where it went: a crash's leftovers are kept
// and accounted for, never silently dropped, and never mistaken for tampering.
func (l *Log) setAsideTornTail(f *os.File, data []byte, t *TornTail) error {
	aside := fmt.Sprintf("%s.torn-%d", l.path, time.Now().UnixNano())
	if err := os.WriteFile(aside, data[t.Offset:], 0o640); err != nil {
		return fmt.Errorf("set aside torn audit tail: %w", err)
	}
	if err := f.Truncate(t.Offset); err != nil {
		return fmt.Errorf("cut torn audit tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cut torn audit tail: %w", err)
	}
	l.st.TornTail = t
	l.log.Warn("audit log had a torn last line (crash during append); set aside",
		"offset", t.Offset, "length", t.Length, "saved_to", filepath.Base(aside))
	l.requeueFront(EventTornTail, map[string]string{
		"offset": strconv.FormatInt(t.Offset, 10), "length": strconv.Itoa(t.Length),
		"sha256": t.SHA256, "saved_to": filepath.Base(aside)})
	return nil
}

// requeueFront records an entry about the log itself. It goes through the
// normal queue; Open is called before the writer starts, so it lands first.
func (l *Log) requeueFront(event string, fields map[string]string) {
	select {
	case l.queue <- request{event: event, fields: fields, at: time.Now().UTC()}:
	default:
		l.dropped[event]++
		l.st.Dropped++
	}
}

func marshalLine(e *Entry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode audit entry: %w", err)
	}
	return append(b, '\n'), nil
}

func lastEntry(complete []byte) *Entry {
	lines, _ := splitLines(complete)
	for i := len(lines) - 1; i >= 0; i-- {
		if e, err := ParseLine(lines[i]); err == nil {
			return e
		}
	}
	return nil
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
