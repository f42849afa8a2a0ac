package harness

import (
	"context"
	"sync"
	"time"
)

// lifecycle stops what a run started, in the reverse order of their start,
// as efficientgo/e2e's environment does: every piece — a gate, a fleet, a
// receiver, Alertmanager, Prometheus, the load, the faults — is pushed the
// moment it runs, so tearing down after a failed or panicked set-up stops
// exactly what started, whatever else did not.
type lifecycle struct {
	mu    sync.Mutex
	stops []stopper
}

type stopper struct {
	name string
	stop func(context.Context) error
}

// stopTimeout bounds one piece's stop: a Docker removal, a fleet's
// replicas, a server's exit.
const stopTimeout = 2 * time.Minute

// push records that name runs and how to stop it. stop gets a context that
// is not the run's (which may be gone) and is called once.
func (l *lifecycle) push(name string, stop func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stops = append(l.stops, stopper{name, stop})
}

// stopAll stops every piece, last started first; a failed stop is
// reported through printf and does not keep the others running. Pieces
// pushed while it runs are stopped too.
func (l *lifecycle) stopAll(printf func(string, ...any)) {
	for {
		l.mu.Lock()
		n := len(l.stops)
		if n == 0 {
			l.mu.Unlock()
			return
		}
		s := l.stops[n-1]
		l.stops = l.stops[:n-1]
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		if err := s.stop(ctx); err != nil {
			printf("stopping %s: %v", s.name, err)
		}
		cancel()
	}
}

// once makes stop safe to call again (the load is stopped early by
// assemble, and again by the lifecycle).
func once(stop func(context.Context) error) func(context.Context) error {
	var (
		o   sync.Once
		err error
	)
	return func(ctx context.Context) error {
		o.Do(func() { err = stop(ctx) })
		return err
	}
}

// noErr adapts a stop that cannot fail.
func noErr(stop func()) func(context.Context) error {
	return func(context.Context) error { stop(); return nil }
}
