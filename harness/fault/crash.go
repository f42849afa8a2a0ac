package fault

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// crash SIGKILLs the gate under load, as the OOM killer, a node drain or
// a bad deploy would, and lets its target restart it: the process target
// restarts it itself, a container its restart policy. Just before each
// kill it keeps the gate busy with a burst of admin calls (POST
// /e2e/pass), so that the kill lands among audit writes; each call the
// gate acknowledged names its audit entry, which must survive the kill.
// The first kill lands with the injection; with times > 1 the next ones
// come every `every`. Its proof is what the target saw of each kill (the
// exit by SIGKILL, the restart count), not the request to kill.
type crash struct {
	times int
	every time.Duration

	mu    sync.Mutex
	kills []reports.Kill
	err   error // a kill or restart that failed
	stop  context.CancelFunc
	done  chan struct{}
}

// Crashable is a host whose target restarts a killed gate.
type Crashable interface {
	// Kill sends SIGKILL to the gate and waits until its target has
	// started it again and it is ready, on the same address.
	Kill(ctx context.Context) (target.Crash, error)
}

func newCrash(params map[string]string) (Fault, error) {
	if err := checkParams("crash", params, "times", "every"); err != nil {
		return nil, err
	}
	n, err := intParam("crash", params, "times", 1, 1, 10)
	if err != nil {
		return nil, err
	}
	every, err := durationParam("crash", params, "every", 20*time.Second)
	if err != nil {
		return nil, err
	}
	if every < 5*time.Second {
		return nil, &ParamError{Fault: "crash", Param: "every", Problem: "at least 5s: the gate must come back between two kills"}
	}
	return &crash{times: n, every: every}, nil
}

func (f *crash) Name() string { return "crash" }

// Needs: the gate's process and what restarts it.
func (f *crash) Needs() string { return "the gate's process and its supervisor" }

// Inject kills the gate once, at once, and the rest of the times on their
// schedule in the background; a target that cannot kill and restart the
// gate, or a schedule that does not fit in the fault, fails it.
func (f *crash) Inject(ctx context.Context, t Host, env Env) (func(context.Context) error, error) {
	c, ok := t.(Crashable)
	if !ok {
		return nil, fmt.Errorf("crash: this target cannot kill and restart the gate")
	}
	if span := time.Duration(f.times-1) * f.every; env.Duration > 0 && span >= env.Duration {
		return nil, fmt.Errorf("crash: %d kills %s apart take %s, not within the fault's %s", f.times, f.every, span, env.Duration)
	}
	if err := f.kill(ctx, c, env.Gate); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stop, f.done = cancel, make(chan struct{})
	go func() { // ends after the last kill, or at the revert
		defer close(f.done)
		for i := 1; i < f.times; i++ {
			select {
			case <-bg.Done():
				return
			case <-time.After(f.every):
			}
			if err := f.kill(bg, c, env.Gate); err != nil {
				return
			}
		}
	}()
	return func(context.Context) error {
		f.stop()
		<-f.done
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.err != nil {
			return fmt.Errorf("crash: %w", f.err)
		}
		return nil
	}, nil
}

// burstFor is how long the admin calls run before a kill, and burstCalls
// how many run side by side.
const (
	burstFor   = 300 * time.Millisecond
	burstCalls = 4
)

// kill runs a burst of admin calls, kills the gate in the middle of it,
// and records the kill: how it ended, the restart, what the burst had
// acknowledged, and whether the restarted gate holds its verified
// snapshot.
func (f *crash) kill(ctx context.Context, c Crashable, gate *gateapi.Client) error {
	burst, stopBurst := context.WithCancel(ctx)
	burstStart := time.Now()
	acked := adminBurst(burst, gate)
	time.Sleep(burstFor)
	at := time.Now()
	cr, err := c.Kill(ctx)
	stopBurst()
	if !cr.At.IsZero() {
		at = cr.At // the death the target saw, after the request
	}
	k := reports.Kill{At: at.UTC(), Signal: cr.Signal, ExitCode: cr.ExitCode, RestartsBefore: cr.RestartsBefore, Restarts: cr.Restarts,
		Acknowledged: <-acked}
	if err == nil {
		k.BackAt = at.Add(cr.Down).UTC()
		k.SnapshotVerified = snapshotVerified(ctx, gate)
		k.E2EKept, k.Rejected = keptState(ctx, gate, burstStart)
	} else {
		k.Error = err.Error()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills = append(f.kills, k)
	if err != nil {
		if ctx.Err() == nil {
			f.err = err
		}
		return fmt.Errorf("crash: %w", err)
	}
	return nil
}

// adminBurst sends admin calls (POST /e2e/pass) side by side until ctx
// ends and delivers the audit entries the gate named in its answers: the
// calls it acknowledged. Without an admin token there is no burst.
func adminBurst(ctx context.Context, gate *gateapi.Client) <-chan []string {
	out := make(chan []string, 1)
	if gate == nil || !gate.HasAdmin() {
		out <- nil
		return out
	}
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for range burstCalls {
		wg.Add(1)
		go func() { // ends with ctx, or at the first failed call (the kill)
			defer wg.Done()
			for ctx.Err() == nil {
				r, err := gate.Do(ctx, http.MethodPost, "/e2e/pass", gateapi.AdminTok, "", nil)
				if err != nil || r.Code != http.StatusOK {
					return
				}
				if h := r.Header.Get("X-Audit-Entry"); h != "" {
					mu.Lock()
					acked = append(acked, h)
					mu.Unlock()
				}
			}
		}()
	}
	go func() { wg.Wait(); out <- acked }() // ends when the burst's calls have
	return out
}

// snapshotVerified asks the restarted gate's selftest whether it holds a
// verified snapshot.
func snapshotVerified(ctx context.Context, gate *gateapi.Client) bool {
	if gate == nil || !gate.HasAdmin() {
		return false
	}
	r, err := gate.Do(ctx, http.MethodGet, "/metrics/selftest", gateapi.AdminTok, "", nil)
	if err != nil || r.Code != http.StatusOK {
		return false
	}
	var st struct {
		Snapshot struct{ Present, Verified bool }
	}
	return json.Unmarshal(r.Body, &st) == nil && st.Snapshot.Present && st.Snapshot.Verified
}

// keptState reads the restarted gate's own metrics: whether its e2e pass
// is at least as recent as the burst the killed gate acknowledged (the
// pass is persisted in the cache directory), and how many cache files it
// refused at its start.
func keptState(ctx context.Context, gate *gateapi.Client, burstStart time.Time) (e2eKept bool, rejected int) {
	if gate == nil {
		return false, 0
	}
	vec, err := gate.Self(ctx)
	if err != nil {
		return false, 0
	}
	e2e := integrity.Sum(vec, metrics.E2ELastPass)
	return e2e >= float64(burstStart.Unix()), int(integrity.Sum(vec, metrics.SnapshotRejected))
}

// Kills are the kills so far, for the report.
func (f *crash) Kills() []reports.Kill {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]reports.Kill(nil), f.kills...)
}

// Proof is what the target saw of each kill: the gate ended by SIGKILL,
// and the restart count rose by one per kill.
func (f *crash) Proof() *reports.Proof {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &reports.Proof{Unit: "restarts", Requested: float64(f.times), Samples: len(f.kills)}
	var parts []string
	good := 0
	for i, k := range f.kills {
		how := "signal " + k.Signal
		if k.Signal == "" {
			how = fmt.Sprintf("exit code %d", k.ExitCode)
		}
		if k.Signal == "killed" && k.Restarts == k.RestartsBefore+1 && k.Error == "" {
			good++
		}
		back := "not back"
		if !k.BackAt.IsZero() {
			back = "back in " + k.BackAt.Sub(k.At).Round(10*time.Millisecond).String()
		}
		parts = append(parts, fmt.Sprintf("kill %d: %s, restart count %d → %d, %s", i+1, how, k.RestartsBefore, k.Restarts, back))
	}
	p.Achieved = float64(good)
	p.OK = good == f.times
	p.Detail = strings.Join(parts, "; ")
	if f.err != nil {
		p.Detail += "; " + f.err.Error()
	}
	if p.Detail == "" {
		p.Detail = "no kill landed"
	}
	return p
}
