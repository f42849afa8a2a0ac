// Package mutants is the GameDay mutant matrix: deliberately broken
// variants of the gate, the stressor, the alert rules and the faults, each
// run through a short real GameDay on the process target to show that a
// named check turns red, and that no other check does unless it is a
// direct consequence. A check that no mutant can turn red proves nothing
// when it passes.
//
// List is the table of mutants; a Matrix builds each variant (once per
// build tag), runs it and judges it with Judge; a Table is written as JSON
// and printed. The matrix itself is a Go test behind the `mutants` build
// tag (`make mutants`, about ten minutes on two cores), with one
// subtest per mutant so that `-run 'TestMatrix/livesha'` runs one.
//
// Nothing here ships. The broken gates and stressor come from build-tagged
// files (cmd/gate/mutant_*.go, cmd/stressor/idle_broken.go) that only
// this package asks the compiler for; broken rules are edits of a copy of
// config/alerts.yml; a broken fault wraps the real one. The gate's own
// checks live in package harness; this package only asks whether they
// turn red.
package mutants

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/internal/kubetest"
)

// Mutant is one row of the matrix.
type Mutant struct {
	Name   string // letters, digits, - and _: the subtest and report name
	Breaks string // what is broken, in one line
	// Scenario is the scenario document run against the variant.
	Scenario string
	// GateTag and StressorTag are build tags for cmd/gate and
	// cmd/stressor; empty builds them as shipped.
	GateTag, StressorTag string
	// Rules edits the production rules (config/alerts.yml); nil runs them
	// as they are. It fails when the text it edits is not there.
	Rules func(prod string) (string, error)
	// Faults replaces the fault registry (seam.Hooks.Faults); nil uses
	// fault.Registry.
	Faults map[string]fault.Factory
	// BrakeNeverHolds and SkipRevertOnStop break the run's brake
	// (seam.Hooks): no stop condition ever holds; a breach reverts
	// nothing.
	BrakeNeverHolds, SkipRevertOnStop bool
	// Aborted: the row's scenario is a brake GameDay, whose clean run ends
	// aborted rather than passed.
	Aborted bool
	// Refused is what the run's pre-flight must find, refusing to inject
	// anything, for a mutant that breaks the world before the fault (a
	// rule already firing): the row is caught by the refusal, not by a
	// check.
	Refused string
	// Container runs the row on the container target rather than the
	// process target: its fault needs what only a container gives (a
	// memory limit).
	Container bool
	// Kube runs the row on a kube target (kube.go): the stand-in for
	// Chaos Mesh's controller in this mode reconciles the run's chaos
	// objects; ChaosProof replaces the harness's injection proof.
	Kube       kubetest.Mode
	ChaosProof func(chaosmesh.Status, chaosmesh.Selection) ([]chaosmesh.Injected, error)
	// Alone runs the row with no other beside it: it measures the CPU its
	// fault burns, which a neighbouring GameDay would take. Every other row
	// runs beside the rest (the matrix's rows mostly wait on alerts).
	Alone bool
	// Expect are the checks that must turn red; Collateral the checks that
	// may also turn red as a direct consequence. A red check in neither
	// fails the row. A row with no Expect is a control: nothing may turn
	// red and the run must pass.
	Expect, Collateral []string
}

// Variant names what was changed for the report: build tags, rules or
// faults.
func (m Mutant) Variant() string {
	var v []string
	if m.GateTag != "" {
		v = append(v, "gate -tags "+m.GateTag)
	}
	if m.StressorTag != "" {
		v = append(v, "stressor -tags "+m.StressorTag)
	}
	if m.Rules != nil {
		v = append(v, "rules edited")
	}
	if m.Faults != nil {
		v = append(v, "fault wrapped")
	}
	if m.BrakeNeverHolds {
		v = append(v, "brake never holds")
	}
	if m.SkipRevertOnStop {
		v = append(v, "no revert on a stop")
	}
	if m.Container {
		v = append(v, "container target")
	}
	if m.Kube != "" {
		v = append(v, "kube target (stand-in for Chaos Mesh: "+string(m.Kube)+")")
	}
	if m.ChaosProof != nil {
		v = append(v, "injection proof replaced")
	}
	if len(v) == 0 {
		return "as shipped"
	}
	return strings.Join(v, ", ")
}

// Check names used by the rows (package harness defines them).
const (
	checkNo5xx          = "no_5xx"
	checkTransport      = "no_transport_errors"
	checkAll200         = "all_200"
	checkSnapshots      = "snapshots_during_fault"
	checkWarning        = "warning_on_snapshots"
	checkBreakerFires   = "alert_fires:CircuitBreakerActive"
	checkBreakerResolve = "alert_resolves:CircuitBreakerActive"
	checkUnexpected     = "no_unexpected_alerts"
	checkRecovery       = "recovery"
	checkAfter          = "after_steady"
	checkCounters       = "counters_agree"
	checkLiveSHA        = "livesha_valid"
	checkCPUAchieved    = "fault_achieved:cpu-spike"
	checkReverted       = "faults_reverted"
	checkStoppedBy      = "stopped_by"
	checkRevertedOnStop = "reverted_on_stop"
	checkCacheAchieved  = "fault_achieved:cache-readonly"
	checkCrashRecovery  = "crash_recovery"
	checkCacheRestart   = "cache_after_restart"
	checkAuditIntact    = "audit_intact"
	checkPathAchieved   = "fault_achieved:scrape-path"
)

// scrapeCollateral: the harness scrapes /metrics as production Prometheus
// does, so a mutant that breaks /metrics answers breaks some scrapes too;
// below 90 % scrape coverage in a phase the alert checks have no evidence
// and fail. That is the consequence, not a second catch.
var scrapeCollateral = []string{checkBreakerFires, checkBreakerResolve, checkUnexpected}

// ioGlitch is io-glitch cut short: 20 s of a read-only cache is enough for
// the breaker to open, its alert (10 s `for`) to fire, and recovery.
func ioGlitch(name string) string {
	return `name: ` + name + `
labels: [io-glitch, mutant]
seed: 2
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: cache-readonly, duration: 20s}
expect:
  no_5xx: true
  no_transport_errors: true
  all_200: true
  snapshots_during: true
  warning_on_snapshots: true
  alerts:
    - {name: CircuitBreakerActive, fire_within: 30s, resolve_within: 40s}
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 40s}
  counters_agree: true
  livesha_valid: true
after: {duration: 6s, min_live_ratio: 0.95}
`
}

// cpuSpike is cpu-spike cut short, asking for one core.
func cpuSpike(name string) string {
	return `name: ` + name + `
labels: [cpu-spike, mutant]
seed: 1
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: cpu-spike, duration: 20s, params: {cores: "1"}}
expect:
  no_5xx: true
  no_transport_errors: true
  all_200: true
  min_live_ratio_during: 0.95
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 30s}
  counters_agree: true
  livesha_valid: true
after: {duration: 6s, min_live_ratio: 0.95}
`
}

// brake is the brake GameDay of the matrix: a read-only cache on a gate
// that answers 500 where it should fall back (the fallback500 build), which
// the built-in 5xx-burst stop condition must stop, its fault reverted
// within 5 s; then the gate must recover by itself.
func brake(name string) string {
	return `name: ` + name + `
labels: [brake, mutant]
seed: 2
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: cache-readonly, duration: 20s}
expect:
  stop: {by: 5xx-burst, revert_within: 5s}
  recovery: {min_live_ratio: 0.95, within: 40s}
after: {duration: 6s, min_live_ratio: 0.95}
`
}

// crash is the crash GameDay of the matrix: one kill of the gate under a
// burst of admin calls, restarted by the process target.
func crash(name string) string {
	return `name: ` + name + `
labels: [crash, mutant]
seed: 4
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: crash, duration: 15s, params: {times: "1"}}
expect:
  no_5xx: true
  crash: {back_within: 10s}
  recovery: {min_live_ratio: 0.95, within: 30s}
  livesha_valid: true
after: {duration: 6s, min_live_ratio: 0.95}
`
}

// scrapePath is a black hole on the harness's scrape path for 40 s: the
// gate keeps serving its load live, its scrapes fail, and no alert of a
// sick gate may fire (GateScrapeFailing, 2 m `for`, stays pending; the
// built-in scrape-path GameDay waits for it to fire).
func scrapePath(name string) string {
	return `name: ` + name + `
labels: [scrape-path, mutant]
seed: 6
load: {rate: 20}
baseline: {duration: 6s, min_live_ratio: 0.95}
faults:
  - {name: scrape-path, duration: 40s, params: {toxic: blackhole}}
expect:
  no_5xx: true
  all_200: true
  min_live_ratio_during: 0.95
  no_unexpected_alerts: true
  recovery: {min_live_ratio: 0.95, within: 30s}
  livesha_valid: true
after: {duration: 6s, min_live_ratio: 0.95}
`
}

// breakerOnDarkPath pages the breaker alert when the gate's own scrape
// fails: a rule that cannot tell a sick path from a sick gate.
func breakerOnDarkPath(expr string) (string, bool) {
	return "(" + expr + `) or (max by (instance) (up{job="quannex-gate-self"}) == 0)`, strings.Contains(expr, "quannex_circuit_breaker_state")
}

// editRule returns a rules edit of the named alert's first rule: expr
// rewrites its one-line expression (false: the expression is not the one
// the mutant knows how to break), and a non-empty forValue replaces its
// `for`. The edit fails, naming the alert, when the rule is not found.
func editRule(alert string, expr func(string) (string, bool), forValue string) func(string) (string, error) {
	return func(prod string) (string, error) {
		lines := strings.Split(prod, "\n")
		in, exprDone, forDone := false, false, forValue == ""
		for i, l := range lines {
			t := strings.TrimSpace(l)
			switch {
			case t == "- alert: "+alert:
				in = !exprDone
			case in && (strings.HasPrefix(t, "- alert:") || strings.HasPrefix(t, "- record:")):
				in = false
			case in && strings.HasPrefix(t, "expr: "):
				e, ok := expr(strings.TrimPrefix(t, "expr: "))
				if !ok {
					return "", fmt.Errorf("rules edit: %s: expr %q is not the one this mutant breaks", alert, t)
				}
				lines[i], exprDone = l[:strings.Index(l, "expr: ")]+"expr: "+e, true
			case in && strings.HasPrefix(t, "for: ") && !forDone:
				lines[i], forDone = l[:strings.Index(l, "for: ")]+"for: "+forValue, true
			}
		}
		if !exprDone || !forDone {
			return "", fmt.Errorf("rules edit: alert %s with a one-line expr and a for not found in the production rules", alert)
		}
		return strings.Join(lines, "\n"), nil
	}
}

// neverFires turns the breaker alert's `== 1` (the state gauge is 0 or 1)
// into `== 2`.
func neverFires(expr string) (string, bool) {
	e, ok := strings.CutSuffix(expr, ") == 1")
	return e + ") == 2", ok && strings.Contains(expr, "quannex_circuit_breaker_state")
}

// alwaysFires: every breaker state series is >= 0, open or not.
func alwaysFires(expr string) (string, bool) {
	return "max by (instance) (quannex_circuit_breaker_state) >= 0", strings.Contains(expr, "quannex_circuit_breaker_state")
}

// List returns the matrix, control first. The control runs the shipped
// variants through the same scenario: if it is not clean, no red below
// means anything.
func List() []Mutant {
	return slices.Concat(seedRows(), pathRows(), diskRows(), memoryRows(), brakeRows(), kubeRows())
}

// seedRows are the rows of the seed's faults and of crash.
func seedRows() []Mutant {
	return []Mutant{
		{Name: "control", Breaks: "nothing: the gate, stressor, rules and faults as shipped", Scenario: ioGlitch("mutant-control")},
		{Name: "fallback500", Breaks: "the gate answers 500 where it should fall back to its snapshot",
			Scenario: ioGlitch("mutant-fallback500"), GateTag: "gameday_broken_fallback500",
			Expect:     []string{checkNo5xx},
			Collateral: append([]string{checkAll200, checkSnapshots, checkWarning}, scrapeCollateral...)},
		{Name: "no-warning", Breaks: "the gate serves its snapshot without the Warning header",
			Scenario: ioGlitch("mutant-no-warning"), GateTag: "gameday_broken_warning",
			Expect: []string{checkWarning}},
		// A breaker that never opens still falls back, request by request
		// (live.go: every failed generation serves the snapshot); only the
		// alert on the breaker can tell.
		{Name: "breaker-never-opens", Breaks: "the gate never opens its circuit breaker",
			Scenario: ioGlitch("mutant-breaker-never-opens"), GateTag: "gameday_broken_breaker_open",
			Expect: []string{checkBreakerFires, checkBreakerResolve}},
		{Name: "breaker-never-closes", Breaks: "the gate never closes its circuit breaker again: no recovery",
			Scenario: ioGlitch("mutant-breaker-never-closes"), GateTag: "gameday_broken_breaker_close",
			Expect: []string{checkRecovery, checkAfter, checkBreakerResolve}},
		{Name: "livesha", Breaks: "the gate signs live payloads with a wrong LIVESHA",
			Scenario: ioGlitch("mutant-livesha"), GateTag: "gameday_broken_livesha",
			Expect: []string{checkLiveSHA}},
		{Name: "double-count", Breaks: "the gate counts each /metrics response twice",
			Scenario: ioGlitch("mutant-double-count"), GateTag: "gameday_broken_double_count",
			Expect: []string{checkCounters}},
		{Name: "conn-reset", Breaks: "the gate drops one /metrics connection in 50 mid-response",
			Scenario: ioGlitch("mutant-conn-reset"), GateTag: "gameday_broken_conn_reset",
			Expect:     []string{checkTransport},
			Collateral: append([]string{checkAll200}, scrapeCollateral...)},
		{Name: "stressor-idle", Breaks: "the CPU stressor burns nothing",
			Scenario: cpuSpike("mutant-stressor-idle"), StressorTag: "gameday_broken_stressor", Alone: true,
			Expect: []string{checkCPUAchieved}},
		{Name: "rule-never-fires", Breaks: "CircuitBreakerActive can never fire (== 2 for a 0/1 state)",
			Scenario: ioGlitch("mutant-rule-never-fires"),
			Rules:    editRule("CircuitBreakerActive", neverFires, ""),
			Expect:   []string{checkBreakerFires, checkBreakerResolve}},
		// The `for` goes too: with it the alert would first fire 10 s after
		// the first scrape, just after a 6 s baseline, and look caused by
		// the fault. Firing before the fault, it stops the run at its
		// pre-flight: an expected alert already firing proves nothing of
		// the fault, so nothing is injected (alert_fires' own broken
		// variant, fired before the fault, is in harness/checks_test.go).
		{Name: "rule-always-fires", Breaks: "CircuitBreakerActive is always firing, from the first scrape",
			Scenario: ioGlitch("mutant-rule-always-fires"),
			Rules:    editRule("CircuitBreakerActive", alwaysFires, "0s"),
			Refused:  "alert CircuitBreakerActive, which the scenario expects the fault to fire, is already firing"},
		{Name: "revert-fails", Breaks: "the fault's revert reports an error (after really reverting)",
			Scenario: ioGlitch("mutant-revert-fails"), Faults: revertFails("cache-readonly"),
			Expect: []string{checkReverted}},
		// The crash checks' rows: a kill the shipped gate survives, then a
		// gate broken for each check, broken only when it starts again.
		{Name: "crash-control", Breaks: "nothing: the gate as shipped, killed once and restarted", Scenario: crash("mutant-crash-control")},
		{Name: "slow-restart", Breaks: "the gate takes 12 s to serve again after a kill", Scenario: crash("mutant-slow-restart"),
			GateTag: "gameday_broken_slow_restart", Expect: []string{checkCrashRecovery}},
		{Name: "audit-loss", Breaks: "the gate loses its last audit entries, acknowledged ones among them, when it starts after a kill",
			Scenario: crash("mutant-audit-loss"), GateTag: "gameday_broken_audit_loss", Expect: []string{checkAuditIntact}},
		{Name: "cache-wipe", Breaks: "the gate starts again after a kill without what it recorded in its cache directory",
			Scenario: crash("mutant-cache-wipe"), GateTag: "gameday_broken_cache_wipe", Expect: []string{checkCacheRestart}},
	}
}

// pathRows are the scrape path's rows: a dark path the shipped rules and
// gate tell from a sick gate; a fault that breaks nothing; rules that
// page the gate's breaker for the path's fault.
func pathRows() []Mutant {
	return []Mutant{
		{Name: "scrape-path-control", Breaks: "nothing: the harness's scrape path black-holed, the gate and rules as shipped",
			Scenario: scrapePath("mutant-scrape-path-control")},
		{Name: "scrape-path-noop", Breaks: "the scrape-path fault puts no toxic on the path",
			Scenario: scrapePath("mutant-scrape-path-noop"), Faults: injectsNothing("scrape-path"),
			Expect: []string{checkPathAchieved}},
		{Name: "breaker-on-dark-path", Breaks: "CircuitBreakerActive also fires when the gate's scrape fails",
			Scenario: scrapePath("mutant-breaker-on-dark-path"), Rules: editRule("CircuitBreakerActive", breakerOnDarkPath, ""),
			Expect: []string{checkUnexpected}},
	}
}

// brakeRows are the brake's rows: its control stops the broken gate's
// 5xx burst and ends aborted with every check green.
func brakeRows() []Mutant {
	return []Mutant{
		{Name: "brake-control", Breaks: "nothing of the brake: the gate answers 500 under the fault, the brake as shipped",
			Scenario: brake("mutant-brake-control"), GateTag: "gameday_broken_fallback500", Aborted: true},
		{Name: "brake-never-holds", Breaks: "no stop condition ever holds: the 5xx burst goes on to the end of the fault",
			Scenario: brake("mutant-brake-never-holds"), GateTag: "gameday_broken_fallback500", BrakeNeverHolds: true,
			Expect: []string{checkStoppedBy}, Collateral: []string{checkRevertedOnStop}},
		{Name: "brake-skips-revert", Breaks: "a breach stops the schedule but reverts nothing until the run's end",
			Scenario: brake("mutant-brake-skips-revert"), GateTag: "gameday_broken_fallback500", SkipRevertOnStop: true,
			Expect: []string{checkRevertedOnStop}, Collateral: []string{checkReverted, checkCacheAchieved, checkRecovery, checkAfter}},
	}
}
