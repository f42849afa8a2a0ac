package chaosmesh

import (
	"strings"
	"testing"
	"time"
)

// TestProveInjectedNamesWhatIsMissing: the proof holds only with both
// conditions and one Injected record, with a successful timed Apply, per
// selected pod among those the selector matched; each way short of that
// is refused, and says why.
func TestProveInjectedNamesWhatIsMissing(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 4, 5, 0, time.UTC)
	applied := []Event{{Type: "Succeeded", Operation: "Apply", At: at}}
	rec := func(id, phase string, evs ...Event) Record { return Record{ID: id, Phase: phase, Events: evs} }
	both := map[string]bool{CondSelected: true, CondAllInjected: true}
	sel := Selection{Matching: []string{"gates/gate-1", "gates/gate-2"}, Want: 2}
	good := []Record{rec("gates/gate-1/gate", PhaseInjected, applied...), rec("gates/gate-2/gate", PhaseInjected, applied...)}
	pods, err := ProveInjected(Status{Conditions: both, Records: good}, sel)
	if err != nil || len(pods) != 2 || pods[0].Pod != "gates/gate-1" || pods[0].Container != "gate" || !pods[0].At.Equal(at) {
		t.Fatalf("a full injection: %+v %v", pods, err)
	}
	for _, c := range []struct {
		name string
		st   Status
		want string
	}{
		{"no Selected", Status{Conditions: map[string]bool{CondAllInjected: true}, Records: good}, "condition Selected is not True"},
		{"no AllInjected", Status{Conditions: map[string]bool{CondSelected: true}, Records: good}, "condition AllInjected is not True"},
		{"conditions without records", Status{Conditions: both}, "the status has no record"},
		{"one pod short", Status{Conditions: both, Records: good[:1]}, "1 pod(s) recorded injected, the selection wants 2 of the 2"},
		{"a pod the selector did not match", Status{Conditions: both, Records: []Record{good[0], rec("gates/other/gate", PhaseInjected, applied...)}}, "which the selector did not match"},
		{"a pod twice", Status{Conditions: both, Records: []Record{good[0], rec("gates/gate-1/sidecar", PhaseInjected, applied...)}}, "pod gates/gate-1 has more than one record"},
		{"a record not injected", Status{Conditions: both, Records: []Record{good[0], rec("gates/gate-2/gate", PhaseNotInjected)}}, `is in phase "Not Injected"`},
		{"injected without its Apply", Status{Conditions: both, Records: []Record{good[0], rec("gates/gate-2/gate", PhaseInjected)}}, "without a successful, timed Apply event"},
		{"a failed last Apply", Status{Conditions: both, Records: []Record{good[0], rec("gates/gate-2/gate", PhaseInjected, Event{Type: "Failed", Operation: "Apply", At: at})}}, "without a successful, timed Apply event"},
	} {
		if _, err := ProveInjected(c.st, sel); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
