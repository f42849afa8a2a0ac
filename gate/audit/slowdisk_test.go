package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRecordNeverWaitsForTheDisk: while the writer is stuck in a sync,
// Record, Status and Head return at once; what does not fit in the buffer
// is dropped, counted, and recorded as an audit_gap entry once the disk
// answers again.
func TestRecordNeverWaitsForTheDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	stuck := make(chan struct{})
	release := make(chan struct{})
	syncs := 0
	l := Open(path, Options{Buffer: 16, Sync: func(f *os.File) error {
		syncs++
		if syncs == 1 { // only the first sync hangs
			close(stuck)
			<-release
		}
		return f.Sync()
	}})
	l.Record(EventGateStart, nil)
	<-stuck

	const n = 5000
	var slowest time.Duration
	for i := range n {
		start := time.Now()
		l.Record(EventAuth, map[string]string{"i": strconv.Itoa(i)})
		_ = l.Status()
		_ = l.Head()
		slowest = max(slowest, time.Since(start))
	}
	st := l.Status()
	t.Logf("%d Record+Status+Head calls during a stuck sync: slowest %s, dropped %d, pending %d", n, slowest, st.Dropped, st.Pending)
	if slowest > 100*time.Millisecond {
		t.Errorf("a call waited %s for the writer", slowest)
	}
	if st.Dropped != n-16 || st.Pending != 16 {
		t.Errorf("dropped %d pending %d, want %d and 16", st.Dropped, st.Pending, n-16)
	}
	close(release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	rep, err := VerifyFile(path, VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %+v", err, rep.Problem)
	}
	var gap *Entry
	written := 0
	for _, ln := range lines(t, path) {
		e, _ := ParseLine(bytes.TrimSpace(ln))
		switch e.Event {
		case EventGap:
			gap = e
		case EventAuth:
			written++
		}
	}
	if gap == nil || gap.Fields["dropped_total"] != strconv.Itoa(n-16) || gap.Fields["dropped_"+EventAuth] != strconv.Itoa(n-16) {
		t.Fatalf("gap entry %+v", gap)
	}
	if written != 16 {
		t.Fatalf("%d auth entries written, want 16", written)
	}
}

// TestAppendWaitsForTheDiskButStatusDoesNot: Append is the durable path and
// waits; meanwhile Status still answers at once.
func TestAppendWaitsForTheDiskButStatusDoesNot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := Open(path, Options{Sync: func(f *os.File) error {
		time.Sleep(300 * time.Millisecond)
		return f.Sync()
	}})
	done := make(chan Entry)
	go func() {
		e, _ := l.Append(context.Background(), EventAuth, nil)
		done <- e
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if st := l.Status(); st.Head.Seq != 0 {
		t.Fatalf("head advanced before the sync: %+v", st.Head)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("Status took %s during a sync", d)
	}
	e := <-done
	if h := l.Head(); h.Seq != 1 || h.Hash != e.Hash {
		t.Fatalf("head %v after the sync, entry %d", h, e.Seq)
	}
	l.Close(context.Background())
}
