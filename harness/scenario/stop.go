package scenario

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// StopCondition is a brake on the run: when Expr, a PromQL expression
// evaluated on the run's alert source (the in-process rules engine's
// TSDB, or the deployment's Prometheus), has a result at every
// evaluation for For, every fault is reverted at once and the run ends
// with the verdict aborted. Expr is read as an alerting rule's: any
// sample is a breach (write the comparison into it: "… > 0.05").
type StopCondition struct {
	Name string   `yaml:"name" json:"name"`
	Expr string   `yaml:"expr" json:"expr"`
	For  Duration `yaml:"for" json:"for"`
}

// Names of the built-in stop conditions, and of the operator's stop.
const (
	Stop5xxBurst      = "5xx-burst"
	StopLiveRatio     = "live-ratio-floor"
	StopByOperator    = "operator"
	default5xxBurst   = 5
	defaultLiveFloor  = 0.5
	defaultLiveFor    = 30 * time.Second
	maxStopConditions = 20
)

// BuiltinStops tunes the two stop conditions every scenario has unless it
// turns them off: a burst of 5xx seen by the load, and the load's live
// ratio below a floor for longer than the scenario allows.
type BuiltinStops struct {
	// Off drops both built-in conditions (stop_when still applies).
	Off bool `yaml:"off,omitempty" json:"off,omitempty"`
	// Burst5xx: this many 5xx responses within 10 s is a breach
	// (default 5).
	Burst5xx int `yaml:"burst_5xx,omitempty" json:"burst_5xx,omitempty"`
	// LiveRatioFloor and LiveRatioFor: the live ratio of the last 10 s
	// of load below the floor (default 0.5) for longer than LiveRatioFor
	// (default 30s) is a breach, except while the scenario expects
	// snapshots (expect.snapshots_during): from the first injection to
	// expect.recovery.within after the last revert.
	LiveRatioFloor float64  `yaml:"live_ratio_floor,omitempty" json:"live_ratio_floor,omitempty"`
	LiveRatioFor   Duration `yaml:"live_ratio_for,omitempty" json:"live_ratio_for,omitempty"`
}

// Burst is the 5xx burst that breaches: the field or its default.
func (b BuiltinStops) Burst() int {
	if b.Burst5xx > 0 {
		return b.Burst5xx
	}
	return default5xxBurst
}

// Floor is the live ratio floor and how long the ratio may stay below it.
func (b BuiltinStops) Floor() (float64, time.Duration) {
	floor, d := b.LiveRatioFloor, b.LiveRatioFor.D()
	if floor == 0 {
		floor = defaultLiveFloor
	}
	if d == 0 {
		d = defaultLiveFor
	}
	return floor, d
}

// StopExpect is what a brake GameDay expects of its own end: stopped by
// the named condition (a stop_when name, 5xx-burst, live-ratio-floor or
// operator), every fault injected then reverted within RevertWithin of
// the breach.
type StopExpect struct {
	By           string   `yaml:"by" json:"by"`
	RevertWithin Duration `yaml:"revert_within" json:"revert_within"`
}

var stopName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// validateStops checks stop_when, stop_builtins and expect.stop.
func (s *Spec) validateStops() error {
	if len(s.StopWhen) > maxStopConditions {
		return bad("stop_when", fmt.Sprintf("at most %d conditions", maxStopConditions))
	}
	seen := map[string]bool{Stop5xxBurst: true, StopLiveRatio: true, StopByOperator: true}
	p := parser.NewParser(parser.Options{})
	for i, c := range s.StopWhen {
		field := fmt.Sprintf("stop_when[%d]", i)
		switch {
		case c.Name == "":
			return bad(field+".name", "required, such as gate-down")
		case !stopName.MatchString(c.Name):
			return bad(field+".name", fmt.Sprintf("%q: lower-case letters, digits, - and _", c.Name))
		case seen[c.Name]:
			return bad(field+".name", fmt.Sprintf("%q is taken (by another condition, or a built-in one)", c.Name))
		case c.Expr == "":
			return bad(field+".expr", "required: a PromQL expression, a breach when it has a result")
		case c.For < 0:
			return bad(field+".for", "must not be negative")
		case c.For.D() > time.Hour:
			return bad(field+".for", "at most 1h")
		}
		seen[c.Name] = true
		e, err := p.ParseExpr(c.Expr)
		if err != nil {
			return bad(field+".expr", fmt.Sprintf("does not parse as PromQL: %v", err))
		}
		if e.Type() != parser.ValueTypeVector {
			return bad(field+".expr", fmt.Sprintf("gives a %s: it must give an instant vector, as an alerting rule's expression does", e.Type()))
		}
	}
	b := s.StopBuiltins
	switch {
	case b.Burst5xx < 0:
		return bad("stop_builtins.burst_5xx", "must not be negative")
	case !(b.LiveRatioFloor >= 0 && b.LiveRatioFloor <= 1):
		return bad("stop_builtins.live_ratio_floor", "must be between 0 and 1")
	case b.LiveRatioFor < 0:
		return bad("stop_builtins.live_ratio_for", "must not be negative")
	}
	if e := s.Expect.Stop; e != nil {
		switch {
		case e.By == "":
			return bad("expect.stop.by", "required: the stop condition that must end the run")
		case !seen[e.By] || (b.Off && (e.By == Stop5xxBurst || e.By == StopLiveRatio)):
			return &FieldError{Field: "expect.stop.by", Problem: fmt.Sprintf("%q is not a stop condition of this scenario", e.By),
				Unknown: e.By, Known: s.StopNames()}
		case e.RevertWithin <= 0:
			return bad("expect.stop.revert_within", "required, such as 5s")
		}
	}
	return nil
}

// AddStop adds a stop condition from outside the scenario file (gameday
// run --stop-when), checked as stop_when's are; the error names the
// problem, not a YAML path.
func (s *Spec) AddStop(c StopCondition) error {
	s.StopWhen = append(s.StopWhen, c)
	if err := s.validateStops(); err != nil {
		s.StopWhen = s.StopWhen[:len(s.StopWhen)-1]
		var fe *FieldError
		if errors.As(err, &fe) {
			return errors.New(fe.Problem)
		}
		return err
	}
	return nil
}

// StopNames lists the scenario's stop conditions: the built-in ones
// (unless off), then stop_when's, then the operator's stop.
func (s *Spec) StopNames() []string {
	var out []string
	if !s.StopBuiltins.Off {
		out = append(out, Stop5xxBurst, StopLiveRatio)
	}
	for _, c := range s.StopWhen {
		out = append(out, c.Name)
	}
	return append(out, StopByOperator)
}
