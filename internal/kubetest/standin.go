package kubetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	chaos "github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Mode is how the stand-in treats the chaos objects it reconciles.
type Mode string

const (
	// ModeInjected: every selected container is injected at once, and
	// recovered at the revert.
	ModeInjected Mode = "injected"
	// ModeNeverSelected: no pod is ever selected, as when Chaos Mesh's
	// selector finds no running pod: no record, Selected=False.
	ModeNeverSelected Mode = "never-selected"
	// ModeInjectionFails: the pods are selected, and every Apply fails (a
	// record event Failed/Apply, the phase stays Not Injected).
	ModeInjectionFails Mode = "injection-fails"
	// ModeStuckDeletion: injection works, every Recover fails, so the
	// finalizer chaos-mesh/records is never removed.
	ModeStuckDeletion Mode = "stuck-deletion"
	// ModeConditionsWithoutRecords is Chaos Mesh before chaos-mesh#4199
	// (issue chaos-mesh#3568): nothing selected, yet Selected, AllInjected
	// and AllRecovered read True, with no record.
	ModeConditionsWithoutRecords Mode = "conditions-without-records"
	// ModeEffect: as ModeInjected, but each Apply and Recover first calls the
	// stand-in's Effect, which puts the same fault into the Docker
	// container standing for the pod.
	ModeEffect Mode = "effect"
)

// Effect injects (apply) or recovers (!apply) a chaos object's fault in
// the container standing for one pod (namespace/pod/container).
type Effect func(ctx context.Context, obj chaos.InnerObject, id string, apply bool) error

// StandIn is a TEST-ONLY STAND-IN for Chaos Mesh's controller manager,
// which cannot run here (no kubelet, no chaos-daemon). It reconciles
// StressChaos and IOChaos objects in one namespace and writes their status
// the way chaos-mesh's controllers do, step by step as in
// controllers/common/pipeline/pipeline.go:
//
//   - controllers/common/finalizers/controller.go: the finalizer
//     chaos-mesh/records is added to a live object and removed (all
//     finalizers) once it is deleted and every record is Not Injected;
//   - controllers/common/desiredphase/controller.go: desiredPhase is Stop
//     once the object is deleted or its duration exceeded (creation time
//     plus spec.duration), else Run;
//   - controllers/common/records/controller.go: records are created once,
//     one per selected container (id namespace/pod/container, selectorKey
//     "."; the first container when containerNames is empty), pods chosen
//     by mode as pkg/selector/generic/mode.go does; Apply and Recover move
//     a record between Not Injected and Injected, counting them and
//     appending Succeeded or Failed events;
//   - controllers/common/condition/controller.go: Selected is records
//     non-nil, AllInjected and AllRecovered every record Injected or Not
//     Injected (and False without records), Paused False.
//
// The status is written with a whole-object Update, as the CRDs have no
// status subresource. It is not Chaos Mesh: it injects nothing into a pod
// unless Mode is ModeEffect and Effect is set.
type StandIn struct {
	dyn       dynamic.Interface
	namespace string
	// Effect is called in Mode Effect.
	Effect Effect

	mu   sync.Mutex
	mode Mode
	errs []error
}

// NewStandIn is a stand-in reconciling namespace as cfg's identity (an
// administrator: the real controller has a ClusterRole of its own).
func NewStandIn(cfg *rest.Config, namespace string, mode Mode) (*StandIn, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &StandIn{dyn: dyn, namespace: namespace, mode: mode}, nil
}

// SetMode changes the mode for the objects' next steps.
func (s *StandIn) SetMode(m Mode) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

func (s *StandIn) currentMode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// Errors are the reconcile errors so far other than update conflicts.
func (s *StandIn) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// Run reconciles every 50 ms until ctx ends.
func (s *StandIn) Run(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		for _, k := range []string{"stresschaos", "iochaos"} {
			if err := s.reconcileAll(ctx, k); err != nil && ctx.Err() == nil {
				s.mu.Lock()
				s.errs = append(s.errs, err)
				s.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *StandIn) resource(kind string) dynamic.ResourceInterface {
	return s.dyn.Resource(schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: kind}).Namespace(s.namespace)
}

func (s *StandIn) reconcileAll(ctx context.Context, kind string) error {
	list, err := s.resource(kind).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		err := s.reconcile(ctx, kind, &list.Items[i])
		if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("stand-in: %s %s: %w", kind, list.Items[i].GetName(), err)
		}
	}
	return nil
}

// typed decodes u into the Chaos Mesh type of kind.
func typed(kind string, u *unstructured.Unstructured) (chaos.InnerObject, *chaos.ContainerSelector, error) {
	switch kind {
	case "stresschaos":
		var o chaos.StressChaos
		err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &o)
		return &o, &o.Spec.ContainerSelector, err
	case "iochaos":
		var o chaos.IOChaos
		err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &o)
		return &o, &o.Spec.ContainerSelector, err
	}
	return nil, nil, fmt.Errorf("kind %s", kind)
}

func (s *StandIn) reconcile(ctx context.Context, kind string, u *unstructured.Unstructured) error {
	obj, sel, err := typed(kind, u)
	if err != nil {
		return err
	}
	mode := s.currentMode()
	meta := obj.(metav1.Object)
	st := obj.GetStatus()
	before, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)

	// finalizers.InitStep
	if !obj.IsDeleted() && !contains(meta.GetFinalizers(), "chaos-mesh/records") {
		meta.SetFinalizers(append(meta.GetFinalizers(), "chaos-mesh/records"))
	}
	// desiredphase.Step
	phase := chaos.RunningPhase
	if exceeded, _, err := obj.DurationExceeded(time.Now()); obj.IsDeleted() || (err == nil && exceeded) {
		phase = chaos.StoppedPhase
	}
	st.Experiment.DesiredPhase = phase
	// records.Step
	if st.Experiment.Records == nil && mode != ModeNeverSelected && mode != ModeConditionsWithoutRecords {
		ids, err := s.selectContainers(ctx, meta.GetNamespace(), sel)
		if err != nil {
			return err
		}
		for _, id := range ids {
			st.Experiment.Records = append(st.Experiment.Records, &chaos.Record{Id: id, SelectorKey: ".", Phase: chaos.NotInjected})
		}
	}
	for _, r := range st.Experiment.Records {
		switch {
		case phase == chaos.RunningPhase && r.Phase != chaos.Injected:
			err := s.step(ctx, mode, obj, r.Id, true)
			record(r, chaos.Apply, err)
		case phase == chaos.StoppedPhase && r.Phase != chaos.NotInjected:
			err := s.step(ctx, mode, obj, r.Id, false)
			record(r, chaos.Recover, err)
		}
	}
	// condition.Step
	recs := st.Experiment.Records
	all := func(p chaos.Phase) bool {
		if recs == nil {
			return mode == ModeConditionsWithoutRecords
		}
		for _, r := range recs {
			if r.Phase != p {
				return false
			}
		}
		return true
	}
	st.Conditions = []chaos.ChaosCondition{
		{Type: chaos.ConditionSelected, Status: boolStatus(recs != nil || mode == ModeConditionsWithoutRecords)},
		{Type: chaos.ConditionAllInjected, Status: boolStatus(all(chaos.Injected))},
		{Type: chaos.ConditionAllRecovered, Status: boolStatus(all(chaos.NotInjected))},
		{Type: chaos.ConditionPaused, Status: corev1.ConditionFalse},
	}
	// finalizers.CleanStep: every record Not Injected, vacuously so
	// when there is none.
	recovered := true
	for _, r := range recs {
		recovered = recovered && r.Phase == chaos.NotInjected
	}
	if obj.IsDeleted() && recovered {
		meta.SetFinalizers([]string{})
	}
	after, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	if equalJSON(before, after) {
		return nil
	}
	_, err = s.resource(kind).Update(ctx, &unstructured.Unstructured{Object: after}, metav1.UpdateOptions{})
	return err
}

// step applies or recovers one record's fault; the error is the record's
// Failed event.
func (s *StandIn) step(ctx context.Context, mode Mode, obj chaos.InnerObject, id string, apply bool) error {
	switch {
	case mode == ModeInjectionFails && apply:
		return errors.New("stand-in: injection failed (mode injection-fails)")
	case mode == ModeStuckDeletion && !apply:
		return errors.New("stand-in: recover failed (mode stuck-deletion)")
	case mode == ModeEffect:
		if s.Effect == nil {
			return errors.New("stand-in: mode effect without an Effect")
		}
		return s.Effect(ctx, obj, id, apply)
	}
	return nil
}

// record moves r after an Apply or Recover, as records/controller.go does.
func record(r *chaos.Record, op chaos.RecordEventOperation, err error) {
	now := metav1.Now()
	if err != nil {
		r.Events = append(r.Events, chaos.RecordEvent{Type: chaos.TypeFailed, Operation: op, Message: err.Error(), Timestamp: &now})
		return
	}
	if op == chaos.Apply {
		r.Phase, r.InjectedCount = chaos.Injected, r.InjectedCount+1
	} else {
		r.Phase, r.RecoveredCount = chaos.NotInjected, r.RecoveredCount+1
	}
	r.Events = append(r.Events, chaos.RecordEvent{Type: chaos.TypeSucceeded, Operation: op, Timestamp: &now})
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// selectContainers picks the pods by the selector's namespaces, labels
// and mode (pkg/selector/generic/mode.go: fixed capped at the matches,
// fixed-percent rounded up, chosen at random) and names one container of
// each (pkg/selector/container/selector.go).
func (s *StandIn) selectContainers(ctx context.Context, ns string, sel *chaos.ContainerSelector) ([]string, error) {
	nss := sel.Selector.Namespaces
	if len(nss) == 0 {
		nss = []string{ns}
	}
	var pods []corev1.Pod
	for _, n := range nss {
		list, err := s.dyn.Resource(podsGVR).Namespace(n).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel.Selector.LabelSelectors).String()})
		if err != nil {
			return nil, err
		}
		for _, u := range list.Items {
			var p corev1.Pod
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
				return nil, err
			}
			if p.DeletionTimestamp == nil {
				pods = append(pods, p)
			}
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	n := len(pods)
	want := n
	v, _ := strconv.Atoi(sel.Value)
	switch sel.Mode {
	case chaos.OneMode:
		want = min(1, n)
	case chaos.FixedMode:
		want = min(v, n)
	case chaos.FixedPercentMode:
		want = int(math.Ceil(float64(n) * float64(v) / 100))
	}
	rand.Shuffle(n, func(i, j int) { pods[i], pods[j] = pods[j], pods[i] })
	var ids []string
	for _, p := range pods[:want] {
		names := sel.ContainerNames
		if len(names) == 0 && len(p.Spec.Containers) > 0 {
			names = []string{p.Spec.Containers[0].Name}
		}
		for _, c := range p.Spec.Containers {
			if contains(names, c.Name) {
				ids = append(ids, p.Namespace+"/"+p.Name+"/"+c.Name)
			}
		}
	}
	return ids, nil
}

func boolStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func equalJSON(a, b map[string]any) bool { return reflect.DeepEqual(a, b) }
