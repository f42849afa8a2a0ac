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

// criticalChecks are the critical checks by exact name; criticalPrefixes
// the families whose every member is critical.
var (
	criticalChecks = map[string]bool{
		"baseline_steady":     true,
		"no_5xx":              true,
		"no_transport_errors": true,
		"recovery":            true,
		"faults_reverted":     true,
		"livesha_valid":       true,
	}
	criticalPrefixes = []string{"alert_fires:", "fault_achieved:"}
)

// Severity returns the severity of the check called name: Critical or
// Warning. A check this build does not know is a warning.
func Severity(name string) string {
	if criticalChecks[name] {
		return Critical
	}
	for _, p := range criticalPrefixes {
		if strings.HasPrefix(name, p) {
			return Critical
		}
	}
	return Warning
}

// ScoreItem is one check's share of the score.
type ScoreItem struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Weight   int    `json:"weight"`
	Lost     int    `json:"lost"` // the weight, when the check failed; else 0
}

// ScoreOf rates a run from 0 to 100: 100 × (1 − weight lost / weight
// total), rounded to one decimal, where each check weighs by its severity
// and a failed check loses its whole weight. A run that could not complete
// (runErr set) or has no check scores 0: nothing was shown to hold. The
// breakdown lists every check, in order, with its weight and loss.
func ScoreOf(checks []Check, runErr string) (float64, []ScoreItem) {
	items := make([]ScoreItem, 0, len(checks))
	total, lost := 0, 0
	for _, c := range checks {
		it := ScoreItem{Check: c.Name, Severity: Severity(c.Name), Weight: WarningWeight}
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
