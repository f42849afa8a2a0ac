// Package fault holds the GameDay faults. Each is one small type in its own
// file implementing Fault; Registry builds them by name, in one place.
//
// Every fault is reverted by the function Inject returns, which the runner
// calls on every exit path (success, failure, timeout, panic, Ctrl-C), and
// switches itself off if the harness dies: the stressor has a deadline, the
// gate's faults a TTL, and a permission change is recorded for
// `gameday cleanup`.
package fault

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/quannex/gameday/harness/target"
)

// Target is what faults need from the gate under test.
type Target interface {
	BaseURL() string
	CacheDir() string
	Burn(ctx context.Context, cores int, d time.Duration) (target.Burn, error)
}

// Env is what a fault gets besides the target.
type Env struct {
	AdminToken string
	Seed       uint64
	Duration   time.Duration
}

// Fault is one injectable failure.
type Fault interface {
	Name() string
	// Inject starts the fault; revert ends it and must be safe to call
	// after the fault has switched itself off.
	Inject(ctx context.Context, t Target, env Env) (revert func(context.Context) error, err error)
}

// Sampler is implemented by faults that can tell how much of what they
// asked for they achieved (cpu-spike: cores).
type Sampler interface {
	Requested() float64
	Achieved() float64
}

// Factory builds a fault from its scenario parameters.
type Factory func(params map[string]string) (Fault, error)

// Registry lists every fault by name.
var Registry = map[string]Factory{
	"cpu-spike":         newCPUSpike,
	"cache-readonly":    newCacheReadonly,
	"generator-latency": newGeneratorLatency,
}

// Known reports whether name is a registered fault.
func Known(name string) bool { _, ok := Registry[name]; return ok }

// Names lists the registered faults.
func Names() []string {
	out := make([]string, 0, len(Registry))
	for k := range Registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds the named fault.
func New(name string, params map[string]string) (Fault, error) {
	f, ok := Registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown fault %q", name)
	}
	return f(params)
}

// checkParams rejects parameters a fault does not take.
func checkParams(fault string, params map[string]string, allowed ...string) error {
	for k := range params {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("%s: unknown parameter %q (takes %v)", fault, k, allowed)
		}
	}
	return nil
}

func intParam(params map[string]string, key string, def, lo, hi int) (int, error) {
	v, ok := params[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("parameter %s: want an integer from %d to %d", key, lo, hi)
	}
	return n, nil
}

func durationParam(params map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := params[key]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("parameter %s: want a duration such as 300ms", key)
	}
	return d, nil
}
