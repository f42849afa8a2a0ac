package scenario

import (
	"reflect"
	"strings"
	"testing"
)

const fleetSpec = `name: f
target: {kind: fleet, replicas: 5, canary: 1}
load: {rate: 50}
baseline: {duration: 10s, min_live_ratio: 0.95}
faults: [{name: cache-readonly, duration: 75s, select: {count: 1}}]
expect:
  alerts: [{name: CircuitBreakerActive, fire_within: 45s, resolve_within: 60s, delivered_within: 60s, resolution_delivered_within: 90s}]
  canary: {decision: abort, window: 1m, max_delta: 0.02, min_requests: 20}
after: {duration: 10s}
`

func TestFleetSpecValidationNamesTheField(t *testing.T) {
	if _, err := Parse(strings.NewReader(fleetSpec), nil); err != nil {
		t.Fatalf("good fleet spec: %v", err)
	}
	cases := map[string][2]string{
		"expect.counters_agree":             {"expect:\n", "expect:\n  counters_agree: true\n"},
		"target.kind":                       {"kind: fleet", "kind: herd"},
		"target.replicas":                   {"replicas: 5", "replicas: 21"},
		"target.canary":                     {"canary: 1", "canary: 6"},
		"faults[0].select":                  {", select: {count: 1}", ""},
		"faults[0].select.count":            {"count: 1", "count: 6"},
		"faults[0].select.fraction":         {"count: 1", "fraction: 0.05"},
		"faults[0].select.names[1]":         {"count: 1", "names: [replica-2, replica-9]"},
		"faults[0].select.names[0]":         {"count: 1", "names: [gate-1]"},
		"faults[0].select: give":            {"count: 1", "count: 1, fraction: 0.2"},
		"expect.canary.decision":            {"decision: abort", "decision: maybe"},
		"expect.canary.window":              {"window: 1m", "window: 30s"},
		"expect.canary.min_requests":        {"min_requests: 20", "min_requests: 0"},
		"baseline.min_live_ratio: required": {"baseline: {duration: 10s, min_live_ratio: 0.95}", "baseline: {duration: 10s}"},
		"expect.canary: needs stable":       {"canary: 1}", "canary: 5}"},
		"expect.canary.window: longer":      {"window: 1m", "window: 2m"},
		"expect.canary: needs":              {"canary: 1}", "canary: 0}"},
		// NaN compares false both ways: the fraction would pick no replica,
		// the max delta would let every canary pass, the minimum would let
		// one request decide, a live ratio floor would fail everything.
		"faults[0].select.fraction: must": {"count: 1", "fraction: .nan"},
		"expect.canary.max_delta":         {"max_delta: 0.02", "max_delta: .nan"},
		"expect.canary.min_requests: req": {"min_requests: 20", "min_requests: .nan"},
		"baseline.min_live_ratio":         {"baseline: {duration: 10s, min_live_ratio: 0.95}", "baseline: {duration: 10s, min_live_ratio: .nan}"},
	}
	for want, c := range cases {
		bad := strings.Replace(fleetSpec, c[0], c[1], 1)
		if bad == fleetSpec {
			t.Fatalf("%s: the case does not change the spec", want)
		}
		_, err := Parse(strings.NewReader(bad), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	single := strings.Replace(strings.Replace(fleetSpec, "target: {kind: fleet, replicas: 5, canary: 1}\n", "", 1), "  canary: {decision: abort, window: 1m, max_delta: 0.02, min_requests: 20}\n", "", 1)
	if _, err := Parse(strings.NewReader(single), nil); err == nil || !strings.Contains(err.Error(), "faults[0].select") {
		t.Errorf("a selector outside a fleet: err = %v", err)
	}
	single = strings.Replace(single, ", select: {count: 1}", "", 1)
	if _, err := Parse(strings.NewReader(single), nil); err == nil || !strings.Contains(err.Error(), "delivered_within") {
		t.Errorf("delivery outside a fleet: err = %v", err)
	}
}

func TestSelectorPicksDeterministically(t *testing.T) {
	s := Selector{Count: 2}
	a, b := s.Pick(10, 7, 0), s.Pick(10, 7, 0)
	if len(a) != 2 || !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed picked %v then %v", a, b)
	}
	differs := false
	for seed := uint64(0); seed < 20 && !differs; seed++ {
		differs = !reflect.DeepEqual(s.Pick(10, seed, 0), a)
	}
	if !differs {
		t.Fatal("twenty seeds picked the same replicas: the seed is not used")
	}
	if got := (Selector{Fraction: 0.1}).Pick(10, 1, 0); len(got) != 1 {
		t.Fatalf("fraction 0.1 of 10 picked %v", got)
	}
	if got := (Selector{Names: []string{"replica-3"}}).Pick(10, 1, 0); !reflect.DeepEqual(got, []string{"replica-3"}) {
		t.Fatalf("names picked %v", got)
	}
}

// A seeded pick is part of a report's replay: the same seed must hit the
// same replicas after a Go upgrade, or replays stop reproducing. This pins
// fleet-io-glitch's pick (seed 5, fault 0: replica-5 of five); if math/rand
// changes its output, Pick needs its own stable shuffle.
func TestSelectorPickIsPinned(t *testing.T) {
	if got := (Selector{Count: 1}).Pick(5, 5, 0); !reflect.DeepEqual(got, []string{"replica-5"}) {
		t.Fatalf("fleet-io-glitch picks %v, want [replica-5]", got)
	}
	if got := (Selector{Count: 3}).Pick(20, 20, 0); len(got) != 3 {
		t.Fatalf("count 3 of 20 picked %v", got)
	}
}
