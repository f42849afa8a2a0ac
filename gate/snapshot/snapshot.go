// Package snapshot records live /metrics payloads in the cache directory and
// loads the newest one that is authentic and verifies. It also keeps small
// authenticated state files there (SaveState, LoadState).
//
// Each payload kind ("text", "openmetrics") has two slot files, a and b. A
// new payload overwrites the older slot in place (no file is created or
// renamed per payload: on a journaling file system that was most of the
// gate's cost per scrape), so the newer slot is always complete while the
// older one is rewritten. A slot file is a fixed header, the metadata, the
// body and zero padding to a multiple of 4 KiB (so that the file's size
// changes rarely):
//
//	"QNXSNAP3"            8 bytes
//	HMAC-SHA-256          32 bytes, under the cache key (Key), of the magic
//	                      and every byte after this field up to the body
//	key id                8 bytes: which key wrote the file (Key.ID)
//	generation sequence   uint64, big-endian; the newer slot has the higher one
//	metadata length       uint32, big-endian
//	body length           uint32, big-endian
//	metadata              JSON: {"kind":"text","content_type":"…","generated_at":"…","size":1234,"sha256":"…"}
//	body                  the payload
//	padding               zeros
//
// Authenticity: the cache directory may be writable by more people than the
// gate (a shared volume, a restored backup), and a plain digest is something
// anyone recomputes. The HMAC covers the metadata, which holds the body's
// SHA-256, so it covers the body without hashing it a second time: the gate
// computes that SHA-256 once per payload anyway, for LIVESHA and
// Repr-Digest (RecordSum). The HMAC'd prefix is a few hundred bytes at the
// start of the file, inside its first disk sector and page, so a write torn
// by a crash (which tears at page or sector boundaries) leaves an
// authentic header over a body that does not match: that is reported as
// corrupt, and a file the key did not write as unauthenticated.
//
// Load checks, in order: the file is a regular file of the gate's own
// (package safefile: no symlink is followed, no FIFO blocks, no file of another
// user or with a second name is read or written); the format is this one
// (files of the earlier unkeyed formats QNXSNAP1 and QNXSNAP2 are never
// loaded: anyone could have written them); the key id is the gate's; the
// HMAC verifies; the file's size, the zero padding, the body's size and
// SHA-256 match the metadata; the generation time is not in the future
// beyond MaxClockSkew. A file that fails is reported (a *RejectError with a
// Reason) and never returned; only the header is read before the HMAC
// verifies, so a large planted file costs one small read.
//
// Writing never follows a planted entry either: a slot path that holds
// anything but a regular file of the gate's own is renamed aside
// (NAME.unsafe-UNIXNANO, kept as evidence), reported, and a new slot file
// created in its place.
//
// Fsync policy: payload files are not fsynced. Every load verifies them, so
// data lost in a power cut can only make a slot fail verification, never be
// served wrong, and the other slot remains. A snapshot is a fallback for the
// last few seconds of metrics, not a record that must survive power loss;
// fsyncing at scrape rate would cost more than it protects. The audit log,
// which must survive, is fsynced (package audit); state files, written
// rarely, are fsynced too.
package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/quannex/gameday/gate/internal/safefile"
)

// Kinds of payload the gate records.
const (
	KindText        = "text"
	KindOpenMetrics = "openmetrics"
)

var kinds = []string{KindText, KindOpenMetrics}

// MaxFileSize bounds a slot file; a larger one is never read whole, and a
// payload that would make one is not recorded.
const MaxFileSize = 64 << 20

// MaxClockSkew is how far in the future a snapshot's generation time may
// be and still load (clocks of the same host step by less). A later one is
// refused (ReasonFuture): it would be served with a negative Age and rank
// above every snapshot recorded since.
const MaxClockSkew = 30 * time.Second

// Errors callers branch on.
var (
	ErrNone     = errors.New("no snapshot recorded")
	ErrRejected = errors.New("snapshot file rejected")
)

// Reasons a file is rejected: the values of RejectError.Reason and of the
// gate's quannex_snapshot_rejected_total{reason}.
const (
	// ReasonUnauthenticated: the gate's key did not write the file: its
	// HMAC does not verify, it is in an earlier unkeyed format, or it is
	// not a slot file at all. Someone else wrote it, or altered it.
	ReasonUnauthenticated = "unauthenticated"
	// ReasonCorrupt: the header is authentic but the rest does not match
	// it: a write torn by a crash, or damage on disk.
	ReasonCorrupt = "corrupt"
	// ReasonOtherKey: written under another cache key (an earlier process
	// without a configured key, or before the key changed). Not loaded,
	// and not a sign of tampering by itself.
	ReasonOtherKey = "other_key"
	// ReasonFuture: authentic, but generated further in the future than
	// MaxClockSkew (the clock stepped back since).
	ReasonFuture = "future"
	// ReasonUnsafeFile: not a regular file of the gate's own: a symlink,
	// a FIFO, a directory, a device, another user's file, a hard link.
	ReasonUnsafeFile = "unsafe_file"
	// ReasonUnreadable: the gate's own file, but it cannot be read.
	ReasonUnreadable = "unreadable"
)

// Reasons lists every Reason, for metrics that start each at zero.
var Reasons = []string{ReasonUnauthenticated, ReasonCorrupt, ReasonOtherKey, ReasonFuture, ReasonUnsafeFile, ReasonUnreadable}

// Meta describes a recorded payload.
type Meta struct {
	Kind        string    `json:"kind"`
	ContentType string    `json:"content_type"`
	GeneratedAt time.Time `json:"generated_at"`
	Size        int       `json:"size"`
	SHA256      string    `json:"sha256"`
}

// Snapshot is a verified payload.
type Snapshot struct {
	Meta
	Seq  uint64 // generation sequence
	Body []byte
}

// newer reports whether a was recorded after b.
func (a *Snapshot) newer(b *Snapshot) bool {
	if a.Seq != b.Seq {
		return a.Seq > b.Seq
	}
	return a.GeneratedAt.After(b.GeneratedAt)
}

// RejectError names a file of the cache directory that was refused and why.
// It never holds file contents.
type RejectError struct {
	File   string // base name inside the cache directory
	Reason string // one of the Reason* constants
	Detail string // what exactly, for logs and selftest
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("snapshot %s rejected (%s): %s", e.File, e.Reason, e.Detail)
}

// Unwrap lets errors.Is(err, ErrRejected) match.
func (e *RejectError) Unwrap() error { return ErrRejected }

// Options configure a Store.
type Options struct {
	// Key authenticates the files; the zero Key: EphemeralKey.
	Key Key
	// OnReject, if set, is called once for every file refused (by Open,
	// Load or LoadState: again only when the file is rewritten, or
	// refused for another reason) and for every unsafe entry a write sets
	// aside. It may be called with a slot's lock held: it must not call
	// the Store.
	OnReject func(*RejectError)
}

// Store reads and writes snapshots in one directory.
type Store struct {
	dir      string
	key      Key
	onReject func(*RejectError)
	slots    map[string]*slots // per kind; the map is not modified after Open

	mu       sync.Mutex
	seq      uint64                  // newest generation sequence written or found
	last     time.Time               // newest GeneratedAt recorded or found
	rejected map[string]*RejectError // slot file -> why its last read or write refused it
}

// slots is the write state of one kind. Its mutex is held across a whole
// in-place write and across reading the kind's files in Load, so a load in
// this process never sees a write half done (it would report the slot
// corrupt) and two late generations never write the same slot at once.
type slots struct {
	mu   sync.Mutex
	next int    // slot index to write next
	buf  []byte // reused encoding buffer
}

// Open returns a store over dir, creating the directory if it can. A
// directory that cannot be created or written is not an error here: the
// gate must start and serve what it can; Record will fail until it is
// writable, and Writable reports it. Open reads the slot files (their
// headers first, never blocking on what it finds) and reports each it
// refuses to o.OnReject.
func Open(dir string, o Options) *Store {
	_ = os.MkdirAll(dir, 0o750) // failure surfaces in Record and Writable
	if !o.Key.valid() {
		o.Key = EphemeralKey()
	}
	s := &Store{dir: dir, key: o.Key, onReject: o.OnReject, slots: map[string]*slots{}, rejected: map[string]*RejectError{}}
	now := time.Now()
	for _, k := range kinds {
		var newest *Snapshot
		newestSlot := -1
		for i := range 2 {
			snap, err := s.readSlot(k, i, now)
			if err != nil {
				continue
			}
			if newest == nil || snap.newer(newest) {
				newest, newestSlot = snap, i
			}
		}
		// Write over the older, missing or rejected slot, never the
		// newest verified one.
		s.slots[k] = &slots{next: (newestSlot + 1) % 2}
		if newest != nil {
			s.seq = max(s.seq, newest.Seq)
			if newest.GeneratedAt.After(s.last) {
				s.last = newest.GeneratedAt
			}
		}
	}
	return s
}

// Dir returns the cache directory.
func (s *Store) Dir() string { return s.dir }

// Key returns the store's key.
func (s *Store) Key() Key { return s.key }

// LastRecorded returns the generation time of the newest snapshot recorded
// or found at start-up; zero if none.
func (s *Store) LastRecorded() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Rejected lists the slot files refused at their last read (Open or Load)
// and not written successfully since, sorted by file name. It reads no
// file.
func (s *Store) Rejected() []*RejectError {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*RejectError, 0, len(s.rejected))
	for _, r := range s.rejected {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

func (s *Store) report(rs []*RejectError) {
	if s.onReject == nil {
		return
	}
	for _, r := range rs {
		s.onReject(r)
	}
}

func slotName(kind string, i int) string {
	return fmt.Sprintf("metrics-%s.%c.snap", kind, 'a'+i)
}

// Record writes body as the newest snapshot of its kind and returns the
// body's SHA-256 (callers reuse it for Repr-Digest). It returns only once
// the slot file holds the whole payload, so a Load from then on can return
// it verified.
//
// Cost: one open, one write into an existing file and one close, and an
// HMAC of a few hundred bytes; creating and renaming a file per payload, as
// an earlier format did, cost about 0.4 ms on ext4 here (35 µs on tmpfs).
func (s *Store) Record(m Meta, body []byte) ([sha256.Size]byte, error) {
	sum := sha256.Sum256(body)
	return sum, s.RecordSum(m, body, sum)
}

// RecordSum is Record for a caller that has the body's SHA-256 already
// (integrity.AppendLiveSHASum computes it with the LIVESHA line): sum must
// be sha256.Sum256(body). A wrong sum records a slot that fails
// verification, which Load reports and never returns.
func (s *Store) RecordSum(m Meta, body []byte, sum [sha256.Size]byte) error {
	if m.Kind != KindText && m.Kind != KindOpenMetrics {
		return fmt.Errorf("record snapshot: unknown kind %q", m.Kind)
	}
	m.Size, m.SHA256 = len(body), hex.EncodeToString(sum[:])
	meta, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("record snapshot: %w", err)
	}
	if fileSize(len(meta), len(body)) > MaxFileSize {
		return fmt.Errorf("record snapshot: a payload of %d bytes exceeds the %d-byte slot file limit", len(body), MaxFileSize)
	}
	sl := s.slots[m.Kind]
	sl.mu.Lock()
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	sl.buf = encode(sl.buf[:0], s.key, seq, meta, body)
	name := slotName(m.Kind, sl.next)
	setAside, err := s.writeSlot(name, sl.buf)
	if err == nil {
		sl.next = (sl.next + 1) % 2
	}
	sl.mu.Unlock()
	if setAside != nil {
		s.report([]*RejectError{setAside})
	}
	if err != nil {
		return fmt.Errorf("record snapshot: %w", err)
	}
	s.noteSlot(name, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.GeneratedAt.After(s.last) {
		s.last = m.GeneratedAt
	}
	return nil
}

// writeSlot overwrites the slot file name with data. An unsafe entry at
// name is renamed aside first and returned as a RejectError; a file the
// gate cannot write (EACCES, EROFS) is an error as it is.
func (s *Store) writeSlot(name string, data []byte) (setAside *RejectError, err error) {
	path := filepath.Join(s.dir, name)
	f, _, err := safefile.Open(path, os.O_WRONLY|os.O_CREATE, 0o640)
	var ue *safefile.UnsafeError
	if errors.As(err, &ue) {
		aside := name + ".unsafe-" + strconv.FormatInt(time.Now().UnixNano(), 10)
		if rerr := os.Rename(path, filepath.Join(s.dir, aside)); rerr != nil {
			return &RejectError{File: name, Reason: ReasonUnsafeFile, Detail: ue.Detail + "; not written through, and it could not be set aside: " + pathless(rerr)}, err
		}
		setAside = &RejectError{File: name, Reason: ReasonUnsafeFile, Detail: ue.Detail + "; not written through: set aside as " + aside}
		f, _, err = safefile.Open(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	}
	if err != nil {
		return setAside, err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return setAside, err
	}
	// A file longer than the new content (a payload that shrank past a
	// padding boundary) is cut to it: Load checks the file's size.
	if st, err := f.Stat(); err != nil || st.Size() != int64(len(data)) {
		if err := f.Truncate(int64(len(data))); err != nil {
			f.Close()
			return setAside, err
		}
	}
	return setAside, f.Close()
}

// Load returns the newest verified snapshot, preferring kind and falling
// back to the other kind. Every file refused on the way is returned in
// rejected (so the caller can log and audit it) whether or not a snapshot
// was found. err is ErrNone when nothing usable exists.
func (s *Store) Load(kind string) (snap *Snapshot, rejected []*RejectError, err error) {
	order := []string{kind}
	for _, k := range kinds {
		if k != kind {
			order = append(order, k)
		}
	}
	now := time.Now()
	for _, k := range order {
		var best *Snapshot
		sl := s.slots[k]
		sl.mu.Lock()
		for i := range 2 {
			sn, err := s.readSlot(k, i, now)
			var re *RejectError
			switch {
			case errors.As(err, &re):
				rejected = append(rejected, re)
			case err != nil:
				// missing slot: nothing to report
			case best == nil || sn.newer(best):
				best = sn
			}
		}
		sl.mu.Unlock()
		if best != nil {
			return best, rejected, nil
		}
	}
	return nil, rejected, ErrNone
}

// readSlot reads and verifies slot i of kind, and notes the outcome for
// Rejected. err is ErrNone for a missing (or empty: created, never
// written) slot, else a *RejectError. A file newly refused, or refused
// for another reason than at its last read, is reported to OnReject: a
// file that stays as it is is reported once, however often it is read.
func (s *Store) readSlot(kind string, i int, now time.Time) (*Snapshot, error) {
	name := slotName(kind, i)
	snap, err := s.readSlotFile(name, now)
	if err == nil && snap.Kind != kind {
		snap, err = nil, &RejectError{File: name, Reason: ReasonCorrupt, Detail: "kind in the header does not match the file name"}
	}
	var re *RejectError
	errors.As(err, &re)
	if s.noteSlot(name, re) {
		s.report([]*RejectError{re})
	}
	return snap, err
}

// noteSlot records re (nil: the file is fine, or missing) as the state of
// the slot file name, and reports whether it is news.
func (s *Store) noteSlot(name string, re *RejectError) (news bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.rejected[name]
	if re == nil {
		delete(s.rejected, name)
		return false
	}
	s.rejected[name] = re
	return prev == nil || prev.Reason != re.Reason
}

// openForRead opens the cache file name for reading through package
// safefile. err is ErrNone when there is no such file, a *RejectError when
// what is there is not a file of the gate's own, or cannot be opened.
func (s *Store) openForRead(name string) (*os.File, fs.FileInfo, error) {
	f, fi, err := safefile.Open(filepath.Join(s.dir, name), os.O_RDONLY, 0)
	var ue *safefile.UnsafeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, ErrNone
	case errors.As(err, &ue):
		return nil, nil, &RejectError{File: name, Reason: ReasonUnsafeFile, Detail: ue.Detail + "; not read"}
	case err != nil:
		return nil, nil, &RejectError{File: name, Reason: ReasonUnreadable, Detail: pathless(err)}
	}
	return f, fi, nil
}

func (s *Store) readSlotFile(name string, now time.Time) (*Snapshot, error) {
	reject := func(reason, detail string) error { return &RejectError{File: name, Reason: reason, Detail: detail} }
	f, fi, err := s.openForRead(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() == 0 {
		return nil, ErrNone
	}
	prefix := make([]byte, min(fi.Size(), int64(headerLen+maxMetaLen)))
	if _, err := f.ReadAt(prefix, 0); err != nil {
		return nil, reject(ReasonUnreadable, "short read: "+pathless(err))
	}
	h, rej := decodeHeader(prefix, s.key)
	if rej != nil {
		return nil, reject(rej.Reason, rej.Detail)
	}
	if want := int64(fileSize(h.metaLen, h.bodyLen)); fi.Size() != want {
		return nil, reject(ReasonCorrupt, fmt.Sprintf("file is %d bytes, its header says %d (torn or damaged write)", fi.Size(), want))
	}
	rest := make([]byte, fi.Size()-int64(headerLen+h.metaLen))
	if _, err := f.ReadAt(rest, int64(headerLen+h.metaLen)); err != nil {
		return nil, reject(ReasonUnreadable, "short read: "+pathless(err))
	}
	snap, rej := h.verifyBody(rest, now)
	if rej != nil {
		return nil, reject(rej.Reason, rej.Detail)
	}
	return snap, nil
}

// pathless renders err without the path a *fs.PathError repeats: callers
// name the file themselves, by its base name.
func pathless(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Op + ": " + le.Err.Error()
	}
	return err.Error()
}

// Writable reports whether a file can be created in the cache directory
// right now, by creating and removing one.
func (s *Store) Writable() error {
	f, err := os.CreateTemp(s.dir, ".probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
