package fault

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// memoryPressure fills the gate's memory domain (its container's cgroup,
// under the memory limit the scenario sets with target.memory) up to a
// fraction of the limit: the stressor, run inside the container as the
// gate's user, allocates and touches the difference between the fraction
// and what is in use, and holds it for the fault's duration. Its proof is
// the cgroup's own count: the usage sampled while injected reached the
// fraction, and fell back after the revert.
type memoryPressure struct {
	fraction float64

	mu      sync.Mutex
	limit   int64
	before  int64 // in use at the injection
	peak    int64 // the most in use while injected
	after   int64 // in use after the revert
	samples int
	stop    context.CancelFunc
	done    chan struct{}
}

// MemoryDomain is a host whose gate has a memory limit the harness can
// fill and measure (the container target).
type MemoryDomain interface {
	MemoryLimit() int64
	MemoryUsage(ctx context.Context) (int64, error)
	Allocate(ctx context.Context, n int64, d time.Duration) (target.Burn, error)
}

func newMemoryPressure(params map[string]string) (Fault, error) {
	if err := checkParams("memory-pressure", params, "fraction"); err != nil {
		return nil, err
	}
	f := 0.8
	if v, ok := params["fraction"]; ok {
		var err error
		if f, err = strconv.ParseFloat(v, 64); err != nil || !(f >= 0.1 && f <= 0.95) {
			return nil, &ParamError{Fault: "memory-pressure", Param: "fraction", Problem: fmt.Sprintf("%q: want a fraction of the memory limit from 0.1 to 0.95", v)}
		}
	}
	return &memoryPressure{fraction: f}, nil
}

func (f *memoryPressure) Name() string { return "memory-pressure" }

// Needs: the gate's memory domain.
func (f *memoryPressure) Needs() string {
	return "the gate's memory domain (a container with target.memory)"
}

// ContainerOnly: the process target has no memory limit to fill.
func (f *memoryPressure) ContainerOnly() string {
	return "the gate's memory limit, which only the container target sets (target.memory)"
}

// sampleEvery is how often the memory in use is read while injected.
const sampleEvery = 500 * time.Millisecond

func (f *memoryPressure) Inject(ctx context.Context, t Host, env Env) (func(context.Context) error, error) {
	m, ok := t.(MemoryDomain)
	if !ok || m.MemoryLimit() <= 0 {
		return nil, fmt.Errorf("memory-pressure: the target has no memory limit to fill (the container target with target.memory)")
	}
	limit := m.MemoryLimit()
	used, err := m.MemoryUsage(ctx)
	if err != nil {
		return nil, fmt.Errorf("memory-pressure: %w", err)
	}
	n := int64(f.fraction*float64(limit)) - used
	if n <= 0 {
		return nil, fmt.Errorf("memory-pressure: %d of %d bytes are in use already, over the fraction %g", used, limit, f.fraction)
	}
	b, err := m.Allocate(ctx, n, env.Duration)
	if err != nil {
		return nil, fmt.Errorf("memory-pressure: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.mu.Lock()
	f.limit, f.before, f.stop, f.done = limit, used, cancel, make(chan struct{})
	f.mu.Unlock()
	go func() { // samples until the revert
		defer close(f.done)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
			}
			if u, err := m.MemoryUsage(bg); err == nil {
				f.mu.Lock()
				f.peak, f.samples = max(f.peak, u), f.samples+1
				f.mu.Unlock()
			}
		}
	}()
	return func(ctx context.Context) error {
		f.stop()
		<-f.done
		err := b.Stop()
		time.Sleep(sampleEvery) // the cgroup gives the pages back
		u, uerr := m.MemoryUsage(ctx)
		f.mu.Lock()
		f.after = u
		if uerr != nil {
			f.after = -1
		}
		f.mu.Unlock()
		if err != nil {
			return fmt.Errorf("memory-pressure revert: %w", err)
		}
		return nil
	}, nil
}

// Proof is the cgroup's count: the peak in use while injected reached
// 90 % of the fraction asked for, and the revert gave back at least half
// of what the fault took.
func (f *memoryPressure) Proof() *reports.Proof {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &reports.Proof{Unit: "fraction of the memory limit", Requested: f.fraction, Samples: f.samples}
	if f.limit <= 0 {
		p.Detail = "no memory limit was read"
		return p
	}
	p.Achieved = float64(f.peak) / float64(f.limit)
	released := f.after >= 0 && f.after <= f.before+(f.peak-f.before)/2 // most of what it took given back
	p.OK = f.samples > 0 && p.Achieved >= memoryAchievedFloor*f.fraction && released
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	p.Detail = fmt.Sprintf("limit %s; in use %s before, at most %s while injected (%.0f%% of the limit, %d samples), %s after the revert",
		mib(f.limit), mib(f.before), mib(f.peak), p.Achieved*100, f.samples, mib(f.after))
	if !released {
		p.Detail += ": not given back"
	}
	return p
}

// memoryAchievedFloor is the share of the asked fraction the cgroup must
// show: the stressor's pages are counted, but the gate's own use moves.
const memoryAchievedFloor = 0.9
