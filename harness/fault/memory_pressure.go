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
//
// With oom the stressor allocates past the limit instead, so that the
// kernel's OOM killer kills the gate and its container's restart policy
// starts it again: the fault is then a crash whose kill is the kernel's
// (the same admin-call burst around it, the same record of the kill, the
// same checks), proved by the engine's oom event and the death by SIGKILL.
type memoryPressure struct {
	fraction float64
	oom      *crash // with oom: the kill, recorded as a crash fault records its kills

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

// OOMKiller is a host whose gate the kernel's OOM killer can be made to
// kill, and whose target restarts it (the container target).
type OOMKiller interface {
	OOMKill(ctx context.Context) (target.Crash, error)
}

// oomKill is the host as a Crashable whose kill is the OOM killer's.
type oomKill struct {
	Host
	k OOMKiller
}

func (o oomKill) Kill(ctx context.Context) (target.Crash, error) { return o.k.OOMKill(ctx) }

func newMemoryPressure(params map[string]string) (Fault, error) {
	if err := checkParams("memory-pressure", params, "fraction", "oom"); err != nil {
		return nil, err
	}
	switch params["oom"] {
	case "", "false":
	case "true":
		if _, ok := params["fraction"]; ok {
			return nil, &ParamError{Fault: "memory-pressure", Param: "fraction", Problem: "with oom: true the stressor allocates past the limit: leave fraction out"}
		}
		return &memoryPressure{oom: &crash{times: 1}}, nil
	default:
		return nil, &ParamError{Fault: "memory-pressure", Param: "oom", Problem: fmt.Sprintf("%q: want true or false", params["oom"])}
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

// RootOnly: with oom, the harness makes the gate the OOM killer's choice
// from the host (oom_score_adj); nil reason without.
func (f *memoryPressure) RootOnly() string {
	if f.oom == nil {
		return ""
	}
	return "with oom: true makes the gate the OOM killer's choice from the host (oom_score_adj)"
}

// sampleEvery is how often the memory in use is read while injected.
const sampleEvery = 500 * time.Millisecond

func (f *memoryPressure) Inject(ctx context.Context, t Host, env Env) (func(context.Context) error, error) {
	if f.oom != nil {
		k, ok := t.(OOMKiller)
		if !ok {
			return nil, fmt.Errorf("memory-pressure: this target cannot drive the gate past its memory limit (the container target with target.memory)")
		}
		// A kill that did not come is recorded with its error and fails
		// the proof: the allocation was made, its effect is what is judged.
		f.oom.kill(ctx, oomKill{t, k}, env.Gate)
		return func(context.Context) error { return nil }, nil // the stressor ends by itself, or with the gate
	}
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
	if f.oom != nil {
		return f.oomProof()
	}
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

// Kills is the OOM kill of the gate, with oom (none without).
func (f *memoryPressure) Kills() []reports.Kill {
	if f.oom == nil {
		return nil
	}
	return f.oom.Kills()
}

// oomProof: the engine saw the container's cgroup run out of memory and
// the gate die by SIGKILL, and the restart count rose by one.
func (f *memoryPressure) oomProof() *reports.Proof {
	kills := f.oom.Kills()
	p := &reports.Proof{Unit: "OOM kills", Requested: 1, Samples: len(kills)}
	if len(kills) == 0 {
		p.Detail = "no kill was recorded"
		return p
	}
	k := kills[0]
	if k.Signal == "oom-killed" && k.Restarts == k.RestartsBefore+1 {
		p.Achieved = 1
	}
	p.OK = p.Achieved == 1
	how := "the engine saw the cgroup out of memory and the gate die by SIGKILL (exit 137)"
	switch {
	case k.Error != "":
		how = "no OOM kill: " + k.Error
	case k.Signal != "oom-killed":
		how = fmt.Sprintf("the gate ended by %q (exit %d), with no oom event", k.Signal, k.ExitCode)
	}
	p.Detail = fmt.Sprintf("%s; restarts %d -> %d", how, k.RestartsBefore, k.Restarts)
	return p
}
