package harness

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/reports"
)

// cpuAchievedFloor is the share of min(requested, available) cores a
// cpu-spike must burn for fault_achieved to pass.
const cpuAchievedFloor = 0.90

// cpuClock reads the cumulative CPU time of the target's CPU domain: the
// container's cgroup, or the gate and its stressors as processes.
type cpuClock interface {
	CPUTime(ctx context.Context) (at time.Time, cpu time.Duration, err error)
}

// cpuWindow measures the target domain's CPU and the whole host's busy
// CPU over one fault's window.
type cpuWindow struct {
	at   time.Time
	cpu  time.Duration
	host float64 // host busy CPU seconds, all cores
	err  error
}

func startCPUWindow(ctx context.Context, c cpuClock) *cpuWindow {
	w := &cpuWindow{}
	w.host, w.err = hostBusy(ctx)
	if w.err == nil {
		w.at, w.cpu, w.err = c.CPUTime(ctx)
	}
	return w
}

// hostBusy is the host's busy CPU time so far, in seconds over all cores.
func hostBusy(ctx context.Context) (float64, error) {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(ts) == 0 {
		return 0, fmt.Errorf("host CPU times: %v", err)
	}
	t := ts[0]
	return t.User + t.Nice + t.System + t.Irq + t.Softirq + t.Steal, nil
}

// cpuProof turns a cpu-spike's window into its proof. The CPU available to
// the target is its limit (or the host's cores) less what everything
// outside the target's domain used meanwhile (the harness, the load, any
// neighbour): that CPU was never the target's to burn. A stressor that
// burns nothing leaves the CPU idle, so available stays high and the check
// goes red.
func cpuProof(ctx context.Context, c cpuClock, w *cpuWindow, requested, limit float64) *reports.Proof {
	host, herr := hostBusy(ctx)
	at, used, err := c.CPUTime(ctx)
	if err := firstErr(w.err, herr, err); err != nil {
		return &reports.Proof{Unit: "cores", Requested: requested, Detail: fmt.Sprintf("CPU unreadable: %v", err)}
	}
	wall := at.Sub(w.at)
	if wall <= 0 {
		return &reports.Proof{Unit: "cores", Requested: requested, Detail: "no time elapsed in the fault window"}
	}
	achieved := float64(used-w.cpu) / float64(wall)
	others := max((host-w.host)/wall.Seconds()-achieved, 0)
	available := max(min(limit, hostCores()-others), 0)
	floor := cpuAchievedFloor * min(requested, available)
	return &reports.Proof{
		Unit: "cores", Requested: requested, Available: available, Achieved: achieved,
		Samples: int(wall / time.Second),
		Detail: fmt.Sprintf("requested %.2f, available %.2f (limit %.2f; %.2f used outside the target), achieved %.2f cores over %s (floor %.2f)",
			requested, available, limit, others, achieved, wall.Round(time.Second), floor),
		OK: achieved >= floor && floor > 0,
	}
}

func hostCores() float64 { return float64(runtime.NumCPU()) }

// latencyProofQuantile is the quantile of live latencies during a
// generator-latency fault that must exceed the baseline median by the
// fault's minimum. Not the median: concurrent requests share one
// generation, so a request that joins a generation already under way
// waits only for its remainder; the requests that wait for a whole one —
// roughly a fifth to a third of them at 20 req/s and 300–500 ms — are the
// slowest, and the 90th percentile falls among them.
const latencyProofQuantile = 0.90

// latencyProof: live responses during the fault's window must be at least
// minAdded slower (their latencyProofQuantile) than the baseline median.
func latencyProof(rs []load.Record, baseFrom, baseTo, from, to time.Time, minAdded time.Duration) *reports.Proof {
	live := func(a, b time.Time) []time.Duration {
		var out []time.Duration
		for _, r := range rs {
			if r.Source == "live" && !r.At.Before(a) && r.At.Before(b) {
				out = append(out, r.Latency)
			}
		}
		return out
	}
	base, during := live(baseFrom, baseTo), live(from, to)
	p := &reports.Proof{Unit: "ms", Requested: ms(minAdded), Samples: len(during)}
	if len(base) < minLatencySamples || len(during) < minLatencySamples {
		p.Detail = fmt.Sprintf("no evidence: %d live responses in the baseline and %d during the fault, want >= %d each",
			len(base), len(during), minLatencySamples)
		return p
	}
	bm, dm := load.Quantile(base, 0.5), load.Quantile(during, latencyProofQuantile)
	p.Achieved = ms(dm - bm)
	p.Detail = fmt.Sprintf("live p%.0f %s during (%d) vs median %s in the baseline (%d): +%s, want >= +%s",
		latencyProofQuantile*100, dm.Round(time.Millisecond), len(during), bm.Round(time.Millisecond), len(base), (dm - bm).Round(time.Millisecond), minAdded)
	p.OK = dm-bm >= minAdded
	return p
}

// writeProof records the two write probes of a cache-readonly fault.
func writeProof(during, after error, afterRan bool) *reports.Proof {
	p := &reports.Proof{Unit: "writes", Requested: 2}
	switch {
	case during != nil:
		p.Samples = 1
		p.Detail = during.Error()
	case !afterRan:
		p.Samples, p.Achieved = 1, 1
		p.Detail = "refused while injected; not probed after the revert"
	case after != nil:
		p.Samples, p.Achieved = 2, 1
		p.Detail = after.Error()
	default:
		p.Samples, p.Achieved, p.OK = 2, 2, true
		p.Detail = "a write as the gate's user was refused while injected and succeeded after the revert"
	}
	return p
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// pathFailFloor is the share of the harness's scrapes during a black hole
// or resets on the scrape path that must fail for fault_achieved to pass.
const pathFailFloor = 0.90

// pathSlowFloor is the share of a latency or bandwidth fault's added time
// the median scrape during it must show over the baseline's median.
const pathSlowFloor = 0.90

// pathScrapes is what the harness's own scrapes saw in a window: how long
// each took, and how many failed.
type pathScrapes struct {
	took        []time.Duration
	failed, all int
	timeout     time.Duration // the shortest job's scrape timeout
	toxic       string        // the toxic, for the detail
}

// pathProof proves a fault on the scrape path (fault.PathBreaker): the
// toxic held the path while injected and was gone after, and the scrapes
// during it saw its effect — failed (a black hole, resets), or slower than
// the baseline's median by most of the fault's Added (or of the scrape
// timeout, where the timeout cut them short).
func pathProof(pb fault.PathBreaker, base, during pathScrapes) *reports.Proof {
	seen, gone := pb.ToxicSeen()
	var toxic string
	switch {
	case !seen:
		toxic = "the toxic was not on the path after the injection"
	case !gone:
		toxic = "the toxic was still on the path after the revert"
	default:
		toxic = fmt.Sprintf("toxic %s on the path while injected, gone after", during.toxic)
	}
	if !seen || !gone {
		// A toxic never on the path, or left on it, fails the proof
		// whatever the scrapes saw: a finding, not a want of evidence.
		unit := "scrapes"
		if !pb.Fails() {
			unit = "scrape-ms"
		}
		return &reports.Proof{Unit: unit, Samples: max(during.all, 1),
			Detail: fmt.Sprintf("%s; %d scrapes wholly under it, %d failed", toxic, during.all, during.failed)}
	}
	if pb.Fails() {
		p := &reports.Proof{Unit: "scrapes", Requested: pathFailFloor, Samples: during.all}
		if during.all == 0 {
			p.Detail = "no evidence: no scrape of the harness's ran wholly under the toxic; " + toxic
			return p
		}
		p.Achieved = float64(during.failed) / float64(during.all)
		p.Detail = fmt.Sprintf("%s; %d of the %d scrapes wholly under it failed (want >= %.0f%%), median %s",
			toxic, during.failed, during.all, pathFailFloor*100, load.Quantile(during.took, 0.5).Round(time.Millisecond))
		p.OK = p.Achieved >= pathFailFloor
		return p
	}
	// The scrapes of the baseline and of the fault are not the same
	// requests (a connection's set-up, the gate's generation): a latency
	// toxic of 2 s measured +1.997 s on the process target. The floor is
	// pathSlowFloor of what was asked, or of the scrape timeout where the
	// timeout cuts the scrapes short.
	want := pb.Added()
	if during.timeout > 0 && want > during.timeout {
		want = during.timeout
	}
	want = time.Duration(pathSlowFloor * float64(want))
	p := &reports.Proof{Unit: "scrape-ms", Requested: ms(want), Samples: len(during.took)}
	if len(base.took) == 0 || len(during.took) == 0 {
		p.Detail = fmt.Sprintf("no evidence: %d scrapes in the baseline and %d during the fault; %s", len(base.took), len(during.took), toxic)
		return p
	}
	bm, dm := load.Quantile(base.took, 0.5), load.Quantile(during.took, 0.5)
	p.Achieved = ms(dm - bm)
	p.Detail = fmt.Sprintf("%s; median scrape %s wholly under it (%d, %d failed) vs %s in the baseline (%d): +%s, want >= +%s",
		toxic, dm.Round(time.Millisecond), len(during.took), during.failed, bm.Round(time.Millisecond), len(base.took),
		(dm - bm).Round(time.Millisecond), want)
	p.OK = dm-bm >= want
	return p
}
