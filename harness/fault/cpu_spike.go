package fault

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/quannex/gameday/harness/target"
)

// cpuSpike burns N cores in the gate's CPU domain for the fault duration.
type cpuSpike struct {
	cores int

	mu    sync.Mutex
	burn  target.Burn
	start time.Time
	got   float64
}

func newCPUSpike(params map[string]string) (Fault, error) {
	if err := checkParams("cpu-spike", params, "cores"); err != nil {
		return nil, err
	}
	n, err := intParam(params, "cores", 2, 1, 64)
	if err != nil {
		return nil, fmt.Errorf("cpu-spike: %w", err)
	}
	return &cpuSpike{cores: n}, nil
}

func (f *cpuSpike) Name() string { return "cpu-spike" }

func (f *cpuSpike) Inject(ctx context.Context, t Target, env Env) (func(context.Context) error, error) {
	b, err := t.Burn(ctx, f.cores, env.Duration)
	if err != nil {
		return nil, fmt.Errorf("cpu-spike: %w", err)
	}
	f.mu.Lock()
	f.burn, f.start = b, time.Now()
	f.mu.Unlock()
	return func(context.Context) error {
		f.mu.Lock()
		f.got = target.BurnCPU(b, f.start)
		f.mu.Unlock()
		return b.Stop()
	}, nil
}

func (f *cpuSpike) Requested() float64 { return float64(f.cores) }

// Achieved is the stressor's own CPU (process target) measured at revert;
// for the container target the runner reads the container's CPU instead.
func (f *cpuSpike) Achieved() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got
}
