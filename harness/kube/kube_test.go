package kube

// This file alone imports the Chaos Mesh and Kubernetes API types: the
// exporter writes its own small structs, and these tests decode what it
// wrote strictly (unknown fields are errors) into the real types, so the
// gameday and gate binaries never link them, nor client-go's typed clients
// or the test-only stand-in for Chaos Mesh (TestBinariesDoNotLinkKubernetesTypes).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	chaos "github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"github.com/prometheus/prometheus/promql/parser"
	yamlv3 "go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
)

func builtins(t *testing.T) map[string]*scenario.Spec {
	t.Helper()
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// split returns the non-empty YAML documents of a multi-document stream.
func split(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		var probe map[string]any
		if err := yaml.Unmarshal(d, &probe); err != nil {
			t.Fatalf("a document does not parse: %v\n%s", err, d)
		}
		if len(probe) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// decoded is every object of one export, decoded into its real type.
type decoded struct {
	schedule []chaos.Schedule
	// stress and io are the chaos the Schedules embed.
	stress   []chaos.StressChaos
	io       []chaos.IOChaos
	pod      []chaos.PodChaos
	net      []chaos.NetworkChaos
	cron     []batchv1.CronJob
	cm       []corev1.ConfigMap
	analysis []map[string]any
	text     string
}

// export runs ChaosMesh and decodes each document strictly into the type
// its kind names; Chaos Mesh objects also go through Chaos Mesh's own
// admission defaulting and validation.
func export(t *testing.T, s *scenario.Spec, o Options) decoded {
	t.Helper()
	var buf bytes.Buffer
	if err := ChaosMesh(&buf, s, o); err != nil {
		t.Fatal(err)
	}
	out := decoded{text: buf.String()}
	for _, d := range split(t, buf.Bytes()) {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(d, &head); err != nil {
			t.Fatal(err)
		}
		strict := func(v any) {
			t.Helper()
			if err := yaml.UnmarshalStrict(d, v); err != nil {
				t.Fatalf("%s does not decode strictly into %T: %v\n%s", head.Kind, v, err, d)
			}
		}
		switch head.APIVersion + " " + head.Kind {
		case "chaos-mesh.org/v1alpha1 Schedule":
			var v chaos.Schedule
			strict(&v)
			if err := v.Default(context.Background(), &v); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Validate(&v); err != nil {
				t.Fatalf("Chaos Mesh's validation refuses the Schedule %s: %v", v.Name, err)
			}
			out.schedule = append(out.schedule, v)
			switch {
			case v.Spec.Type == chaos.ScheduleTypeStressChaos && v.Spec.StressChaos != nil:
				c := chaos.StressChaos{ObjectMeta: v.ObjectMeta, Spec: *v.Spec.StressChaos}
				admit(t, &c)
				out.stress = append(out.stress, c)
			case v.Spec.Type == chaos.ScheduleTypeIOChaos && v.Spec.IOChaos != nil:
				c := chaos.IOChaos{ObjectMeta: v.ObjectMeta, Spec: *v.Spec.IOChaos}
				admit(t, &c)
				out.io = append(out.io, c)
			case v.Spec.Type == chaos.ScheduleTypePodChaos && v.Spec.PodChaos != nil:
				c := chaos.PodChaos{ObjectMeta: v.ObjectMeta, Spec: *v.Spec.PodChaos}
				admit(t, &c)
				out.pod = append(out.pod, c)
			case v.Spec.Type == chaos.ScheduleTypeNetworkChaos && v.Spec.NetworkChaos != nil:
				c := chaos.NetworkChaos{ObjectMeta: v.ObjectMeta, Spec: *v.Spec.NetworkChaos}
				admit(t, &c)
				out.net = append(out.net, c)
			default:
				t.Fatalf("Schedule %s: type %s embeds no chaos of that type", v.Name, v.Spec.Type)
			}
		case "batch/v1 CronJob":
			var v batchv1.CronJob
			strict(&v)
			out.cron = append(out.cron, v)
		case "v1 ConfigMap":
			var v corev1.ConfigMap
			strict(&v)
			out.cm = append(out.cm, v)
		case "argoproj.io/v1alpha1 AnalysisTemplate":
			var v map[string]any
			strict(&v)
			out.analysis = append(out.analysis, v)
		default:
			t.Fatalf("unexpected object %s %s", head.APIVersion, head.Kind)
		}
	}
	return out
}

// admit runs what Chaos Mesh's admission webhook runs on create of the
// chaos a Schedule spawns.
func admit(t *testing.T, obj interface {
	Default(context.Context, runtime.Object) error
	Validate() ([]string, error)
}) {
	t.Helper()
	if err := obj.Default(context.Background(), obj.(runtime.Object)); err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Validate(); err != nil {
		t.Fatalf("Chaos Mesh's validation refuses %T: %v", obj, err)
	}
}

func TestCPUSpikeIsStressChaos(t *testing.T) {
	o := Options{Namespace: "payments", Labels: map[string]string{"app": "quannex-gate", "tier": "metrics"}}
	got := export(t, builtins(t)["cpu-spike"], o)
	if len(got.stress) != 1 || len(got.io) != 0 {
		t.Fatalf("want one StressChaos, got %d StressChaos, %d IOChaos", len(got.stress), len(got.io))
	}
	s := got.stress[0]
	if s.Spec.Stressors == nil || s.Spec.Stressors.CPUStressor == nil || s.Spec.Stressors.CPUStressor.Workers != 2 {
		t.Fatalf("stressors %+v, want cpu workers 2 (the scenario's cores)", s.Spec.Stressors)
	}
	if s.Spec.Duration == nil || *s.Spec.Duration != "1m0s" {
		t.Fatalf("duration %v, want 1m0s", s.Spec.Duration)
	}
	sel := s.Spec.Selector
	if !reflect.DeepEqual(sel.Namespaces, []string{"payments"}) || !reflect.DeepEqual(sel.LabelSelectors, o.Labels) || s.Spec.Mode != chaos.AllMode {
		t.Fatalf("selector %+v mode %s, want every pod of namespace payments with labels %v", sel, s.Spec.Mode, o.Labels)
	}
	if !reflect.DeepEqual(s.Spec.ContainerNames, []string{"gate"}) || s.Namespace != "payments" {
		t.Fatalf("container %v namespace %s", s.Spec.ContainerNames, s.Namespace)
	}
	if sc := got.schedule[0].Spec; sc.Schedule != Defaults.Schedule || sc.ConcurrencyPolicy != chaos.ForbidConcurrent {
		t.Fatalf("schedule %q policy %s, want the --schedule cron, Forbid", sc.Schedule, sc.ConcurrencyPolicy)
	}
	if len(got.cron) != 0 {
		t.Fatal("a CronJob beside faults Chaos Mesh injects: gameday run --target url= refuses cpu-spike")
	}
}

func TestCacheReadonlyIsIOChaosEACCES(t *testing.T) {
	got := export(t, builtins(t)["io-glitch"], Options{CachePath: "/var/cache/gate"})
	if len(got.io) != 1 || len(got.stress) != 0 || len(got.cron) != 0 {
		t.Fatalf("want one IOChaos and no CronJob, got %d CronJobs, %d IOChaos, %d StressChaos", len(got.cron), len(got.io), len(got.stress))
	}
	s := got.io[0].Spec
	if s.Action != chaos.IoFaults || s.Errno != 13 || s.Percent != 100 || s.VolumePath != "/var/cache/gate" {
		t.Fatalf("action %s errno %d percent %d volumePath %s, want fault, 13 (EACCES), 100, /var/cache/gate", s.Action, s.Errno, s.Percent, s.VolumePath)
	}
	for _, m := range s.Methods {
		if m == chaos.Read || m == chaos.Open {
			t.Fatalf("method %s fails reads too: the gate could not serve its snapshot, unlike mode 0555", m)
		}
	}
	if len(s.Methods) == 0 || s.Duration == nil || *s.Duration != "1m0s" {
		t.Fatalf("methods %v duration %v", s.Methods, s.Duration)
	}
}

// TestCrashIsPodChaosContainerKill: a crash of one kill is Chaos Mesh's
// container-kill (SIGKILL, restarted in its pod with its volumes), and a
// crash of several kills is refused naming params.times.
func TestCrashIsPodChaosContainerKill(t *testing.T) {
	one := *builtins(t)["crash"]
	one.Faults = append([]scenario.FaultSpec(nil), one.Faults...)
	one.Faults[0].Params = map[string]string{"times": "1"}
	got := export(t, &one, Options{Namespace: "gd"})
	if len(got.pod) != 1 || len(got.cron) != 0 {
		t.Fatalf("want one PodChaos and no CronJob, got %d PodChaos, %d CronJobs", len(got.pod), len(got.cron))
	}
	s := got.pod[0].Spec
	if s.Action != chaos.ContainerKillAction || !reflect.DeepEqual(s.ContainerNames, []string{"gate"}) || s.Mode != chaos.AllMode {
		t.Fatalf("action %s containers %v mode %s, want container-kill of gate in every pod", s.Action, s.ContainerNames, s.Mode)
	}
	err := ChaosMesh(&bytes.Buffer{}, builtins(t)["crash"], Options{})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "faults[0].params.times" {
		t.Fatalf("two kills: %v, want a FieldError naming faults[0].params.times", err)
	}
}

func TestGeneratorLatencyIsTheAdminAPI(t *testing.T) {
	got := export(t, builtins(t)["latency"], Options{})
	if len(got.schedule) != 0 {
		t.Fatal("generator-latency exported as a Chaos Mesh object")
	}
	for _, want := range []string{"POST /admin/faults/latency", "Not HTTPChaos", "min 300ms, max 500ms, seed 3"} {
		if !strings.Contains(got.text, want) {
			t.Errorf("the output does not explain the choice: no %q", want)
		}
	}
}

// Only a scenario whose faults all go through the admin API gets a
// CronJob; cmd/gameday's TestExportCronJobIsAcceptedByRun runs its
// arguments through gameday run's own checks.
func TestCronJobRunsTheHarness(t *testing.T) {
	for name, s := range builtins(t) {
		if name == "crash" {
			continue // two kills: no Schedule can (TestCrashIsPodChaosContainerKill)
		}
		got := export(t, s, Options{Namespace: "gd", Schedule: "30 2 * * *", Image: "registry.example/gameday:1"})
		if name != "latency" {
			if len(got.cron) != 0 || len(got.schedule) != len(s.Faults) {
				t.Fatalf("%s: %d CronJobs, %d Schedules; want none and one per fault", name, len(got.cron), len(got.schedule))
			}
			continue
		}
		if len(got.cron) != 1 || len(got.schedule) != 0 {
			t.Fatalf("%s: %d CronJobs, %d Schedules", name, len(got.cron), len(got.schedule))
		}
		c := got.cron[0]
		pod := c.Spec.JobTemplate.Spec.Template.Spec
		if c.Spec.Schedule != "30 2 * * *" || c.Namespace != "gd" || c.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || pod.RestartPolicy != corev1.RestartPolicyNever {
			t.Fatalf("%s: schedule %q namespace %q policy %s restart %s", name, c.Spec.Schedule, c.Namespace, c.Spec.ConcurrencyPolicy, pod.RestartPolicy)
		}
		if len(pod.Containers) != 1 || pod.Containers[0].Image != "registry.example/gameday:1" || len(pod.Containers[0].Env) != 0 {
			t.Fatalf("%s: containers %+v", name, pod.Containers)
		}
		args := strings.Join(pod.Containers[0].Args, " ")
		want := "run " + name + " --target url=http://quannex-gate.gd.svc:3000 --token-file /var/run/secrets/gameday/metrics-token" +
			" --admin-token-file /var/run/secrets/gameday/admin-token --prometheus http://prometheus.monitoring.svc:9090 --prometheus-instance " + InstancePlaceholder
		if !strings.HasPrefix(args, want) {
			t.Fatalf("%s: args %q, want them to start %q", name, args, want)
		}
		var secret *corev1.SecretVolumeSource
		for _, v := range pod.Volumes {
			if v.Secret != nil {
				secret = v.Secret
			}
		}
		if secret == nil || secret.SecretName != TokenSecret || secret.DefaultMode == nil || *secret.DefaultMode != 0o440 ||
			pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil || *pod.SecurityContext.FSGroup != 65534 {
			t.Fatalf("%s: the tokens are not the secret %s's files readable by the pod's group: %+v %+v", name, TokenSecret, secret, pod.SecurityContext)
		}
		if d := c.Spec.JobTemplate.Spec.ActiveDeadlineSeconds; d == nil || *d < int64(s.MaxSchedule().Seconds()) {
			t.Fatalf("%s: activeDeadlineSeconds %v shorter than the scenario's schedule %s", name, d, s.MaxSchedule())
		}
	}
}

// A fleet's selectors: count is mode fixed, fraction fixed-percent, the
// canary replicas the label track=canary of the Rollout's canary pods
// (deploy/gate-rollout.yaml's canaryMetadata, the AnalysisTemplate's
// canary selector); other names have no cluster equivalent.
func TestFleetSelectors(t *testing.T) {
	got := export(t, builtins(t)["fleet-io-glitch"], Options{})
	if len(got.io) != 1 || got.io[0].Spec.Mode != chaos.FixedMode || got.io[0].Spec.Value != "1" {
		t.Fatalf("fleet-io-glitch: want one IOChaos of mode fixed, value 1: %+v", got.io)
	}
	if !reflect.DeepEqual(got.io[0].Spec.Selector.LabelSelectors, Defaults.Labels) {
		t.Fatalf("fleet-io-glitch: labels %v", got.io[0].Spec.Selector.LabelSelectors)
	}
	got = export(t, builtins(t)["fleet-canary"], Options{})
	want := map[string]string{"app": "quannex-gate", "track": "canary"}
	if len(got.io) != 1 || got.io[0].Spec.Mode != chaos.AllMode || !reflect.DeepEqual(got.io[0].Spec.Selector.LabelSelectors, want) {
		t.Fatalf("fleet-canary: want every pod with %v: %+v", want, got.io)
	}
	if !strings.Contains(got.text, `track="canary"`) || len(got.cron) != 0 {
		t.Fatal("fleet-canary: the AnalysisTemplate's canary selector is not track=\"canary\", or a CronJob was exported")
	}

	frac := *builtins(t)["fleet-io-glitch"]
	frac.Faults = []scenario.FaultSpec{frac.Faults[0]}
	frac.Faults[0].Select = &scenario.Selector{Fraction: 0.2}
	got = export(t, &frac, Options{})
	if got.io[0].Spec.Mode != chaos.FixedPercentMode || got.io[0].Spec.Value != "20" {
		t.Fatalf("fraction 0.2: mode %s value %s, want fixed-percent 20", got.io[0].Spec.Mode, got.io[0].Spec.Value)
	}

	canary := *builtins(t)["fleet-canary"]
	canary.Faults = []scenario.FaultSpec{canary.Faults[0]}
	for _, c := range []struct {
		mutate func(*scenario.Spec)
		field  string
		why    string
	}{
		{func(s *scenario.Spec) { s.Faults[0].Select = &scenario.Selector{Names: []string{"replica-2"}} }, "faults[0].select.names", "not exactly the canary replicas"},
		{func(s *scenario.Spec) {
			s.Faults[0].Select = &scenario.Selector{Names: []string{"replica-1", "replica-2"}}
		}, "faults[0].select.names", "not exactly the canary replicas"},
		{func(s *scenario.Spec) { s.Target.Canary = 0; s.Expect.Canary = nil }, "faults[0].select.names", "no canary replicas"},
		{func(s *scenario.Spec) { s.Faults[0].Select = &scenario.Selector{Fraction: 0.125} }, "faults[0].select.fraction", "whole percent"},
	} {
		s := canary
		s.Faults = []scenario.FaultSpec{canary.Faults[0]}
		c.mutate(&s)
		err := ChaosMesh(&bytes.Buffer{}, &s, Options{})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%+v: got %v, want a FieldError for %s saying %q", s.Faults[0].Select, err, c.field, c.why)
		}
	}
}

// A scenario the CronJob's run would refuse, that pairs its faults with
// Chaos Mesh's, or whose stop conditions a Schedule would ignore, is
// refused naming the field.
func TestExportRefusesWhatNoRunCouldJudge(t *testing.T) {
	b := builtins(t)
	mixed := *b["latency"]
	mixed.Faults = append([]scenario.FaultSpec{mixed.Faults[0]}, b["cpu-spike"].Faults[0])
	fleetLatency := *b["fleet-io-glitch"]
	fleetLatency.Faults = []scenario.FaultSpec{b["latency"].Faults[0]}
	fleetLatency.Faults[0].Select = &scenario.Selector{Count: 1}
	fleetLatency.Expect.Alerts, fleetLatency.Expect.SnapshotsDuring, fleetLatency.Expect.WarningOnSnapshots = nil, false, false
	cpus := *b["latency"]
	cpus.Target.CPUs = 1
	braked := *b["io-glitch"] // a Schedule runs without the harness: no brake
	braked.StopWhen = []scenario.StopCondition{{Name: "gate-down", Expr: "up == 0"}}
	for _, c := range []struct {
		s     *scenario.Spec
		field string
	}{{&mixed, "faults[0].name"}, {&fleetLatency, "target.kind"}, {&cpus, "target.cpus"}, {&braked, "stop_when"}} {
		if err := c.s.Validate(fault.Known); err != nil {
			t.Fatalf("the test's scenario: %v", err)
		}
		err := ChaosMesh(&bytes.Buffer{}, c.s, Options{})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("got %v, want a FieldError for %s", err, c.field)
		}
	}
}

// A scenario from a file travels in a ConfigMap the CronJob mounts, and
// reads back as the same scenario.
func TestScenarioFileInConfigMap(t *testing.T) {
	s := builtins(t)["latency"]
	got := export(t, s, Options{ScenarioFile: true})
	if len(got.cm) != 1 {
		t.Fatalf("%d ConfigMaps", len(got.cm))
	}
	back, err := scenario.Parse(strings.NewReader(got.cm[0].Data["scenario.yaml"]), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, back), mustJSON(t, s); a != b {
		t.Fatalf("the ConfigMap's scenario differs:\n%+v\n%+v", back, s)
	}
	pod := got.cron[0].Spec.JobTemplate.Spec.Template.Spec
	if args := strings.Join(pod.Containers[0].Args, " "); !strings.HasPrefix(args, "run -f /etc/gameday/scenario.yaml ") {
		t.Fatalf("args %q", args)
	}
	if pod.Volumes[0].ConfigMap == nil || pod.Volumes[0].ConfigMap.Name != got.cm[0].Name {
		t.Fatalf("volumes %+v do not mount the ConfigMap %s", pod.Volumes, got.cm[0].Name)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	// A fault with no parameters reads back with an empty map, not nil.
	return strings.ReplaceAll(string(b), `"params":null`, `"params":{}`)
}

// The exported AnalysisTemplate is deploy/analysis-template.yaml, whose
// query harness/canary's deploy_test.go holds to the canary rule.
func TestAnalysisTemplateIsTheDeployedOne(t *testing.T) {
	got := export(t, builtins(t)["cpu-spike"], Options{})
	if len(got.analysis) != 1 {
		t.Fatalf("%d AnalysisTemplates", len(got.analysis))
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "analysis-template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	norm := func(m map[string]any) {
		metric := m["spec"].(map[string]any)["metrics"].([]any)[0].(map[string]any)
		p := metric["provider"].(map[string]any)["prometheus"].(map[string]any)
		p["query"] = strings.Join(strings.Fields(p["query"].(string)), " ")
	}
	norm(want)
	norm(got.analysis[0])
	delete(got.analysis[0]["metadata"].(map[string]any), "namespace")
	if !reflect.DeepEqual(got.analysis[0], want) {
		a, _ := yamlv3.Marshal(got.analysis[0])
		w, _ := yamlv3.Marshal(want)
		t.Fatalf("the exported AnalysisTemplate differs from deploy/analysis-template.yaml:\n%s\nwant:\n%s", a, w)
	}
	q := strings.ReplaceAll(got.analysis[0]["spec"].(map[string]any)["metrics"].([]any)[0].(map[string]any)["provider"].(map[string]any)["prometheus"].(map[string]any)["query"].(string), "{{args.namespace}}", "prod")
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(q); err != nil {
		t.Fatalf("the query does not parse: %v", err)
	}
}

func TestExportErrorsNameTheField(t *testing.T) {
	s := *builtins(t)["cpu-spike"]
	s.Faults = append([]scenario.FaultSpec{s.Faults[0]}, scenario.FaultSpec{Name: "power-cut", Duration: s.Faults[0].Duration})
	err := ChaosMesh(&bytes.Buffer{}, &s, Options{})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "faults[1].name" || !errors.Is(err, ErrNoMapping) {
		t.Fatalf("got %v, want a FieldError for faults[1].name wrapping ErrNoMapping", err)
	}
	for _, c := range []struct {
		o    Options
		flag string
	}{
		{Options{Namespace: "Not_A_Namespace"}, "--namespace"},
		{Options{Schedule: "daily"}, "--schedule"},
		{Options{CachePath: "cache"}, "--cache-path"},
		{Options{Prometheus: "prometheus:9090"}, "--prometheus"},
		{Options{Labels: map[string]string{"app": "bad value"}}, "--labels"},
	} {
		if err := ChaosMesh(&bytes.Buffer{}, builtins(t)["cpu-spike"], c.o); err == nil || !strings.HasPrefix(err.Error(), c.flag+":") {
			t.Errorf("%+v: got %v, want an error naming %s", c.o, err, c.flag)
		}
	}
}

// The exporter's point is that the binaries do not link the Kubernetes
// and Chaos Mesh types: only this test does.
func TestBinariesDoNotLinkKubernetesTypes(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", "../../cmd/gameday", "../../cmd/gate").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		// gameday reaches a cluster with client-go's dynamic client and
		// kubeconfig loader (package chaosmesh), never its typed clients.
		for _, bad := range []string{"github.com/chaos-mesh/", "k8s.io/api/", "sigs.k8s.io/controller-runtime", "k8s.io/client-go/kubernetes", "github.com/quannex/gameday/internal/kubetest"} {
			if strings.HasPrefix(p, bad) {
				t.Errorf("a binary links %s", p)
			}
		}
	}
}

// TestMemoryPressureIsStressChaosMemory: memory-pressure is a stress-ng vm
// worker holding the fraction of target.memory.
func TestMemoryPressureIsStressChaosMemory(t *testing.T) {
	got := export(t, builtins(t)["memory-pressure"], Options{})
	if len(got.stress) != 1 || len(got.cron) != 0 {
		t.Fatalf("want one StressChaos and no CronJob, got %d StressChaos, %d CronJobs", len(got.stress), len(got.cron))
	}
	m := got.stress[0].Spec.Stressors.MemoryStressor
	if m == nil || m.Workers != 1 || m.Size != "204MiB" || got.stress[0].Spec.Stressors.CPUStressor != nil {
		t.Fatalf("stressors %+v, want one memory worker of 204MiB (80 %% of 256MiB)", got.stress[0].Spec.Stressors)
	}
	got = export(t, builtins(t)["memory-oom"], Options{})
	if m := got.stress[0].Spec.Stressors.MemoryStressor; len(got.stress) != 1 || m == nil || m.Size != "272MiB" {
		t.Fatalf("memory-oom: %+v, want one memory worker of 272MiB (past the 256MiB limit)", got.stress)
	}
}

// TestScrapePathIsNetworkChaos: the scrape path's toxics are NetworkChaos
// between the gate pods and the Prometheus pods, both ways: a black hole
// a partition, resets 100 % loss, latency a delay, a bandwidth limit a
// token bucket of the same rate.
func TestScrapePathIsNetworkChaos(t *testing.T) {
	got := export(t, builtins(t)["scrape-path"], Options{})
	if len(got.net) != 1 || len(got.cron) != 0 {
		t.Fatalf("want one NetworkChaos and no CronJob, got %d NetworkChaos, %d CronJobs", len(got.net), len(got.cron))
	}
	n := got.net[0].Spec
	if n.Action != chaos.PartitionAction || n.Direction != chaos.Both || n.Target == nil ||
		n.Target.Selector.LabelSelectors["app.kubernetes.io/name"] != "prometheus" || n.Selector.LabelSelectors["app"] != "quannex-gate" {
		t.Fatalf("the black hole: %+v, want a partition between the gate pods and the Prometheus pods, both ways", n)
	}
	for toxic, check := range map[string]func(chaos.NetworkChaosSpec) bool{
		"reset": func(n chaos.NetworkChaosSpec) bool {
			return n.Action == chaos.LossAction && n.Loss != nil && n.Loss.Loss == "100"
		},
		"latency": func(n chaos.NetworkChaosSpec) bool {
			return n.Action == chaos.DelayAction && n.Delay != nil && n.Delay.Latency == "1500ms"
		},
		"bandwidth": func(n chaos.NetworkChaosSpec) bool {
			return n.Action == chaos.BandwidthAction && n.Bandwidth != nil && n.Bandwidth.Rate == "16kbps"
		},
	} {
		s := builtins(t)["scrape-path"]
		s.Faults[0].Params = map[string]string{"toxic": toxic, "latency": "1500ms", "rate": "2"}
		got := export(t, s, Options{})
		if len(got.net) != 1 || !check(got.net[0].Spec) {
			t.Errorf("%s: %+v", toxic, got.net)
		}
	}
}

// TestDiskFullIsIOChaosENOSPC: disk-full is an IOChaos that fails the
// write side of the cache or audit volume with errno 28 (ENOSPC) and
// leaves reads alone, its comment saying where it is harsher than a full
// disk.
func TestDiskFullIsIOChaosENOSPC(t *testing.T) {
	for name, vol := range map[string]string{"disk-full": "/var/cache/gate", "disk-full-audit": "/var/audit"} {
		got := export(t, builtins(t)[name], Options{CachePath: "/var/cache/gate", AuditPath: "/var/audit"})
		if len(got.io) != 1 || len(got.cron) != 0 {
			t.Fatalf("%s: want one IOChaos and no CronJob, got %d IOChaos, %d CronJobs", name, len(got.io), len(got.cron))
		}
		s := got.io[0].Spec
		if s.Action != chaos.IoFaults || s.Errno != 28 || s.Percent != 100 || s.VolumePath != vol || s.Path != vol+"/**/*" {
			t.Fatalf("%s: action %s errno %d percent %d volumePath %s path %s, want fault, 28 (ENOSPC), 100, %s", name, s.Action, s.Errno, s.Percent, s.VolumePath, s.Path, vol)
		}
		if !slices.Contains(s.Methods, chaos.Write) || slices.Contains(s.Methods, chaos.Read) || slices.Contains(s.Methods, chaos.Open) {
			t.Fatalf("%s: methods %v: want writes failing and reads left alone", name, s.Methods)
		}
	}
	var b strings.Builder
	if err := ChaosMesh(&b, builtins(t)["disk-full"], Options{}); err != nil || !strings.Contains(b.String(), "CircuitBreakerActive") {
		t.Fatalf("the cache variant's comment must say the cluster fault is harsher: %v\n%s", err, b.String())
	}
}
