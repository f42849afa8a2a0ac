package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/quannex/gameday/harness/load"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// The brake. A run watches its stop conditions from the start of the
// baseline to the end of recovery: the scenario's own (stop_when, PromQL
// on the run's alert source, at every scrape interval) and the built-in
// ones (a burst of 5xx seen by the load, the load's live ratio below a
// floor for longer than the scenario allows, every second). A condition
// breaches once it has held at every evaluation for its `for`; the
// operator's stop (Options.Stop: SIGUSR1, gameday stop) breaches at once,
// until the run ends. A breach before the first injection is a pre-flight
// failure (preflight.go); after it, stopRun reverts every fault at once,
// the schedule injects nothing more, and the run goes on observing
// through recovery and the steady state after, to end aborted.

// stopWindow is the stretch of load the built-in conditions read.
const stopWindow = 10 * time.Second

// condition is one stop condition as the brake evaluates it, and what the
// brake saw of it (guarded by the runner's mu once the watch runs).
type condition struct {
	name, expr string
	forDur     time.Duration
	every      time.Duration
	// eval tells whether the condition holds at now and its value there.
	eval func(ctx context.Context, now time.Time) (holds bool, value float64, err error)
	// reason says what held, for the report and the progress line.
	reason func(value float64, held time.Duration) string

	evals   int       // evaluations that gave an answer
	errs    int       // evaluations that failed
	lastErr error     // the last failure
	since   time.Time // holding since; zero: not holding
	last    time.Time // the last evaluation
}

// breach is a stop condition that held long enough, or the operator's
// stop (cond nil).
type breach struct {
	cond   *condition
	value  float64
	reason string
	at     time.Time
}

// stopConditions builds the run's conditions: the built-in ones unless
// the scenario turns them off, then its own.
func (r *runner) stopConditions() []*condition {
	var out []*condition
	b := r.spec.StopBuiltins
	if !b.Off {
		out = append(out, r.burst5xx(b.Burst()), r.liveFloor(b.Floor()))
	}
	for _, c := range r.spec.StopWhen {
		out = append(out, r.promCondition(c))
	}
	return out
}

// burst5xx breaches on n responses >= 500 within the last stopWindow.
func (r *runner) burst5xx(n int) *condition {
	return &condition{name: scenario.Stop5xxBurst, every: time.Second,
		eval: func(_ context.Context, now time.Time) (bool, float64, error) {
			bad := 0
			for _, rec := range r.gen.Since(now.Add(-stopWindow)) {
				if rec.Code >= 500 {
					bad++
				}
			}
			return bad >= n, float64(bad), nil
		},
		reason: func(v float64, _ time.Duration) string {
			return fmt.Sprintf("%.0f responses >= 500 within %s (the burst that stops the run: %d)", v, stopWindow, n)
		}}
}

// liveFloor breaches when the live ratio of the last stopWindow stays
// below floor for d, outside the stretch in which the scenario expects
// snapshots (allowsSnapshots). A window with too few responses to judge
// does not hold.
func (r *runner) liveFloor(floor float64, d time.Duration) *condition {
	return &condition{name: scenario.StopLiveRatio, every: time.Second, forDur: d,
		eval: func(_ context.Context, now time.Time) (bool, float64, error) {
			w := load.Summarise(r.gen.Since(now.Add(-stopWindow)), now.Add(-stopWindow), now)
			if w.Requests < minStopResponses {
				return false, 0, nil
			}
			ratio := w.LiveRatio()
			return ratio < floor && !r.allowsSnapshots(now), ratio, nil
		},
		reason: func(v float64, held time.Duration) string {
			return fmt.Sprintf("live ratio %.0f%%, below the floor %.0f%% for %s", v*100, floor*100, held.Round(time.Second))
		}}
}

// minStopResponses is the fewest responses a stopWindow needs for the live
// ratio floor to judge it.
const minStopResponses = 5

// promCondition breaches when c's expression has a result on the run's
// alert source at every evaluation for c.For.
func (r *runner) promCondition(c scenario.StopCondition) *condition {
	return &condition{name: c.Name, expr: c.Expr, forDur: c.For.D(), every: r.opts.ScrapeInterval,
		eval: func(ctx context.Context, now time.Time) (bool, float64, error) {
			qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			vals, err := r.src.query(qctx, c.Expr, now)
			if err != nil || len(vals) == 0 {
				return false, 0, err
			}
			return true, vals[0], nil
		},
		reason: func(v float64, held time.Duration) string {
			if held < time.Second {
				return fmt.Sprintf("%s has a result (%g)", c.Expr, v)
			}
			return fmt.Sprintf("%s had a result (%g) for %s", c.Expr, v, held.Round(time.Second))
		}}
}

// allowsSnapshots reports whether the scenario expects snapshots at now:
// it does (expect.snapshots_during) and now is between the first
// injection and expect.recovery.within after the last revert.
func (r *runner) allowsSnapshots(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.snapshotsFrom.IsZero() && !now.Before(r.snapshotsFrom) && (r.snapshotsUntil.IsZero() || now.Before(r.snapshotsUntil))
}

// allowSnapshots opens (until zero: to the end of the faults) or closes
// the stretch in which the scenario expects snapshots.
func (r *runner) allowSnapshots(from, until time.Time) {
	if !r.spec.Expect.SnapshotsDuring {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snapshotsFrom.IsZero() {
		r.snapshotsFrom = from
	}
	r.snapshotsUntil = until
}

// startBrake starts watching the stop conditions and the operator's stop.
// The conditions are watched until endBrake (the end of recovery); the
// operator's stop until ctx ends.
func (r *runner) startBrake(ctx context.Context, wg *sync.WaitGroup) {
	r.stops = r.stopConditions()
	r.braking.Store(true)
	wg.Add(1)
	go func() { defer wg.Done(); r.watchStops(ctx) }() // ends with ctx, or at the breach
}

// endBrake stops evaluating the stop conditions (the end of recovery).
func (r *runner) endBrake() { r.braking.Store(false) }

// watchStops evaluates each condition on its own interval, on a one-second
// tick, until a breach or ctx's end.
func (r *runner) watchStops(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case <-r.opts.Stop:
			r.stopRun(breach{reason: "stopped by operator", at: time.Now()})
			return
		case now = <-t.C:
		}
		if !r.braking.Load() {
			continue
		}
		for _, c := range r.stops {
			if b, ok := r.evaluate(ctx, c, now); ok {
				r.stopRun(b)
				return
			}
		}
	}
}

// evaluate runs c when its interval has passed and reports a breach when
// it has held for its `for`.
func (r *runner) evaluate(ctx context.Context, c *condition, now time.Time) (breach, bool) {
	r.mu.Lock()
	due := c.last.IsZero() || now.Sub(c.last) >= c.every
	r.mu.Unlock()
	if !due {
		return breach{}, false
	}
	holds, v, err := c.eval(ctx, now)
	if r.hooks.BrakeNeverHolds {
		holds = false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c.last = now
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return breach{}, false
		}
		c.errs++
		if c.lastErr == nil || c.lastErr.Error() != err.Error() {
			r.say("stop condition %s: %v", c.name, err)
		}
		c.lastErr = err
		return breach{}, false
	case !holds:
		c.evals++
		c.since = time.Time{}
		return breach{}, false
	}
	c.evals++
	if c.since.IsZero() {
		c.since = now
	}
	held := now.Sub(c.since)
	if held < c.forDur {
		return breach{}, false
	}
	return breach{cond: c, value: v, reason: c.reason(v, held), at: now}, true
}

// stopRun ends the run at a breach, once: it records the abort, stops the
// schedule (no fault is injected after it) and reverts every fault at
// once. The injection in flight, if any, reverts itself as it lands
// (inject); closeAbort records every revert.
func (r *runner) stopRun(b breach) {
	r.mu.Lock()
	if r.rep.Abort != nil {
		r.mu.Unlock()
		return
	}
	ab := &reports.Abort{Condition: scenario.StopByOperator, Reason: b.reason, Value: b.value, BreachedAt: b.at.UTC(), Phase: r.phase}
	if b.cond != nil {
		ab.Condition, ab.Expr = b.cond.name, b.cond.expr
	}
	r.rep.Abort = ab
	cancel := r.cancelSchedule
	r.mu.Unlock()
	close(r.breached)
	r.say("stop: %s (%s): reverting every fault", ab.Condition, ab.Reason)
	if cancel != nil {
		cancel()
	}
	if !r.hooks.SkipRevertOnStop {
		r.revertAllAtOnce()
	}
	r.closeAbort()
	r.sweep()
	r.notifyAbort()
}

// notifyAbort hands the abort record to Options.OnAbort.
func (r *runner) notifyAbort() {
	if r.opts.OnAbort == nil {
		return
	}
	r.mu.Lock()
	ab := *r.rep.Abort
	ab.Reverts = append([]reports.Revert(nil), ab.Reverts...)
	r.mu.Unlock()
	r.opts.OnAbort(ab)
}

// sweep looks, once the reverts are done, for faults of ours still active
// in every gate's fault API, and records what it found in the abort.
func (r *runner) sweep() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	left := r.faultsLeft(ctx)
	at := time.Now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	if ab := r.rep.Abort; ab != nil {
		ab.LeftBehind, ab.SweptAt = left, &at
	}
}

// aborted reports whether a stop condition breached or the operator
// stopped the run.
func (r *runner) aborted() bool {
	select {
	case <-r.breached:
		return true
	default:
		return false
	}
}

// revertAllAtOnce reverts every injected fault concurrently, each in its
// own goroutine (a fleet's replicas, a CPU spike beside a latency fault):
// the breach-to-revert time is the slowest revert, not their sum.
func (r *runner) revertAllAtOnce() {
	r.mu.Lock()
	faults := append([]*injection(nil), r.faults...)
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, inj := range faults {
		wg.Add(1)
		go func() { defer wg.Done(); r.revertOne(inj) }() // ends with the revert's own 30 s bound
	}
	wg.Wait()
}

// closeAbort records, in the abort, every fault that was injected at the
// breach or landed after it, with its revert, and the breach-to-revert
// time once all are reverted. Called after each revert that can follow a
// breach; the last call has them all.
func (r *runner) closeAbort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	ab := r.rep.Abort
	if ab == nil {
		return
	}
	ab.Reverts, ab.RevertedAt, ab.BreachToRevertSeconds = nil, nil, nil
	last, open := ab.BreachedAt, false
	for _, inj := range r.faults {
		if inj.rec == nil || inj.reverted == nil {
			continue // never injected
		}
		rev := inj.rec.RevertedAt
		if !rev.IsZero() && rev.Before(ab.BreachedAt) {
			continue // over before the breach
		}
		if rev.IsZero() {
			open = true
		}
		ab.Reverts = append(ab.Reverts, reports.Revert{Fault: inj.spec.Name, Instance: inj.in.name, RevertedAt: rev, Error: inj.rec.RevertErr})
		last = maxTime(last, rev)
	}
	if open {
		return
	}
	secs := last.Sub(ab.BreachedAt).Seconds()
	ab.RevertedAt, ab.BreachToRevertSeconds = &last, &secs
}
