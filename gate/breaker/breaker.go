// Package breaker is the gate's circuit breaker around live generation.
//
// Closed: every request tries live; Threshold consecutive failures open it.
// Open: nobody tries live until Cooldown has passed; then one caller gets a
// trial (half-open) while everyone else keeps getting the fallback. A
// successful trial closes the breaker, a failed one opens it again for
// another cooldown. Reset closes it by hand.
//
// The breaker only counts; what a failure is and what the fallback serves is
// decided by the caller (package gate).
package breaker

import (
	"sync"
	"time"
)

// State is the breaker position.
type State int

// The three positions.
const (
	Closed State = iota
	HalfOpen
	Open
)

// States lists every state, in the order of their numeric value.
var States = []State{Closed, HalfOpen, Open}

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half_open"
	case Open:
		return "open"
	}
	return "unknown"
}

// Change describes one transition, passed to the OnChange hook.
type Change struct {
	From, To State
	Reason   string
	Failures int
	At       time.Time
}

// Options configure a Breaker.
type Options struct {
	Threshold int           // consecutive failures that open the breaker
	Cooldown  time.Duration // time open before a trial
	// OnChange, if set, is called after every transition, outside the
	// breaker's lock, in transition order for any one caller.
	OnChange func(Change)
	Now      func() time.Time // defaults to time.Now
}

// Breaker is safe for concurrent use.
type Breaker struct {
	opts Options

	mu       sync.Mutex
	state    State
	failures int
	openedAt time.Time
	trial    bool // a half-open trial is in flight
}

// New returns a closed breaker.
func New(opts Options) *Breaker {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Threshold <= 0 {
		opts.Threshold = 3
	}
	return &Breaker{opts: opts}
}

// Snapshot is a consistent read of the breaker.
type Snapshot struct {
	State    State
	Failures int
	OpenedAt time.Time // zero unless open or half-open
}

// Snapshot returns the current state.
func (b *Breaker) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Snapshot{State: b.state, Failures: b.failures, OpenedAt: b.openedAt}
}

// Allow reports whether the caller may try live generation now. When it
// returns true the caller must report the outcome with Success or Failure.
func (b *Breaker) Allow() bool {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return true
	case Open:
		if b.opts.Now().Sub(b.openedAt) < b.opts.Cooldown {
			return false
		}
		ch = b.move(HalfOpen, "cooldown elapsed")
		b.trial = true
		return true
	default: // HalfOpen
		if b.trial {
			return false
		}
		b.trial = true
		return true
	}
}

// Success records a successful live generation.
func (b *Breaker) Success() {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures = 0
	if b.state != Closed {
		b.trial = false
		ch = b.move(Closed, "trial succeeded")
	}
}

// Failure records a failed live generation.
func (b *Breaker) Failure() {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	switch b.state {
	case Closed:
		if b.failures >= b.opts.Threshold {
			b.openedAt = b.opts.Now()
			ch = b.move(Open, "consecutive failures reached threshold")
		}
	case HalfOpen:
		b.trial = false
		b.openedAt = b.opts.Now()
		ch = b.move(Open, "trial failed")
	}
}

// Reset closes the breaker by hand and reports whether it was not closed.
func (b *Breaker) Reset() bool {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.trial = 0, false
	if b.state == Closed {
		return false
	}
	ch = b.move(Closed, "manual reset")
	return true
}

// move must be called with mu held.
func (b *Breaker) move(to State, reason string) *Change {
	ch := &Change{From: b.state, To: to, Reason: reason, Failures: b.failures, At: b.opts.Now()}
	b.state = to
	if to == Closed {
		b.openedAt = time.Time{}
	}
	return ch
}

func (b *Breaker) notify(ch *Change) {
	if ch != nil && b.opts.OnChange != nil {
		b.opts.OnChange(*ch)
	}
}
