package mutants

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/quannex/gameday/harness/fault"
)

// ErrRevertReported is what a revertFails fault's revert returns.
var ErrRevertReported = errors.New("revert reported a failure (deliberately, after reverting)")

// revertFails returns fault.Registry with the named fault wrapped so that
// its revert returns an error after the real revert ran: the report must
// say so, and nothing is left broken on the machine.
func revertFails(name string) map[string]fault.Factory {
	return wrapFault(name, func(f fault.Fault) (fault.Fault, error) { return failingRevert{f}, nil })
}

// wrapFault returns fault.Registry with the named fault built as before
// and then passed through wrap.
func wrapFault(name string, wrap func(fault.Fault) (fault.Fault, error)) map[string]fault.Factory {
	reg := maps.Clone(fault.Registry)
	real := reg[name]
	reg[name] = func(params map[string]string) (fault.Fault, error) {
		f, err := real(params)
		if err != nil {
			return nil, err
		}
		return wrap(f)
	}
	return reg
}

// failingRevert is a fault whose revert fails. It keeps the wrapped
// fault's proof (Prober), so fault_achieved stays as it would be.
type failingRevert struct{ fault.Fault }

func (f failingRevert) Inject(ctx context.Context, t fault.Host, env fault.Env) (func(context.Context) error, error) {
	revert, err := f.Fault.Inject(ctx, t, env)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := revert(ctx); err != nil {
			return err
		}
		return ErrRevertReported
	}, nil
}

// Probe forwards to the wrapped fault's proof. A wrapped fault without
// one proves nothing, and says so rather than pass.
func (f failingRevert) Probe(ctx context.Context, t fault.Host, active bool) error {
	if p, ok := f.Fault.(fault.Prober); ok {
		return p.Probe(ctx, t, active)
	}
	return errNoProof
}

var errNoProof = errors.New("the wrapped fault has no proof")

// ForcesFallback forwards to the wrapped fault.
func (f failingRevert) ForcesFallback() bool {
	fb, ok := f.Fault.(fault.Fallback)
	return ok && fb.ForcesFallback()
}

// injectsNothing returns fault.Registry with the named scrape-path fault
// wrapped so that its injection puts nothing on the path: the run's
// scrapes go on as before, and the fault's proof must say so.
func injectsNothing(name string) map[string]fault.Factory {
	return wrapFault(name, func(f fault.Fault) (fault.Fault, error) {
		pb, ok := f.(fault.PathBreaker)
		if !ok {
			return nil, fmt.Errorf("mutant: %s is not a fault on the scrape path", name)
		}
		return noopPath{f, pb}, nil
	})
}

// noopPath is a fault on the scrape path that injects nothing. It keeps
// the wrapped fault's proof (fault.PathBreaker), which sees no toxic.
type noopPath struct {
	fault.Fault
	fault.PathBreaker
}

func (noopPath) Inject(context.Context, fault.Host, fault.Env) (func(context.Context) error, error) {
	return func(context.Context) error { return nil }, nil
}
