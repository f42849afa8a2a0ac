package reports

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestScoreOf(t *testing.T) {
	checks := []Check{
		{Name: "no_5xx", Severity: Critical, Pass: true},
		{Name: "alert_fires:X", Severity: Critical, Pass: false},
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

// TestReadFillsSeverities: a report written before checks carried their
// severity (this one predates the score too) gets each check's when it is
// read, so that its JUnit and a new score weigh the checks as it did; one
// with a score breakdown takes them from it.
func TestReadFillsSeverities(t *testing.T) {
	r, err := Read(filepath.Join("testdata", "runs", "latency.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range r.Checks {
		got[c.Name] = c.Severity
	}
	for name, want := range map[string]string{"no_5xx": Critical, "alert_fires:HighLatency": Critical, "alert_resolves:HighLatency": Warning, "p95_during_fault": Warning} {
		if got[name] != want {
			t.Errorf("%s: severity %q, want %q", name, got[name], want)
		}
	}
	if s, _ := ScoreOf(r.Checks, r.Error); s != 89.7 {
		t.Errorf("scored %v, want 89.7 (29 weight, the failed check critical: 3 lost)", s)
	}
	dir := t.TempDir()
	old := &Report{Scenario: []byte(`{"name":"x"}`), Checks: []Check{{Name: "alert_resolves:X"}},
		ScoreBreakdown: []ScoreItem{{Check: "alert_resolves:X", Severity: Critical, Weight: CriticalWeight}}}
	path, err := Write(dir, "x", old)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Checks[0].Severity; got != Critical {
		t.Errorf("from the breakdown: %q, want critical", got)
	}
}
