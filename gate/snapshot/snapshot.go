// Package snapshot records live /metrics payloads in the cache directory and
// loads the newest one that still verifies.
//
// Each payload kind ("text", "openmetrics") has two slot files, a and b. A
// new payload overwrites the older slot in place (no file is created or
// renamed per payload: on a journaling file system that was most of the
// gate's cost per scrape), so the newer slot is always complete while the
// older one is rewritten. A slot file is a fixed header, the metadata, the
// body and zero padding to a multiple of 4 KiB (so that the file's size
// changes rarely):
//
//	"QNXSNAP2"            8 bytes
//	SHA-256               32 bytes, of every byte after it but the body
//	generation sequence   uint64, big-endian; the newer slot has the higher one
//	metadata length       uint32, big-endian
//	body length           uint32, big-endian
//	metadata              JSON: {"kind":"text","content_type":"…","generated_at":"…","size":1234,"sha256":"…"}
//	body                  the payload
//	padding               zeros
//
// The body is covered by the SHA-256 in the metadata, which the file's
// SHA-256 covers in turn: hashing the body twice per payload would be most
// of what recording costs. Load checks the file's SHA-256, then the body's
// size and SHA-256 against the metadata; a file that fails (a torn in-place write, a flipped bit,
// anything else) is reported (ErrCorrupt) and never returned. Files of the
// earlier format (QNXSNAP1: one JSON header line, then the body, written
// through a temporary file and a rename) still load.
//
// Fsync policy: payload files are not fsynced. Every load verifies the
// digest, so data lost in a power cut can only make a slot fail
// verification, never be served wrong, and the other slot remains. A
// snapshot is a fallback for the last few seconds of metrics, not a record
// that must survive power loss; fsyncing at scrape rate would cost more than
// it protects. The audit log, which must survive, is fsynced (package audit).
package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Kinds of payload the gate records.
const (
	KindText        = "text"
	KindOpenMetrics = "openmetrics"
)

var kinds = []string{KindText, KindOpenMetrics}

const (
	magic   = "QNXSNAP2"
	magicV1 = "QNXSNAP1 "
	// headerLen is the fixed part before the metadata: magic, file digest,
	// sequence, metadata length, body length.
	headerLen = len(magic) + sha256.Size + 8 + 4 + 4
	// padTo is the multiple slot files are padded to.
	padTo = 4 << 10
)

// MaxFileSize bounds what Load reads; a larger file is corrupt by definition.
const MaxFileSize = 64 << 20

// Errors callers branch on.
var (
	ErrNone    = errors.New("no snapshot recorded")
	ErrCorrupt = errors.New("snapshot corrupt")
)

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
	Seq  uint64 // generation sequence, 0 for the earlier file format
	Body []byte
}

// newer reports whether a was recorded after b.
func (a *Snapshot) newer(b *Snapshot) bool {
	if a.Seq != b.Seq {
		return a.Seq > b.Seq
	}
	return a.GeneratedAt.After(b.GeneratedAt)
}

// CorruptError names the file that failed verification and why.
type CorruptError struct {
	File   string // base name inside the cache directory
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("snapshot %s corrupt: %s", e.File, e.Reason)
}

// Unwrap lets errors.Is(err, ErrCorrupt) match.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// Store reads and writes snapshots in one directory.
type Store struct {
	dir   string
	slots map[string]*slots // per kind; the map is not modified after Open

	mu   sync.Mutex
	seq  uint64    // newest generation sequence written or found
	last time.Time // newest GeneratedAt recorded or found
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
// writable, and Writable reports it.
func Open(dir string) *Store {
	_ = os.MkdirAll(dir, 0o750) // failure surfaces in Record and Writable
	s := &Store{dir: dir, slots: map[string]*slots{}}
	for _, k := range kinds {
		var newest *Snapshot
		newestSlot := -1
		for i := range 2 {
			snap, err := s.readSlot(k, i)
			if err != nil {
				continue
			}
			if newest == nil || snap.newer(newest) {
				newest, newestSlot = snap, i
			}
		}
		// Write over the older, missing or corrupt slot, never the newest
		// verified one.
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

// LastRecorded returns the generation time of the newest snapshot recorded
// or found at start-up; zero if none.
func (s *Store) LastRecorded() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func slotName(kind string, i int) string {
	return fmt.Sprintf("metrics-%s.%c.snap", kind, 'a'+i)
}

// Record writes body as the newest snapshot of its kind and returns the
// body's SHA-256 (callers reuse it for Repr-Digest). It returns only once
// the slot file holds the whole payload, so a Load from then on can return
// it verified.
//
// Cost: one open, one write into an existing file and one close; creating
// and renaming a file per payload, as the earlier format did, cost about
// 0.4 ms on ext4 here (35 µs on tmpfs).
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
	return s.write(m, body)
}

func (s *Store) write(m Meta, body []byte) error {
	meta, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("record snapshot: %w", err)
	}
	sl := s.slots[m.Kind]
	sl.mu.Lock()
	defer sl.mu.Unlock()
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	sl.buf = encode(sl.buf[:0], seq, meta, body)

	name := filepath.Join(s.dir, slotName(m.Kind, sl.next))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("record snapshot: %w", err)
	}
	if _, err := f.WriteAt(sl.buf, 0); err != nil {
		f.Close()
		return fmt.Errorf("record snapshot: %w", err)
	}
	// A file longer than the new content (a payload that shrank past a
	// padding boundary) is cut to it: the digest covers the whole file.
	if st, err := f.Stat(); err != nil || st.Size() != int64(len(sl.buf)) {
		if err := f.Truncate(int64(len(sl.buf))); err != nil {
			f.Close()
			return fmt.Errorf("record snapshot: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("record snapshot: %w", err)
	}
	sl.next = (sl.next + 1) % 2

	s.mu.Lock()
	defer s.mu.Unlock()
	if m.GeneratedAt.After(s.last) {
		s.last = m.GeneratedAt
	}
	return nil
}

// encode appends one slot file's bytes to buf: header, metadata, body and
// zero padding, the file digest covering everything after it but the body.
func encode(buf []byte, seq uint64, meta, body []byte) []byte {
	n := headerLen + len(meta) + len(body)
	size := (n + padTo - 1) / padTo * padTo
	buf = slices.Grow(buf, size)[:size]
	copy(buf, magic)
	binary.BigEndian.PutUint64(buf[len(magic)+sha256.Size:], seq)
	binary.BigEndian.PutUint32(buf[len(magic)+sha256.Size+8:], uint32(len(meta)))
	binary.BigEndian.PutUint32(buf[len(magic)+sha256.Size+12:], uint32(len(body)))
	copy(buf[headerLen:], meta)
	copy(buf[headerLen+len(meta):], body)
	clear(buf[n:])
	sum := fileDigest(buf, len(meta), len(body))
	copy(buf[len(magic):], sum)
	return buf
}

// fileDigest hashes a slot file's bytes after the digest field, skipping
// the body.
func fileDigest(data []byte, metaLen, bodyLen int) []byte {
	h := sha256.New()
	h.Write(data[len(magic)+sha256.Size : headerLen+metaLen])
	h.Write(data[headerLen+metaLen+bodyLen:])
	return h.Sum(nil)
}

// Load returns the newest verified snapshot, preferring kind and falling
// back to the other kind. Every corrupt file met on the way is returned in
// corrupt (so the caller can log and audit it) whether or not a snapshot was
// found. err is ErrNone when nothing usable exists.
func (s *Store) Load(kind string) (snap *Snapshot, corrupt []*CorruptError, err error) {
	order := []string{kind}
	for _, k := range kinds {
		if k != kind {
			order = append(order, k)
		}
	}
	for _, k := range order {
		var best *Snapshot
		sl := s.slots[k]
		sl.mu.Lock()
		for i := range 2 {
			sn, err := s.readSlot(k, i)
			var ce *CorruptError
			switch {
			case errors.As(err, &ce):
				corrupt = append(corrupt, ce)
			case err != nil:
				// missing slot: nothing to report
			case best == nil || sn.newer(best):
				best = sn
			}
		}
		sl.mu.Unlock()
		if best != nil {
			return best, corrupt, nil
		}
	}
	return nil, corrupt, ErrNone
}

func (s *Store) readSlot(kind string, i int) (*Snapshot, error) {
	name := slotName(kind, i)
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNone
		}
		reason := "unreadable"
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason += ": " + pe.Err.Error() // without the path, which the caller knows
		}
		return nil, &CorruptError{File: name, Reason: reason}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &CorruptError{File: name, Reason: "stat failed"}
	}
	if st.Size() > MaxFileSize {
		return nil, &CorruptError{File: name, Reason: "file larger than the snapshot size limit"}
	}
	data := make([]byte, st.Size())
	if _, err := readFull(f, data); err != nil {
		return nil, &CorruptError{File: name, Reason: "short read"}
	}
	snap, reason := Decode(data)
	if reason != "" {
		return nil, &CorruptError{File: name, Reason: reason}
	}
	if snap.Kind != kind {
		return nil, &CorruptError{File: name, Reason: "kind in header does not match file name"}
	}
	return snap, nil
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Decode parses and verifies one snapshot file's bytes. It returns a
// non-empty reason when they are not a valid snapshot; it never panics,
// whatever the input (see FuzzDecode).
func Decode(data []byte) (*Snapshot, string) {
	if bytes.HasPrefix(data, []byte(magicV1)) {
		return decodeV1(data)
	}
	if !bytes.HasPrefix(data, []byte(magic)) {
		return nil, "missing QNXSNAP header"
	}
	if len(data) < headerLen {
		return nil, "shorter than the header"
	}
	seq := binary.BigEndian.Uint64(data[len(magic)+sha256.Size:])
	metaLen := uint64(binary.BigEndian.Uint32(data[len(magic)+sha256.Size+8:]))
	bodyLen := uint64(binary.BigEndian.Uint32(data[len(magic)+sha256.Size+12:]))
	if uint64(headerLen)+metaLen+bodyLen > uint64(len(data)) {
		return nil, "lengths in the header exceed the file"
	}
	if !bytes.Equal(fileDigest(data, int(metaLen), int(bodyLen)), data[len(magic):len(magic)+sha256.Size]) {
		return nil, "sha-256 of the file does not match the header (torn or damaged write)"
	}
	var m Meta
	if err := json.Unmarshal(data[headerLen:headerLen+int(metaLen)], &m); err != nil {
		return nil, "metadata is not valid JSON"
	}
	body := data[headerLen+int(metaLen) : headerLen+int(metaLen)+int(bodyLen)]
	snap, reason := verify(m, body)
	if snap != nil {
		snap.Seq = seq
	}
	return snap, reason
}

// decodeV1 reads the earlier format: one JSON header line, then the body.
func decodeV1(data []byte) (*Snapshot, string) {
	rest := data[len(magicV1):]
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 {
		return nil, "header line not terminated"
	}
	var m Meta
	if err := json.Unmarshal(rest[:nl], &m); err != nil {
		return nil, "header is not valid JSON"
	}
	return verify(m, rest[nl+1:])
}

// verify checks a body against its metadata.
func verify(m Meta, body []byte) (*Snapshot, string) {
	switch {
	case m.Kind != KindText && m.Kind != KindOpenMetrics:
		return nil, "unknown kind in header"
	case m.ContentType == "":
		return nil, "header has no content type"
	case m.GeneratedAt.IsZero():
		return nil, "header has no generation time"
	case m.Size != len(body):
		return nil, fmt.Sprintf("size mismatch: header says %d bytes, body has %d", m.Size, len(body))
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, "sha-256 of the body does not match the header"
	}
	return &Snapshot{Meta: m, Body: body}, ""
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
