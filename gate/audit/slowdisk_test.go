package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
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
	var releaseOnce sync.Once
	unstick := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unstick) // a failed test must not leave the writer hanging
	l.Record(EventGateStart, nil)
	<-stuck

	// The sync stays stuck until the test closes release, so a call that
	// waited for the writer would never return: the loop runs in a
	// goroutine, and the 10 s deadline only decides when to give up on it
	// (no time bound on a single call, which a scheduling pause under
	// -race could break).
	const n = 5000
	var slowest time.Duration
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for i := range n {
			start := time.Now()
			l.Record(EventAuth, map[string]string{"i": strconv.Itoa(i)})
			_ = l.Status()
			_ = l.Head()
			slowest = max(slowest, time.Since(start))
		}
	}()
	select {
	case <-loopDone:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d Record+Status+Head calls did not return within 10s while a sync was stuck: a call waits for the writer", n)
	}
	st := l.Status()
	t.Logf("%d Record+Status+Head calls during a stuck sync: slowest %s, dropped %d, pending %d", n, slowest, st.Dropped, st.Pending)
	if st.Dropped != n-16 || st.Pending != 16 {
		t.Errorf("dropped %d pending %d, want %d and 16", st.Dropped, st.Pending, n-16)
	}
	unstick()
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
// waits; meanwhile Status still answers at once. The sync blocks until the
// test releases it, so "Status did not wait" and "Append did wait" are
// judged by what has happened while the writer is provably stuck, not by
// how long anything took.
func TestAppendWaitsForTheDiskButStatusDoesNot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	syncing := make(chan struct{})
	release := make(chan struct{})
	var syncingOnce, releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	l := Open(path, Options{Sync: func(f *os.File) error {
		syncingOnce.Do(func() { close(syncing) })
		<-release
		return f.Sync()
	}})
	t.Cleanup(func() { // a failed test must not leave the writer hanging
		unblock()
		l.Close(context.Background())
	})
	type appended struct {
		e   Entry
		err error
	}
	done := make(chan appended, 1)
	go func() {
		e, err := l.Append(context.Background(), EventAuth, nil)
		done <- appended{e, err}
	}()
	select {
	case <-syncing:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer never reached the sync")
	}

	// The writer is now stuck in the sync until unblock. A Status that
	// waited for it would never return; 10 s is only how long the test
	// waits before saying so.
	status := make(chan Status, 1)
	go func() { status <- l.Status() }()
	select {
	case st := <-status:
		if st.Head.Seq != 0 {
			t.Fatalf("head advanced before the sync: %+v", st.Head)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Status did not return while the writer was stuck in a sync")
	}
	// Append must still be waiting: the sync has not returned. (The short
	// look only gives a wrong early return time to show up; a correct
	// Append cannot return here however slow the machine is.)
	select {
	case r := <-done:
		t.Fatalf("Append returned before its sync finished: %+v %v", r.e, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	if h := l.Head(); h.Seq != 0 {
		t.Fatalf("head advanced before the sync: %+v", h)
	}

	unblock()
	var r appended
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Append did not return within 10s after the sync finished")
	}
	if r.err != nil {
		t.Fatalf("Append: %v", r.err)
	}
	if h := l.Head(); h.Seq != 1 || h.Hash != r.e.Hash {
		t.Fatalf("head %v after the sync, entry %d", h, r.e.Seq)
	}
}
