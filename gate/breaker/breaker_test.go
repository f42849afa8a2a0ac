package breaker

import (
	"fmt"
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
		tk, ok := b.Allow()
		if !ok {
			t.Fatalf("refused before threshold at %d", i)
		}
		b.Failure(tk)
		if s := b.Snapshot().State; s != Closed {
			t.Fatalf("after %d failures state %v, want closed", i+1, s)
		}
	}
	b.Failure(mustAllow(t, b))
	if s := b.Snapshot(); s.State != Open || s.Failures != 3 {
		t.Fatalf("after 3 failures: %+v, want open with 3 failures", s)
	}
	if _, ok := b.Allow(); ok {
		t.Fatal("open breaker allowed a call before the cooldown")
	}
	c.t = c.t.Add(10 * time.Second)
	trial, ok := b.Allow()
	if !ok {
		t.Fatal("no trial after the cooldown")
	}
	if b.Snapshot().State != HalfOpen {
		t.Fatal("not half-open during the trial")
	}
	if _, ok := b.Allow(); ok {
		t.Fatal("a second caller got a trial while one is in flight")
	}
	b.Success(trial)
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
	b.Failure(mustAllow(t, b))
	c.t = c.t.Add(time.Second)
	b.Failure(mustAllow(t, b))
	s := b.Snapshot()
	if s.State != Open || !s.OpenedAt.Equal(c.t) {
		t.Fatalf("after failed trial %+v, want open since now", s)
	}
	if _, ok := b.Allow(); ok {
		t.Fatal("allowed right after a failed trial")
	}
}

func TestSuccessResetsCount(t *testing.T) {
	b := New(Options{Threshold: 3, Cooldown: time.Second})
	for range 2 {
		b.Failure(mustAllow(t, b))
	}
	b.Success(mustAllow(t, b))
	for range 2 {
		b.Failure(mustAllow(t, b))
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
	b.Failure(mustAllow(t, b))
	if !b.Reset() || b.Snapshot().State != Closed {
		t.Fatal("manual reset did not close the breaker")
	}
	if _, ok := b.Allow(); !ok {
		t.Fatal("manual reset did not close the breaker")
	}
}

// TestLateSuccessCannotCloseBeforeCooldown: a generation admitted while the
// breaker was closed succeeds only after overlapping generations opened it.
// Its success must not close the breaker, neither while open nor during the
// trial: the breaker stays open for its whole cooldown and only the trial
// closes it.
func TestLateSuccessCannotCloseBeforeCooldown(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var changes []State
	b := New(Options{Threshold: 2, Cooldown: 10 * time.Second, Now: c.now, OnChange: func(ch Change) { changes = append(changes, ch.To) }})
	slow := mustAllow(t, b) // e.g. the text generation, still running
	b.Failure(mustAllow(t, b))
	b.Failure(mustAllow(t, b)) // e.g. two OpenMetrics generations fail
	if s := b.Snapshot().State; s != Open {
		t.Fatalf("state %v after 2 failures, want open", s)
	}
	c.t = c.t.Add(time.Second)
	if b.Success(slow) {
		t.Error("a success admitted before the breaker opened was counted")
	}
	if s := b.Snapshot(); s.State != Open || !s.OpenedAt.Equal(time.Unix(0, 0)) {
		t.Fatalf("after the late success: %+v, want still open since t=0", s)
	}
	c.t = time.Unix(0, 0).Add(10*time.Second - time.Nanosecond)
	if _, ok := b.Allow(); ok {
		t.Fatal("allowed before the cooldown ended")
	}
	c.t = time.Unix(0, 0).Add(10 * time.Second)
	trial := mustAllow(t, b)
	if b.Success(slow) || b.Snapshot().State != HalfOpen {
		t.Fatalf("the stale ticket closed the half-open breaker: %+v", b.Snapshot())
	}
	if !b.Success(trial) || b.Snapshot().State != Closed {
		t.Fatalf("the trial's success did not close the breaker: %+v", b.Snapshot())
	}
	want := []State{Open, HalfOpen, Closed}
	if fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Fatalf("transitions %v, want %v", changes, want)
	}
}

// TestLateFailureCannotReopen: a generation admitted before the breaker
// opened fails only after the trial closed it again. With a threshold of
// one, counting it would open the breaker at once.
func TestLateFailureCannotReopen(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b := New(Options{Threshold: 1, Cooldown: time.Second, Now: c.now})
	slow := mustAllow(t, b)
	b.Failure(mustAllow(t, b))
	c.t = c.t.Add(time.Second)
	b.Success(mustAllow(t, b))
	if s := b.Snapshot().State; s != Closed {
		t.Fatalf("state %v after a good trial, want closed", s)
	}
	if b.Failure(slow) {
		t.Error("a failure admitted before the close was counted")
	}
	if s := b.Snapshot(); s.State != Closed || s.Failures != 0 {
		t.Fatalf("after the late failure: %+v, want closed with no failures", s)
	}
}

// TestOnlyTheTrialDecidesHalfOpen: in half-open a failure from the closed
// epoch does not re-open the breaker either; the trial's outcome does.
func TestOnlyTheTrialDecidesHalfOpen(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b := New(Options{Threshold: 1, Cooldown: time.Second, Now: c.now})
	slow := mustAllow(t, b)
	b.Failure(mustAllow(t, b))
	c.t = c.t.Add(time.Second)
	trial := mustAllow(t, b)
	if b.Failure(slow) || b.Snapshot().State != HalfOpen {
		t.Fatalf("a stale failure decided the trial: %+v", b.Snapshot())
	}
	if !b.Failure(trial) || b.Snapshot().State != Open {
		t.Fatalf("the failed trial did not re-open the breaker: %+v", b.Snapshot())
	}
	if b.Success(Ticket{}) || b.Snapshot().State != Open {
		t.Fatal("the zero Ticket counted")
	}
}

func TestResetVoidsEarlierTickets(t *testing.T) {
	b := New(Options{Threshold: 1, Cooldown: time.Hour})
	before := mustAllow(t, b)
	b.Reset()
	if b.Failure(before) || b.Snapshot().State != Closed {
		t.Fatal("a failure admitted before the reset opened the breaker")
	}
}

func mustAllow(t *testing.T, b *Breaker) Ticket {
	t.Helper()
	tk, ok := b.Allow()
	if !ok {
		t.Fatalf("breaker %+v refused", b.Snapshot())
	}
	return tk
}
