// Package scenario is the GameDay scenario spec: a serialisable description
// of a steady-state hypothesis, the load, the faults with their offsets and
// durations, the expectations and the steady state checked after. Specs are
// YAML; Parse reads one strictly and Validate names the first bad field.
// The three built-in scenarios are embedded YAML files in builtin/.
package scenario

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Spec is one scenario.
type Spec struct {
	Name        string      `yaml:"name" json:"name"`
	Description string      `yaml:"description" json:"description"`
	Labels      []string    `yaml:"labels" json:"labels"`
	Seed        uint64      `yaml:"seed" json:"seed"`
	Target      TargetSpec  `yaml:"target" json:"target"`
	Load        LoadSpec    `yaml:"load" json:"load"`
	Baseline    SteadyState `yaml:"baseline" json:"baseline"`
	Faults      []FaultSpec `yaml:"faults" json:"faults"`
	Expect      Expect      `yaml:"expect" json:"expect"`
	After       SteadyState `yaml:"after" json:"after"`
	// StopWhen are the scenario's own stop conditions, StopBuiltins tunes
	// (or turns off) the built-in ones (stop.go).
	StopWhen     []StopCondition `yaml:"stop_when,omitempty" json:"stop_when,omitempty"`
	StopBuiltins BuiltinStops    `yaml:"stop_builtins,omitempty" json:"stop_builtins,omitempty"`
}

// Target kinds a scenario may name; empty is the single gate the harness
// starts (its --target decides container or process).
const (
	KindFleet = "fleet"
)

// MaxReplicas is the largest fleet a scenario may ask for.
const MaxReplicas = 20

// TargetSpec holds target options a scenario may set.
type TargetSpec struct {
	// Kind is "" (one gate) or "fleet": Replicas gates on a private
	// Docker network, scraped by a real Prometheus whose alerts a real
	// Alertmanager routes to the harness.
	Kind     string `yaml:"kind,omitempty" json:"kind,omitempty"`
	Replicas int    `yaml:"replicas,omitempty" json:"replicas,omitempty"`
	// Canary is how many replicas (the first ones) carry track="canary";
	// the others carry track="stable".
	Canary int     `yaml:"canary,omitempty" json:"canary,omitempty"`
	CPUs   float64 `yaml:"cpus" json:"cpus"` // container CPU limit; 0: none
	// Memory is the container's memory limit, such as 256MiB (the
	// memory-pressure fault fills it); "": none.
	Memory string `yaml:"memory,omitempty" json:"memory,omitempty"`
	// TLS runs the gate with a web config serving a throwaway CA's server
	// certificate and requiring client certificates; every harness client
	// speaks TLS with the run's client certificate.
	TLS bool `yaml:"tls,omitempty" json:"tls,omitempty"`
}

// LoadSpec is the constant load.
type LoadSpec struct {
	Rate int `yaml:"rate" json:"rate"` // requests per second
}

// SteadyState is a window in which the live ratio must hold.
type SteadyState struct {
	Duration     Duration `yaml:"duration" json:"duration"`
	MinLiveRatio float64  `yaml:"min_live_ratio" json:"min_live_ratio"`
}

// FaultSpec is one fault: which, when (after the baseline), how long, and
// its parameters.
type FaultSpec struct {
	Name     string            `yaml:"name" json:"name"`
	Offset   Duration          `yaml:"offset" json:"offset"`
	Duration Duration          `yaml:"duration" json:"duration"`
	Params   map[string]string `yaml:"params" json:"params"`
	// Select is the fault's blast radius in a fleet: which replicas it
	// hits. Required in a fleet, refused elsewhere.
	Select *Selector `yaml:"select,omitempty" json:"select,omitempty"`
}

// Selector picks replicas of a fleet: exactly one of Count, Fraction or
// Names. Count and Fraction pick at random with the scenario's seed.
type Selector struct {
	Count    int      `yaml:"count,omitempty" json:"count,omitempty"`
	Fraction float64  `yaml:"fraction,omitempty" json:"fraction,omitempty"`
	Names    []string `yaml:"names,omitempty" json:"names,omitempty"`
}

// String is the selector as the report shows it.
func (s Selector) String() string {
	switch {
	case len(s.Names) > 0:
		return "names: " + strings.Join(s.Names, ", ")
	case s.Fraction > 0:
		return fmt.Sprintf("fraction: %g", s.Fraction)
	default:
		return fmt.Sprintf("count: %d", s.Count)
	}
}

// ReplicaName is the instance name of the i-th replica (from 1).
func ReplicaName(i int) string { return fmt.Sprintf("replica-%d", i) }

// Pick returns the instances the selector chooses among replicas (named
// ReplicaName(1..replicas)) for fault index i, deterministic in seed.
// Validate has checked the selector against replicas.
func (s Selector) Pick(replicas int, seed uint64, i int) []string {
	if len(s.Names) > 0 {
		return append([]string(nil), s.Names...)
	}
	n := s.Count
	if s.Fraction > 0 {
		n = s.fractionCount(replicas)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	perm := rng.Perm(replicas)[:n]
	sort.Ints(perm)
	out := make([]string, n)
	for k, p := range perm {
		out[k] = ReplicaName(p + 1)
	}
	return out
}

// fractionCount is how many replicas a fraction picks: rounded to the
// nearest whole replica.
func (s Selector) fractionCount(replicas int) int {
	return int(math.Round(s.Fraction * float64(replicas)))
}

// validate names the first problem of the selector against a fleet of
// replicas.
func (s Selector) validate(replicas int) (field, problem string) {
	set := 0
	if s.Count != 0 {
		set++
	}
	if s.Fraction != 0 {
		set++
	}
	if len(s.Names) > 0 {
		set++
	}
	switch {
	case set != 1:
		return "select", "give exactly one of count, fraction or names"
	case s.Count < 0 || s.Count > replicas:
		return "select.count", fmt.Sprintf("must be between 1 and the %d replicas", replicas)
	case !(s.Fraction >= 0 && s.Fraction <= 1): // NaN too: it would pick no replica
		return "select.fraction", "must be between 0 and 1, such as 0.1"
	case s.Fraction > 0 && s.fractionCount(replicas) == 0:
		return "select.fraction", fmt.Sprintf("%g of %d replicas picks no replica", s.Fraction, replicas)
	}
	seen := map[string]bool{}
	for k, n := range s.Names {
		var i int
		if _, err := fmt.Sscanf(n, "replica-%d", &i); err != nil || ReplicaName(i) != n || i < 1 || i > replicas {
			return fmt.Sprintf("select.names[%d]", k), fmt.Sprintf("%q is not a replica of this fleet (replica-1 to replica-%d)", n, replicas)
		}
		if seen[n] {
			return fmt.Sprintf("select.names[%d]", k), fmt.Sprintf("%q is named twice", n)
		}
		seen[n] = true
	}
	return "", ""
}

// Expect lists what must hold.
type Expect struct {
	No5xx              bool          `yaml:"no_5xx" json:"no_5xx"`
	NoTransportErrors  bool          `yaml:"no_transport_errors" json:"no_transport_errors"` // every request got a status
	All200             bool          `yaml:"all_200" json:"all_200"`
	MinLiveRatioDuring float64       `yaml:"min_live_ratio_during" json:"min_live_ratio_during"`
	SnapshotsDuring    bool          `yaml:"snapshots_during" json:"snapshots_during"` // snapshots must be served during the fault
	WarningOnSnapshots bool          `yaml:"warning_on_snapshots" json:"warning_on_snapshots"`
	MinP95During       Duration      `yaml:"min_p95_during" json:"min_p95_during"`
	Alerts             []AlertExpect `yaml:"alerts" json:"alerts"`
	NoUnexpectedAlerts bool          `yaml:"no_unexpected_alerts" json:"no_unexpected_alerts"`
	Recovery           Recovery      `yaml:"recovery" json:"recovery"`
	// Canary, in a fleet with canary replicas, evaluates the rollout's
	// canary gate (package canary) against the run's Prometheus when the
	// faults end and expects its decision.
	Canary        *CanaryExpect `yaml:"canary,omitempty" json:"canary,omitempty"`
	CountersAgree bool          `yaml:"counters_agree" json:"counters_agree"`
	LiveSHAValid  bool          `yaml:"livesha_valid" json:"livesha_valid"`
	// Stop makes the scenario a brake GameDay: it must end aborted by the
	// named condition, its faults reverted in time.
	Stop *StopExpect `yaml:"stop,omitempty" json:"stop,omitempty"`
	// Crash is what a scenario with a crash fault expects of each kill.
	Crash *CrashExpect `yaml:"crash,omitempty" json:"crash,omitempty"`
	// AuditResumed: after a disk-full fault on the audit log, the chain
	// verifies, an audit_unwritable entry covers the fault, and every
	// admin call the gate acknowledged meanwhile is in the log.
	AuditResumed bool `yaml:"audit_resumed" json:"audit_resumed"`
}

// CrashExpect is what a crash GameDay expects of each kill of the gate:
// live again within BackWithin, its restarted self holding its verified
// snapshot from its start, and the audit chain whole across the kills
// with every admin call the gate acknowledged before a kill in it.
type CrashExpect struct {
	BackWithin Duration `yaml:"back_within" json:"back_within"`
}

// AlertExpect is an alert that must fire within a bound of the first
// fault's injection and resolve within a bound of the last revert.
type AlertExpect struct {
	Name          string   `yaml:"name" json:"name"`
	FireWithin    Duration `yaml:"fire_within" json:"fire_within"`
	ResolveWithin Duration `yaml:"resolve_within" json:"resolve_within"`
	// DeliveredWithin and ResolutionDeliveredWithin (fleet only): the
	// firing and the resolved notification for every faulted instance
	// must reach the harness's Alertmanager receiver within these bounds
	// of the injection and of the revert.
	DeliveredWithin           Duration `yaml:"delivered_within,omitempty" json:"delivered_within,omitempty"`
	ResolutionDeliveredWithin Duration `yaml:"resolution_delivered_within,omitempty" json:"resolution_delivered_within,omitempty"`
}

// CanaryExpect is the canary gate's expected decision (abort or pass) over
// Window, evaluated when the last fault is reverted.
type CanaryExpect struct {
	Decision string   `yaml:"decision" json:"decision"`
	Window   Duration `yaml:"window" json:"window"`
	MaxDelta float64  `yaml:"max_delta" json:"max_delta"`
	// MinRequests is the fewest payload responses each side needs in
	// the window; fewer is inconclusive.
	MinRequests float64 `yaml:"min_requests" json:"min_requests"`
}

// Recovery: live ratio back to MinLiveRatio within Within of the revert.
type Recovery struct {
	MinLiveRatio float64  `yaml:"min_live_ratio" json:"min_live_ratio"`
	Within       Duration `yaml:"within" json:"within"`
}

// Duration reads "30s", "3m" in YAML and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 30s", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30s", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads a duration string (reports store specs as JSON).
func (d *Duration) UnmarshalJSON(b []byte) error {
	v, err := time.ParseDuration(strings.Trim(string(b), `"`))
	if err != nil {
		return fmt.Errorf("%s is not a duration", b)
	}
	*d = Duration(v)
	return nil
}

// FaultInfo is what validation needs to know of a fault.
type FaultInfo struct {
	// ForcesFallback: the fault makes the gate serve snapshots, so
	// snapshot expectations can have evidence.
	ForcesFallback bool
	// LosesScrapes: the fault can lose the gate's answers to the
	// harness's own scrapes on the way back, so the harness cannot hold
	// the gate's request counter to the responses it got (counters_agree).
	LosesScrapes bool
}

// FaultChecker checks one fault of a spec: its name is known and its
// parameters are valid. An error with a Field() string method names the
// parameter (such as "params.cores"). The harness's fault registry
// provides one (fault.Known); nil checks nothing.
type FaultChecker func(name string, params map[string]string) (FaultInfo, error)

// Parse reads one spec strictly (unknown fields are errors) and validates it.
func Parse(r io.Reader, knownFaults FaultChecker) (*Spec, error) {
	s, err := decode(r)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(knownFaults); err != nil {
		return nil, err
	}
	return s, nil
}

// FieldError names the field that is wrong, by its YAML path
// (faults[0].duration).
type FieldError struct {
	Field, Problem string
	// Unknown is a name that is not one of Known (a field, a fault): a
	// caller may suggest the nearest.
	Unknown string
	Known   []string
}

func (e *FieldError) Error() string { return "scenario: " + e.Field + ": " + e.Problem }

// Validate checks every field and returns the first problem, naming it.
// A check that is enabled but can have no evidence in this scenario is a
// problem too: it could never pass honestly.
func (s *Spec) Validate(knownFaults FaultChecker) error {
	if err := s.validateShape(); err != nil {
		return err
	}
	fallback, lost, err := s.validateFaults(knownFaults)
	if err != nil {
		return err
	}
	if lost >= 0 && s.Expect.CountersAgree {
		return bad("expect.counters_agree", fmt.Sprintf("faults[%d] (%s) breaks the path of the harness's scrapes: answers the gate counted can be lost on the way back, so its counter cannot be held to the responses the harness got (remove the check)", lost, s.Faults[lost].Name))
	}
	if err := s.validateAlerts(); err != nil {
		return err
	}
	if knownFaults != nil && !fallback {
		noSnapshots := "no fault in this scenario makes the gate serve snapshots, so this check could have no evidence (remove it, or add a fault such as cache-readonly)"
		switch {
		case s.Expect.SnapshotsDuring:
			return bad("expect.snapshots_during", noSnapshots)
		case s.Expect.WarningOnSnapshots:
			return bad("expect.warning_on_snapshots", noSnapshots)
		}
	}
	if err := s.validateCanary(); err != nil {
		return err
	}
	if err := s.validateStops(); err != nil {
		return err
	}
	if err := s.validateMemory(); err != nil {
		return err
	}
	if c := s.Expect.Crash; c != nil {
		crashes := false
		for _, f := range s.Faults {
			crashes = crashes || f.Name == "crash" || f.Name == "memory-pressure" && f.Params["oom"] == "true"
		}
		switch {
		case !crashes:
			return bad("expect.crash", "no crash fault (nor memory-pressure with oom: true) in this scenario: these checks could have no evidence (remove it, or add a crash fault)")
		case c.BackWithin <= 0:
			return bad("expect.crash.back_within", "required, such as 10s")
		}
	}
	if s.Expect.AuditResumed {
		fills := false
		for _, f := range s.Faults {
			fills = fills || f.Name == "disk-full" && f.Params["path"] == "audit"
		}
		if !fills {
			return bad("expect.audit_resumed", "no disk-full fault with params.path: audit in this scenario: this check could have no evidence (remove it, or add one)")
		}
	}
	if s.Expect.Recovery.MinLiveRatio > 0 && s.Expect.Recovery.Within <= 0 {
		return bad("expect.recovery.within", "required when expect.recovery.min_live_ratio is set")
	}
	if s.Expect.Recovery.Within.D() > 30*time.Minute {
		return bad("expect.recovery.within", "at most 30m")
	}
	return nil
}

// MemoryBytes is target.memory in bytes; 0 when unset (Validate has
// checked it).
func (t TargetSpec) MemoryBytes() int64 {
	n, _ := ParseSize(t.Memory)
	return n
}

// ParseSize reads a size such as "256MiB" or "1GiB" (target.memory, a
// fault's size parameter).
func ParseSize(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			var n int64
			if _, err := fmt.Sscanf(v, "%d", &n); err == nil && fmt.Sprint(n) == v && n > 0 {
				return n * u.m, nil
			}
		}
	}
	return 0, fmt.Errorf("%q: want a size such as 256MiB or 1GiB", s)
}

// validateMemory checks target.memory, which memory-pressure needs.
func (s *Spec) validateMemory() error {
	var n int64
	if s.Target.Memory != "" {
		var err error
		if n, err = ParseSize(s.Target.Memory); err != nil {
			return bad("target.memory", err.Error())
		}
		if n < 64<<20 {
			return bad("target.memory", "at least 64MiB: the gate needs room of its own")
		}
	}
	for i, f := range s.Faults {
		if f.Name == "memory-pressure" && n == 0 {
			return bad(fmt.Sprintf("faults[%d]", i), "memory-pressure fills the gate's memory limit: set target.memory, such as 256MiB")
		}
	}
	return nil
}

// faultError is the FieldError of a fault's error from a FaultChecker:
// at the parameter it names (Field() string), else at the name, with what
// it says is misnamed (Misnamed() (string, []string)).
func faultError(field string, err error) error {
	fe := &FieldError{Field: field + ".name", Problem: err.Error()}
	var named interface{ Field() string }
	if errors.As(err, &named) {
		fe.Field = field + "." + named.Field()
	}
	var misnamed interface{ Misnamed() (string, []string) }
	if errors.As(err, &misnamed) {
		fe.Unknown, fe.Known = misnamed.Misnamed()
	}
	return fe
}

// bad is a FieldError.
func bad(field, problem string) error { return &FieldError{Field: field, Problem: problem} }

// validateShape checks the name, the load, the steady states and the
// target.
func (s *Spec) validateShape() error {
	switch {
	case s.Name == "":
		return bad("name", "required")
	case strings.ContainsAny(s.Name, " /\\"):
		return bad("name", "must not contain spaces or slashes")
	case s.Load.Rate <= 0:
		return bad("load.rate", "required, requests per second, more than 0")
	case s.Load.Rate > 1000:
		return bad("load.rate", "at most 1000 requests per second")
	case s.Target.CPUs < 0:
		return bad("target.cpus", "must not be negative")
	case s.Baseline.Duration <= 0:
		return bad("baseline.duration", "required, such as 30s")
	case s.After.Duration <= 0:
		return bad("after.duration", "required, such as 30s")
	case len(s.Faults) == 0:
		return bad("faults", "at least one fault is required")
	}
	fleet := s.Target.Kind == KindFleet
	switch {
	case s.Target.Kind != "" && !fleet:
		return bad("target.kind", fmt.Sprintf("%q is not a target kind: leave it out (one gate) or say fleet", s.Target.Kind))
	case fleet && (s.Target.Replicas < 1 || s.Target.Replicas > MaxReplicas):
		return bad("target.replicas", fmt.Sprintf("a fleet needs 1 to %d replicas", MaxReplicas))
	case !fleet && s.Target.Replicas != 0:
		return bad("target.replicas", "only a fleet (target.kind: fleet) has replicas")
	case s.Target.Canary < 0 || s.Target.Canary > s.Target.Replicas:
		return bad("target.canary", "must be between 0 and target.replicas")
	case fleet && s.Target.TLS:
		return bad("target.tls", "a fleet runs over plain HTTP on its private network")
	case fleet && !(s.Baseline.MinLiveRatio > 0):
		return bad("baseline.min_live_ratio", "required in a fleet: every replica no fault hits must keep it during the fault (healthy_live_ratio)")
	case fleet && s.Expect.CountersAgree:
		return bad("expect.counters_agree", "a fleet's gates also count the /metrics scrapes of the run's Prometheus, so their counter cannot match the load's responses: leave it out")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"baseline.min_live_ratio", s.Baseline.MinLiveRatio}, {"after.min_live_ratio", s.After.MinLiveRatio},
		{"expect.min_live_ratio_during", s.Expect.MinLiveRatioDuring}, {"expect.recovery.min_live_ratio", s.Expect.Recovery.MinLiveRatio}} {
		if !(f.v >= 0 && f.v <= 1) { // NaN too: no ratio is >= NaN
			return bad(f.name, "must be between 0 and 1")
		}
	}
	return nil
}

// validateFaults checks every fault, and reports whether one of them
// makes the gate serve snapshots, and the index of the first that loses
// the harness's scrapes (-1 for none).
func (s *Spec) validateFaults(knownFaults FaultChecker) (fallback bool, lost int, err error) {
	fleet := s.Target.Kind == KindFleet
	lost = -1
	for i, f := range s.Faults {
		field := fmt.Sprintf("faults[%d]", i)
		if f.Name == "" {
			return false, -1, bad(field+".name", "required")
		}
		if knownFaults != nil {
			info, err := knownFaults(f.Name, f.Params)
			if err != nil {
				return false, -1, faultError(field, err)
			}
			fallback = fallback || info.ForcesFallback
			if info.LosesScrapes && lost < 0 {
				lost = i
			}
		}
		switch {
		case f.Duration <= 0:
			return false, -1, bad(field+".duration", "required, such as 60s")
		case f.Duration.D() > time.Hour:
			return false, -1, bad(field+".duration", "at most 1h")
		case f.Offset < 0:
			return false, -1, bad(field+".offset", "must not be negative")
		case fleet && f.Select == nil:
			return false, -1, bad(field+".select", "required in a fleet: count, fraction or names of the replicas the fault hits")
		case !fleet && f.Select != nil:
			return false, -1, bad(field+".select", "only a fleet (target.kind: fleet) has replicas to select")
		}
		if f.Select != nil {
			if sub, problem := f.Select.validate(s.Target.Replicas); sub != "" {
				return false, -1, bad(field+"."+sub, problem)
			}
		}
	}
	return fallback, lost, nil
}

// validateAlerts checks the expected alerts.
func (s *Spec) validateAlerts() error {
	fleet := s.Target.Kind == KindFleet
	for i, a := range s.Expect.Alerts {
		field := fmt.Sprintf("expect.alerts[%d]", i)
		switch {
		case a.Name == "":
			return bad(field+".name", "required")
		case a.FireWithin <= 0:
			return bad(field+".fire_within", "required, such as 2m")
		case a.ResolveWithin <= 0:
			return bad(field+".resolve_within", "required, such as 3m")
		case !fleet && (a.DeliveredWithin != 0 || a.ResolutionDeliveredWithin != 0):
			return bad(field+".delivered_within", "delivery is checked in a fleet only, where the harness runs Alertmanager")
		case a.DeliveredWithin < 0 || a.ResolutionDeliveredWithin < 0:
			return bad(field+".delivered_within", "must not be negative")
		}
	}
	return nil
}

// validateCanary checks the canary gate's expectation.
func (s *Spec) validateCanary() error {
	c := s.Expect.Canary
	if c == nil {
		return nil
	}
	switch {
	case s.Target.Kind != KindFleet || s.Target.Canary == 0:
		return bad("expect.canary", "needs a fleet with canary replicas (target.canary)")
	case s.Target.Canary == s.Target.Replicas:
		return bad("expect.canary", "needs stable replicas to compare the canary with (target.canary below target.replicas)")
	case c.Decision != "abort" && c.Decision != "pass":
		return bad("expect.canary.decision", "abort or pass")
	case c.Window.D() < time.Minute:
		return bad("expect.canary.window", "at least 1m, so that the rates it queries have samples")
	case !(c.MaxDelta > 0 && c.MaxDelta < 1): // NaN too: no delta exceeds it, so the gate always passes
		return bad("expect.canary.max_delta", "between 0 and 1, such as 0.02")
	case c.Window.D() > s.longestFault():
		return bad("expect.canary.window", fmt.Sprintf("longer than the longest fault (%s): the gate reads the window that ends as the faults end, which would reach back before them", s.longestFault()))
	case !(c.MinRequests > 0): // NaN too: no count is below it, so too few is never inconclusive
		return bad("expect.canary.min_requests", "required: the fewest payload responses each side needs in the window")
	}
	return nil
}

// longestFault is the longest fault's duration.
func (s *Spec) longestFault() time.Duration {
	var d time.Duration
	for _, f := range s.Faults {
		d = max(d, f.Duration.D())
	}
	return d
}

// FaultWindow returns when the faults run, relative to the end of the
// baseline: the first injection and the last revert.
func (s *Spec) FaultWindow() (start, end time.Duration) {
	start = time.Duration(1<<63 - 1)
	for _, f := range s.Faults {
		start = min(start, f.Offset.D())
		end = max(end, f.Offset.D()+f.Duration.D())
	}
	return start, end
}

// MaxSchedule is the longest the scenario's own phases can take: baseline,
// faults, the recovery bound (or the longest alert resolve bound) and after.
func (s *Spec) MaxSchedule() time.Duration {
	_, end := s.FaultWindow()
	wait := s.Expect.Recovery.Within.D()
	for _, a := range s.Expect.Alerts {
		wait = max(wait, a.ResolveWithin.D(), a.ResolutionDeliveredWithin.D())
	}
	return s.Baseline.Duration.D() + end + wait + s.After.Duration.D()
}

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtins returns the built-in scenarios by name.
func Builtins(knownFaults FaultChecker) (map[string]*Spec, error) {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		return nil, err
	}
	out := map[string]*Spec{}
	for _, e := range entries {
		b, _ := builtinFS.ReadFile("builtin/" + e.Name())
		s, err := Parse(bytes.NewReader(b), knownFaults)
		if err != nil {
			return nil, fmt.Errorf("built-in %s: %w", e.Name(), err)
		}
		out[s.Name] = s
	}
	return out, nil
}

// Names returns the keys of m sorted.
func Names(m map[string]*Spec) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
