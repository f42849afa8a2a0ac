package snapshot

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// State files hold small values the gate keeps across restarts in the cache
// directory (the last end-to-end pass). They are authenticated like slot
// files, so a value planted by someone without the key is never believed:
//
//	QNXSTAT1 KEYID MAC\n   the key id and the HMAC-SHA-256 (hex) of the magic, key id and data
//	data
//
// A state file is written to a temporary file, fsynced and renamed over the
// old one, so it is whole or absent, and a planted entry at its name is
// replaced, never written through.

const (
	stateMagic = "QNXSTAT1"
	// MaxStateSize bounds a state file.
	MaxStateSize = 64 << 10
)

// SaveState writes data as the state file name (a base name).
func (s *Store) SaveState(name string, data []byte) error {
	if len(data) > MaxStateSize-128 {
		return fmt.Errorf("save state %s: %d bytes, more than the limit", name, len(data))
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %s %s\n", stateMagic, s.key.ID(), hex.EncodeToString(s.stateMAC(data)))
	buf.Write(data)
	tmp, err := os.CreateTemp(s.dir, ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.dir, name))
	}
	if err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	return nil
}

func (s *Store) stateMAC(data []byte) []byte {
	m := s.key.mac()
	m.Write([]byte(stateMagic))
	m.Write(s.key.id[:])
	m.Write(data)
	return m.Sum(nil)
}

// LoadState reads the state file name. err is ErrNone when there is none,
// a *RejectError when it is refused (with the reasons slot files have; it
// is reported to OnReject too).
func (s *Store) LoadState(name string) ([]byte, error) {
	b, err := s.loadState(name)
	var re *RejectError
	if errors.As(err, &re) {
		s.report([]*RejectError{re})
	}
	return b, err
}

func (s *Store) loadState(name string) ([]byte, error) {
	reject := func(reason, detail string) error { return &RejectError{File: name, Reason: reason, Detail: detail} }
	f, fi, err := s.openForRead(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > MaxStateSize {
		return nil, reject(ReasonUnauthenticated, "larger than a state file can be")
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxStateSize))
	if err != nil {
		return nil, reject(ReasonUnreadable, pathless(err))
	}
	line, data, ok := bytes.Cut(b, []byte("\n"))
	fields := bytes.Fields(line)
	if !ok || len(fields) != 3 || string(fields[0]) != stateMagic {
		return nil, reject(ReasonUnauthenticated, "no QNXSTAT1 header line: not written by a gate with a cache key")
	}
	if id := string(fields[1]); id != s.key.ID() {
		return nil, reject(ReasonOtherKey, fmt.Sprintf("written under cache key %s, not this gate's %s", id, s.key.ID()))
	}
	mac, err := hex.DecodeString(string(fields[2]))
	if err != nil || !hmac.Equal(mac, s.stateMAC(data)) {
		return nil, reject(ReasonUnauthenticated, "HMAC does not verify under this gate's cache key: written without the key, or altered")
	}
	return data, nil
}
