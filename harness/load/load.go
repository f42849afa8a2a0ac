// Package load drives constant-rate HTTP load at the gate's /metrics with
// vegeta as a library, at one gate or in rotation over a fleet's, and
// keeps every result: time, the instance it went to, status code,
// latency, X-Metrics-Source, whether a Warning header came with it and
// whether a live payload's LIVESHA verified.
package load

import (
	"crypto/tls"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/quannex/gameday/gate/integrity"
)

// Record is one response.
type Record struct {
	At       time.Time
	Instance string // the Endpoint's Name the request went to; "" from Start
	Code     int
	Latency  time.Duration
	Source   string // live, snapshot, none or "" (no response)
	Warning  bool
	// LiveSHA is true when a live text payload's LIVESHA verified; false
	// for a live payload that failed; snapshots are checked too.
	LiveSHA   bool
	SHAFailed bool
	Err       string
}

// Generator is a running load.
type Generator struct {
	atk   *vegeta.Attacker
	done  chan struct{}
	names []string // endpoint names by index, see rotation

	mu      sync.Mutex
	records []Record
}

// Option configures Start.
type Option func(*options)

type options struct {
	tls *tls.Config
}

// WithTLS sets the TLS config the load speaks to an https:// URL with
// (the CA to trust, a client certificate); nil keeps vegeta's default.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// Endpoint is one instance the load goes to.
type Endpoint struct {
	Name string // the instance, recorded in each of its Records' Instance
	URL  string
}

// Start attacks url at rate requests per second with token for at most
// maxDuration (the load always stops by itself); Stop ends it earlier.
// Its Records have Instance "".
func Start(url, token string, rate int, maxDuration time.Duration, opts ...Option) *Generator {
	return StartMany([]Endpoint{{URL: url}}, token, rate, maxDuration, opts...)
}

// StartMany attacks the endpoints in rotation, rate requests per second in
// all (each of n endpoints gets rate/n), with token for at most
// maxDuration; Stop ends it earlier. An endpoint listed twice gets twice
// the share. endpoints must not be empty.
func StartMany(endpoints []Endpoint, token string, rate int, maxDuration time.Duration, opts ...Option) *Generator {
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+token)
	tr, names := rotation(endpoints, hdr)
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	atkOpts := []func(*vegeta.Attacker){vegeta.Timeout(10 * time.Second), vegeta.KeepAlive(true)}
	if o.tls != nil {
		atkOpts = append(atkOpts, vegeta.TLSConfig(o.tls))
	}
	g := &Generator{atk: vegeta.NewAttacker(atkOpts...), done: make(chan struct{}), names: names}
	results := g.atk.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, maxDuration, "gameday")
	go func() { // ends when the attack ends (maxDuration or Stop)
		defer close(g.done)
		for r := range results {
			g.add(r)
		}
	}()
	return g
}

// rotation returns a targeter cycling through endpoints, safe for vegeta's
// concurrent workers, and the endpoints' names by index. Each target's URL
// carries its endpoint's index as the fragment, which a client never sends
// and vegeta copies into Result.URL: the name is found from the result
// even when two endpoints share a URL.
func rotation(endpoints []Endpoint, hdr http.Header) (vegeta.Targeter, []string) {
	targets := make([]vegeta.Target, len(endpoints))
	names := make([]string, len(endpoints))
	for i, e := range endpoints {
		u, _, _ := strings.Cut(e.URL, "#")
		targets[i] = vegeta.Target{Method: http.MethodGet, URL: u + "#" + strconv.Itoa(i), Header: hdr}
		names[i] = e.Name
	}
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		if len(targets) == 0 {
			return vegeta.ErrNoTargets
		}
		*t = targets[(next.Add(1)-1)%uint64(len(targets))]
		return nil
	}, names
}

// instance is the name of the endpoint a result's URL came from.
func (g *Generator) instance(url string) string {
	_, frag, _ := strings.Cut(url, "#")
	if i, err := strconv.Atoi(frag); err == nil && i >= 0 && i < len(g.names) {
		return g.names[i]
	}
	return ""
}

func (g *Generator) add(r *vegeta.Result) {
	rec := Record{At: r.Timestamp, Instance: g.instance(r.URL), Code: int(r.Code), Latency: r.Latency, Err: r.Error}
	if r.Headers != nil {
		rec.Source = r.Headers.Get("X-Metrics-Source")
		rec.Warning = r.Headers.Get("Warning") != ""
	}
	if r.Code == 200 && (rec.Source == "live" || rec.Source == "snapshot") {
		switch err := integrity.VerifyLiveSHA(r.Body); {
		case err == nil:
			rec.LiveSHA = true
		case errors.Is(err, integrity.ErrNoLiveSHA) && rec.Source == "snapshot":
			// an OpenMetrics snapshot carries its digest only in headers
		default:
			rec.SHAFailed = true // a live text payload must be signed
		}
	}
	g.mu.Lock()
	g.records = append(g.records, rec)
	g.mu.Unlock()
}

// Stop ends the load and waits for the last results.
func (g *Generator) Stop() {
	g.atk.Stop()
	<-g.done
}

// Records returns a copy of every record so far, in time order.
func (g *Generator) Records() []Record {
	g.mu.Lock()
	out := append([]Record(nil), g.records...)
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Since returns a copy of the records of requests sent at or after from,
// in time order: what a watcher of the last seconds reads without
// copying the whole run.
func (g *Generator) Since(from time.Time) []Record {
	g.mu.Lock()
	var out []Record
	for _, r := range g.records {
		if !r.At.Before(from) {
			out = append(out, r)
		}
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// ByInstance groups records by their Instance, each group in rs's order.
func ByInstance(rs []Record) map[string][]Record {
	out := map[string][]Record{}
	for _, r := range rs {
		out[r.Instance] = append(out[r.Instance], r)
	}
	return out
}

// Window summarises records whose time is within [from, to).
type Window struct {
	Requests  int
	Live      int
	Snapshot  int
	Other     int
	Codes     map[int]int
	Latencies []time.Duration
}

// Summarise counts the records within [from, to).
func Summarise(rs []Record, from, to time.Time) Window {
	w := Window{Codes: map[int]int{}}
	for _, r := range rs {
		if r.At.Before(from) || !r.At.Before(to) {
			continue
		}
		w.Requests++
		w.Codes[r.Code]++
		w.Latencies = append(w.Latencies, r.Latency)
		switch r.Source {
		case "live":
			w.Live++
		case "snapshot":
			w.Snapshot++
		default:
			w.Other++
		}
	}
	return w
}

// LiveRatio is live responses over all responses; 0 without responses.
func (w Window) LiveRatio() float64 {
	if w.Requests == 0 {
		return 0
	}
	return float64(w.Live) / float64(w.Requests)
}

// Quantile returns the q-quantile latency (nearest rank).
func (w Window) Quantile(q float64) time.Duration { return Quantile(w.Latencies, q) }

// Quantile returns the nearest-rank q-quantile of l; 0 for no values.
func Quantile(l []time.Duration, q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
