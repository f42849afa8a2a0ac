package harness_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/quannex/gameday/reports"
)

// TestTLSGameDay: io-glitch cut short with target.tls on the process
// target. The gate serves HTTPS and requires client certificates from the
// run's throwaway CA; the load, the scrapes, the readiness wait and the
// faults' API calls all speak TLS with the run's client certificate, and
// every check holds as it does over plain HTTP.
func TestTLSGameDay(t *testing.T) {
	t.Parallel() // a GameDay on the process target: it waits on alerts, not on the CPU
	doc := strings.Replace(shortIOGlitch, "name: io-glitch-short\n", "name: io-glitch-tls\ntarget: {tls: true}\n", 1)
	if doc == shortIOGlitch {
		t.Fatal("the scenario's name line was not found")
	}
	rep := run(t, doc, filepath.Join(root, "config", "alerts.yml"), nil)
	if !strings.HasPrefix(rep.Target.URL, "https://") {
		t.Errorf("target URL %q: not https", rep.Target.URL)
	}
	if rep.Verdict != reports.Pass {
		for _, c := range rep.Checks {
			if !c.Pass {
				t.Errorf("%s: expected %s, observed %s", c.Name, c.Expected, c.Observed)
			}
		}
		t.Fatalf("verdict %s over TLS (error %q)", rep.Verdict, rep.Error)
	}
	if rep.Load.Requests == 0 || rep.Harness.Scrapes.OK < 5 || rep.Harness.Scrapes.Failed != 0 {
		t.Errorf("load %d requests, scrapes %+v: the harness did not reach the gate over TLS", rep.Load.Requests, rep.Harness.Scrapes)
	}
}
