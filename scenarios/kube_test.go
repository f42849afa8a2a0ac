package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	chaos "github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/internal/kubetest"
	"github.com/quannex/gameday/reports"
)

// kubeIOGlitch is io-glitch for a gate another party deployed: its own
// Prometheus scrapes /metrics too, which the gate counts, so the counters
// cannot agree and that check is left out.
const kubeIOGlitch = `name: kube-io-glitch
description: io-glitch on gate pods in a cluster, the cache made read-only by an IOChaos.
seed: 2
load:
  rate: 20
baseline:
  duration: 20s
  min_live_ratio: 0.95
faults:
  - name: cache-readonly
    offset: 0s
    duration: %s
expect:
  no_5xx: true
  no_transport_errors: true
  all_200: true
  snapshots_during: true
  warning_on_snapshots: true
  alerts:
    - name: CircuitBreakerActive
      fire_within: 45s
      resolve_within: 60s
  no_unexpected_alerts: true
  recovery:
    min_live_ratio: 0.95
    within: 5m
  livesha_valid: true
after:
  duration: 20s
  min_live_ratio: 0.95
`

// kubeCPUSpike is cpu-spike cut short, one core, on a kube target.
const kubeCPUSpike = `name: kube-cpu-spike
description: one core burnt in the gate pod by a StressChaos.
seed: 1
load:
  rate: 20
baseline:
  duration: 10s
  min_live_ratio: 0.95
faults:
  - name: cpu-spike
    offset: 0s
    duration: 30s
    params:
      cores: "1"
expect:
  no_5xx: true
  no_transport_errors: true
  all_200: true
  min_live_ratio_during: 0.95
  no_unexpected_alerts: true
  recovery:
    min_live_ratio: 0.95
    within: 2m
  livesha_valid: true
after:
  duration: 10s
  min_live_ratio: 0.95
`

// The kube target end to end, with no cluster but its API: a real etcd
// and kube-apiserver (RBAC on, Chaos Mesh's CRDs), the gate pod as an API
// object, a gate container standing for it (its Service), the real
// Prometheus scraping that gate with the production rules, and the
// test-only stand-in for Chaos Mesh's controller, which in its effect mode
// puts each chaos object's fault into the gate container with the
// harness's own fault (cache-readonly for an IOChaos). The harness runs as
// the gameday binary with a kubeconfig holding exactly the Role it
// documents.
//
// kubeCluster is that world for one container, started by
// startKubeCluster in its BeforeAll and stopped by its DeferCleanups.
type kubeCluster struct {
	api                  *kubetest.Env
	gate                 *target.Container
	prom                 *promserver.Server
	standIn              *kubetest.StandIn
	kubeconfig, service  string
	tokenFile, adminFile string
	dir                  string
	dyn                  dynamic.Interface
}

func startKubeCluster(ctx context.Context) *kubeCluster {
	if dockerErr != nil {
		Skip("no Docker engine: the kube GameDay's gate container cannot start: " + dockerErr.Error())
	}
	k := &kubeCluster{}
	var err error
	k.api, err = kubetest.New(kubetest.Options{})
	if kubetest.Unavailable(err) {
		Skip(err.Error() + "; CI runs this GameDay")
	}
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(k.api.Stop)
	k.dyn = dynamic.NewForConfigOrDie(k.api.Admin)
	tok, adm := randomToken(), randomToken()
	k.gate, err = target.StartContainer(context.Background(), target.Options{GateBin: artifacts.GateBin, StressorBin: artifacts.StressorBin, Env: map[string]string{
		"METRICS_TOKENS":      "gameday:" + tok,
		"METRICS_RATE_LIMITS": "gameday=1000/s,admin=600/min",
		"GATE_ADMIN_TOKEN":    adm,
	}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { k.gate.Stop(context.Background()) })
	k.service = k.gate.BaseURL()
	k.dir, err = os.MkdirTemp("", "kube-gameday-*")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, k.dir)
	k.tokenFile, k.adminFile = filepath.Join(k.dir, "metrics.token"), filepath.Join(k.dir, "admin.token")
	Expect(os.WriteFile(k.tokenFile, []byte(tok), 0o600)).To(Succeed())
	Expect(os.WriteFile(k.adminFile, []byte(adm), 0o600)).To(Succeed())

	// The kubelet's cAdvisor, which the cluster's Prometheus scrapes for
	// the pods' CPU, is a test-only stand-in serving the gate container's
	// real CPU time as the pod's.
	cadvisor, err := kubetest.StartCAdvisor("gates", "gate-1", "gate", k.gate.CPUTime)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cadvisor.Stop)
	k.prom, err = promserver.Start(context.Background(), promserver.Options{ConfigFile: filepath.Join(moduleRoot, "config", "prometheus.yml"), Target: k.service,
		Credentials: map[string]string{"quannex-gate": k.tokenFile, "quannex-gate-self": k.tokenFile},
		Jobs:        map[string]string{"kubelet-cadvisor-stand-in": cadvisor.Addr}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(k.prom.Stop)
	Eventually(func() float64 {
		v, _, _ := k.prom.API().Scalar(ctx, "sum(up)", time.Now())
		return v
	}).WithTimeout(30 * time.Second).Should(Equal(3.0))

	k.api.Namespace(GinkgoT(), "gates")
	k.api.Pods(GinkgoT(), "gates", "gate", 1, map[string]string{"app": "quannex-gate"})
	k.kubeconfig = k.api.Kubeconfig(GinkgoT(), k.api.User(GinkgoT(), "gameday", "gates", kubetest.HarnessRules(chaosmesh.Verbs...)), "gameday")

	k.standIn, err = kubetest.NewStandIn(k.api.Admin, "gates", kubetest.ModeEffect)
	Expect(err).NotTo(HaveOccurred())
	k.standIn.Effect = kubetest.EffectOn(k.gate)
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { k.standIn.Run(sctx); close(done) }()
	DeferCleanup(func() {
		cancel()
		<-done
		Expect(k.standIn.Errors()).To(BeEmpty())
	})
	return k
}

// gameday runs the gameday binary with scenario against the cluster.
func (k *kubeCluster) gameday(ctx context.Context, scenario string, extra ...string) (*exec.Cmd, string) {
	file := filepath.Join(k.dir, fmt.Sprintf("scenario-%d.yaml", time.Now().UnixNano()))
	Expect(os.WriteFile(file, []byte(scenario), 0o644)).To(Succeed())
	reports := filepath.Join(k.dir, fmt.Sprintf("reports-%d", time.Now().UnixNano()))
	args := append([]string{"run", "--target", "kube=gates", "--kubeconfig", k.kubeconfig, "--service", k.service,
		"--token-file", k.tokenFile, "--admin-token-file", k.adminFile, "--prometheus", k.prom.URL,
		"--rules", filepath.Join(moduleRoot, "config", "alerts.yml"), "--report-dir", reports, "-f", file}, extra...)
	cmd := exec.CommandContext(ctx, gamedayBin, args...)
	cmd.Dir = moduleRoot
	return cmd, reports
}

// objects are the chaos objects of kind in the gates' namespace.
func (k *kubeCluster) objects(ctx context.Context, kind chaosmesh.Kind) []string {
	list, err := k.dyn.Resource(kind.GVR()).Namespace("gates").List(ctx, metav1.ListOptions{})
	Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, u := range list.Items {
		out = append(out, u.GetName())
	}
	return out
}

// ioObjects are the IOChaos objects of the gates' namespace, decoded.
func (k *kubeCluster) ioObjects(ctx context.Context) []chaos.IOChaos {
	list, err := k.dyn.Resource(chaosmesh.IOChaos.GVR()).Namespace("gates").List(ctx, metav1.ListOptions{})
	Expect(err).NotTo(HaveOccurred())
	var out []chaos.IOChaos
	for _, u := range list.Items {
		var o chaos.IOChaos
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &o)).To(Succeed())
		out = append(out, o)
	}
	return out
}

var _ = Describe("a GameDay on a kube target", Ordered, Label("kube"), func() {
	var k *kubeCluster
	BeforeAll(func(ctx SpecContext) { k = startKubeCluster(ctx) })
	gameday := func(ctx context.Context, faultFor string, extra ...string) (*exec.Cmd, string) {
		return k.gameday(ctx, fmt.Sprintf(kubeIOGlitch, faultFor), extra...)
	}
	objects := func(ctx context.Context) []chaos.IOChaos { return k.ioObjects(ctx) }

	It("passes io-glitch: an IOChaos proved injected by its record, a real read-only cache, CircuitBreakerActive from the real Prometheus", func(ctx SpecContext) {
		cmd, _ := gameday(ctx, "60s", "--dry-run")
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "dry run:\n%s", out)
		Expect(string(out)).To(ContainSubstring("ready: the cluster serves IOChaos and RBAC allows create, get, watch, delete, list on it in gates"))
		Expect(string(out)).To(ContainSubstring("ready: faults[0]: the selector matches 1 pod(s), 1 selected"))
		Expect(objects(ctx)).To(BeEmpty(), "the dry run created a chaos object")

		cmd, dirOut := gameday(ctx, "60s")
		cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
		Expect(cmd.Run()).To(Succeed())
		rep := onlyReport(dirOut)
		Expect(rep.Verdict).To(Equal(reports.Pass))
		Expect(rep.Target.Kind).To(Equal("kube"))
		Expect(rep.Target.Namespace).To(Equal("gates"))
		Expect(rep.Target.Selector).To(Equal("app=quannex-gate"))
		Expect(rep.Faults).To(HaveLen(1))
		f := rep.Faults[0]
		Expect(f.Chaos).NotTo(BeNil())
		Expect(f.Chaos.Kind).To(Equal("IOChaos"))
		Expect(f.Chaos.Pods).To(HaveLen(1))
		Expect(f.Chaos.Pods[0].Pod).To(Equal("gates/gate-1"))
		Expect(f.Chaos.Pods[0].InjectedAt).To(BeTemporally(">=", f.InjectedAt.Add(-time.Second)))
		Expect(f.Chaos.Gone).To(BeTemporally(">", f.Chaos.Pods[0].InjectedAt))
		Expect(f.Proof.OK).To(BeTrue(), f.Proof.Detail)
		Expect(f.Proof.Detail).To(ContainSubstring("status-only proof"))
		Expect(checkNamed(rep, "alert_fires:CircuitBreakerActive").Pass).To(BeTrue())
		Expect(checkNamed(rep, "snapshots_during_fault").Pass).To(BeTrue())
		Expect(objects(ctx)).To(BeEmpty(), "a chaos object outlived the run")
	})

	It("aborts a run whose chaos object is never selected (exit 5), and deletes it", func(ctx SpecContext) {
		k.standIn.SetMode(kubetest.ModeNeverSelected)
		defer k.standIn.SetMode(kubetest.ModeEffect)
		cmd, dirOut := gameday(ctx, "60s", "--inject-within", "5s")
		out, err := cmd.CombinedOutput()
		GinkgoWriter.Write(out)
		var ee *exec.ExitError
		Expect(err).To(BeAssignableToTypeOf(ee))
		Expect(err.(*exec.ExitError).ExitCode()).To(Equal(5), "%s", out)
		Expect(string(out)).To(ContainSubstring("condition Selected is not True: Chaos Mesh selected no pod"))
		rep := onlyReport(dirOut)
		Expect(rep.Verdict).To(Equal(reports.Aborted))
		Expect(rep.Abort.Condition).To(Equal("fault_not_injected"))
		Expect(rep.Faults[0].Proof.OK).To(BeFalse())
		Expect(rep.Faults[0].Chaos.Pods).To(BeEmpty())
		Expect(objects(ctx)).To(BeEmpty())
	})

	It("survives a SIGKILLed harness: the object stops by its duration and gameday cleanup --kube removes it", func(ctx SpecContext) {
		cmd, _ := gameday(ctx, "20s")
		cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
		Expect(cmd.Start()).To(Succeed())
		// Killed while the fault is in: the object exists, the cache is read-only.
		Eventually(func() bool {
			for _, o := range objects(ctx) {
				for _, c := range o.Status.Conditions {
					if c.Type == chaos.ConditionAllInjected && c.Status == "True" {
						return true
					}
				}
			}
			return false
		}).WithTimeout(90 * time.Second).WithPolling(200 * time.Millisecond).Should(BeTrue())
		Expect(k.gate.ProbeWrite(ctx)).To(MatchError(target.ErrWriteDenied))
		Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		cmd.Wait()
		// Nobody deletes it: Chaos Mesh stops it at its duration.
		Eventually(func() string {
			os := objects(ctx)
			if len(os) != 1 || len(os[0].Status.Experiment.Records) != 1 {
				return "no single object with one record"
			}
			return string(os[0].Status.Experiment.DesiredPhase) + "/" + string(os[0].Status.Experiment.Records[0].Phase)
		}).WithTimeout(40 * time.Second).WithPolling(200 * time.Millisecond).Should(Equal("Stop/Not Injected"))
		Expect(k.gate.ProbeWrite(ctx)).To(Succeed(), "the cache is still read-only after the object's duration")
		out, err := exec.CommandContext(ctx, gamedayBin, "cleanup", "--kube", "--namespace", "gates", "--kubeconfig", k.kubeconfig).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		Expect(string(out)).To(ContainSubstring("removed 1 Chaos Mesh object(s) of the harness from namespace gates"))
		Expect(objects(ctx)).To(BeEmpty())
	})
})

// The CPU spike's proof reads the pod's cores from cAdvisor's series, so
// it runs alone (Serial), as the container cpu-spike GameDay does: a
// neighbouring GameDay would take the CPU it measures.
var _ = Describe("a CPU spike on a kube target", Ordered, Serial, Label("kube", "cpu-spike"), func() {
	var k *kubeCluster
	BeforeAll(func(ctx SpecContext) { k = startKubeCluster(ctx) })

	It("passes cpu-spike: a StressChaos proved by its record and by the pod's cores in cAdvisor's series", func(ctx SpecContext) {
		cmd, dirOut := k.gameday(ctx, kubeCPUSpike)
		cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
		Expect(cmd.Run()).To(Succeed())
		rep := onlyReport(dirOut)
		Expect(rep.Verdict).To(Equal(reports.Pass))
		f := rep.Faults[0]
		Expect(f.Chaos.Kind).To(Equal("StressChaos"))
		Expect(f.Proof.Unit).To(Equal("cores"), f.Proof.Detail)
		Expect(f.Proof.OK).To(BeTrue(), f.Proof.Detail)
		Expect(f.Proof.Achieved).To(BeNumerically(">=", 0.9), f.Proof.Detail)
		Expect(f.Proof.Detail).To(ContainSubstring("cAdvisor's container_cpu_usage_seconds_total over"))
		Expect(k.objects(ctx, chaosmesh.StressChaos)).To(BeEmpty())
	})

})

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// onlyReport reads the one JSON report of dir.
func onlyReport(dir string) *reports.Report {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	Expect(err).NotTo(HaveOccurred())
	var runs []string
	for _, f := range files {
		if !strings.HasSuffix(f, "ginkgo-report.json") {
			runs = append(runs, f)
		}
	}
	Expect(runs).To(HaveLen(1))
	rep, err := reports.Read(runs[0])
	Expect(err).NotTo(HaveOccurred())
	return rep
}
