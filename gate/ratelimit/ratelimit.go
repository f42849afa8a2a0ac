// Package ratelimit keeps one token bucket per key (a caller name or a
// client IP) on top of golang.org/x/time/rate, and renders the decision as
// the rate-limit headers the gate sends: the IETF draft RateLimit-Policy /
// RateLimit fields and the older X-RateLimit-* trio.
//
// A Policy of "20/min" is a bucket of 20 tokens refilled at 20 per minute:
// a caller may burst the whole window's quota, then proceeds at the rate.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Policy is a quota of Limit requests per Window.
type Policy struct {
	Limit  int
	Window time.Duration
}

// String renders the policy in the form ParsePolicy reads ("20/min").
func (p Policy) String() string {
	switch p.Window {
	case time.Second:
		return fmt.Sprintf("%d/s", p.Limit)
	case time.Minute:
		return fmt.Sprintf("%d/min", p.Limit)
	case time.Hour:
		return fmt.Sprintf("%d/h", p.Limit)
	}
	return fmt.Sprintf("%d/%s", p.Limit, p.Window)
}

func (p Policy) rate() rate.Limit { return rate.Limit(float64(p.Limit) / p.Window.Seconds()) }

// ParsePolicy reads "N/s", "N/min" or "N/h" (also "sec", "second", "m",
// "minute", "hour"). N must be a positive integer.
func ParsePolicy(s string) (Policy, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Policy{}, fmt.Errorf("%q: want N/s, N/min or N/h", s)
	}
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || limit <= 0 {
		return Policy{}, fmt.Errorf("%q: the count must be a positive integer", s)
	}
	var w time.Duration
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "s", "sec", "second":
		w = time.Second
	case "m", "min", "minute":
		w = time.Minute
	case "h", "hour":
		w = time.Hour
	default:
		return Policy{}, fmt.Errorf("%q: unit must be s, min or h", s)
	}
	return Policy{Limit: limit, Window: w}, nil
}

// ParseOverrides reads METRICS_RATE_LIMITS: "name=policy,name=policy".
func ParseOverrides(s string) (map[string]Policy, error) {
	out := map[string]Policy{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for i, entry := range strings.Split(s, ",") {
		name, pol, ok := strings.Cut(strings.TrimSpace(entry), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("entry %d: want name=N/unit", i+1)
		}
		p, err := ParsePolicy(pol)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): %w", i+1, name, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("entry %d: name %q given twice", i+1, name)
		}
		out[name] = p
	}
	return out, nil
}

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed   bool
	Policy    Policy
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
	// RetryAfter is how long until the next request would be allowed; zero
	// when Allowed.
	RetryAfter time.Duration
	// FirstDenial is true for the first refusal after an allowed request:
	// the start of a limited episode, which is worth an audit entry.
	FirstDenial bool
}

// SetHeaders writes the rate-limit headers for d, and Retry-After when the
// request was refused. Names and syntax follow
// draft-ietf-httpapi-ratelimit-headers (structured fields) plus the
// widespread X-RateLimit-* headers.
func (d Decision) SetHeaders(h http.Header) {
	reset := ceilSeconds(d.Reset)
	window := int(d.Policy.Window / time.Second)
	h.Set("RateLimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, d.Policy.Limit, window))
	h.Set("RateLimit", fmt.Sprintf(`"default";r=%d;t=%d`, d.Remaining, reset))
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Policy.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(reset))
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.RetryAfter))))
	}
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// ErrFull is returned when a Limiter tracks as many keys as it may and none
// can be evicted.
var ErrFull = errors.New("rate limiter key table full")

// Limiter holds one bucket per key. Keys with their own policy are set with
// Override; all others get the default. Idle keys (full buckets) are evicted
// when the table reaches MaxKeys, so memory stays bounded however many
// distinct keys (client IPs) arrive.
type Limiter struct {
	def       Policy
	overrides map[string]Policy
	maxKeys   int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim     *rate.Limiter
	pol     Policy
	limited bool
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithOverrides sets per-key policies.
func WithOverrides(o map[string]Policy) Option {
	return func(l *Limiter) { l.overrides = o }
}

// WithMaxKeys bounds the number of tracked keys (default 10000).
func WithMaxKeys(n int) Option { return func(l *Limiter) { l.maxKeys = n } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// New returns a Limiter whose keys get def unless overridden.
func New(def Policy, opts ...Option) *Limiter {
	l := &Limiter{def: def, maxKeys: 10000, now: time.Now, buckets: map[string]*bucket{}}
	for _, o := range opts {
		o(l)
	}
	return l
}

// PolicyFor returns the policy that applies to key.
func (l *Limiter) PolicyFor(key string) Policy {
	if p, ok := l.overrides[key]; ok {
		return p
	}
	return l.def
}

// Allow takes one token from key's bucket if it has one.
func (l *Limiter) Allow(key string) (Decision, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evictIdle(now)
			if len(l.buckets) >= l.maxKeys {
				return Decision{Policy: l.PolicyFor(key)}, ErrFull
			}
		}
		p := l.PolicyFor(key)
		b = &bucket{lim: rate.NewLimiter(p.rate(), p.Limit), pol: p}
		l.buckets[key] = b
	}
	d := Decision{Policy: b.pol, Allowed: b.lim.AllowN(now, 1)}
	tokens := b.lim.TokensAt(now)
	d.Remaining = max(0, int(math.Floor(tokens)))
	d.Reset = durationFor(float64(b.pol.Limit)-tokens, b.pol)
	if d.Allowed {
		b.limited = false
	} else {
		d.RetryAfter = durationFor(1-tokens, b.pol)
		d.FirstDenial = !b.limited
		b.limited = true
	}
	return d, nil
}

// durationFor is how long the bucket takes to gain n tokens.
func durationFor(n float64, p Policy) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(n / float64(p.rate()) * float64(time.Second))
}

// evictIdle drops keys whose bucket has refilled completely: forgetting them
// changes nothing, since a new bucket starts full.
func (l *Limiter) evictIdle(now time.Time) {
	for k, b := range l.buckets {
		if b.lim.TokensAt(now) >= float64(b.pol.Limit) {
			delete(l.buckets, k)
		}
	}
}
