package harness

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/reports"
)

// TestFleetScrapeEvidenceIsPrometheus's: a fleet's scrape evidence is what
// its Prometheus did, on the interval of the config it runs (1 s here), not
// the harness's --scrape-interval (5 s, which the fleet's Prometheus never
// sees), and it is kept per instance: a replica that is down has planned
// scrapes and no successful one while the other has them all.
func TestFleetScrapeEvidenceIsPrometheus(t *testing.T) {
	needServer(t, promserver.Binary)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "x 1") }))
	defer up.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close() // nothing listens there: every scrape of replica-2 fails
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {scrape_interval: 1s, scrape_timeout: 500ms, evaluation_interval: 1s}\n"+
		"scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [x:1]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom, err := promserver.Start(t.Context(), promserver.Options{ConfigFile: cfg, Instances: []promserver.Instance{
		{Address: strings.TrimPrefix(up.URL, "http://"), Labels: map[string]string{"instance": "replica-1"}},
		{Address: down, Labels: map[string]string{"instance": "replica-2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Stop()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) { // the first scrapes of both
		if v, _, err := prom.API().Scalar(t.Context(), "count(up)", time.Now()); err == nil && v == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape both instances:\n%s", prom.Log())
		}
	}
	start := time.Now()
	time.Sleep(6 * time.Second)
	phase := reports.Phase{Name: "fault", Start: start, End: start.Add(5 * time.Second)}

	all, byInstance, grid, perInstance := promEvidence(t, prom, []string{"replica-1", "replica-2"}, phase)
	if grid != time.Second || perInstance != 1 {
		t.Fatalf("grid %s, %d jobs per instance: want the config's 1s and 1 job", grid, perInstance)
	}
	one, two := byInstance["replica-1"].ByPhase["fault"], byInstance["replica-2"].ByPhase["fault"]
	if one.Planned != 5 || one.OK < 4 || one.OK > 6 || one.Failed != 0 {
		t.Errorf("replica-1 (up): %+v, want 5 planned, about 5 ok", one)
	}
	if two.Planned != 5 || two.OK != 0 || two.Failed < 4 {
		t.Errorf("replica-2 (down): %+v, want 5 planned, none ok", two)
	}
	if ps := all.ByPhase["fault"]; ps.Planned != 10 || ps.OK != one.OK || ps.Failed != two.Failed {
		t.Errorf("fleet: %+v, want the sum of %+v and %+v", ps, one, two)
	}
}

// TestScrapeEvidenceWaitsForTheScrapeInFlight: a phase that ends while a
// scrape is in flight (the target takes 1 s to answer) still counts it.
// Prometheus stamps a sample with the scrape's start but stores it when the
// answer comes, so a read at the phase's end would miss it without the wait.
func TestScrapeEvidenceWaitsForTheScrapeInFlight(t *testing.T) {
	needServer(t, promserver.Binary)
	arrived := make(chan time.Time, 16)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case arrived <- time.Now():
		default:
		}
		time.Sleep(time.Second)
		fmt.Fprintln(w, "x 1")
	}))
	defer slow.Close()
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {scrape_interval: 2s, scrape_timeout: 1800ms, evaluation_interval: 2s}\n"+
		"scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [x:1]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom, err := promserver.Start(t.Context(), promserver.Options{ConfigFile: cfg, Instances: []promserver.Instance{
		{Address: strings.TrimPrefix(slow.URL, "http://"), Labels: map[string]string{"instance": "replica-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Stop()
	// Two scrapes have been stored; the phase ends just after the third
	// begins and spans two intervals: the second and the third are in it.
	var at time.Time
	for i := range 3 {
		select {
		case at = <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("scrape %d never came:\n%s", i+1, prom.Log())
		}
	}
	end := at.Add(50 * time.Millisecond)
	time.Sleep(time.Until(end))
	phase := reports.Phase{Name: "after", Start: end.Add(-4 * time.Second), End: end}
	all, _, _, _ := promEvidence(t, prom, []string{"replica-1"}, phase)
	if ps := all.ByPhase["after"]; ps.Planned != 2 || ps.OK != 2 || ps.Failed != 0 {
		t.Errorf("scrapes %+v, want 2 planned and 2 ok: the scrape in flight at the phase's end was not counted", ps)
	}
}

// promEvidence reads the scrape evidence of phase from prom as a fleet's
// alert source does, for the replicas named.
func promEvidence(t *testing.T, prom *promserver.Server, replicas []string, phase reports.Phase) (all reports.Scrapes, byInstance map[string]reports.Scrapes, grid time.Duration, perInstance int) {
	t.Helper()
	s := &promSource{api: prom.API(), jobs: prom.Config().Jobs, labels: replicas, printf: func(string, ...any) {}}
	ev, err := s.evidence(t.Context(), phase.Start, []reports.Phase{phase})
	if err != nil {
		t.Fatal(err)
	}
	return ev.scrapes, ev.byInstance, ev.grid, ev.jobs
}
