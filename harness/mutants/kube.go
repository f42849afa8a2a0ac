package mutants

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/harness/internal/seam"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/internal/kubetest"
)

// kubeRows are the kube target's rows. Each runs the gate as a process
// standing for one gate pod, a real Prometheus scraping it with the
// production rules, and a real kube-apiserver (shared by the rows, one
// namespace each) with the test-only stand-in for Chaos Mesh's controller
// in the row's mode, which in effect mode puts the IOChaos's fault into
// the gate (the harness's own cache-readonly).
func kubeRows() []Mutant {
	return []Mutant{
		{Name: "kube-control", Breaks: "nothing: the kube target as shipped, the stand-in for Chaos Mesh injecting the IOChaos into the gate",
			Scenario: kubeScenario(ioGlitch("mutant-kube-control")), Kube: kubetest.ModeEffect},
		// Chaos Mesh before chaos-mesh#4199 read Selected and AllInjected
		// True with no record when it selected nothing: a harness that
		// trusts them runs its GameDay on a fault that never landed. The
		// fault's proof rests on no pod (fault_achieved wants at least one
		// record as evidence), and the checks of the fault's effect see
		// none.
		{Name: "kube-trust-conditions", Breaks: "the harness takes Selected and AllInjected for the injection, without a record per selected pod; Chaos Mesh selected nothing",
			Scenario: kubeScenario(ioGlitch("mutant-kube-trust-conditions")), Kube: kubetest.ModeConditionsWithoutRecords, ChaosProof: trustConditions,
			Expect:     []string{checkCacheAchieved, checkBreakerFires, checkSnapshots},
			Collateral: []string{checkWarning, checkBreakerResolve}},
		// The StressChaos lands (its record says Injected) but burns
		// nothing: only the pod's CPU in cAdvisor's series can tell.
		{Name: "kube-cpu-idle", Breaks: "the stress in the gate pod burns no CPU though Chaos Mesh records it injected (the stressor idles)",
			Scenario: kubeScenario(cpuSpike("mutant-kube-cpu-idle")), Kube: kubetest.ModeEffect, StressorTag: "gameday_broken_stressor", Alone: true,
			Expect: []string{checkCPUAchieved}},
	}
}

// trustConditions is the broken injection proof: the conditions alone.
func trustConditions(st chaosmesh.Status, _ chaosmesh.Selection) ([]chaosmesh.Injected, error) {
	if !st.Conditions[chaosmesh.CondSelected] || !st.Conditions[chaosmesh.CondAllInjected] {
		return nil, errors.New("conditions Selected and AllInjected are not both True")
	}
	var out []chaosmesh.Injected
	for _, r := range st.Records {
		out = append(out, chaosmesh.Injected{Pod: r.Pod()})
	}
	return out, nil
}

// kubeScenario is a row's scenario on a kube target: the deployment's
// Prometheus scrapes /metrics too, which the gate counts, so the counters
// cannot agree and that check is left out.
func kubeScenario(doc string) string {
	return strings.Replace(doc, "  counters_agree: true\n", "", 1)
}

// kubeAPI is the matrix's API server, started by the first kube row.
func (m *Matrix) kubeAPI() (*kubetest.Env, error) {
	m.kubeOnce.Do(func() { m.kube, m.kubeErr = kubetest.New(kubetest.Options{}) })
	return m.kube, m.kubeErr
}

// Close stops what the rows shared (the kube rows' API server).
func (m *Matrix) Close() {
	if m.kube != nil {
		m.kube.Stop()
	}
}

// runKube runs a kube row: its namespace with one gate pod, the gate as a
// process standing for it, a Prometheus scraping that gate, the stand-in
// in the row's mode, and the harness on --target kube= as a scheduled
// GameDay would run it.
func (m *Matrix) runKube(ctx context.Context, mu Mutant, arts harness.Artifacts, dir string, progress io.Writer) (harness.Options, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) (harness.Options, func(), error) { stop(); return harness.Options{}, func() {}, err }
	api, err := m.kubeAPI()
	if err != nil {
		return fail(err)
	}
	ns := strings.ToLower(strings.ReplaceAll(mu.Name, "_", "-"))
	labels := map[string]string{"app": "quannex-gate"}
	if err := api.NewNamespace(ns); err != nil {
		return fail(err)
	}
	if _, err := api.NewPods(ns, "gate", 1, labels); err != nil {
		return fail(err)
	}
	cfg, err := api.NewUser("gameday-"+ns, ns, kubetest.HarnessRules(chaosmesh.Verbs...))
	if err != nil {
		return fail(err)
	}
	tok, adm := token(), token()
	gate, err := target.StartProcess(context.Background(), target.Options{GateBin: arts.GateBin, StressorBin: arts.StressorBin,
		LogFile: filepath.Join(dir, "gate.log"), Env: map[string]string{
			"METRICS_TOKENS": "gameday:" + tok, "METRICS_RATE_LIMITS": "gameday=1000/s,admin=600/min", "GATE_ADMIN_TOKEN": adm}})
	if err != nil {
		return fail(err)
	}
	stops = append(stops, func() { gate.Stop(context.Background()) })
	tokFile := filepath.Join(dir, "metrics.token")
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		return fail(err)
	}
	stops = append(stops, func() { os.Remove(tokFile) })
	prom, stopProm, err := rowPrometheus(ctx, m.opts.Root, ns, gate, tokFile)
	if err != nil {
		return fail(err)
	}
	stops = append(stops, stopProm)
	standIn, err := kubetest.NewStandIn(api.Admin, ns, mu.Kube)
	if err != nil {
		return fail(err)
	}
	standIn.Effect = kubetest.EffectOn(gate)
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { standIn.Run(sctx); close(done) }()
	stops = append(stops, func() {
		cancel()
		<-done
		for _, err := range standIn.Errors() {
			fmt.Fprintf(progress, "stand-in for Chaos Mesh: %v\n", err)
		}
	})
	return harness.Options{Target: harness.TargetKube,
		External: &harness.External{URL: gate.BaseURL(), Token: tok, AdminToken: adm, Prometheus: prom.URL},
		Kube: &harness.Kube{Config: cfg, InjectWithin: 20 * time.Second,
			Target: chaosmesh.Target{Namespace: ns, Labels: labels, Container: "gate", CachePath: "/cache"}},
	}, stop, nil
}

// rowPrometheus starts a kube row's Prometheus on the production config,
// scraping the gate and a test-only stand-in for the kubelet's cAdvisor
// that serves the gate process tree's real CPU time as the pod's
// container's, and waits until it scrapes all three.
func rowPrometheus(ctx context.Context, root, ns string, gate *target.Process, tokFile string) (*promserver.Server, func(), error) {
	cadvisor, err := kubetest.StartCAdvisor(ns, "gate-1", "gate", gate.CPUTime)
	if err != nil {
		return nil, nil, err
	}
	prom, err := promserver.Start(context.Background(), promserver.Options{ConfigFile: filepath.Join(root, "config", "prometheus.yml"), Target: gate.BaseURL(),
		Credentials: map[string]string{"quannex-gate": tokFile, "quannex-gate-self": tokFile}, Jobs: map[string]string{"kubelet-cadvisor-stand-in": cadvisor.Addr}})
	if err != nil {
		cadvisor.Stop()
		return nil, nil, err
	}
	stop := func() { prom.Stop(); cadvisor.Stop() }
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, ok, err := prom.API().Scalar(ctx, "sum(up)", time.Now()); err == nil && ok && v == 3 {
			return prom, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, errors.New("the row's Prometheus does not scrape the gate's two jobs and the cAdvisor stand-in within 30s")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func token() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hooks are the row's test seams.
func (mu Mutant) hooks() *seam.Hooks {
	return &seam.Hooks{Faults: mu.Faults, BrakeNeverHolds: mu.BrakeNeverHolds, SkipRevertOnStop: mu.SkipRevertOnStop, ChaosProof: mu.ChaosProof}
}
