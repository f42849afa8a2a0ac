package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/internal/kubetest"
)

// TestKubeTargetRefusesBeforeAnythingStarts: against a real kube-apiserver
// (RBAC on, Chaos Mesh's CRDs installed, the gate pods as API objects) and
// a gate standing in for the pods' Service, a kube target that cannot run
// is refused before anything is created: flags (exit 2, naming the flag),
// faults Chaos Mesh does not inject here (exit 2, naming the field), and
// the cluster's pre-flight (exit 3): a verb RBAC does not allow, named
// with its kind; no pod for the selector; CRDs absent; a chaos object of
// ours already there. No chaos object is left behind by any of them.
func TestKubeTargetRefusesBeforeAnythingStarts(t *testing.T) {
	api := kubetest.Start(t, kubetest.Options{})
	api.Namespace(t, "gates")
	api.Pods(t, "gates", "gate", 2, map[string]string{"app": "quannex-gate"})
	harnessKC := api.Kubeconfig(t, api.User(t, "gameday", "gates", kubetest.HarnessRules(chaosmesh.Verbs...)), "gameday")
	base := startSmokeGate(t)
	metrics, admin := tokenFiles(t)
	dir := t.TempDir()
	run := func(kc string, extra ...string) (int, string, string) {
		t.Helper()
		args := []string{"run", "--target", "kube=gates", "--kubeconfig", kc, "--service", base, "--prometheus", "http://127.0.0.1:1",
			"--token-file", metrics, "--admin-token-file", admin, "--rules", "../../config/alerts.yml", "--report-dir", dir}
		return runCLI(t, append(args, extra...)...)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no service", []string{"run", "--target", "kube=gates", "--kubeconfig", harnessKC, "--prometheus", "http://127.0.0.1:1", "io-glitch"}, exitUsage, "--service: required with --target kube="},
		{"no prometheus", []string{"run", "--target", "kube=gates", "--kubeconfig", harnessKC, "--service", base, "io-glitch"}, exitUsage, "--prometheus: required with --target kube="},
		{"no kubeconfig file", []string{"run", "--target", "kube=gates", "--kubeconfig", dir + "/none", "--service", base, "--prometheus", "http://127.0.0.1:1", "--token-file", metrics, "--admin-token-file", admin, "io-glitch"}, exitUsage, "--kubeconfig: stat"},
		{"a context the kubeconfig does not hold", []string{"run", "--target", "kube=gates", "--kubeconfig", harnessKC, "--context", "nowhere", "--service", base, "--prometheus", "http://127.0.0.1:1", "--token-file", metrics, "--admin-token-file", admin, "io-glitch"}, exitUsage, "--context nowhere: "},
		{"bad selector", []string{"run", "--target", "kube=gates", "--kubeconfig", harnessKC, "--selector", "app", "--service", base, "--prometheus", "http://127.0.0.1:1", "--token-file", metrics, "--admin-token-file", admin, "io-glitch"}, exitUsage, "--selector: "},
		{"bad namespace", []string{"run", "--target", "kube=Gates_1", "--kubeconfig", harnessKC, "--service", base, "--prometheus", "http://127.0.0.1:1", "--token-file", metrics, "--admin-token-file", admin, "io-glitch"}, exitUsage, "--target kube=: "},
		{"selector without kube", []string{"run", "--target", "process", "--selector", "app=x", "io-glitch"}, exitUsage, "--selector: only with --target kube=NAMESPACE"},
		{"a fault Chaos Mesh does not inject here", []string{"run", "--target", "kube=gates", "--kubeconfig", harnessKC, "--service", base, "--prometheus", "http://127.0.0.1:1", "--token-file", metrics, "--admin-token-file", admin, "crash"}, exitUsage, "faults[0].name: crash is not injected on a kube target yet"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, want %d with %q\n%s%s", c.name, code, c.code, c.want, out, errOut)
		}
	}

	for _, missing := range chaosmesh.Verbs {
		var verbs []string
		for _, v := range chaosmesh.Verbs {
			if v != missing {
				verbs = append(verbs, v)
			}
		}
		kc := api.Kubeconfig(t, api.User(t, "no-"+missing, "gates", kubetest.HarnessRules(verbs...)), "no-"+missing)
		code, out, errOut := run(kc, "io-glitch")
		if code != exitRuntime || !strings.Contains(errOut, `RBAC does not allow verb "`+missing+`" on iochaos.chaos-mesh.org in namespace gates`) {
			t.Errorf("without %s: exit %d\n%s%s", missing, code, out, errOut)
		}
	}

	code, out, errOut := run(harnessKC, "--selector", "app=nothing", "io-glitch")
	if code != exitRuntime || !strings.Contains(errOut, "faults[0]: the selector app=nothing matches no pod in gates") {
		t.Errorf("a selector matching no pod: exit %d\n%s%s", code, out, errOut)
	}
	// A scheduled run that cannot start pushes its error result
	// (harness/push tests the Pushgateway and the alert); a push that
	// fails is named.
	code, out, errOut = run(harnessKC, "--selector", "app=nothing", "--push", "http://127.0.0.1:1", "io-glitch")
	if code != exitRuntime || !strings.Contains(errOut, "matches no pod in gates") || !strings.Contains(errOut, "--push http://127.0.0.1:1: ") {
		t.Errorf("a pre-flight finding with --push: exit %d\n%s%s", code, out, errOut)
	}

	bare := kubetest.Start(t, kubetest.Options{NoCRDs: true})
	bare.Namespace(t, "gates")
	bare.Pods(t, "gates", "gate", 1, map[string]string{"app": "quannex-gate"})
	code, out, errOut = run(bare.Kubeconfig(t, bare.Admin, "bare"), "io-glitch")
	if code != exitRuntime || !strings.Contains(errOut, "the cluster does not serve IOChaos (Chaos Mesh's CRD iochaos.chaos-mesh.org is not installed)") {
		t.Errorf("no CRDs: exit %d\n%s%s", code, out, errOut)
	}

	// A chaos object of ours already there (a killed run's): refused, and
	// gameday cleanup --kube removes it once Chaos Mesh recovered it.
	standIn, err := kubetest.NewStandIn(api.Admin, "gates", kubetest.ModeStuckDeletion)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { standIn.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	cm, err := chaosmesh.New(api.Admin, "gates")
	if err != nil {
		t.Fatal(err)
	}
	kind, spec, err := chaosmesh.ForFault("cache-readonly", nil, chaosmesh.Target{Namespace: "gates", Labels: map[string]string{"app": "quannex-gate"}, Container: "gate", CachePath: "/cache"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := cm.Create(ctx, chaosmesh.Spec{Kind: kind, Name: "gameday-killed-cache-readonly-0", Spec: spec, Duration: time.Hour, Labels: map[string]string{chaosmesh.RunLabel: "killed"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.AwaitInjected(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(harnessKC, "io-glitch")
	if code != exitRuntime || !strings.Contains(errOut, "a chaos object of ours is already in namespace gates (IOChaos/gameday-killed-cache-readonly-0 of run killed)") ||
		!strings.Contains(errOut, "gameday cleanup --kube --namespace gates") {
		t.Errorf("a leftover: exit %d\n%s%s", code, out, errOut)
	}
	// Chaos Mesh cannot recover it: cleanup says so and exits 3.
	code, out, errOut = runCLI(t, "cleanup", "--kube", "--namespace", "gates", "--kubeconfig", harnessKC, "--within", "2s")
	if code != exitRuntime || !strings.Contains(errOut, "1 Chaos Mesh object(s) not removed: IOChaos gameday-killed-cache-readonly-0 (run killed)") || !strings.Contains(errOut, "Recover failed") {
		t.Errorf("cleanup of a stuck object: exit %d\n%s%s", code, out, errOut)
	}
	standIn.SetMode(kubetest.ModeInjected)
	code, out, errOut = runCLI(t, "cleanup", "--kube", "--namespace", "gates", "--kubeconfig", harnessKC)
	if code != exitOK || !strings.Contains(out, "removed IOChaos gameday-killed-cache-readonly-0 (run killed) from gates") || !strings.Contains(out, "removed 1 Chaos Mesh object(s)") {
		t.Errorf("cleanup: exit %d\n%s%s", code, out, errOut)
	}
	if left, err := cm.Leftovers(ctx, chaosmesh.Kinds); err != nil || len(left) != 0 {
		t.Errorf("after cleanup: %v %v", left, err)
	}
	if code, _, errOut := runCLI(t, "export", "--format", "kube", "io-glitch", "--push", "ftp://x"); code != exitUsage || !strings.Contains(errOut, "--push: ") {
		t.Errorf("export --push ftp://x: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "cleanup", "--run", "x"); code != exitUsage || !strings.Contains(errOut, "--run: only with --kube") {
		t.Errorf("cleanup --run without --kube: exit %d %s", code, errOut)
	}
	noTokens(t, "the output", out, errOut)
}

// TestExportKubeCronJobRunsWithItsOwnRole: gameday export --format kube
// writes a ServiceAccount, a Role, a RoleBinding and a CronJob. Applied to
// a real kube-apiserver, the Role lets the CronJob's exact arguments
// (with the ServiceAccount's token as the pod would have it) through
// gameday run's cluster pre-flight, to the next check (the Prometheus,
// unreachable here); a Role without one of its verbs does not.
func TestExportKubeCronJobRunsWithItsOwnRole(t *testing.T) {
	api := kubetest.Start(t, kubetest.Options{})
	api.Namespace(t, "gates")
	api.Pods(t, "gates", "gate", 1, map[string]string{"app": "quannex-gate"})
	base := startSmokeGate(t)
	metrics, admin := tokenFiles(t)
	code, out, errOut := runCLI(t, "export", "--format", "kube", "io-glitch", "--namespace", "gates", "--gate-url", base,
		"--prometheus", "http://127.0.0.1:1", "--prometheus-instance", "gate-0:3000", "--push", "http://127.0.0.1:2")
	if code != exitOK {
		t.Fatalf("export: exit %d %s", code, errOut)
	}
	ctx := context.Background()
	var sa corev1.ServiceAccount
	var role rbacv1.Role
	var binding rbacv1.RoleBinding
	var cron batchv1.CronJob
	for _, d := range strings.Split(out, "\n---\n") {
		var probe struct{ Kind string }
		if err := sigsyaml.Unmarshal([]byte(d), &probe); err != nil {
			t.Fatal(err)
		}
		var dst any
		switch probe.Kind {
		case "ServiceAccount":
			dst = &sa
		case "Role":
			dst = &role
		case "RoleBinding":
			dst = &binding
		case "CronJob":
			dst = &cron
		default:
			t.Fatalf("an unexpected %q document:\n%s", probe.Kind, d)
		}
		if err := sigsyaml.UnmarshalStrict([]byte(d), dst); err != nil {
			t.Fatalf("%s does not decode strictly: %v", probe.Kind, err)
		}
	}
	if cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || cron.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName != sa.Name || binding.Subjects[0].Name != sa.Name || binding.RoleRef.Name != role.Name {
		t.Fatalf("the CronJob does not run as the bound ServiceAccount: %+v %+v %+v", cron.Spec, binding, sa)
	}
	if _, err := api.Clients.CoreV1().ServiceAccounts("gates").Create(ctx, &sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Clients.RbacV1().Roles("gates").Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Clients.RbacV1().RoleBindings("gates").Create(ctx, &binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := api.Clients.CoreV1().ServiceAccounts("gates").CreateToken(ctx, sa.Name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := api.Kubeconfig(t, &rest.Config{Host: api.Admin.Host, BearerToken: tok.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: api.Admin.CAData}}, "pod")
	// The CronJob's arguments, its mounted token files where the test has
	// them, the kubeconfig standing for the pod's in-cluster one.
	var args []string
	for _, a := range cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args {
		switch a {
		case "/var/run/secrets/gameday/metrics-token":
			a = metrics
		case "/var/run/secrets/gameday/admin-token":
			a = admin
		case "/reports":
			a = t.TempDir()
		}
		args = append(args, a)
	}
	args = append(args, "--kubeconfig", kc, "--rules", "../../config/alerts.yml")
	for _, want := range []string{"--target kube=gates", "--selector app=quannex-gate", "--service " + base, "--push http://127.0.0.1:2"} {
		if !strings.Contains(strings.Join(args, " "), want) {
			t.Errorf("the CronJob's arguments lack %q: %v", want, args)
		}
	}
	// --push has no result in a dry run: the CronJob's real run pushes.
	dry := append(slices.Clone(args), "--dry-run")
	if i := slices.Index(dry, "--push"); i >= 0 {
		dry = slices.Delete(dry, i, i+2)
	}
	code, out, errOut = runCLI(t, dry...)
	if code != exitRuntime || !strings.Contains(errOut, "--prometheus: http://127.0.0.1:1 is not ready") || strings.Contains(errOut, "pre-flight") {
		t.Fatalf("the CronJob's run with its own Role: exit %d, want the cluster pre-flight passed and the Prometheus refused\n%s%s", code, out, errOut)
	}
	role.Rules[0].Verbs = slices.DeleteFunc(role.Rules[0].Verbs, func(v string) bool { return v == "watch" })
	if _, err := api.Clients.RbacV1().Roles("gates").Update(ctx, &role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, dry...)
	if code != exitRuntime || !strings.Contains(errOut, `RBAC does not allow verb "watch" on iochaos.chaos-mesh.org in namespace gates`) {
		t.Fatalf("without watch: exit %d\n%s%s", code, out, errOut)
	}
}
