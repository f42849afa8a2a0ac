package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// Spec is one chaos object to create.
type Spec struct {
	Kind   Kind
	Name   string
	Labels map[string]string // besides Label, which is always set
	// Spec is the object's spec, as JSON values (package kube's ChaosSpec
	// writes it); its duration is set from Duration.
	Spec     map[string]any
	Duration time.Duration
}

// Fault is a chaos object the harness created.
type Fault struct {
	c         *Client
	Kind      Kind
	Name      string
	Selection Selection
	Created   time.Time
	// Prove is the injection proof AwaitInjected applies; nil:
	// ProveInjected. Only the mutant matrix sets another (seam.Hooks).
	Prove func(Status, Selection) ([]Injected, error)
}

// CleanupHint is what to run when a chaos object outlives its fault.
func (c *Client) CleanupHint() string {
	return "gameday cleanup --kube --namespace " + c.namespace
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// Create lists the pods s's selector matches (so that the proof knows how
// many records to expect, and which pods they may name) and creates the
// object with spec.duration set: Chaos Mesh stops the fault at its
// duration whatever happens to the harness.
func (c *Client) Create(ctx context.Context, s Spec) (*Fault, error) {
	if s.Duration <= 0 {
		return nil, fmt.Errorf("chaosmesh: %s %s: no duration: an object without one would outlive a killed harness", s.Kind.Kind, s.Name)
	}
	sel, err := c.Selection(ctx, s.Spec)
	if err != nil {
		return nil, fmt.Errorf("chaosmesh: %s %s: %w", s.Kind.Kind, s.Name, err)
	}
	spec := make(map[string]any, len(s.Spec)+1)
	for k, v := range s.Spec {
		spec[k] = v
	}
	spec["duration"] = s.Duration.String()
	lbl := map[string]any{Label: "true"}
	for k, v := range s.Labels {
		lbl[k] = v
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": Group + "/" + Version,
		"kind":       s.Kind.Kind,
		"metadata":   map[string]any{"name": s.Name, "namespace": c.namespace, "labels": lbl},
		"spec":       spec,
	}}
	got, err := c.dyn.Resource(s.Kind.GVR()).Namespace(c.namespace).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("chaosmesh: create %s %s in %s: %w", s.Kind.Kind, s.Name, c.namespace, err)
	}
	return &Fault{c: c, Kind: s.Kind, Name: got.GetName(), Selection: sel, Created: got.GetCreationTimestamp().Time}, nil
}

// Selection lists the pods the spec's selector matches (its namespaces,
// the client's when it names none, and its label selectors) and how many
// of them its mode selects, as chaos-mesh's pkg/selector/generic/mode.go
// counts them (fixed capped at the matches, fixed-percent rounded up).
// A selector that matches no pod is an error: the fault could land
// nowhere.
func (c *Client) Selection(ctx context.Context, spec map[string]any) (Selection, error) {
	nss, _, _ := unstructured.NestedStringSlice(spec, "selector", "namespaces")
	if len(nss) == 0 {
		nss = []string{c.namespace}
	}
	lbls, _, err := unstructured.NestedStringMap(spec, "selector", "labelSelectors")
	if err != nil {
		return Selection{}, fmt.Errorf("spec.selector.labelSelectors: %w", err)
	}
	var sel Selection
	for _, ns := range nss {
		list, err := c.dyn.Resource(podsGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(lbls).String()})
		if err != nil {
			return Selection{}, fmt.Errorf("list pods %s in %s: %w", labels.SelectorFromSet(lbls), ns, err)
		}
		for _, p := range list.Items {
			if p.GetDeletionTimestamp() == nil {
				sel.Matching = append(sel.Matching, ns+"/"+p.GetName())
			}
		}
	}
	sort.Strings(sel.Matching)
	n := len(sel.Matching)
	if n == 0 {
		return sel, fmt.Errorf("the selector %s matches no pod in %s", labels.SelectorFromSet(lbls), strings.Join(nss, ", "))
	}
	mode, _, _ := unstructured.NestedString(spec, "mode")
	value, _, _ := unstructured.NestedString(spec, "value")
	switch mode {
	case "all", "":
		sel.Want = n
	case "one":
		sel.Want = 1
	case "fixed":
		v, err := strconv.Atoi(value)
		if err != nil || v <= 0 {
			return sel, fmt.Errorf("spec.value %q: mode fixed wants a count from 1", value)
		}
		sel.Want = min(v, n)
	case "fixed-percent":
		v, err := strconv.Atoi(value)
		if err != nil || v <= 0 || v > 100 {
			return sel, fmt.Errorf("spec.value %q: mode fixed-percent wants a percent in 1..100", value)
		}
		sel.Want = int(math.Ceil(float64(n) * float64(v) / 100))
	default:
		return sel, fmt.Errorf("spec.mode %q: the harness proves only modes all, one, fixed and fixed-percent (random-max-percent selects an unknown number)", mode)
	}
	return sel, nil
}

// NotInjectedError is a fault Chaos Mesh did not prove injected within
// its deadline.
type NotInjectedError struct {
	Kind, Name string
	Within     time.Duration
	Reason     string // the last proof's error
}

func (e *NotInjectedError) Error() string {
	return fmt.Sprintf("%s %s not proved injected within %s: %s", e.Kind, e.Name, e.Within, e.Reason)
}

// AwaitInjected watches the object until ProveInjected holds, and returns
// the pods with their injection times; past within it returns a
// *NotInjectedError with the last reason.
func (f *Fault) AwaitInjected(ctx context.Context, within time.Duration) ([]Injected, error) {
	var pods []Injected
	reason := "no status read"
	err := f.watch(ctx, within, func(obj *unstructured.Unstructured) bool {
		prove := f.Prove
		if prove == nil {
			prove = ProveInjected
		}
		st, err := ReadStatus(obj)
		if err == nil {
			pods, err = prove(st, f.Selection)
		}
		if err != nil {
			reason = err.Error()
			return false
		}
		return true
	})
	switch {
	case err == nil:
		return pods, nil
	case errors.Is(err, errGone):
		return nil, &NotInjectedError{Kind: f.Kind.Kind, Name: f.Name, Within: within, Reason: "the object was deleted (" + reason + ")"}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return nil, &NotInjectedError{Kind: f.Kind.Kind, Name: f.Name, Within: within, Reason: reason}
	default:
		return nil, fmt.Errorf("%s %s: %w (last: %s)", f.Kind.Kind, f.Name, err, reason)
	}
}

// RevertError is a chaos object that was neither recovered nor gone
// within the revert's deadline: the fault may still be in its pods.
type RevertError struct {
	Kind, Name string
	Within     time.Duration
	Reason     string
	Hint       string // the cleanup command
}

func (e *RevertError) Error() string {
	return fmt.Sprintf("%s %s neither recovered nor gone %s after its deletion: %s; the fault may still be in its pods: run %s", e.Kind, e.Name, e.Within, e.Reason, e.Hint)
}

// Revert deletes the object and waits until it is gone or reads
// AllRecovered=True with every record Not Injected. Deleting an object
// already gone is a success (it expired and was removed by hand, or an
// earlier revert ran).
func (f *Fault) Revert(ctx context.Context, within time.Duration) error {
	return f.c.remove(ctx, f.Kind, f.Name, within, false)
}

// remove deletes the object and waits until it is gone or, unless
// mustGo, reads recovered.
func (c *Client) remove(ctx context.Context, k Kind, name string, within time.Duration, mustGo bool) error {
	err := c.dyn.Resource(k.GVR()).Namespace(c.namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w; the fault may still be in its pods: run %s", k.Kind, name, err, c.CleanupHint())
	}
	reason := "not read since the deletion"
	f := &Fault{c: c, Kind: k, Name: name}
	err = f.watch(ctx, within, func(obj *unstructured.Unstructured) bool {
		st, err := ReadStatus(obj)
		if err == nil {
			err = ProveRecovered(st)
		}
		if err == nil && mustGo {
			err = errors.New("recovered, not gone yet")
		}
		if err != nil {
			if len(st.Finalizers) > 0 {
				err = fmt.Errorf("%w; finalizers %s hold it", err, strings.Join(st.Finalizers, ", "))
			}
			reason = err.Error()
			return false
		}
		return true
	})
	switch {
	case err == nil, errors.Is(err, errGone):
		return nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return &RevertError{Kind: k.Kind, Name: name, Within: within, Reason: reason, Hint: c.CleanupHint()}
	default:
		return fmt.Errorf("%s %s after its deletion: %w (last: %s); run %s", k.Kind, name, err, reason, c.CleanupHint())
	}
}

var errGone = errors.New("the object is gone")

// watch calls done with each version of the object until it returns
// true, the object is deleted (errGone) or within passes
// (context.DeadlineExceeded). It reads the object first, then watches
// from that version, and watches again if the server ends the watch.
func (f *Fault) watch(ctx context.Context, within time.Duration, done func(*unstructured.Unstructured) bool) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	res := f.c.dyn.Resource(f.Kind.GVR()).Namespace(f.c.namespace)
	for {
		obj, err := res.Get(ctx, f.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return errGone
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if done(obj) {
			return nil
		}
		w, err := res.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", f.Name).String(), ResourceVersion: obj.GetResourceVersion()})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		finished, err := drain(ctx, w, done)
		w.Stop()
		if finished || err != nil {
			return err
		}
	}
}

// drain reads a watch until done says so (true, nil), the object is
// deleted (true, errGone), the context ends (true, its error) or the
// server closes the watch (false, nil: watch again).
func drain(ctx context.Context, w watch.Interface, done func(*unstructured.Unstructured) bool) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return true, errGone
			case watch.Added, watch.Modified:
				if obj, ok := ev.Object.(*unstructured.Unstructured); ok && done(obj) {
					return true, nil
				}
			case watch.Error:
				return false, nil
			}
		}
	}
}

// Leftover is a chaos object of the harness found in the namespace.
type Leftover struct {
	Kind, Name, Run string
	Err             error // why it could not be removed; nil: removed
}

// Cleanup deletes every chaos object of kinds labelled Label in the
// namespace (of run, when run is not empty) and waits up to within for each
// to be gone (Chaos Mesh removes its finalizer once it recovered every
// pod). A kind the cluster does not serve has none to delete. It returns
// what it found; a Leftover with an Err is still there.
func (c *Client) Cleanup(ctx context.Context, kinds []Kind, run string, within time.Duration) ([]Leftover, error) {
	set := labels.Set{Label: "true"}
	if run != "" {
		set[RunLabel] = run
	}
	var out []Leftover
	for _, k := range kinds {
		list, err := c.dyn.Resource(k.GVR()).Namespace(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: set.String()})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("list %s in %s: %w", k, c.namespace, err)
		}
		for _, o := range list.Items {
			out = append(out, Leftover{Kind: k.Kind, Name: o.GetName(), Run: o.GetLabels()[RunLabel],
				Err: c.remove(ctx, k, o.GetName(), within, true)})
		}
	}
	return out, nil
}

// Leftovers lists the chaos objects of kinds of the harness in the
// namespace (Kind/name of run ID), whatever their state.
func (c *Client) Leftovers(ctx context.Context, kinds []Kind) ([]string, error) {
	var out []string
	for _, k := range kinds {
		list, err := c.dyn.Resource(k.GVR()).Namespace(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: Label + "=true"})
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", k, c.namespace, err)
		}
		for _, o := range list.Items {
			out = append(out, fmt.Sprintf("%s/%s of run %s", k.Kind, o.GetName(), o.GetLabels()[RunLabel]))
		}
	}
	return out, nil
}
