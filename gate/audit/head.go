package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/quannex/gameday/gate/internal/safefile"
)

// The head file anchors the log's head outside the log. A chain proves
// every entry up to its last one, but not that the last one is the last
// the gate wrote: cutting the tail (or restoring an older copy) leaves a
// chain that verifies. So after every durable batch the writer also
// replaces the head file (Options.HeadFile) with the new head, HMAC'd
// under the audit key:
//
//	{"seq":N,"hash":"…","time":"…","alg":"hmac-sha256","mac":"…"}
//
// On open the log must reach that head with that hash; if it does not,
// the missing tail is damage (DamageTruncated, or DamageEdited when the
// entry there differs), recorded by a checkpoint entry that carries the
// sequence on from the head file's, so numbers are never reused. `gate
// audit verify` reads the head file by itself. The head file guards the
// log best in a second location that whoever can write the log cannot
// write; the gate exports the head as quannex_audit_head_sequence too, so
// that Prometheus witnesses it from another host.

// DefaultHeadFile is the head file of the log at path when none is named.
func DefaultHeadFile(path string) string { return path + ".head" }

// ErrNoHeadFile is ReadHeadFile's error for a head file that does not exist.
var ErrNoHeadFile = errors.New("no audit head file")

// HeadFileError is a head file that exists but cannot be trusted: it does
// not parse, its MAC does not verify, or it needs a key.
type HeadFileError struct {
	Path   string
	Detail string
}

func (e *HeadFileError) Error() string {
	return fmt.Sprintf("audit head file %s: %s", e.Path, e.Detail)
}

// headRecord is the head file's content.
type headRecord struct {
	Seq  uint64    `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
	Alg  string    `json:"alg"`
	MAC  string    `json:"mac"`
}

// headMAC authenticates a head record under key (nil: plain SHA-256, which
// catches damage, not forgery, as the unkeyed chain does).
func headMAC(r headRecord, key []byte) string {
	msg := "quannex-gate audit head v1\n" + strconv.FormatUint(r.Seq, 10) + "\n" + r.Hash + "\n" + r.Time.UTC().Format(time.RFC3339Nano)
	if len(key) > 0 {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return hex.EncodeToString(m.Sum(nil))
	}
	sum := sha256.Sum256([]byte(msg))
	return hex.EncodeToString(sum[:])
}

// writeHeadFile replaces the head file at path with h: a temporary file
// beside it, synced with sync, renamed over it, and the directory synced.
func writeHeadFile(path string, h Head, key []byte, sync func(*os.File) error) error {
	r := headRecord{Seq: h.Seq, Hash: h.Hash, Time: time.Now().UTC(), Alg: AlgSHA256}
	if len(key) > 0 {
		r.Alg = AlgHMACSHA256
	}
	r.MAC = headMAC(r, key)
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("write audit head file: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("write audit head file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = sync(tmp)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write audit head file: %w", err)
	}
	syncDir(dir)
	return nil
}

// ReadHeadFile reads and checks the head file at path under key (the
// AUDIT_HMAC_KEY the log is chained with; nil for a plain SHA-256 log).
// It returns ErrNoHeadFile when there is none and a *HeadFileError when
// it cannot be trusted. It never follows a symlink or blocks on a pipe.
func ReadHeadFile(path string, key []byte) (Head, error) {
	// Of any owner: verify may run as another user than the gate, and the
	// MAC decides.
	return readHeadFile(path, key, safefile.OpenRegular)
}

// readHeadFile reads the head file with open: the writer opens only a file
// of its own user, so another user cannot make it believe a head.
func readHeadFile(path string, key []byte, open func(string) (*os.File, fs.FileInfo, error)) (Head, error) {
	bad := func(detail string) (Head, error) { return Head{}, &HeadFileError{Path: path, Detail: detail} }
	f, _, err := open(path)
	var ue *safefile.UnsafeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Head{}, ErrNoHeadFile
	case errors.As(err, &ue):
		return bad(ue.Detail + "; not read")
	case err != nil:
		return bad("unreadable: " + err.Error())
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return bad("unreadable: " + err.Error())
	}
	var r headRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Seq == 0 || len(r.Hash) != 2*sha256.Size {
		return bad("not a head record")
	}
	switch {
	case r.Alg == AlgHMACSHA256 && len(key) == 0:
		return bad("HMAC'd: set AUDIT_HMAC_KEY to check it")
	case r.Alg == AlgSHA256 && len(key) > 0:
		return bad("plain SHA-256 where the log is HMAC-chained: it may have been written without the key")
	case r.Alg != AlgSHA256 && r.Alg != AlgHMACSHA256:
		return bad("unknown alg " + strconv.Quote(r.Alg))
	}
	if !hmac.Equal([]byte(r.MAC), []byte(headMAC(r, key))) {
		return bad("MAC does not verify (forged, altered, or written under another AUDIT_HMAC_KEY)")
	}
	return Head{Seq: r.Seq, Hash: r.Hash}, nil
}
