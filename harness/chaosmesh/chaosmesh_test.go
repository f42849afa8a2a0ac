package chaosmesh_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	chaos "github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/internal/kubetest"
)

// api is the package's one API server (etcd and kube-apiserver with
// Chaos Mesh's CRDs); each test has its own namespace and stand-in.
// apiErr is why there is none: outside CI, no etcd skips the tests that
// need it (needAPI).
var (
	api    *kubetest.Env
	apiErr error
)

func TestMain(m *testing.M) {
	api, apiErr = kubetest.New(kubetest.Options{})
	if apiErr != nil && !kubetest.Unavailable(apiErr) {
		fmt.Fprintln(os.Stderr, apiErr)
		os.Exit(1)
	}
	code := m.Run()
	if api != nil {
		api.Stop()
	}
	os.Exit(code)
}

func needAPI(t *testing.T) {
	t.Helper()
	if api == nil {
		t.Skip(apiErr, "; CI runs this test")
	}
}

var nsSeq atomic.Int32

var gateLabels = map[string]string{"app": "quannex-gate"}

// cluster is one test's namespace with pods, a stand-in in mode and the
// harness's client with exactly the verbs the pre-flight asks for.
type cluster struct {
	ns      string
	pods    []string
	standIn *kubetest.StandIn
	client  *chaosmesh.Client
}

func newCluster(t *testing.T, pods int, mode kubetest.Mode) *cluster {
	t.Helper()
	needAPI(t)
	ns := fmt.Sprintf("gates-%d", nsSeq.Add(1))
	api.Namespace(t, ns)
	c := &cluster{ns: ns, pods: api.Pods(t, ns, "gate", pods, gateLabels)}
	var err error
	c.standIn, err = kubetest.NewStandIn(api.Admin, ns, mode)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.standIn.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, err := range c.standIn.Errors() {
			t.Errorf("stand-in: %v", err)
		}
	})
	cfg := api.User(t, "harness-"+ns, ns, kubetest.HarnessRules(chaosmesh.Verbs...))
	c.client, err = chaosmesh.New(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func stressSpec(ns string, mode, value string) chaosmesh.Spec {
	sel := map[string]any{"namespaces": []any{ns}, "labelSelectors": map[string]any{"app": "quannex-gate"}}
	spec := map[string]any{"selector": sel, "mode": mode, "containerNames": []any{"gate"},
		"stressors": map[string]any{"cpu": map[string]any{"workers": int64(1), "load": int64(100)}}}
	if value != "" {
		spec["value"] = value
	}
	return chaosmesh.Spec{Kind: chaosmesh.StressChaos, Name: "gameday-cpu-spike-0", Spec: spec, Duration: time.Minute,
		Labels: map[string]string{chaosmesh.RunLabel: "run-1", chaosmesh.FaultLabel: "0"}}
}

func (c *cluster) get(t *testing.T, name string) (*chaos.StressChaos, error) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(api.Admin)
	u, err := dyn.Resource(chaosmesh.StressChaos.GVR()).Namespace(c.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var o chaos.StressChaos
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &o, true); err != nil {
		t.Fatalf("the object does not decode strictly into chaos-mesh's StressChaos: %v", err)
	}
	return &o, nil
}

func TestInjectionIsProvedByOneRecordPerSelectedPod(t *testing.T) {
	c := newCluster(t, 3, kubetest.ModeInjected)
	ctx := context.Background()
	f, err := c.client.Create(ctx, stressSpec(c.ns, "all", ""))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := c.get(t, f.Name)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Spec.Duration == nil || *obj.Spec.Duration != "1m0s" || obj.Labels[chaosmesh.Label] != "true" || obj.Labels[chaosmesh.RunLabel] != "run-1" {
		t.Fatalf("created without its duration or labels: duration %v, labels %v", obj.Spec.Duration, obj.Labels)
	}
	pods, err := f.AwaitInjected(ctx, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 3 {
		t.Fatalf("proved %d pods, want 3: %+v", len(pods), pods)
	}
	for i, p := range pods {
		if p.Pod != c.pods[i] || p.Container != "gate" || p.At.IsZero() || p.At.Before(f.Created.Add(-time.Second)) {
			t.Errorf("pod %d: %+v, want %s/gate injected after %s", i, p, c.pods[i], f.Created)
		}
	}
	if err := f.Revert(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.get(t, f.Name); !apierrors.IsNotFound(err) {
		t.Fatalf("after the revert the object is still there (%v)", err)
	}
}

func TestFixedModeWantsItsCountOfRecords(t *testing.T) {
	c := newCluster(t, 3, kubetest.ModeInjected)
	ctx := context.Background()
	f, err := c.client.Create(ctx, stressSpec(c.ns, "fixed-percent", "50"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Selection.Want != 2 || len(f.Selection.Matching) != 3 {
		t.Fatalf("selection %+v, want 2 (50 %% of 3, rounded up as Chaos Mesh does) of 3", f.Selection)
	}
	pods, err := f.AwaitInjected(ctx, 20*time.Second)
	if err != nil || len(pods) != 2 {
		t.Fatalf("proved %v (%v), want 2 pods", pods, err)
	}
	if err := f.Revert(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// notInjected runs a fault against a stand-in in mode and returns the
// proof's failure.
func notInjected(t *testing.T, mode kubetest.Mode) *chaosmesh.NotInjectedError {
	t.Helper()
	c := newCluster(t, 2, mode)
	ctx := context.Background()
	f, err := c.client.Create(ctx, stressSpec(c.ns, "all", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Revert(ctx, 20*time.Second); err != nil {
			t.Errorf("revert: %v", err)
		}
	}()
	pods, err := f.AwaitInjected(ctx, 3*time.Second)
	var ni *chaosmesh.NotInjectedError
	if !errors.As(err, &ni) {
		t.Fatalf("mode %s: proved %v (err %v), want a NotInjectedError", mode, pods, err)
	}
	return ni
}

func TestNeverSelectedIsNotInjected(t *testing.T) {
	ni := notInjected(t, kubetest.ModeNeverSelected)
	if !strings.Contains(ni.Reason, "condition Selected is not True") {
		t.Fatalf("reason %q", ni.Reason)
	}
}

func TestFailedInjectionIsNotInjectedAndSaysWhy(t *testing.T) {
	ni := notInjected(t, kubetest.ModeInjectionFails)
	if !strings.Contains(ni.Reason, "AllInjected is not True") || !strings.Contains(ni.Reason, "Apply failed: stand-in: injection failed") {
		t.Fatalf("reason %q", ni.Reason)
	}
}

func TestConditionsWithoutRecordsAreNotTrusted(t *testing.T) {
	ni := notInjected(t, kubetest.ModeConditionsWithoutRecords)
	if !strings.Contains(ni.Reason, "no record") {
		t.Fatalf("reason %q", ni.Reason)
	}
}

func TestStuckDeletionFailsTheRevertLoudly(t *testing.T) {
	c := newCluster(t, 2, kubetest.ModeStuckDeletion)
	ctx := context.Background()
	f, err := c.client.Create(ctx, stressSpec(c.ns, "all", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.AwaitInjected(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	err = f.Revert(ctx, 3*time.Second)
	var re *chaosmesh.RevertError
	if !errors.As(err, &re) {
		t.Fatalf("revert of a stuck deletion: %v, want a RevertError", err)
	}
	for _, want := range []string{"chaos-mesh/records", "Recover failed", "gameday cleanup --kube --namespace " + c.ns} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("revert error %q does not say %q", err, want)
		}
	}
	// Cleanup finds it and, while Chaos Mesh cannot recover, says so.
	left, err := c.client.Cleanup(ctx, chaosmesh.Kinds, "", 2*time.Second)
	if err != nil || len(left) != 1 || left[0].Err == nil || left[0].Run != "run-1" {
		t.Fatalf("cleanup of a stuck object: %+v (%v), want it found and not removed", left, err)
	}
	// Once recovery works again, cleanup removes it.
	c.standIn.SetMode(kubetest.ModeInjected)
	left, err = c.client.Cleanup(ctx, chaosmesh.Kinds, "run-1", 20*time.Second)
	if err != nil || len(left) != 1 || left[0].Err != nil {
		t.Fatalf("cleanup: %+v (%v), want the object removed", left, err)
	}
	if _, err := c.get(t, f.Name); !apierrors.IsNotFound(err) {
		t.Fatalf("after cleanup the object is still there (%v)", err)
	}
}

func TestAnObjectStopsByItsDurationWithoutTheHarness(t *testing.T) {
	c := newCluster(t, 1, kubetest.ModeInjected)
	ctx := context.Background()
	s := stressSpec(c.ns, "all", "")
	s.Duration = 2 * time.Second
	f, err := c.client.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.AwaitInjected(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// The harness is gone: nobody deletes the object.
	deadline := time.Now().Add(20 * time.Second)
	for {
		obj, err := c.get(t, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if obj.Status.Experiment.DesiredPhase == chaos.StoppedPhase && len(obj.Status.Experiment.Records) == 1 && obj.Status.Experiment.Records[0].Phase == chaos.NotInjected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after its duration the object still reads %+v", obj.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	left, err := c.client.Cleanup(ctx, chaosmesh.Kinds, "", 20*time.Second)
	if err != nil || len(left) != 1 || left[0].Err != nil {
		t.Fatalf("cleanup: %+v (%v)", left, err)
	}
}

func need(ns string) chaosmesh.Need {
	return chaosmesh.Need{Kinds: []chaosmesh.Kind{chaosmesh.StressChaos},
		Selectors: map[string]map[string]any{"faults[0]": stressSpec(ns, "all", "").Spec}}
}

func TestPreflightNamesEachMissingVerb(t *testing.T) {
	c := newCluster(t, 1, kubetest.ModeInjected)
	ctx := context.Background()
	if err := c.client.Preflight(ctx, need(c.ns)); err != nil {
		t.Fatalf("the harness's Role: %v", err)
	}
	for _, missing := range chaosmesh.Verbs {
		var verbs []string
		for _, v := range chaosmesh.Verbs {
			if v != missing {
				verbs = append(verbs, v)
			}
		}
		cfg := api.User(t, "no-"+missing+"-"+c.ns, c.ns, kubetest.HarnessRules(verbs...))
		cl, err := chaosmesh.New(cfg, c.ns)
		if err != nil {
			t.Fatal(err)
		}
		err = cl.Preflight(ctx, need(c.ns))
		var pe *chaosmesh.PreflightError
		if !errors.As(err, &pe) || pe.Check != "rbac" || !strings.Contains(err.Error(), `verb "`+missing+`" on stresschaos.chaos-mesh.org`) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	cfg := api.User(t, "no-pods-"+c.ns, c.ns, []rbacv1.PolicyRule{{APIGroups: []string{"chaos-mesh.org"}, Resources: []string{"stresschaos"}, Verbs: chaosmesh.Verbs}})
	cl, _ := chaosmesh.New(cfg, c.ns)
	if err := cl.Preflight(ctx, need(c.ns)); err == nil || !strings.Contains(err.Error(), `verb "list" on pods`) {
		t.Errorf("without list on pods: %v", err)
	}
}

func TestPreflightRefusesASelectorThatMatchesNoPod(t *testing.T) {
	c := newCluster(t, 0, kubetest.ModeInjected)
	err := c.client.Preflight(context.Background(), need(c.ns))
	var pe *chaosmesh.PreflightError
	if !errors.As(err, &pe) || pe.Check != "selector" || !strings.Contains(err.Error(), "faults[0]: the selector app=quannex-gate matches no pod in "+c.ns) {
		t.Fatalf("%v", err)
	}
}

func TestPreflightRefusesAClusterWithoutChaosMeshCRDs(t *testing.T) {
	bare := kubetest.Start(t, kubetest.Options{NoCRDs: true})
	bare.Namespace(t, "gates")
	bare.Pods(t, "gates", "gate", 1, gateLabels)
	cl, err := chaosmesh.New(bare.Admin, "gates")
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Preflight(context.Background(), need("gates"))
	var pe *chaosmesh.PreflightError
	if !errors.As(err, &pe) || pe.Check != "crd" || !strings.Contains(err.Error(), "stresschaos.chaos-mesh.org is not installed") {
		t.Fatalf("%v", err)
	}
}
