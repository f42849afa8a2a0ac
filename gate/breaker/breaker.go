// Package breaker is the gate's circuit breaker around live generation.
//
// Closed: every request tries live; Threshold consecutive failures open it.
// Open: nobody tries live until Cooldown has passed; then one caller gets a
// trial (half-open) while everyone else keeps getting the fallback. A
// successful trial closes the breaker, a failed one opens it again for
// another cooldown. Reset closes it by hand.
//
// Outcomes count only for the epoch that admitted them. Allow hands out a
// Ticket naming the breaker's epoch, and the epoch advances on every
// transition (and on Reset), so Success and Failure ignore a ticket from
// before the breaker last moved. The gate runs its text and OpenMetrics
// generations concurrently: without epochs a slow success admitted while
// closed would close a breaker that opened meanwhile and skip its cooldown,
// and a late failure from before a close would count towards opening it
// again. In half-open the only ticket of the epoch is the trial's, so only
// the trial closes or re-opens the breaker.
//
// Why not github.com/sony/gobreaker/v2 (v2.4.0), which counts generations
// the same way: it has no manual Reset (POST /admin/breaker/reset needs
// one); it reads time.Now itself, so cooldowns cannot be tested with a fake
// clock; its State() moves open to half-open as a side effect of being read,
// so a scrape of quannex_circuit_breaker_state would record a half_open
// transition with no trial in flight; its OnStateChange runs under its lock
// and carries neither a reason nor the failure count the audit entry and the
// log line record; and it does not expose when the breaker opened, which
// Retry-After and the selftest report. Keeping those would mean wrapping
// most of it, so the gate keeps this small implementation.
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
	epoch    uint64 // advances on every transition and Reset; starts at 1
	failures int
	openedAt time.Time
	trial    bool // a half-open trial is in flight
}

// Ticket is the permission Allow grants for one attempt. Report its outcome
// with Success or Failure; a ticket from an earlier epoch counts for
// nothing, and so does the zero Ticket.
type Ticket struct {
	epoch uint64
}

// New returns a closed breaker.
func New(opts Options) *Breaker {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Threshold <= 0 {
		opts.Threshold = 3
	}
	return &Breaker{opts: opts, epoch: 1}
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
// returns true the caller must report the outcome with Success or Failure,
// passing the ticket.
func (b *Breaker) Allow() (Ticket, bool) {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return Ticket{b.epoch}, true
	case Open:
		if b.opts.Now().Sub(b.openedAt) < b.opts.Cooldown {
			return Ticket{}, false
		}
		ch = b.move(HalfOpen, "cooldown elapsed")
		b.trial = true
		return Ticket{b.epoch}, true
	default: // HalfOpen
		if b.trial {
			return Ticket{}, false
		}
		b.trial = true
		return Ticket{b.epoch}, true
	}
}

// Success records a successful live generation. It reports whether the
// outcome counted: false for a ticket from an earlier epoch.
func (b *Breaker) Success(t Ticket) bool {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.epoch != b.epoch {
		return false
	}
	b.failures = 0
	if b.state != Closed {
		b.trial = false
		ch = b.move(Closed, "trial succeeded")
	}
	return true
}

// Failure records a failed live generation. It reports whether the outcome
// counted: false for a ticket from an earlier epoch.
func (b *Breaker) Failure(t Ticket) bool {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.epoch != b.epoch {
		return false
	}
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
	return true
}

// Reset closes the breaker by hand and reports whether it was not closed.
// Attempts admitted before it no longer count, even when it was closed
// already: the operator asked for a fresh start.
func (b *Breaker) Reset() bool {
	var ch *Change
	defer func() { b.notify(ch) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.trial = 0, false
	if b.state == Closed {
		b.epoch++
		return false
	}
	ch = b.move(Closed, "manual reset")
	return true
}

// move must be called with mu held.
func (b *Breaker) move(to State, reason string) *Change {
	ch := &Change{From: b.state, To: to, Reason: reason, Failures: b.failures, At: b.opts.Now()}
	b.state = to
	b.epoch++
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
