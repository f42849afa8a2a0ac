// Package fault holds the gate's application-level fault injection state:
// added generator latency (uniform between a minimum and a maximum, from a
// seeded source so a GameDay can be replayed) and generator failures.
//
// Every fault has a mandatory time to live and switches itself off when it
// ends, so a harness that crashes never leaves a fault behind. This package
// only keeps the state and applies it; the HTTP API and the audit entries
// live in package gate.
package fault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Kinds of fault.
const (
	KindLatency = "latency"
	KindFailure = "failure"
)

// MaxTTL bounds how long one fault may stay on.
const MaxTTL = time.Hour

// ErrInjected is the error a failure fault makes generation return.
var ErrInjected = errors.New("injected generator failure")

// Active describes a fault that is on.
type Active struct {
	Kind      string    `json:"kind"`
	Min       string    `json:"min,omitempty"`
	Max       string    `json:"max,omitempty"`
	Seed      uint64    `json:"seed,omitempty"`
	Remaining int       `json:"remaining,omitempty"` // failures left; 0: every generation until expiry
	ExpiresAt time.Time `json:"expires_at"`
}

type slot struct {
	active Active
	timer  *time.Timer
	rng    *rand.Rand
	min    time.Duration
	max    time.Duration
	count  bool // failure fault limited by Remaining
}

// Set is the gate's fault state; the zero value is not usable, use New.
type Set struct {
	onEnd func(a Active, reason string)

	mu     sync.Mutex
	faults map[string]*slot
}

// New returns an empty set. onEnd, if set, is called (outside the lock)
// whenever a fault ends: reason is "expired", "exhausted", "cleared" or
// "replaced".
func New(onEnd func(a Active, reason string)) *Set {
	return &Set{onEnd: onEnd, faults: map[string]*slot{}}
}

func validTTL(ttl time.Duration) error {
	switch {
	case ttl <= 0:
		return errors.New("ttl is required and must be positive")
	case ttl > MaxTTL:
		return fmt.Errorf("ttl must be at most %s", MaxTTL)
	}
	return nil
}

// SetLatency adds uniform latency in [min, max] to every generation until
// ttl passes.
func (s *Set) SetLatency(min, max time.Duration, seed uint64, ttl time.Duration) (Active, error) {
	switch {
	case min < 0 || max < 0:
		return Active{}, errors.New("min and max must not be negative")
	case max < min:
		return Active{}, errors.New("max must not be less than min")
	case max > 30*time.Second:
		return Active{}, errors.New("max must be at most 30s")
	}
	if err := validTTL(ttl); err != nil {
		return Active{}, err
	}
	sl := &slot{
		active: Active{Kind: KindLatency, Min: min.String(), Max: max.String(), Seed: seed, ExpiresAt: time.Now().Add(ttl).UTC()},
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		min:    min, max: max,
	}
	return s.put(sl, ttl), nil
}

// SetFailure makes generation fail until ttl passes; with count > 0 only the
// next count generations fail.
func (s *Set) SetFailure(count int, ttl time.Duration) (Active, error) {
	if count < 0 {
		return Active{}, errors.New("count must not be negative")
	}
	if err := validTTL(ttl); err != nil {
		return Active{}, err
	}
	sl := &slot{active: Active{Kind: KindFailure, Remaining: count, ExpiresAt: time.Now().Add(ttl).UTC()}, count: count > 0}
	return s.put(sl, ttl), nil
}

func (s *Set) put(sl *slot, ttl time.Duration) Active {
	kind := sl.active.Kind
	sl.timer = time.AfterFunc(ttl, func() { s.end(kind, sl, "expired") })
	s.mu.Lock()
	old := s.faults[kind]
	s.faults[kind] = sl
	s.mu.Unlock()
	if old != nil {
		old.timer.Stop()
		s.notify(old.active, "replaced")
	}
	return sl.active
}

// end removes sl if it is still the fault of its kind.
func (s *Set) end(kind string, sl *slot, reason string) bool {
	s.mu.Lock()
	cur := s.faults[kind]
	if cur != sl {
		s.mu.Unlock()
		return false
	}
	delete(s.faults, kind)
	s.mu.Unlock()
	sl.timer.Stop()
	s.notify(sl.active, reason)
	return true
}

func (s *Set) notify(a Active, reason string) {
	if s.onEnd != nil {
		s.onEnd(a, reason)
	}
}

// Clear switches off the fault of kind ("" for all) and returns those it
// switched off (onEnd hears of each too, with reason "cleared"), so the
// caller can say who cleared them.
func (s *Set) Clear(kind string) []Active {
	s.mu.Lock()
	var ended []*slot
	for k, sl := range s.faults {
		if kind == "" || k == kind {
			ended = append(ended, sl)
		}
	}
	s.mu.Unlock()
	var cleared []Active
	for _, sl := range ended {
		if s.end(sl.active.Kind, sl, "cleared") {
			cleared = append(cleared, sl.active)
		}
	}
	return cleared
}

// Active lists the faults that are on.
func (s *Set) Active() []Active {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Active, 0, len(s.faults))
	for _, k := range []string{KindLatency, KindFailure} {
		if sl, ok := s.faults[k]; ok {
			out = append(out, sl.active)
		}
	}
	return out
}

// Apply is called at the start of each live generation: it waits out any
// injected latency (returning early with ctx's error) and returns
// ErrInjected while a failure fault is on.
func (s *Set) Apply(ctx context.Context) error {
	s.mu.Lock()
	if len(s.faults) == 0 {
		s.mu.Unlock()
		return nil
	}
	var delay time.Duration
	if sl := s.faults[KindLatency]; sl != nil {
		delay = sl.min
		if span := sl.max - sl.min; span > 0 {
			delay += time.Duration(sl.rng.Int64N(int64(span) + 1))
		}
	}
	var fail, exhausted *slot
	if sl := s.faults[KindFailure]; sl != nil {
		fail = sl
		if sl.count {
			sl.active.Remaining--
			if sl.active.Remaining <= 0 {
				exhausted = sl
			}
		}
	}
	s.mu.Unlock()
	if exhausted != nil {
		s.end(KindFailure, exhausted, "exhausted")
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if fail != nil {
		return ErrInjected
	}
	return nil
}
