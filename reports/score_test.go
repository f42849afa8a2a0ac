package reports

import (
	"reflect"
	"testing"
)

func TestSeverity(t *testing.T) {
	for name, want := range map[string]string{
		"no_5xx": Critical, "no_transport_errors": Critical, "recovery": Critical, "baseline_steady": Critical,
		"faults_reverted": Critical, "livesha_valid": Critical, "alert_fires:HighLatency": Critical,
		"fault_achieved:cpu-spike": Critical, "alert_resolves:HighLatency": Warning, "all_200": Warning,
		"p95_during_fault": Warning, "no_unexpected_alerts": Warning, "something_new": Warning,
	} {
		if got := Severity(name); got != want {
			t.Errorf("Severity(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestScoreOf(t *testing.T) {
	checks := []Check{
		{Name: "no_5xx", Pass: true},
		{Name: "alert_fires:X", Pass: false},
		{Name: "all_200", Pass: false},
		{Name: "after_steady", Pass: true},
	}
	score, items := ScoreOf(checks, "")
	// total 3+3+1+1 = 8, lost 3+1 = 4
	if score != 50 {
		t.Errorf("score %v, want 50", score)
	}
	want := []ScoreItem{
		{"no_5xx", Critical, 3, 0}, {"alert_fires:X", Critical, 3, 3},
		{"all_200", Warning, 1, 1}, {"after_steady", Warning, 1, 0},
	}
	if !reflect.DeepEqual(items, want) {
		t.Errorf("breakdown %+v", items)
	}
	if s, _ := ScoreOf(checks[:1], ""); s != 100 {
		t.Errorf("all passed: %v", s)
	}
	if s, _ := ScoreOf([]Check{{Name: "a", Pass: true}, {Name: "b", Pass: true}, {Name: "c"}}, ""); s != 66.7 {
		t.Errorf("one decimal: %v", s)
	}
	if s, items := ScoreOf(checks[:1], "target did not start"); s != 0 || len(items) != 1 {
		t.Errorf("a run with an error: %v %v", s, items)
	}
	if s, _ := ScoreOf(nil, ""); s != 0 {
		t.Errorf("no checks: %v", s)
	}
}
