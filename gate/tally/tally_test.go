package tally

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestFloodIsBounded: ten thousand events from five thousand sources make
// Burst individual reports and one summary that counts every other event,
// holds at most MaxSources sources, and names the busiest first.
func TestFloodIsBounded(t *testing.T) {
	var got []Summary
	tl := New(Options{Interval: time.Hour, Burst: 2, MaxSources: 100, Top: 3, Summarize: func(s Summary) { got = append(got, s) }})
	individually := 0
	for i := range 10000 {
		src := fmt.Sprintf("198.51.100.%d/%d", i%5000, i%5000)
		if i%10 == 0 {
			src = "192.0.2.1" // the busiest source
		}
		kind := "unknown_token"
		if i%4 == 0 {
			kind = "missing"
		}
		if tl.Add(kind, src) {
			individually++
		}
	}
	tl.Close()
	if individually != 2 {
		t.Fatalf("%d events reported one by one, want Burst = 2", individually)
	}
	if len(got) != 1 {
		t.Fatalf("%d summaries, want 1", len(got))
	}
	s := got[0]
	if s.Total != 9998 || s.ByKind["missing"]+s.ByKind["unknown_token"] != 9998 || s.ByKind["missing"] != 2499 {
		t.Fatalf("counts: total %d by kind %v", s.Total, s.ByKind)
	}
	if s.Sources != 100 || !s.SourcesCapped {
		t.Fatalf("sources %d capped %v, want 100 and capped", s.Sources, s.SourcesCapped)
	}
	if len(s.Top) != 3 || s.Top[0].Source != "192.0.2.1" || s.Top[0].Count < 900 {
		t.Fatalf("top %v", s.Top)
	}
	if s.End.Before(s.Start) {
		t.Fatalf("interval %v to %v", s.Start, s.End)
	}
}

// TestIntervalEndsByItself: with no more events, the open interval's
// summary is reported when the interval ends, and a new interval starts
// with individual reports again.
func TestIntervalEndsByItself(t *testing.T) {
	var mu sync.Mutex
	var got []Summary
	tl := New(Options{Interval: 20 * time.Millisecond, Summarize: func(s Summary) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s)
	}})
	defer tl.Close()
	if !tl.Add("k", "a") || tl.Add("k", "a") || tl.Add("k", "b") {
		t.Fatal("Burst 1: only the first event is reported by itself")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interval's summary never came")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got[0].Total != 2 || got[0].Sources != 2 {
		t.Fatalf("summary %+v", got[0])
	}
	if !tl.Add("k", "c") {
		t.Fatal("the next interval's first event was not reported by itself")
	}
}

// TestKindsAreBounded: kinds past MaxKinds are counted as OtherKind.
func TestKindsAreBounded(t *testing.T) {
	var got Summary
	tl := New(Options{Interval: time.Hour, MaxKinds: 3, Summarize: func(s Summary) { got = s }})
	for i := range 100 {
		tl.Add(fmt.Sprint("kind-", i), "a")
	}
	tl.Close()
	if len(got.ByKind) != 4 || got.ByKind[OtherKind] != 96 || got.Total != 99 {
		t.Fatalf("by kind %v total %d", got.ByKind, got.Total)
	}
}

// TestNothingBeyondTheBurst: an interval with only individual reports
// makes no summary.
func TestNothingBeyondTheBurst(t *testing.T) {
	called := false
	tl := New(Options{Interval: time.Hour, Summarize: func(Summary) { called = true }})
	tl.Add("k", "a")
	tl.Close()
	if called {
		t.Fatal("a summary of nothing")
	}
}
