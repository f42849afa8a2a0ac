package harness

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrPreflight is returned (wrapped in a *PreflightError) by a run that
// found, at the end of its baseline, a reason not to inject anything: a
// stop condition that already holds (or breached during the baseline),
// one that does not evaluate, an alert the scenario expects already
// firing, or a fault of ours still active on a gate (left by a killed
// run). Nothing was injected.
var ErrPreflight = errors.New("pre-flight")

// PreflightError lists what the pre-flight found.
type PreflightError struct{ Found []string }

func (e *PreflightError) Error() string {
	return "pre-flight: " + strings.Join(e.Found, "; ") + ": nothing injected"
}

func (e *PreflightError) Unwrap() error { return ErrPreflight }

// preflight runs at the end of the baseline, the last moment before the
// first fault. It evaluates every stop condition once more (a condition
// that holds now would stop the run at its first evaluation after the
// injection), reads the alert source's alerts and every gate's fault API.
func (r *runner) preflight(ctx context.Context) error {
	var found []string
	if r.aborted() {
		r.mu.Lock()
		ab := *r.rep.Abort
		r.mu.Unlock()
		found = append(found, fmt.Sprintf("stop condition %s breached during the baseline: %s", ab.Condition, ab.Reason))
	} else {
		found = append(found, r.conditionsHolding(ctx)...)
	}
	found = append(found, r.expectedFiring(ctx)...)
	if left := r.faultsLeft(ctx); len(left) > 0 {
		found = append(found, fmt.Sprintf("a fault of ours is already active (%s): left by a killed run? It ends by its TTL, or DELETE /admin/faults", strings.Join(left, "; ")))
	}
	if len(found) == 0 {
		return nil
	}
	err := &PreflightError{Found: found}
	r.mu.Lock()
	r.preflightErr = err
	r.mu.Unlock()
	return err
}

// conditionsHolding evaluates every stop condition now.
func (r *runner) conditionsHolding(ctx context.Context) []string {
	var found []string
	now := time.Now()
	for _, c := range r.stops {
		holds, v, err := c.eval(ctx, now)
		switch {
		case err != nil:
			found = append(found, fmt.Sprintf("stop condition %s does not evaluate: %v", c.name, err))
		case holds && !r.hooks.BrakeNeverHolds:
			found = append(found, fmt.Sprintf("stop condition %s already holds: %s", c.name, c.reason(v, 0)))
		}
	}
	return found
}

// expectedFiring lists the alerts the scenario expects to fire that
// already do: their firing would prove nothing of the fault.
func (r *runner) expectedFiring(ctx context.Context) []string {
	var found []string
	states := r.src.states(ctx)
	for _, a := range r.spec.Expect.Alerts {
		if slices.Contains(states, a.Name+"=firing") {
			found = append(found, fmt.Sprintf("alert %s, which the scenario expects the fault to fire, is already firing", a.Name))
		}
	}
	return found
}

// faultsLeft lists the faults of ours active in each gate's fault API
// ("replica-2: latency until 15:04:05Z"), and the gates whose fault API
// did not answer.
func (r *runner) faultsLeft(ctx context.Context) []string {
	var found []string
	for _, in := range r.ins {
		if !in.api.HasAdmin() {
			continue // no admin token, no admin-API fault of ours either
		}
		active, err := in.api.ActiveFaults(ctx)
		name := in.name
		if name == "" {
			name = in.url
		}
		if err != nil {
			found = append(found, fmt.Sprintf("%s: the fault API does not answer: %v", name, err))
		}
		for _, a := range active {
			found = append(found, name+": "+a)
		}
	}
	return found
}
