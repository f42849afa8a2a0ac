package fault

import (
	"context"
	"fmt"
	"sync"

	"github.com/quannex/gameday/harness/target"
)

// cpuSpike burns N cores in the gate's CPU domain for the fault duration.
// What it achieved is measured by the runner over the fault's window (the
// stressor's CPU time, or the container's cgroup usage), not assumed.
type cpuSpike struct {
	cores int
	mu    sync.Mutex
	burn  target.Burn
}

func newCPUSpike(params map[string]string) (Fault, error) {
	if err := checkParams("cpu-spike", params, "cores"); err != nil {
		return nil, err
	}
	n, err := intParam("cpu-spike", params, "cores", 2, 1, 64)
	if err != nil {
		return nil, err
	}
	return &cpuSpike{cores: n}, nil
}

func (f *cpuSpike) Name() string { return "cpu-spike" }

// Needs: the stressor runs in the gate's CPU domain.
func (f *cpuSpike) Needs() string { return "the gate's CPU domain" }

// Inject starts the stressor; a stressor that cannot start, or exits with
// an error at once, fails the injection.
func (f *cpuSpike) Inject(ctx context.Context, t Host, env Env) (func(context.Context) error, error) {
	b, err := t.Burn(ctx, f.cores, env.Duration)
	if err != nil {
		return nil, fmt.Errorf("cpu-spike: %w", err)
	}
	f.mu.Lock()
	f.burn = b
	f.mu.Unlock()
	return func(context.Context) error {
		if err := b.Stop(); err != nil {
			return fmt.Errorf("cpu-spike revert: %w", err)
		}
		return nil
	}, nil
}

// Requested is the cores asked for.
func (f *cpuSpike) Requested() float64 { return float64(f.cores) }
