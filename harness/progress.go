package harness

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/quannex/gameday/harness/load"
)

// progressLoop prints a line every 5 seconds until ctx ends.
func (r *runner) progressLoop(ctx context.Context, start time.Time) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		w := load.Summarise(r.gen.Records(), now.Add(-5*time.Second), now)
		states := r.src.states(ctx)
		sort.Strings(states)
		if len(states) == 0 {
			states = []string{"none"}
		}
		r.mu.Lock()
		phase := r.phase
		r.mu.Unlock()
		r.printf("[%s] %-8s rate %5.1f/s  live %5.1f%%  p95 %4dms  codes %-12s alerts %s",
			elapsed(now.Sub(start)), phase, float64(w.Requests)/5, w.LiveRatio()*100, w.Quantile(0.95).Milliseconds(), codes(w.Codes), strings.Join(states, ","))
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func sleepUntil(ctx context.Context, at time.Time) bool { return sleep(ctx, time.Until(at)) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// cpuSource names where a gate's CPU samples come from.
func cpuSource(kind string) string {
	if kind == TargetContainer {
		return "docker-stats"
	}
	return "gopsutil"
}

// cpuMeter measures the harness process's CPU use, in cores, between
// calls (gopsutil).
type cpuMeter struct {
	at  time.Time
	cpu float64
}

func newCPUMeter() *cpuMeter {
	m := &cpuMeter{}
	m.cores()
	return m
}

func (m *cpuMeter) cores() float64 {
	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		return 0
	}
	t, err := p.Times()
	if err != nil {
		return 0
	}
	now, cpu := time.Now(), t.User+t.System
	var v float64
	if !m.at.IsZero() {
		v = (cpu - m.cpu) / now.Sub(m.at).Seconds()
	}
	m.at, m.cpu = now, cpu
	return v
}

// elapsed formats d as mm:ss for progress lines.
func elapsed(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
