package harness_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/internal/seam"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
)

// tlsObserved is a short run on the process target serving mutual TLS;
// its only purpose is the observer's view, so its checks ask little.
const tlsObserved = `name: tls-observed
target: {tls: true}
seed: 4
load: {rate: 10}
baseline: {duration: 12s}
faults:
  - name: generator-latency
    duration: 6s
    params: {min: 10ms, max: 20ms}
expect:
  no_5xx: true
after: {duration: 6s}
`

// TestObserverScrapesATLSTarget: with target.tls the observer gets the
// run's CA and client certificate (seam.Observed.TLS), and a real Prometheus
// given them as its tls_config scrapes the gate, which requires client
// certificates: up is 1 for both jobs of the production config.
func TestObserverScrapesATLSTarget(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	bin, err := promserver.Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: under CI this test must run", err)
		}
		t.Skipf("%v; CI runs this test", err)
	}
	spec, err := scenario.Parse(strings.NewReader(tlsObserved), fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(root, "config", "prometheus.yml")
	var (
		mu   sync.Mutex
		got  seam.Observed
		up   = map[string]bool{} // job -> seen up == 1
		qerr error
		log  string
	)
	observe := func(ctx context.Context, rt seam.Observed) (func(), error) {
		mu.Lock()
		got = rt
		mu.Unlock()
		if rt.TLS == nil {
			return nil, nil
		}
		s, err := promserver.Start(ctx, promserver.Options{Binary: bin, ConfigFile: configFile, Target: rt.URL, Credentials: rt.ScrapeCredentials,
			TLS: &promserver.TLS{CAFile: rt.TLS.CAFile, CertFile: rt.TLS.CertFile, KeyFile: rt.TLS.KeyFile}})
		if err != nil {
			return nil, err
		}
		done := make(chan struct{})
		stopped := make(chan struct{})
		go func() { // polls up until stop is called
			defer close(stopped)
			for {
				vec, err := s.API().Vector(ctx, `up == 1`, time.Now())
				mu.Lock()
				if err != nil {
					qerr = err
				}
				for _, r := range vec {
					up[string(r.Metric["job"])] = true
				}
				mu.Unlock()
				select {
				case <-done:
					return
				case <-time.After(time.Second):
				}
			}
		}()
		return func() {
			close(done)
			<-stopped
			mu.Lock()
			log = s.Log()
			mu.Unlock()
			s.Stop()
		}, nil
	}
	rep, _, err := harness.Run(seam.With(t.Context(), &seam.Hooks{Observe: observe}), spec, harness.Options{Target: harness.TargetProcess, Artifacts: arts,
		RulesFile: filepath.Join(root, "config", "alerts.yml"), ReportDir: t.TempDir()})
	if err != nil {
		t.Fatalf("run: %v (report error %q)", err, rep.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.TLS == nil || !strings.HasPrefix(got.URL, "https://") {
		t.Fatalf("observed %+v: want an https URL and TLS files", got)
	}
	for _, f := range []string{got.TLS.CAFile, got.TLS.CertFile, got.TLS.KeyFile} {
		if !filepath.IsAbs(f) {
			t.Errorf("TLS file %q is not an absolute path", f)
		}
	}
	if qerr != nil {
		t.Errorf("query: %v", qerr)
	}
	cfg, err := promserver.LoadConfig(configFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range cfg.Jobs {
		if !up[j.Name] {
			t.Errorf("job %s never up == 1 over mutual TLS; prometheus log:\n%s", j.Name, log)
		}
	}
}
