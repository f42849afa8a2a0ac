package reports

import (
	"math"
	"strings"
)

// Check severities. A critical check guards a promise the gate makes to
// its readers (no 5xx, every request answered, recovery, the alert that
// must fire, the fault really happened and was undone, the payload is the
// one the gate signed); a warning check guards how well it keeps the rest.
const (
	Critical = "critical"
	Warning  = "warning"
)

// Weights by severity, as GAMEDAYS.md's table shows them.
const (
	CriticalWeight = 3
	WarningWeight  = 1
)

// ScoreItem is one check's share of the score.
type ScoreItem struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Weight   int    `json:"weight"`
	Lost     int    `json:"lost"` // the weight, when the check failed; else 0
}

// ScoreOf rates a run from 0 to 100: 100 × (1 − weight lost / weight
// total), rounded to one decimal, where each check weighs by its Severity
// (the harness's check table sets it; none counts as a warning)
// and a failed check loses its whole weight. A run that could not complete
// (runErr set) or has no check scores 0: nothing was shown to hold. The
// breakdown lists every check, in order, with its weight and loss.
func ScoreOf(checks []Check, runErr string) (float64, []ScoreItem) {
	items := make([]ScoreItem, 0, len(checks))
	total, lost := 0, 0
	for _, c := range checks {
		it := ScoreItem{Check: c.Name, Severity: c.severity(), Weight: WarningWeight}
		if it.Severity == Critical {
			it.Weight = CriticalWeight
		}
		if !c.Pass {
			it.Lost = it.Weight
		}
		total += it.Weight
		lost += it.Lost
		items = append(items, it)
	}
	if runErr != "" || total == 0 {
		return 0, items
	}
	return math.Round(1000*(1-float64(lost)/float64(total))) / 10, items
}

// Scored returns the report's score and breakdown; a report written before
// the score existed (no breakdown) is scored from its checks.
func (r *Report) Scored() (float64, []ScoreItem) {
	if r.ScoreBreakdown != nil {
		return r.Score, r.ScoreBreakdown
	}
	return ScoreOf(r.Checks, r.Error)
}

// severity is the check's severity; a check without one is a warning.
func (c Check) severity() string {
	if c.Severity == Critical {
		return Critical
	}
	return Warning
}

// fillSeverities gives each check of a report written before checks
// carried their severity the one its score breakdown recorded or, in a
// report older than the score, the one the harness then gave it
// (legacySeverity).
func (r *Report) fillSeverities() {
	by := map[string]string{}
	for _, it := range r.ScoreBreakdown {
		by[it.Check] = it.Severity
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		switch {
		case c.Severity != "":
		case by[c.Name] != "":
			c.Severity = by[c.Name]
		default:
			c.Severity = legacySeverity(c.Name)
		}
	}
}

// legacySeverity is how the harness weighed a check before each check
// carried its severity: frozen, for reading reports of that time only. The
// harness's check table decides the severity of every new check.
func legacySeverity(name string) string {
	switch name {
	case "baseline_steady", "no_5xx", "no_transport_errors", "recovery", "faults_reverted", "livesha_valid":
		return Critical
	}
	if strings.HasPrefix(name, "alert_fires:") || strings.HasPrefix(name, "fault_achieved:") {
		return Critical
	}
	return Warning
}
