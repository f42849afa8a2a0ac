// Package lease is the gate's GameDay lease: one GameDay at a time against
// a deployed gate. A harness that runs against a gate it did not start
// takes the lease through the admin API (/admin/lease) before its baseline
// and gives it back when it ends; a second harness is refused, naming the
// holder. The lease expires by its TTL, so a killed harness never keeps
// it; it lives in memory, so a restarted gate holds none.
//
// The package holds the lease and its wire types, which the gate's
// handlers and the harness's client share; it imports nothing of the
// project.
package lease

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode"
)

// MaxTTL is the longest a lease holds without a renewal.
const MaxTTL = 24 * time.Hour

// Request is the body of POST and DELETE /admin/lease.
type Request struct {
	// Holder says who holds it, for the run refused next to read: 1 to
	// 200 printable characters, such as "gameday pid 4242 on ci-7 (run
	// latency)".
	Holder string `json:"holder"`
	// TTL (POST only) is how long the lease holds without a renewal: a Go
	// duration from 1s to MaxTTL.
	TTL string `json:"ttl,omitempty"`
}

// State is the answer of every /admin/lease call; with a refusal (409) it
// names the holder, and Error says so.
type State struct {
	Held      bool      `json:"held"`
	Holder    string    `json:"holder,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Error     string    `json:"error,omitempty"`
}

// HeldError is a lease another holder has.
type HeldError struct{ State }

func (e *HeldError) Error() string {
	return fmt.Sprintf("the GameDay lease is held by %s until %s", e.Holder, e.ExpiresAt.UTC().Format(time.RFC3339))
}

// ErrBadRequest wraps what is wrong with a request, naming its field.
var ErrBadRequest = errors.New("bad lease request")

// Lease is one gate's lease; the zero value is free.
type Lease struct {
	mu     sync.Mutex
	holder string
	until  time.Time
}

// State is the lease at now.
func (l *Lease) State(now time.Time) State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state(now)
}

func (l *Lease) state(now time.Time) State {
	if l.holder == "" || !now.Before(l.until) {
		return State{}
	}
	return State{Held: true, Holder: l.holder, ExpiresAt: l.until.UTC()}
}

// Take gives the lease to holder for ttl from now, or renews it when
// holder has it (renewed). Another holder's lease is a *HeldError; a bad
// holder or ttl wraps ErrBadRequest.
func (l *Lease) Take(holder string, ttl time.Duration, now time.Time) (st State, renewed bool, err error) {
	if err := checkHolder(holder); err != nil {
		return State{}, false, err
	}
	if ttl < time.Second || ttl > MaxTTL {
		return State{}, false, fmt.Errorf(`%w: field "ttl": from 1s to %s`, ErrBadRequest, MaxTTL)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.state(now)
	if cur.Held && cur.Holder != holder {
		return cur, false, &HeldError{cur}
	}
	l.holder, l.until = holder, now.Add(ttl)
	return l.state(now), cur.Held, nil
}

// Release gives the lease back when holder has it (released); a lease
// nobody holds is no error, another holder's is a *HeldError.
func (l *Lease) Release(holder string, now time.Time) (released bool, err error) {
	if err := checkHolder(holder); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.state(now)
	switch {
	case !cur.Held:
		return false, nil
	case cur.Holder != holder:
		return false, &HeldError{cur}
	}
	l.holder = ""
	return true, nil
}

// checkHolder names what is wrong with a holder.
func checkHolder(h string) error {
	if h == "" || len(h) > 200 {
		return fmt.Errorf(`%w: field "holder" is required: 1 to 200 characters`, ErrBadRequest)
	}
	for _, r := range h {
		if !unicode.IsPrint(r) {
			return fmt.Errorf(`%w: field "holder": printable characters only`, ErrBadRequest)
		}
	}
	return nil
}
