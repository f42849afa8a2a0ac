package snapshot

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"
)

// RecordSum with the body's SHA-256 loads back verified; with a wrong one
// the slot is reported corrupt and never returned.
func TestRecordSum(t *testing.T) {
	s := openKeyed(t, t.TempDir())
	m := Meta{Kind: KindText, ContentType: "text/plain; version=0.0.4", GeneratedAt: time.Now().UTC()}
	good := []byte("a 1\n")
	if err := s.RecordSum(m, good, sha256.Sum256(good)); err != nil {
		t.Fatal(err)
	}
	snap, rejected, err := s.Load(KindText)
	if err != nil || len(rejected) != 0 || string(snap.Body) != string(good) {
		t.Fatalf("Load: %v %v %+v", err, rejected, snap)
	}
	m.GeneratedAt = m.GeneratedAt.Add(time.Second)
	if err := s.RecordSum(m, []byte("a 2\n"), sha256.Sum256(good)); err != nil {
		t.Fatal(err)
	}
	snap, rejected, err = s.Load(KindText)
	if err != nil || len(rejected) != 1 || !errors.Is(rejected[0], ErrRejected) || rejected[0].Reason != ReasonCorrupt || string(snap.Body) != string(good) {
		t.Fatalf("after a wrong sum: %v %v %+v; want the slot reported and the good one returned", err, rejected, snap)
	}
}
