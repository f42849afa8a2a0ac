package breaker

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestOpensAfterExactlyThreshold(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var changes []Change
	b := New(Options{Threshold: 3, Cooldown: 10 * time.Second, Now: c.now, OnChange: func(ch Change) { changes = append(changes, ch) }})
	for i := range 2 {
		if !b.Allow() {
			t.Fatalf("refused before threshold at %d", i)
		}
		b.Failure()
		if s := b.Snapshot().State; s != Closed {
			t.Fatalf("after %d failures state %v, want closed", i+1, s)
		}
	}
	b.Allow()
	b.Failure()
	if s := b.Snapshot(); s.State != Open || s.Failures != 3 {
		t.Fatalf("after 3 failures: %+v, want open with 3 failures", s)
	}
	if b.Allow() {
		t.Fatal("open breaker allowed a call before the cooldown")
	}
	c.t = c.t.Add(10 * time.Second)
	if !b.Allow() {
		t.Fatal("no trial after the cooldown")
	}
	if b.Snapshot().State != HalfOpen {
		t.Fatal("not half-open during the trial")
	}
	if b.Allow() {
		t.Fatal("a second caller got a trial while one is in flight")
	}
	b.Success()
	if s := b.Snapshot(); s.State != Closed || s.Failures != 0 {
		t.Fatalf("after a good trial: %+v", s)
	}
	want := []State{Open, HalfOpen, Closed}
	if len(changes) != len(want) {
		t.Fatalf("changes %+v", changes)
	}
	for i, ch := range changes {
		if ch.To != want[i] {
			t.Errorf("change %d to %v, want %v", i, ch.To, want[i])
		}
	}
}

func TestFailedTrialReopens(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b := New(Options{Threshold: 1, Cooldown: time.Second, Now: c.now})
	b.Allow()
	b.Failure()
	c.t = c.t.Add(time.Second)
	b.Allow()
	b.Failure()
	s := b.Snapshot()
	if s.State != Open || !s.OpenedAt.Equal(c.t) {
		t.Fatalf("after failed trial %+v, want open since now", s)
	}
	if b.Allow() {
		t.Fatal("allowed right after a failed trial")
	}
}

func TestSuccessResetsCount(t *testing.T) {
	b := New(Options{Threshold: 3, Cooldown: time.Second})
	for range 2 {
		b.Failure()
	}
	b.Success()
	for range 2 {
		b.Failure()
	}
	if b.Snapshot().State != Closed {
		t.Fatal("non-consecutive failures opened the breaker")
	}
}

func TestReset(t *testing.T) {
	b := New(Options{Threshold: 1, Cooldown: time.Hour})
	if b.Reset() {
		t.Error("reset of a closed breaker reported a change")
	}
	b.Failure()
	if !b.Reset() || b.Snapshot().State != Closed || !b.Allow() {
		t.Fatal("manual reset did not close the breaker")
	}
}
