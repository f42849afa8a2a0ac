package push_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/push"
	"github.com/quannex/gameday/reports"
)

func need(t *testing.T, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run installs it", bin)
		}
		t.Skipf("%s is not installed (Debian: apt-get install %s); CI runs this test", bin, bin)
	}
	return p
}

// startPushgateway runs Debian's prometheus-pushgateway on a free
// loopback port and returns its URL.
func startPushgateway(t *testing.T) string {
	bin := need(t, "prometheus-pushgateway")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	waitFor(t, 20*time.Second, "the pushgateway to be ready", func() bool {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return url
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func report(verdict string, score float64, end time.Time) *reports.Report {
	rec := 12.5
	return &reports.Report{Verdict: verdict, Score: score, StartedAt: end.Add(-2 * time.Minute), FinishedAt: end, RecoverySeconds: &rec,
		Target: reports.Target{Kind: "kube", Namespace: "staging"},
		Faults: []reports.Fault{{Name: "cache-readonly", InjectedAt: end.Add(-90 * time.Second), RevertedAt: end.Add(-30 * time.Second)}}}
}

// TestPushedResultsAlertInTheRealPrometheus pushes a scheduled GameDay's
// results to the real Pushgateway, which the real Prometheus scrapes
// (honor_labels) with the shipped rules of config/gameday.yml: a failed run
// fires ScheduledGameDayFailed with its verdict, the next passing run
// resolves it, and the pushed series carry the documented names and
// labels.
func TestPushedResultsAlertInTheRealPrometheus(t *testing.T) {
	need(t, "prometheus")
	pg := startPushgateway(t)
	rules, err := filepath.Abs(filepath.Join("..", "..", "config", "gameday.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["pushgateway:9091"]
`, rules)), 0o644)
	prom, err := promserver.Start(context.Background(), promserver.Options{ConfigFile: cfg, Target: strings.TrimPrefix(pg, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prom.Stop)
	ctx := context.Background()
	alerting := func(state string) bool {
		v, ok, err := prom.API().Scalar(ctx, `count(ALERTS{alertname="ScheduledGameDayFailed",alertstate="`+state+`",scenario="io-glitch",target="kube",namespace="staging"})`, time.Now())
		return err == nil && ok && v == 1
	}

	if err := push.Push(ctx, pg, report(reports.Aborted, 70, time.Now()), "io-glitch", nil); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(pg + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`gameday_run_passed{instance="",job="gameday",namespace="staging",scenario="io-glitch",target="kube"} 0`,
		`gameday_run_verdict{instance="",job="gameday",namespace="staging",scenario="io-glitch",target="kube",verdict="aborted"} 1`,
		`gameday_run_score{instance="",job="gameday",namespace="staging",scenario="io-glitch",target="kube"} 70`,
		`gameday_run_recovery_seconds{instance="",job="gameday",namespace="staging",scenario="io-glitch",target="kube"} 12.5`,
		`gameday_fault_injected_time_seconds{fault="cache-readonly",index="0",instance="",job="gameday",namespace="staging",scenario="io-glitch",target="kube"}`,
		`gameday_fault_reverted_time_seconds{fault="cache-readonly",index="0",instance="",job="gameday",namespace="staging",scenario="io-glitch",target="kube"}`,
		`gameday_run_end_time_seconds{`, `gameday_run_start_time_seconds{`, `gameday_run_total_duration_seconds{instance="",job="gameday",namespace="staging",scenario="io-glitch",target="kube"} 120`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the pushgateway does not serve %s", want)
		}
	}
	waitFor(t, 30*time.Second, "ScheduledGameDayFailed to fire", func() bool { return alerting("firing") })

	// The next scheduled run passes: the group is replaced, the alert resolves.
	if err := push.Push(ctx, pg, report(reports.Pass, 100, time.Now()), "io-glitch", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "ScheduledGameDayFailed to resolve", func() bool {
		v, ok, err := prom.API().Scalar(ctx, `count(ALERTS{alertname="ScheduledGameDayFailed"})`, time.Now())
		return err == nil && !ok && v == 0
	})

	// A run that could not happen pushes verdict error, which fails too.
	if err := push.Push(ctx, pg, &reports.Report{StartedAt: time.Now(), FinishedAt: time.Now(), Target: reports.Target{Kind: "kube", Namespace: "staging"}}, "io-glitch", fmt.Errorf("pre-flight: RBAC")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "ScheduledGameDayFailed to fire for an error", func() bool { return alerting("firing") })
	v, ok, err := prom.API().Scalar(ctx, `count(gameday_run_verdict{job="gameday",scenario="io-glitch",verdict="error"} == 1)`, time.Now())
	if err != nil || !ok || v != 1 {
		t.Errorf("verdict error: %v %v %v", v, ok, err)
	}

	if err := push.Push(ctx, "http://127.0.0.1:1", report(reports.Pass, 100, time.Now()), "io-glitch", nil); err == nil || !strings.Contains(err.Error(), "--push http://127.0.0.1:1") {
		t.Errorf("a push to nowhere: %v", err)
	}
}
