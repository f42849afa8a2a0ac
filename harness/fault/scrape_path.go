package fault

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// scrapePath breaks the network path between the harness's scraper and
// the gate, not the gate: the harness scrapes through a proxy of its own
// (package scrapepath) whenever a scenario has this fault, and the fault
// puts a toxic on it — latency, a bandwidth limit, connection resets or a
// black hole — while the load goes straight to the gate. An on-call
// engineer must tell a sick path from a sick gate; so must the run: the
// path's alerts fire (GateScrapeFailing), the gate's do not. Its proof is
// the toxic on the path while injected and gone after, and what the
// harness's own scrapes saw (the runner measures it: PathBreaker).
type scrapePath struct {
	toxic   string // blackhole, reset, latency, bandwidth
	latency time.Duration
	rate    int // KB/s, bandwidth

	mu           sync.Mutex
	active, gone bool // the toxic seen on the path while injected, and not after
}

// ScrapePath is the path the harness scrapes the gate through.
type ScrapePath interface {
	Add(kind string, attrs map[string]any) error
	Remove(ctx context.Context) error
	Active() bool
}

func newScrapePath(params map[string]string) (Fault, error) {
	if err := checkParams("scrape-path", params, "toxic", "latency", "rate"); err != nil {
		return nil, err
	}
	f := &scrapePath{toxic: "blackhole"}
	if v, ok := params["toxic"]; ok {
		switch v {
		case "blackhole", "reset", "latency", "bandwidth":
			f.toxic = v
		default:
			return nil, &ParamError{Fault: "scrape-path", Param: "toxic", Problem: fmt.Sprintf("%q: want blackhole, reset, latency or bandwidth", v)}
		}
	}
	var err error
	if f.latency, err = durationParam("scrape-path", params, "latency", 2*time.Second); err != nil {
		return nil, err
	}
	if f.rate, err = intParam("scrape-path", params, "rate", 1, 1, 1<<20); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *scrapePath) Name() string { return "scrape-path" }

// Needs: the harness's own scraper, in front of the gate.
func (f *scrapePath) Needs() string { return "the harness's own scrape path (its in-process scraper)" }

// kind and attrs are the toxiproxy toxic of f.toxic, on the gate's
// answers.
func (f *scrapePath) kind() (string, map[string]any) {
	switch f.toxic {
	case "reset":
		return "reset_peer", map[string]any{"timeout": 0}
	case "latency":
		return "latency", map[string]any{"latency": f.latency.Milliseconds()}
	case "bandwidth":
		return "bandwidth", map[string]any{"rate": f.rate}
	}
	return "timeout", map[string]any{"timeout": 0} // a black hole: nothing comes back, nothing closes
}

func (f *scrapePath) Inject(ctx context.Context, _ Host, env Env) (func(context.Context) error, error) {
	if env.ScrapePath == nil {
		return nil, fmt.Errorf("scrape-path: the run has no scrape path of its own (a fleet's or a deployment's Prometheus scrapes the gate itself)")
	}
	kind, attrs := f.kind()
	if err := env.ScrapePath.Add(kind, attrs); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.active = env.ScrapePath.Active()
	f.mu.Unlock()
	return func(ctx context.Context) error {
		err := env.ScrapePath.Remove(ctx)
		f.mu.Lock()
		f.gone = !env.ScrapePath.Active()
		f.mu.Unlock()
		return err
	}, nil
}

// PathBreaker is implemented by faults on the harness's scrape path: the
// runner proves them by what the scrapes saw (fails: they should fail;
// else slow by at least Added), and by the toxic they saw on the path.
type PathBreaker interface {
	// Toxic names the toxic as the proof's detail says it.
	Toxic() string
	Fails() bool
	Added() time.Duration
	ToxicSeen() (whileInjected, goneAfter bool)
}

// Fails: a black hole or resets make scrapes fail; latency and a
// bandwidth limit slow them.
func (f *scrapePath) Fails() bool { return f.toxic == "blackhole" || f.toxic == "reset" }

// Added is the least a scrape should take longer: the latency asked for;
// for a bandwidth limit, a second.
func (f *scrapePath) Added() time.Duration {
	if f.toxic == "latency" {
		return f.latency
	}
	return time.Second
}

func (f *scrapePath) Toxic() string {
	switch f.toxic {
	case "reset":
		return "reset_peer (every connection reset)"
	case "latency":
		return fmt.Sprintf("latency %s", f.latency)
	case "bandwidth":
		return fmt.Sprintf("bandwidth %d KB/s", f.rate)
	}
	return "timeout 0 (a black hole)"
}

func (f *scrapePath) ToxicSeen() (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active, f.gone
}
