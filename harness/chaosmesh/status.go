package chaosmesh

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Record phases and condition types, as chaos-mesh's api/v1alpha1 spells
// them (common_types.go).
const (
	PhaseInjected    = "Injected"
	PhaseNotInjected = "Not Injected"

	CondSelected     = "Selected"
	CondAllInjected  = "AllInjected"
	CondAllRecovered = "AllRecovered"
)

// Status is what the harness reads of a chaos object's status.
type Status struct {
	Conditions   map[string]bool // condition type → status True
	DesiredPhase string          // Run or Stop
	// Records is nil when the controller selected nothing yet (the field
	// is absent), as Chaos Mesh leaves it.
	Records    []Record
	Finalizers []string
	Deleting   bool // a deletion timestamp is set
}

// Record is one status record: one selected container of one pod.
type Record struct {
	ID    string // namespace/pod/container
	Phase string
	// Events are the record's apply and recover events, oldest first.
	Events []Event
}

// Event is one apply or recover of a record.
type Event struct {
	Type      string // Succeeded or Failed
	Operation string // Apply or Recover
	Message   string
	At        time.Time
}

// Pod is the pod of the record (namespace/pod of namespace/pod/container).
func (r Record) Pod() string {
	parts := strings.SplitN(r.ID, "/", 3)
	if len(parts) < 2 {
		return r.ID
	}
	return parts[0] + "/" + parts[1]
}

// lastEvent is the record's newest event of the operation, and whether it
// has one.
func (r Record) lastEvent(op string) (Event, bool) {
	for i := len(r.Events) - 1; i >= 0; i-- {
		if r.Events[i].Operation == op {
			return r.Events[i], true
		}
	}
	return Event{}, false
}

// ReadStatus reads obj's status. Fields it cannot read are errors: a
// status the harness misreads must not read as injected.
func ReadStatus(obj *unstructured.Unstructured) (Status, error) {
	st := Status{Conditions: map[string]bool{}, Finalizers: obj.GetFinalizers(), Deleting: obj.GetDeletionTimestamp() != nil}
	conds, _, err := unstructured.NestedSlice(obj.Object, "status", "conditions")
	if err != nil {
		return st, fmt.Errorf("status.conditions: %w", err)
	}
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok {
			return st, fmt.Errorf("status.conditions: an entry is %T, not an object", c)
		}
		typ, _ := m["type"].(string)
		s, _ := m["status"].(string)
		st.Conditions[typ] = s == "True"
	}
	st.DesiredPhase, _, err = unstructured.NestedString(obj.Object, "status", "experiment", "desiredPhase")
	if err != nil {
		return st, fmt.Errorf("status.experiment.desiredPhase: %w", err)
	}
	recs, found, err := unstructured.NestedSlice(obj.Object, "status", "experiment", "containerRecords")
	if err != nil {
		return st, fmt.Errorf("status.experiment.containerRecords: %w", err)
	}
	if !found {
		return st, nil
	}
	st.Records = []Record{}
	for i, r := range recs {
		m, ok := r.(map[string]any)
		if !ok {
			return st, fmt.Errorf("status.experiment.containerRecords[%d]: %T, not an object", i, r)
		}
		rec := Record{}
		rec.ID, _ = m["id"].(string)
		rec.Phase, _ = m["phase"].(string)
		evs, _ := m["events"].([]any)
		for _, e := range evs {
			em, _ := e.(map[string]any)
			ev := Event{}
			ev.Type, _ = em["type"].(string)
			ev.Operation, _ = em["operation"].(string)
			ev.Message, _ = em["message"].(string)
			if ts, ok := em["timestamp"].(string); ok {
				at, err := time.Parse(time.RFC3339, ts)
				if err != nil {
					return st, fmt.Errorf("status.experiment.containerRecords[%d].events: timestamp %q: %w", i, ts, err)
				}
				ev.At = at
			}
			rec.Events = append(rec.Events, ev)
		}
		if rec.ID == "" {
			return st, fmt.Errorf("status.experiment.containerRecords[%d]: no id", i)
		}
		st.Records = append(st.Records, rec)
	}
	return st, nil
}

// Injected is one pod a fault was proved injected into.
type Injected struct {
	Pod, Container string
	At             time.Time // the record's last successful Apply
}

// Selection is what the fault's selector must select: Want pods among
// Matching (the pods its label selector matched when the fault was
// created).
type Selection struct {
	Matching []string // namespace/pod
	Want     int
}

// ProveInjected is the injection proof: Selected=True, AllInjected=True
// and one record per selected pod, each in phase Injected, for exactly the
// number of pods the selection wants, all of them pods the selector
// matched. The conditions alone are never trusted: a Chaos Mesh that
// selected nothing has reported AllInjected=True with no record
// (chaos-mesh#3568, fixed by chaos-mesh#4199). The error says what is
// missing.
func ProveInjected(st Status, sel Selection) ([]Injected, error) {
	if !st.Conditions[CondSelected] {
		return nil, fmt.Errorf("condition %s is not True: Chaos Mesh selected no pod%s", CondSelected, failures(st, "Apply"))
	}
	if !st.Conditions[CondAllInjected] {
		return nil, fmt.Errorf("condition %s is not True: %s%s", CondAllInjected, phases(st), failures(st, "Apply"))
	}
	return proveRecords(st, sel)
}

// proveRecords checks the records behind the conditions.
func proveRecords(st Status, sel Selection) ([]Injected, error) {
	if len(st.Records) == 0 {
		return nil, fmt.Errorf("conditions %s and %s are True but the status has no record: no pod is proved injected", CondSelected, CondAllInjected)
	}
	matching := map[string]bool{}
	for _, p := range sel.Matching {
		matching[p] = true
	}
	pods := map[string]bool{}
	var out []Injected
	for _, r := range st.Records {
		pod := r.Pod()
		if !matching[pod] {
			return nil, fmt.Errorf("record %s is for pod %s, which the selector did not match", r.ID, pod)
		}
		if r.Phase != PhaseInjected {
			return nil, fmt.Errorf("record %s is in phase %q, not %s", r.ID, r.Phase, PhaseInjected)
		}
		if pods[pod] {
			return nil, fmt.Errorf("pod %s has more than one record", pod)
		}
		pods[pod] = true
		ev, ok := r.lastEvent("Apply")
		if !ok || ev.Type != "Succeeded" || ev.At.IsZero() {
			return nil, fmt.Errorf("record %s is %s without a successful, timed Apply event", r.ID, PhaseInjected)
		}
		_, container, _ := strings.Cut(strings.TrimPrefix(r.ID, pod), "/")
		out = append(out, Injected{Pod: pod, Container: container, At: ev.At})
	}
	if len(pods) != sel.Want {
		return nil, fmt.Errorf("%d pod(s) recorded injected, the selection wants %d of the %d the selector matched", len(pods), sel.Want, len(sel.Matching))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod < out[j].Pod })
	return out, nil
}

// ProveRecovered is the revert proof while the object still exists:
// AllRecovered=True with every record in phase Not Injected. A Chaos Mesh
// with no record recovered nothing, and says AllRecovered=False.
func ProveRecovered(st Status) error {
	if !st.Conditions[CondAllRecovered] {
		return fmt.Errorf("condition %s is not True: %s%s", CondAllRecovered, phases(st), failures(st, "Recover"))
	}
	for _, r := range st.Records {
		if r.Phase != PhaseNotInjected {
			return fmt.Errorf("record %s is in phase %q, not %q", r.ID, r.Phase, PhaseNotInjected)
		}
	}
	return nil
}

// phases summarises the records' phases.
func phases(st Status) string {
	if st.Records == nil {
		return "no record"
	}
	var out []string
	for _, r := range st.Records {
		out = append(out, r.ID+" "+r.Phase)
	}
	return strings.Join(out, ", ")
}

// failures lists the records' last failed event of op, if any.
func failures(st Status, op string) string {
	var out []string
	for _, r := range st.Records {
		if ev, ok := r.lastEvent(op); ok && ev.Type == "Failed" {
			out = append(out, fmt.Sprintf("%s: %s failed: %s", r.ID, op, ev.Message))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, "; ") + ")"
}
