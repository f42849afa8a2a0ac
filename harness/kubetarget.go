package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// TargetKube is a deployment in a Kubernetes cluster (--target
// kube=NAMESPACE): the load, the harness's scrapes and the admin-API
// faults go through the gates' Service (Options.External.URL), the alerts
// come from the cluster's Prometheus (External.Prometheus), and the faults
// on the gates' hosts (chaosmesh.Faults) are Chaos Mesh objects the
// harness creates, proves from their status and deletes.
const TargetKube = "kube"

// Kube is the cluster side of a kube target.
type Kube struct {
	Config *rest.Config // how the harness reaches the API server
	// Target is the gate pods: namespace, labels, container and cache
	// mount path.
	Target chaosmesh.Target
	// Run labels the run's chaos objects (chaosmesh.RunLabel) and names
	// them; empty: one is made from the time.
	Run string
	// InjectWithin is how long a chaos object has to be proved injected,
	// RevertWithin to be gone after its deletion; 0: the defaults.
	InjectWithin, RevertWithin time.Duration
}

// Default deadlines of a chaos object's proofs.
const (
	DefaultInjectWithin = time.Minute
	DefaultRevertWithin = time.Minute
)

// validate names the first missing field.
func (k *Kube) validate() error {
	switch {
	case k == nil:
		return errors.New("options: the kube target needs Options.Kube")
	case k.Config == nil:
		return errors.New("options: Kube.Config: required (the cluster's API server)")
	case k.Target.Namespace == "":
		return errors.New("options: Kube.Target.Namespace: required (the gates' namespace)")
	case len(k.Target.Labels) == 0:
		return errors.New("options: Kube.Target.Labels: required (the gate pods' selector)")
	}
	return nil
}

// CheckKube refuses what a scenario cannot do on a kube target, naming the
// field: a fault neither Chaos Mesh (chaosmesh.Faults) nor the gate's
// admin API injects, a fleet (the cluster's replicas are the Deployment's,
// selected by --selector), and the target options of a gate the harness
// starts.
func CheckKube(spec *scenario.Spec) error {
	bad := func(field, problem string) error { return &scenario.FieldError{Field: field, Problem: problem} }
	switch {
	case spec.Target.Kind != "":
		return bad("target.kind", fmt.Sprintf("a %s is started by the harness; --target kube= runs against the gate pods --selector picks", spec.Target.Kind))
	case spec.Target.TLS:
		return bad("target.tls", "the harness's throwaway CA is for a gate it starts; with --target kube= give an https:// --service URL")
	case spec.Target.CPUs != 0:
		return bad("target.cpus", "a CPU limit is set on a gate the harness starts; with --target kube= it is the Deployment's")
	case spec.Target.Memory != "":
		return bad("target.memory", "a memory limit is set on a gate the harness starts; with --target kube= it is the Deployment's")
	}
	for i, f := range spec.Faults {
		if chaosmesh.IsChaos(f.Name) {
			continue
		}
		if ok, _ := fault.RemoteCapable(f.Name); ok {
			continue
		}
		return bad(fmt.Sprintf("faults[%d].name", i), fmt.Sprintf("%s is not injected on a kube target yet; it takes the Chaos Mesh faults (%s) and the admin-API faults (%s)",
			f.Name, strings.Join(chaosmesh.Faults, ", "), strings.Join(fault.RemoteNames(), ", ")))
	}
	return nil
}

// kubeTopology is a gate Deployment in a cluster: one instance, its
// Service, which every fault hits, the chaos faults in the pods the
// selector picks. Nothing is started; the run's chaos objects are deleted
// on every exit path (the lifecycle's last word, after each fault's own
// revert).
type kubeTopology struct {
	*urlTopology
	kube *Kube
	spec *scenario.Spec
	cm   *chaosmesh.Client
	// prove is the injection proof; nil: chaosmesh.ProveInjected (the
	// mutant matrix breaks it through seam.Hooks.ChaosProof).
	prove func(chaosmesh.Status, chaosmesh.Selection) ([]chaosmesh.Injected, error)
}

// start runs the cluster's pre-flight (CRDs, RBAC verbs, selectors, no
// chaos object of ours already there) before the Service's lease.
func (k *kubeTopology) start(ctx context.Context, life *lifecycle) ([]*instance, error) {
	cm, err := chaosmesh.New(k.kube.Config, k.kube.Target.Namespace)
	if err != nil {
		return nil, err
	}
	k.cm = cm
	kinds, _, err := kubePreflight(ctx, cm, k.spec, k.kube.Target)
	if err != nil {
		return nil, err
	}
	life.push("the run's Chaos Mesh objects", func(ctx context.Context) error {
		if len(kinds) == 0 {
			return nil
		}
		left, err := cm.Cleanup(ctx, kinds, k.kube.Run, k.kube.revertWithin())
		var errs []error
		for _, l := range left {
			if l.Err != nil {
				errs = append(errs, l.Err)
			}
		}
		return errors.Join(append(errs, err)...)
	})
	return k.urlTopology.start(ctx, life)
}

// KubePreflight is the cluster's pre-flight of a kube target, for a dry
// run: what kubeTopology.start checks before anything is created. It
// returns what it found ready; a finding is a *PreflightError (exit 3).
func KubePreflight(ctx context.Context, specs []*scenario.Spec, k *Kube) ([]string, error) {
	if err := k.validate(); err != nil {
		return nil, err
	}
	cm, err := chaosmesh.New(k.Config, k.Target.Namespace)
	if err != nil {
		return nil, err
	}
	var ready []string
	for _, s := range specs {
		_, r, err := kubePreflight(ctx, cm, s, k.Target)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		for _, line := range r {
			if !slices.Contains(ready, line) {
				ready = append(ready, line)
			}
		}
	}
	return ready, nil
}

// kubePreflight checks the cluster for one scenario: Chaos Mesh's CRDs of
// the kinds its faults create, the RBAC verbs the run needs on them, each
// fault's selector (the gate pods when it has no chaos fault), and no
// chaos object of ours already in the namespace (of the kinds it creates,
// the only ones its Role lets it list). It returns those kinds and what it
// found ready.
func kubePreflight(ctx context.Context, cm *chaosmesh.Client, spec *scenario.Spec, t chaosmesh.Target) ([]chaosmesh.Kind, []string, error) {
	need := chaosmesh.Need{Selectors: map[string]map[string]any{}}
	kinds := map[chaosmesh.Kind]bool{}
	for i, f := range spec.Faults {
		if !chaosmesh.IsChaos(f.Name) {
			continue
		}
		kind, cs, err := chaosmesh.ForFault(f.Name, f.Params, t)
		if err != nil {
			return nil, nil, fmt.Errorf("faults[%d]: %w", i, err)
		}
		if !kinds[kind] {
			kinds[kind] = true
			need.Kinds = append(need.Kinds, kind)
		}
		need.Selectors[fmt.Sprintf("faults[%d]", i)] = cs
	}
	if len(need.Kinds) == 0 { // admin-API faults only: the pods still must be there
		need.Selectors["--selector"] = chaosmesh.SelectorSpec(t)
	}
	if err := cm.Preflight(ctx, need); err != nil {
		var pe *chaosmesh.PreflightError
		if errors.As(err, &pe) {
			return nil, nil, &PreflightError{Found: []string{pe.Msg}}
		}
		return nil, nil, err
	}
	left, err := cm.Leftovers(ctx, need.Kinds)
	if err != nil {
		return nil, nil, err
	}
	if len(left) > 0 {
		return nil, nil, &PreflightError{Found: []string{fmt.Sprintf("a chaos object of ours is already in namespace %s (%s): left by a killed run? It stops by its duration; %s removes it",
			t.Namespace, strings.Join(left, ", "), cm.CleanupHint())}}
	}
	var ready []string
	for _, k := range need.Kinds {
		ready = append(ready, fmt.Sprintf("the cluster serves %s and RBAC allows %s on it in %s", k.Kind, strings.Join(chaosmesh.Verbs, ", "), t.Namespace))
	}
	for _, field := range slices.Sorted(maps.Keys(need.Selectors)) {
		sel, _ := cm.Selection(ctx, need.Selectors[field])
		ready = append(ready, fmt.Sprintf("%s: the selector matches %d pod(s), %d selected", field, len(sel.Matching), sel.Want))
	}
	return need.Kinds, ready, nil
}

func (k *kubeTopology) describe(rep *reports.Report) {
	k.urlTopology.describe(rep)
	rep.Target.Kind = TargetKube
	rep.Target.Namespace = k.kube.Target.Namespace
	rep.Target.Selector = labels.SelectorFromSet(k.kube.Target.Labels).String()
}

// chaosFault is fault i as a Chaos Mesh object, when Chaos Mesh injects
// it (ok false: an admin-API fault, built from the registry).
func (k *kubeTopology) chaosFault(i int, fs scenario.FaultSpec) (fault.Fault, bool, error) {
	if !chaosmesh.IsChaos(fs.Name) {
		return nil, false, nil
	}
	kind, spec, err := chaosmesh.ForFault(fs.Name, fs.Params, k.kube.Target)
	if err != nil {
		return nil, true, err
	}
	name := fmt.Sprintf("gameday-%s-%s-%d", k.kube.Run, fs.Name, i)
	workers, _, _ := unstructured.NestedInt64(spec, "stressors", "cpu", "workers") // a StressChaos's; 0 for the others
	cores := float64(workers)
	return &chaosFault{name: fs.Name, cm: k.cm, injectWithin: k.kube.injectWithin(), revertWithin: k.kube.revertWithin(), prove: k.prove,
		prom: promserver.API{URL: k.ext.Prometheus}, container: k.kube.Target.Container, cores: cores,
		spec: chaosmesh.Spec{Kind: kind, Name: name, Spec: spec,
			Labels: map[string]string{chaosmesh.RunLabel: k.kube.Run, chaosmesh.FaultLabel: fmt.Sprint(i)}}}, true, nil
}

func (k *Kube) injectWithin() time.Duration {
	if k.InjectWithin > 0 {
		return k.InjectWithin
	}
	return DefaultInjectWithin
}

func (k *Kube) revertWithin() time.Duration {
	if k.RevertWithin > 0 {
		return k.RevertWithin
	}
	return DefaultRevertWithin
}

// chaosFault is a fault injected as a Chaos Mesh object: created with the
// fault's duration (it stops by itself if the harness dies), proved
// injected from its status records, deleted at the revert.
type chaosFault struct {
	name                       string
	cm                         *chaosmesh.Client
	spec                       chaosmesh.Spec
	injectWithin, revertWithin time.Duration
	prove                      func(chaosmesh.Status, chaosmesh.Selection) ([]chaosmesh.Injected, error)
	// prom is the cluster's Prometheus, container the gate's container and
	// cores the CPU a StressChaos asks for (0: another kind), for the
	// CPU proof from cAdvisor's series.
	prom      promserver.API
	container string
	cores     float64

	mu       sync.Mutex
	rec      *reports.Chaos
	proveErr error
	// cpu is each injected pod's cores over the fault's window, from
	// cAdvisor's series in the cluster's Prometheus; nil: none read
	// (cpuWhy says why).
	cpu    map[string]float64
	cpuWin time.Duration
	cpuWhy string
	cpuErr error // the CPU proof could not be read: it fails
}

func (c *chaosFault) Name() string { return c.name }

// Inject creates the object and waits for the injection proof. An object
// not proved injected within injectWithin is a *fault.NotLandedError,
// with the revert that deletes it.
func (c *chaosFault) Inject(ctx context.Context, _ fault.Host, env fault.Env) (func(context.Context) error, error) {
	s := c.spec
	s.Duration = env.Duration
	f, err := c.cm.Create(ctx, s)
	if err != nil {
		return nil, err
	}
	f.Prove = c.prove
	rec := &reports.Chaos{Kind: f.Kind.Kind, Name: f.Name, Namespace: c.cm.Namespace(), Selected: f.Selection.Want, Matching: len(f.Selection.Matching), Pods: []reports.ChaosPod{}}
	c.mu.Lock()
	c.rec = rec
	c.mu.Unlock()
	revert := func(ctx context.Context) error {
		end := time.Now()
		err := f.Revert(ctx, c.revertWithin)
		if err == nil {
			c.mu.Lock()
			c.rec.Gone = time.Now().UTC()
			c.mu.Unlock()
		}
		c.readCPU(end)
		return err
	}
	pods, err := f.AwaitInjected(ctx, c.injectWithin)
	var ni *chaosmesh.NotInjectedError
	if err != nil && !errors.As(err, &ni) {
		// Not a verdict on the injection (the run was interrupted, the
		// API server went away): delete the object now, on a context of
		// its own, and fail the injection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.RevertBudget())
		defer cancel()
		if rerr := revert(rctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		c.mu.Lock()
		c.proveErr = err
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.proveErr = err
		return revert, &fault.NotLandedError{Err: err}
	}
	for _, p := range pods {
		rec.Pods = append(rec.Pods, reports.ChaosPod{Pod: p.Pod, Container: p.Container, InjectedAt: p.At.UTC()})
	}
	sort.Slice(rec.Pods, func(i, j int) bool { return rec.Pods[i].Pod < rec.Pods[j].Pod })
	return revert, nil
}

// readCPU reads, for a StressChaos proved injected, each pod's cores over
// [its injection, end] from the cluster's Prometheus: cAdvisor's
// container_cpu_usage_seconds_total for the pod's gate container, after a
// scrape past end. No series leaves the proof status-only.
func (c *chaosFault) readCPU(end time.Time) {
	c.mu.Lock()
	rec, proved := c.rec, c.proveErr == nil && c.rec != nil && len(c.rec.Pods) > 0
	c.mu.Unlock()
	if c.cores == 0 || !proved || c.prom.URL == "" {
		return
	}
	from := rec.Pods[0].InjectedAt
	var names []string
	for _, p := range rec.Pods {
		if p.InjectedAt.After(from) {
			from = p.InjectedAt
		}
		_, name, _ := strings.Cut(p.Pod, "/")
		names = append(names, regexp.QuoteMeta(name))
	}
	win := end.Sub(from).Truncate(time.Second)
	sel := fmt.Sprintf(`container_cpu_usage_seconds_total{namespace=%q,pod=~%q,container=%q}`, rec.Namespace, strings.Join(names, "|"), c.container)
	ctx, cancel := context.WithTimeout(context.Background(), cpuReadBudget)
	defer cancel()
	cpu, why := map[string]float64{}, ""
	// The scrapes up to end are stored a moment after it.
	if d := time.Until(end.Add(2 * time.Second)); d > 0 {
		time.Sleep(d)
	}
	switch v, err := c.prom.Vector(ctx, fmt.Sprintf(`sum by (pod) (increase(%s[%ds]))`, sel, int(win.Seconds())), end); {
	case win < 10*time.Second:
		why = fmt.Sprintf("the fault's window (%s) is too short to read a rate", win)
	case err != nil:
		c.mu.Lock()
		c.cpuErr = fmt.Errorf("the cluster's Prometheus did not answer the CPU query: %w", err)
		c.mu.Unlock()
		return
	case len(v) == 0:
		why = "the Prometheus has no cAdvisor series " + sel
	default:
		for _, s := range v {
			cpu[rec.Namespace+"/"+string(s.Metric["pod"])] = float64(s.Value) / win.Seconds()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if why != "" {
		c.cpuWhy = why
		return
	}
	c.cpu, c.cpuWin = cpu, win
}

// cpuReadBudget bounds the CPU proof's read of the cluster's Prometheus.
const cpuReadBudget = 20 * time.Second

// RevertBudget is how long the runner gives the revert: the deletion's
// deadline, then the CPU proof's read.
func (c *chaosFault) RevertBudget() time.Duration {
	return c.revertWithin + cpuReadBudget + 5*time.Second
}

// Chaos is the object and the pods it was proved injected into.
func (c *chaosFault) Chaos() *reports.Chaos {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec == nil {
		return nil
	}
	cp := *c.rec
	cp.Pods = append([]reports.ChaosPod(nil), c.rec.Pods...)
	return &cp
}

// Proof is the status proof: Selected, AllInjected and one Injected record
// per selected pod. No CPU or write is measured here: the proof is
// status-only, and says so.
func (c *chaosFault) Proof() *reports.Proof {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := &reports.Proof{Unit: "pods"}
	if c.rec == nil {
		p.Detail = "no Chaos Mesh object was created"
		return p
	}
	p.Requested, p.Achieved, p.Samples = float64(c.rec.Selected), float64(len(c.rec.Pods)), len(c.rec.Pods)
	if c.proveErr != nil {
		p.Detail = c.proveErr.Error()
		return p
	}
	var pods []string
	for _, q := range c.rec.Pods {
		pods = append(pods, q.Pod+" at "+q.InjectedAt.Format("15:04:05.000"))
	}
	p.OK = c.cpuErr == nil
	status := fmt.Sprintf("%s %s: Selected and AllInjected, with an Injected record for each of the %d selected pod(s) of %d matching: %s",
		c.rec.Kind, c.rec.Name, c.rec.Selected, c.rec.Matching, strings.Join(pods, ", "))
	if c.cpuErr != nil {
		p.Detail = status + "; " + c.cpuErr.Error()
		return p
	}
	if c.cores == 0 || c.cpu == nil {
		why := "the pods' writes are not measured"
		if c.cores > 0 {
			why = c.cpuWhy
		}
		p.Detail = status + " (status-only proof: " + why + ")"
		return p
	}
	// A StressChaos with cAdvisor's series: every injected pod must have
	// burnt the floor of what it asked for, over the whole window.
	p.Unit, p.Requested, p.Achieved = "cores", c.cores, math.Inf(1)
	var read []string
	for _, q := range c.rec.Pods {
		v, ok := c.cpu[q.Pod]
		if !ok {
			p.OK = false
			read = append(read, q.Pod+" no series")
			v = 0
		} else {
			read = append(read, fmt.Sprintf("%s %.2f cores", q.Pod, v))
		}
		p.Achieved = min(p.Achieved, v)
	}
	floor := cpuAchievedFloor * c.cores
	p.OK = p.OK && p.Achieved >= floor
	p.Samples = len(c.cpu)
	p.Detail = fmt.Sprintf("%s; cAdvisor's container_cpu_usage_seconds_total over %s: %s (requested %.0f, floor %.2f)", status, c.cpuWin, strings.Join(read, ", "), c.cores, floor)
	return p
}
