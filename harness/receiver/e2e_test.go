package receiver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/promserver"
)

// TestPrometheusToReceiver: the whole fleet path. A real Prometheus runs
// the production config against two tiny servers named replica-1 and
// replica-2, with a rule that fires while replica-2 is up; it sends to a
// real Alertmanager, which notifies the receiver for replica-2 only, and
// sends the resolution once replica-2 is gone.
func TestPrometheusToReceiver(t *testing.T) {
	t.Parallel()
	if _, err := promserver.Binary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed; .ci/run installs Debian's prometheus package")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus); CI runs this test")
	}
	r := start(t)
	am := alertmanager(t, r)
	var ins []promserver.Instance
	var servers []*httptest.Server
	for i := 1; i <= 2; i++ {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "fleet_test_up 1")
		}))
		t.Cleanup(ts.Close)
		servers = append(servers, ts)
		ins = append(ins, promserver.Instance{Address: ts.URL, Labels: map[string]string{"instance": fmt.Sprintf("replica-%d", i)}})
	}
	dir := t.TempDir()
	prod := filepath.Join("..", "..", "config", "prometheus.yml")
	cfg, err := os.ReadFile(prod)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(strings.Replace(string(cfg), "  - alerts.yml", "  - rules.yml", 1)), 0o600)
	os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(`groups:
  - name: t
    rules:
      - alert: ReplicaTwoUp
        expr: up{job="quannex-gate", instance="replica-2"} == 1
        labels: {severity: page}
`), 0o600)
	creds := map[string]string{}
	for _, job := range []string{"quannex-gate", "quannex-gate-self"} {
		creds[job] = filepath.Join(dir, job+".token")
		os.WriteFile(creds[job], []byte("x"), 0o600)
	}
	since := time.Now()
	ps, err := promserver.Start(t.Context(), promserver.Options{ConfigFile: filepath.Join(dir, "prometheus.yml"), Instances: ins, Alertmanagers: []string{am.Addr()}, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Stop)
	t.Logf("firing notification %s after Prometheus started", wait(t, r, am, "ReplicaTwoUp", "replica-2", "firing", since, 45*time.Second).Round(time.Millisecond))
	servers[1].Close()
	gone := time.Now()
	t.Logf("resolved notification %s after replica-2 went away", wait(t, r, am, "ReplicaTwoUp", "replica-2", "resolved", gone, 45*time.Second).Round(time.Millisecond))
	for _, n := range r.Notifications() {
		if n.Malformed != "" || n.Instance != "replica-2" {
			t.Errorf("notification %+v, want replica-2's only", n)
		}
	}
}
