package harness

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/reports"
)

// every returns one scrape every step in [from, to), ok except at the
// instants skip lists (counted from from).
func every(from, to time.Time, step time.Duration, skip ...time.Duration) []upSample {
	var out []upSample
	for at := from; at.Before(to); at = at.Add(step) {
		ok := true
		for _, s := range skip {
			ok = ok && !at.Equal(from.Add(s))
		}
		out = append(out, upSample{at: at, ok: ok})
	}
	return out
}

func TestCoverageCountsScrapesAndTheLongestGap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	phase := reports.Phase{Name: "fault", Start: t0, End: t0.Add(60 * time.Second)}
	for _, c := range []struct {
		name        string
		skip        []time.Duration
		ok, failed  int
		gap, within float64
	}{
		{"every scrape", nil, 12, 0, 5, 12.5},
		{"one missed", []time.Duration{30 * time.Second}, 11, 1, 10, 12.5},
		{"two missed in a row", []time.Duration{30 * time.Second, 35 * time.Second}, 10, 2, 15, 12.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := scrapeSeries{job: "self", instance: "gate:1", interval: 5 * time.Second, samples: every(t0, phase.End, 5*time.Second, c.skip...)}
			cov := coverageOf([]scrapeSeries{s}, []reports.Phase{phase})
			ps := cov.scrapes.ByPhase["fault"]
			if ps.Planned != 12 || ps.OK != c.ok || ps.Failed != c.failed || ps.MaxGapSeconds != c.gap || ps.GapAllowedSeconds != c.within {
				t.Errorf("%+v, want 12 planned, %d ok, %d failed, a %vs gap of %vs allowed", ps, c.ok, c.failed, c.gap, c.within)
			}
			if cov.grid != 5*time.Second || cov.jobs != 1 || cov.byInstance["gate:1"].ByPhase["fault"] != ps {
				t.Errorf("grid %s, %d jobs, per instance %+v", cov.grid, cov.jobs, cov.byInstance)
			}
		})
	}
}

// TestScrapesFailedOnABrokenPathAreEvidence: a scrape that failed while
// the scrape-path fault held the path is the up == 0 the rules must judge,
// so it counts (path_broken) towards the phase's evidence; the same
// failures with the path clear are failures, and leave no evidence.
func TestScrapesFailedOnABrokenPathAreEvidence(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	phase := reports.Phase{Name: "fault", Start: t0, End: t0.Add(60 * time.Second)}
	o := observation{ScrapeInterval: 5 * time.Second, ScrapeJobs: 1, Phases: []reports.Phase{phase}}
	for _, broken := range []bool{true, false} {
		samples := every(t0, phase.End, 5*time.Second)
		for i := range samples {
			samples[i].ok, samples[i].pathBroken = false, broken
		}
		cov := coverageOf([]scrapeSeries{{job: "self", instance: "gate:1", interval: 5 * time.Second, samples: samples}}, o.Phases)
		ps := cov.scrapes.ByPhase["fault"]
		o.Scrapes = cov.scrapes
		ok, n, gap := scrapeCoverage(o)
		if broken && (ps.PathBroken != 12 || ps.Failed != 0 || !ok || n != 12) {
			t.Errorf("on a broken path: %+v, evidence %v (%d, %s), want 12 path_broken and evidence", ps, ok, n, gap)
		}
		if !broken && (ps.PathBroken != 0 || ps.Failed != 12 || ok) {
			t.Errorf("on a clear path: %+v, evidence %v, want 12 failed and no evidence", ps, ok)
		}
	}
}

// TestAlertChecksNeedScrapesInsideEveryPhase: a scrape interval longer
// than the run gives two scrapes, one before the fault and one after; the
// rules then judged the fault on nothing. The alert checks fail for want
// of evidence and name the phase without a scrape, where a count of
// scrapes would have passed them.
func TestAlertChecksNeedScrapesInsideEveryPhase(t *testing.T) {
	spec, o := healthy(t)
	var series []scrapeSeries
	for _, job := range []string{"quannex-gate", "quannex-gate-self"} {
		series = append(series, scrapeSeries{job: job, instance: "gate:1", interval: 10 * time.Minute,
			samples: []upSample{{at: o.BaselineStart.Add(time.Second), ok: true}, {at: o.AfterEnd.Add(-time.Second), ok: true}}})
	}
	cov := coverageOf(series, o.Phases)
	o.Scrapes, o.ScrapeInterval, o.ScrapeJobs = cov.scrapes, cov.grid, cov.jobs
	byName := map[string]reports.Check{}
	for _, c := range checks(spec, o) {
		byName[c.Name] = c
	}
	for _, name := range []string{"no_unexpected_alerts", "alert_fires:CircuitBreakerActive", "alert_resolves:CircuitBreakerActive"} {
		c := byName[name]
		if c.Pass || !strings.HasPrefix(c.Observed, "no evidence:") || !strings.Contains(c.Observed, "the fault phase") {
			t.Errorf("%s: pass=%v, observed %q; want no evidence, naming the fault phase", name, c.Pass, c.Observed)
		}
	}
	// The same two scrapes on a 5 s plan are 2 of the planned ones.
	spec, o = healthy(t)
	for i := range series {
		series[i].interval = 5 * time.Second
	}
	cov = coverageOf(series, o.Phases)
	o.Scrapes, o.ScrapeInterval, o.ScrapeJobs = cov.scrapes, cov.grid, cov.jobs
	for _, c := range checks(spec, o) {
		if c.Name == "no_unexpected_alerts" && (c.Pass || !strings.Contains(c.Observed, "planned scrapes")) {
			t.Errorf("on a 5 s plan: %+v, want too few of the planned scrapes", c)
		}
	}
}

// TestAlertChecksFailOnAGapInAPhase: 95 % of a phase's scrapes, but the
// misses in a row: the rules went three intervals without data.
func TestAlertChecksFailOnAGapInAPhase(t *testing.T) {
	spec, o := healthy(t)
	var series []scrapeSeries
	for _, job := range []string{"quannex-gate", "quannex-gate-self"} {
		var ss []upSample
		for _, p := range o.Phases {
			var skip []time.Duration
			if p.Name == "fault" {
				skip = []time.Duration{20 * time.Second, 25 * time.Second, 30 * time.Second} // 3 of 12 per job, in a row
			}
			ss = append(ss, every(p.Start, p.End, 5*time.Second, skip...)...)
		}
		series = append(series, scrapeSeries{job: job, instance: "gate:1", interval: 5 * time.Second, samples: ss})
	}
	cov := coverageOf(series, o.Phases)
	o.Scrapes, o.ScrapeInterval, o.ScrapeJobs = cov.scrapes, cov.grid, cov.jobs
	o.Scrapes.ByPhase["fault"] = reports.PhaseScrape{Planned: 24, OK: 23, MaxGapSeconds: cov.scrapes.ByPhase["fault"].MaxGapSeconds,
		GapAllowedSeconds: cov.scrapes.ByPhase["fault"].GapAllowedSeconds} // 96 %: only the gap is short
	for _, c := range checks(spec, o) {
		if c.Name == "no_unexpected_alerts" && (c.Pass || !strings.Contains(c.Observed, "went 20s without a successful scrape")) {
			t.Errorf("%+v, want no evidence for a 20 s gap in the fault phase", c)
		}
	}
}

func TestCheckCoverableRefusesAnIntervalLongerThanAPhase(t *testing.T) {
	spec, _ := healthy(t) // io-glitch: 30 s baseline, 60 s fault, 30 s after
	err := CheckCoverable(spec, 10*time.Minute, "--scrape-interval")
	if !errors.Is(err, ErrUncoverable) || !strings.HasPrefix(err.Error(), "--scrape-interval: ") || !strings.Contains(err.Error(), "phase") {
		t.Errorf("10m: %v, want ErrUncoverable naming the flag and the phase", err)
	}
	if err := CheckCoverable(spec, 5*time.Second, "--scrape-interval"); err != nil {
		t.Errorf("5s: %v", err)
	}
	spec.Expect.Alerts, spec.Expect.NoUnexpectedAlerts = nil, false
	if err := CheckCoverable(spec, 10*time.Minute, "--scrape-interval"); err != nil {
		t.Errorf("no alert check to cover: %v", err)
	}
}

// TestChecksCarryTheTableSeverity: each check is weighed as its row of
// the table says, the promises critical.
func TestChecksCarryTheTableSeverity(t *testing.T) {
	spec, o := healthy(t)
	critical := map[string]bool{"baseline_steady": true, "no_5xx": true, "no_transport_errors": true, "recovery": true,
		"faults_reverted": true, "livesha_valid": true, "alert_fires:CircuitBreakerActive": true, "fault_achieved:cache-readonly": true}
	fleetSpec, fo := healthyFleet(t)
	for _, c := range append(checks(spec, o), checks(fleetSpec, fo)...) {
		want := reports.Warning
		if critical[c.Name] {
			want = reports.Critical
		}
		if c.Severity != want {
			t.Errorf("%s: severity %q, want %q", c.Name, c.Severity, want)
		}
	}
}
