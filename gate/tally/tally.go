// Package tally reports repeated events — failed authentications, refused
// connections, failed TLS handshakes — in a bounded form, however many
// arrive and from however many sources.
//
// The first Burst events of an interval are reported one by one (Add says
// so), so that a single mistake, a scraper with a wrong token, shows at
// once with its details. The rest are counted, by kind and by source, and
// reported as one Summary when the interval ends. An interval starts at its
// first event and lasts Interval, so a tally makes at most Burst+1 reports
// per Interval and keeps at most MaxSources sources and MaxKinds kinds in
// memory; sources past that are counted without being told apart
// (Summary.SourcesCapped), kinds past it as OtherKind.
//
// Counting every event, for metrics, is the caller's business: a tally
// bounds reports (log lines, audit entries), not counts.
package tally

import (
	"sort"
	"sync"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultInterval   = time.Minute
	DefaultBurst      = 1
	DefaultMaxSources = 1024
	DefaultMaxKinds   = 32
	DefaultTop        = 5
)

// OtherKind is where events of kinds past MaxKinds are counted.
const OtherKind = "other"

// Options configure a Tally.
type Options struct {
	Interval   time.Duration
	Burst      int
	MaxSources int
	MaxKinds   int // kinds told apart in ByKind; the rest count as OtherKind
	Top        int // sources named in a Summary, most events first
	// Summarize receives each interval's summary, from a timer goroutine
	// or from Close; never two at once.
	Summarize func(Summary)
}

// Summary is what an interval counted beyond its first Burst events.
type Summary struct {
	Start, End time.Time
	Total      uint64            // events counted, not reported one by one
	ByKind     map[string]uint64 // Total by kind
	Sources    int               // distinct sources among them (at most MaxSources)
	// SourcesCapped: more sources than MaxSources; Sources is a floor.
	SourcesCapped bool
	Top           []SourceCount
}

// SourceCount is one source's events in a Summary.
type SourceCount struct {
	Source string
	Count  uint64
}

// Tally counts events; make it with New.
type Tally struct {
	o     Options
	now   func() time.Time
	sumMu sync.Mutex // serialises Summarize

	mu      sync.Mutex
	start   time.Time // zero: no interval open
	told    int       // events of this interval reported one by one
	pending Summary
	sources map[string]uint64
	timer   *time.Timer
	closed  bool
}

// New returns a tally with o's defaults filled in.
func New(o Options) *Tally {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxSources <= 0 {
		o.MaxSources = DefaultMaxSources
	}
	if o.MaxKinds <= 0 {
		o.MaxKinds = DefaultMaxKinds
	}
	if o.Top <= 0 {
		o.Top = DefaultTop
	}
	return &Tally{o: o, now: time.Now}
}

// Add counts one event of kind from source and reports whether the caller
// should report this one by itself (true for the first Burst of an
// interval); otherwise it goes into the interval's Summary.
func (t *Tally) Add(kind, source string) (individually bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = t.now()
		t.told = 0
		if !t.closed {
			// The timer's goroutine runs flush once and exits.
			t.timer = time.AfterFunc(t.o.Interval, t.flush)
		}
	}
	if t.told < t.o.Burst {
		t.told++
		return true
	}
	p := &t.pending
	if p.ByKind == nil {
		p.ByKind, t.sources = map[string]uint64{}, map[string]uint64{}
	}
	p.Total++
	if _, ok := p.ByKind[kind]; !ok && len(p.ByKind) >= t.o.MaxKinds {
		kind = OtherKind
	}
	p.ByKind[kind]++
	if _, ok := t.sources[source]; ok || len(t.sources) < t.o.MaxSources {
		t.sources[source]++
	} else {
		p.SourcesCapped = true
	}
	return false
}

// flush ends the open interval and reports its summary, if it counted
// anything beyond its first events.
func (t *Tally) flush() {
	t.sumMu.Lock()
	defer t.sumMu.Unlock()
	t.mu.Lock()
	if t.start.IsZero() {
		t.mu.Unlock()
		return
	}
	s := t.pending
	s.Start, s.End = t.start, t.now()
	s.Sources = len(t.sources)
	for src, n := range t.sources {
		s.Top = append(s.Top, SourceCount{src, n})
	}
	t.start, t.pending, t.sources = time.Time{}, Summary{}, nil
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.mu.Unlock()
	if s.Total == 0 || t.o.Summarize == nil {
		return
	}
	sort.Slice(s.Top, func(i, j int) bool {
		if s.Top[i].Count != s.Top[j].Count {
			return s.Top[i].Count > s.Top[j].Count
		}
		return s.Top[i].Source < s.Top[j].Source
	})
	s.Top = s.Top[:min(len(s.Top), t.o.Top)]
	t.o.Summarize(s)
}

// Close reports the open interval's summary now and starts no more
// timers; events added later are counted but never summarized.
func (t *Tally) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.flush()
}
