package alerts

import (
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Timeline is one alert (its name and label set) over a run: every change
// of state in order, and the instants a reader asks for first. The
// in-process Evaluator and a Prometheus server's ALERTS series
// (promserver) both build it; the harness turns it into the report's form.
type Timeline struct {
	Name     string
	Labels   map[string]string // the alert's labels, without alertname
	Severity string
	// PendingAt is the first pending (or the first firing of a rule
	// without `for`), FiringAt the first firing and ResolvedAt the last
	// resolution; nil: never.
	PendingAt, FiringAt, ResolvedAt *time.Time
	Firings                         int // changes to firing
	Transitions                     []Transition
}

// Transition is one change of an alert's state (inactive, pending,
// firing).
type Transition struct {
	At       time.Time
	From, To string
}

// Move records a change from from to to at at.
func (t *Timeline) Move(from, to string, at time.Time) {
	t.Transitions = append(t.Transitions, Transition{At: at, From: from, To: to})
	switch to {
	case StatePending:
		if t.PendingAt == nil {
			t.PendingAt = &at
		}
	case StateFiring:
		t.Firings++
		if t.FiringAt == nil {
			t.FiringAt = &at
		}
		if t.PendingAt == nil { // a rule without `for` fires at once
			t.PendingAt = &at
		}
	case StateInactive:
		if from == StateFiring {
			t.ResolvedAt = &at
		}
	}
}

// StillFiring reports whether the last change left the alert firing.
func (t *Timeline) StillFiring() bool {
	n := len(t.Transitions)
	return n > 0 && t.Transitions[n-1].To == StateFiring
}

// Sort orders timelines by name, then by label set.
func Sort(ts []Timeline) {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].Name != ts[j].Name {
			return ts[i].Name < ts[j].Name
		}
		return LabelsKey(ts[i].Labels) < LabelsKey(ts[j].Labels)
	})
}

// LabelsKey is a label set as one comparable string.
func LabelsKey(m map[string]string) string { return labels.FromMap(m).String() }
