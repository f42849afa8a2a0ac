//go:build !race

// The race detector makes a 200,000-entry log take minutes and measures its
// own memory, not the log's: this test runs without it (go test ./gate/audit/).

package audit

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// writeBigLog writes n entries straight to path (what the writer would
// write, without an fsync per batch) and returns its head.
func writeBigLog(t *testing.T, path string, n int) Head {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	head := Head{Hash: Genesis}
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	pad := strings.Repeat("x", 160)
	for i := range n {
		e := Entry{Seq: head.Seq + 1, ID: newID(), Time: at.Add(time.Duration(i) * time.Millisecond), Event: EventAuth,
			Fields: map[string]string{"outcome": "denied", "pad": pad}, Alg: AlgSHA256, Prev: head.Hash}
		e.Hash, _ = computeHash(&e, nil)
		line, _ := marshalLine(&e)
		w.Write(line)
		head = Head{Seq: e.Seq, Hash: e.Hash}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return head
}

// peakHeap runs fn and returns how far the heap grew above what was live
// before it, sampled every few milliseconds.
func peakHeap(fn func()) (growth uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // exits when fn returns
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// TestMemoryDoesNotGrowWithTheLog: opening and verifying a log of 200,000
// entries (about 60 MB) keeps the heap within a bound far below its size.
func TestMemoryDoesNotGrowWithTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 60 MB log")
	}
	const n = 200_000
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	head := writeBigLog(t, path, n)
	fi, _ := os.Stat(path)

	var rep *Report
	verifyGrowth := peakHeap(func() {
		var err error
		rep, err = VerifyFile(path, VerifyOptions{ExpectHead: &head})
		if err != nil {
			t.Error(err)
		}
	})
	if rep == nil || !rep.OK() || rep.Entries != n {
		t.Fatalf("verify: %+v", rep)
	}
	var st Status
	openGrowth := peakHeap(func() {
		l := Open(path, Options{})
		st = l.Status()
		l.Close(context.Background())
	})
	if st.Head != head || st.Damage != nil {
		t.Fatalf("open: head %v damage %+v", st.Head, st.Damage)
	}
	const bound = 24 << 20
	t.Logf("log of %d entries, %.1f MiB: heap grew at most %.1f MiB verifying, %.1f MiB opening (bound %d MiB)",
		n, float64(fi.Size())/(1<<20), float64(verifyGrowth)/(1<<20), float64(openGrowth)/(1<<20), bound>>20)
	if verifyGrowth > bound || openGrowth > bound {
		t.Fatalf("heap grew with the log: verify %d, open %d bytes for a %d-byte log", verifyGrowth, openGrowth, fi.Size())
	}
}
