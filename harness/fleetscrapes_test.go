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
		if v, err := promScalar(t.Context(), prom, "count(up)", time.Now()); err == nil && v == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape both instances:\n%s", prom.Log())
		}
	}
	start := time.Now()
	time.Sleep(6 * time.Second)
	phase := reports.Phase{Name: "fault", Start: start, End: start.Add(5 * time.Second)}

	r := &runner{opts: Options{ScrapeInterval: 5 * time.Second}, fl: &fleetState{prom: prom, names: []string{"replica-1", "replica-2"}}}
	all, byInstance, grid, perInstance := r.promScrapes(t.Context(), []reports.Phase{phase})
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
