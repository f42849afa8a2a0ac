// Package fault holds the GameDay faults. Each is one small type in its own
// file implementing Fault; Registry builds them by name, in one place.
//
// Every fault is reverted by the function Inject returns, which the runner
// calls on every exit path (success, failure, timeout, panic, Ctrl-C), and
// switches itself off if the harness dies: the stressor has a deadline, the
// gate's faults a TTL, and a permission change is recorded for
// `gameday cleanup`.
package fault

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// Host is what faults need of the gate under test: its host, filesystem
// and CPU domain.
type Host interface {
	CacheDir() string
	Burn(ctx context.Context, cores int, d time.Duration) (target.Burn, error)
	// ProbeWrite creates and removes a file in the gate's cache directory
	// as the gate's own user, in the gate's filesystem view: nil when the
	// write succeeded, target.ErrWriteDenied when the filesystem refused it.
	ProbeWrite(ctx context.Context) error
	// AvailableCores is the CPU the target's domain may use: its CPU limit,
	// or the host's cores.
	AvailableCores() float64
}

// Env is what a fault gets besides the host.
type Env struct {
	Gate *gateapi.Client // the gate's API, with the admin token
	// ScrapePath is the path the harness scrapes the gate through, when
	// the scenario breaks it (scrape-path); nil otherwise.
	ScrapePath ScrapePath
	Seed       uint64
	Duration   time.Duration
}

// Fault is one injectable failure.
type Fault interface {
	Name() string
	// Inject starts the fault; revert ends it and must be safe to call
	// after the fault has switched itself off.
	Inject(ctx context.Context, t Host, env Env) (revert func(context.Context) error, err error)
}

// Sampler is implemented by faults that burn CPU (cpu-spike): Requested is
// the cores asked for; the runner measures what the target's CPU domain
// achieved over the fault's window and proves the fault with it.
type Sampler interface {
	Requested() float64
}

// Fallback is implemented by faults that make the gate serve snapshots
// (they break live generation or its recording); a scenario may expect
// snapshot evidence only when one of its faults does.
type Fallback interface {
	ForcesFallback() bool
}

// Prober is implemented by faults that prove, while injected and after
// their revert, that they took effect (cache-readonly: a write as the
// gate's user fails while injected and succeeds after). Probe is called
// once while the fault is active (active true) and once after the revert.
type Prober interface {
	Probe(ctx context.Context, t Host, active bool) error
}

// SelfProver is implemented by faults that prove themselves from what
// they recorded while injected (crash: how each kill ended and the
// restart count); the runner takes the proof at the revert.
type SelfProver interface {
	Proof() *reports.Proof
}

// ContainerOnly is implemented by faults the process target cannot take:
// what they need that only a container gives. A scenario with one is
// refused on the process target before anything starts.
type ContainerOnly interface {
	ContainerOnly() string
}

// RootOnly is implemented by faults that need the harness to be root on
// the gate's host, naming why; they are refused before anything starts
// otherwise.
type RootOnly interface {
	RootOnly() string
}

// KillRecorder is implemented by the crash fault: its kills of the gate,
// for the report and the crash checks.
type KillRecorder interface {
	Kills() []reports.Kill
}

// AdminCaller is implemented by the disk-full fault: the admin calls it
// made while injected, for the report and the audit_resumed check; nil
// when it made none by design.
type AdminCaller interface {
	AdminCalls() *reports.AdminCalls
}

// ChaosRecorder is implemented by the faults a kube target injects as
// Chaos Mesh objects: the object and the pods its status proved injected.
type ChaosRecorder interface {
	Chaos() *reports.Chaos
}

// NotLandedError is returned by Inject, together with a revert, when the
// fault was started but not proved to land within its deadline (a Chaos
// Mesh object whose status never showed it injected). The runner keeps
// the revert, which must still run, and stops the run as a breached stop
// condition does: no verdict rests on a fault that never landed.
type NotLandedError struct{ Err error }

func (e *NotLandedError) Error() string { return "not injected: " + e.Err.Error() }

func (e *NotLandedError) Unwrap() error { return e.Err }

// Factory builds a fault from its scenario parameters.
type Factory func(params map[string]string) (Fault, error)

// Registry lists every fault by name.
var Registry = map[string]Factory{
	"cpu-spike":         newCPUSpike,
	"cache-readonly":    newCacheReadonly,
	"crash":             newCrash,
	"disk-full":         newDiskFull,
	"memory-pressure":   newMemoryPressure,
	"scrape-path":       newScrapePath,
	"generator-latency": newGeneratorLatency,
}

// ParamError names the parameter of a fault that is wrong.
type ParamError struct {
	Fault, Param, Problem string
	// Takes lists the parameters the fault takes, when Param is not one
	// of them.
	Takes []string
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return e.Fault + ": " + e.Problem
	}
	return e.Fault + ": parameter " + e.Param + ": " + e.Problem
}

// Misnamed gives the parameter that is not known and the ones that are
// (none when the parameter is known and its value is wrong).
func (e *ParamError) Misnamed() (string, []string) {
	if e.Takes == nil {
		return "", nil
	}
	return e.Param, e.Takes
}

// Field is the parameter's scenario path below the fault, such as
// "params.cores" (empty when no single parameter is to blame).
func (e *ParamError) Field() string {
	if e.Param == "" {
		return "params"
	}
	return "params." + e.Param
}

// Known checks a fault of a scenario: the name is registered and the
// parameters build it. It is the scenario package's view of Registry, so
// a bad parameter is found when the file is loaded, not mid-run.
func Known(name string, params map[string]string) (scenario.FaultInfo, error) {
	f, err := New(name, params)
	if err != nil {
		return scenario.FaultInfo{}, err
	}
	info := scenario.FaultInfo{}
	if fb, ok := f.(Fallback); ok {
		info.ForcesFallback = fb.ForcesFallback()
	}
	if _, ok := f.(PathBreaker); ok {
		// A black hole or resets lose every answer; latency past the
		// scrape timeout or a tight bandwidth limit lose some.
		info.LosesScrapes = true
	}
	return info, nil
}

// Names lists the registered faults.
func Names() []string {
	out := make([]string, 0, len(Registry))
	for k := range Registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds the named fault.
func New(name string, params map[string]string) (Fault, error) {
	f, ok := Registry[name]
	if !ok {
		return nil, &UnknownError{Name: name, Known: Names()}
	}
	return f(params)
}

// ErrUnknown is returned for a fault name that is not registered.
var ErrUnknown = errors.New("unknown fault")

// UnknownError is the ErrUnknown of one name, with the names there are.
type UnknownError struct {
	Name  string
	Known []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("%v %q (known: %s)", ErrUnknown, e.Name, strings.Join(e.Known, ", "))
}

func (e *UnknownError) Is(target error) bool { return target == ErrUnknown }

// Misnamed gives the name that is not known and the ones that are, for a
// caller that suggests the nearest.
func (e *UnknownError) Misnamed() (string, []string) { return e.Name, e.Known }

// checkParams rejects parameters a fault does not take.
func checkParams(fault string, params map[string]string, allowed ...string) error {
	for k := range params {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return &ParamError{Fault: fault, Param: k, Problem: fmt.Sprintf("unknown parameter (takes %s)", strings.Join(allowed, ", ")), Takes: allowed}
		}
	}
	return nil
}

func intParam(fault string, params map[string]string, key string, def, lo, hi int) (int, error) {
	v, ok := params[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &ParamError{Fault: fault, Param: key, Problem: fmt.Sprintf("want an integer from %d to %d", lo, hi)}
	}
	return n, nil
}

func durationParam(fault string, params map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := params[key]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, &ParamError{Fault: fault, Param: key, Problem: "want a duration such as 300ms"}
	}
	return d, nil
}

// Slower is implemented by faults that slow every live generation by at
// least MinAdded (generator-latency); the run proves them by live
// responses during the fault at least that much slower than the baseline
// median.
type Slower interface {
	MinAdded() time.Duration
}

// AdminAPI is implemented by faults that the gate's admin API injects and
// reverts by itself (generator-latency). They need nothing of the gate's
// host, so they are the only faults a gate the harness did not start can
// take.
type AdminAPI interface {
	ViaAdminAPI()
}

// HostBound is implemented by faults that act on the gate's host; Needs
// names what they need of it, for the error that refuses them on a gate
// the harness did not start.
type HostBound interface {
	Needs() string
}

// RemoteCapable reports whether the named fault can hit a gate the harness
// did not start (it implements AdminAPI) and, when it cannot, what of the
// gate's host it needs. It is the one place that decides: a fault that
// says nothing is refused.
func RemoteCapable(name string) (ok bool, needs string) {
	f, err := New(name, nil)
	if err != nil {
		return false, err.Error()
	}
	if _, ok := f.(AdminAPI); ok {
		return true, ""
	}
	if h, ok := f.(HostBound); ok {
		return false, h.Needs()
	}
	return false, "the gate's host"
}

// RemoteNames lists the faults RemoteCapable accepts.
func RemoteNames() []string {
	var out []string
	for _, n := range Names() {
		if ok, _ := RemoteCapable(n); ok {
			out = append(out, n)
		}
	}
	return out
}
