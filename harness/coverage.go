package harness

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// Scrape evidence. A check that judges alerts reads the rules' verdict on
// what was scraped; where nothing was scraped, the rules judged stale data
// or none. So every alert check needs, in every phase, scrapes inside the
// phase: at least one, at least minScrapeCoverage of the planned ones (one
// per job and interval), and no stretch without a successful scrape longer
// than maxScrapeGap intervals of its job. Each source records the scrapes
// as their up samples (the harness's own, or Prometheus's stored ones) and
// coverageOf turns them into the evidence, the same way for all. A scrape
// that failed while the scrape-path fault held the path is evidence too:
// up == 0 is what the rules must judge then, the truth of a dark path.

// Evidence rules. A check whose evidence is below these fails with an
// observed value that starts "no evidence:"; it never passes on nothing.
const (
	// minScrapeCoverage is the share of planned scrapes that must have
	// succeeded in every phase for the alert checks to have evidence.
	minScrapeCoverage = 0.90
	// maxScrapeGap is the longest stretch of a phase without a successful
	// scrape of a job, in that job's intervals: one scrape missed in a
	// row (two intervals and the jitter of a scrape's timing), never two.
	maxScrapeGap = 2.5
	// minLatencySamples is the fewest responses a latency check reads.
	minLatencySamples = 20
)

// upSample is one scrape as its up series records it; the harness's own
// scrapes also say how long they took and whether the scrape-path fault's
// toxic held the path then.
type upSample struct {
	at time.Time
	ok bool
	// pathBroken: the toxic held the path when the scrape began or
	// ended; underToxic: when it began and when it ended.
	pathBroken, underToxic bool
	took                   time.Duration
}

// scrapeSeries is the scrapes of one job of one instance.
type scrapeSeries struct {
	job, instance string
	interval      time.Duration
	samples       []upSample // in time order
}

// coverage is the scrape evidence of a run's phases: over all instances,
// and per instance label.
type coverage struct {
	scrapes    reports.Scrapes
	byInstance map[string]reports.Scrapes
	// grid is the interval the planned scrapes are counted on (the
	// shortest job's); jobs is the number of jobs of one instance.
	grid time.Duration
	jobs int
}

// coverageOf counts each phase's scrapes on the grid of the shortest
// interval: a job scraped every two intervals counts each success twice,
// so that every job must cover the phase for the evidence to hold.
func coverageOf(series []scrapeSeries, phases []reports.Phase) coverage {
	c := coverage{scrapes: reports.Scrapes{ByPhase: map[string]reports.PhaseScrape{}}, byInstance: map[string]reports.Scrapes{}}
	jobs := map[string]bool{}
	for _, s := range series {
		if c.grid == 0 || s.interval < c.grid {
			c.grid = s.interval
		}
		jobs[s.job] = true
		if _, ok := c.byInstance[s.instance]; !ok {
			c.byInstance[s.instance] = reports.Scrapes{ByPhase: map[string]reports.PhaseScrape{}}
		}
	}
	c.jobs = len(jobs)
	if c.grid <= 0 {
		return c
	}
	for _, p := range phases {
		if p.End.IsZero() || !p.End.After(p.Start) {
			continue
		}
		planned := int(p.End.Sub(p.Start)/c.grid) * c.jobs
		per := map[string]*reports.PhaseScrape{}
		okScaled, brokenScaled, allScaled := map[string]float64{}, map[string]float64{}, map[string]float64{}
		for _, s := range series {
			ps := per[s.instance]
			if ps == nil {
				ps = &reports.PhaseScrape{Planned: planned}
				per[s.instance] = ps
			}
			ok, broken, all, gap := s.within(p.Start, p.End)
			scale := float64(s.interval) / float64(c.grid)
			okScaled[s.instance] += float64(ok) * scale
			brokenScaled[s.instance] += float64(broken) * scale
			allScaled[s.instance] += float64(all) * scale
			allowed := time.Duration(maxScrapeGap * float64(s.interval))
			if gap.Seconds()/allowed.Seconds() > ps.MaxGapSeconds/max(ps.GapAllowedSeconds, 1e-9) {
				ps.MaxGapSeconds, ps.GapAllowedSeconds = gap.Seconds(), allowed.Seconds()
			}
		}
		total := reports.PhaseScrape{}
		names := make([]string, 0, len(per))
		for n := range per {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps := per[n]
			ps.OK = int(okScaled[n] + 0.5)
			ps.PathBroken = int(brokenScaled[n] + 0.5)
			ps.Failed = int(allScaled[n] - okScaled[n] - brokenScaled[n] + 0.5)
			in := c.byInstance[n]
			in.ByPhase[p.Name] = *ps
			in.OK, in.Failed, in.PathBroken = in.OK+ps.OK, in.Failed+ps.Failed, in.PathBroken+ps.PathBroken
			c.byInstance[n] = in
			total.Planned, total.OK, total.Failed = total.Planned+ps.Planned, total.OK+ps.OK, total.Failed+ps.Failed
			total.PathBroken += ps.PathBroken
			if ps.MaxGapSeconds/max(ps.GapAllowedSeconds, 1e-9) > total.MaxGapSeconds/max(total.GapAllowedSeconds, 1e-9) {
				total.MaxGapSeconds, total.GapAllowedSeconds = ps.MaxGapSeconds, ps.GapAllowedSeconds
			}
		}
		c.scrapes.ByPhase[p.Name] = total
		c.scrapes.OK, c.scrapes.Failed = c.scrapes.OK+total.OK, c.scrapes.Failed+total.Failed
		c.scrapes.PathBroken += total.PathBroken
	}
	return c
}

// within counts the series' scrapes in [from, to): those that
// succeeded, those that failed while the scrape-path fault held the path
// (broken), all of them; and the longest stretch of it without a scrape
// that is evidence (one that succeeded or was broken), the edges
// included.
func (s scrapeSeries) within(from, to time.Time) (ok, broken, all int, gap time.Duration) {
	last := from
	for _, u := range s.samples {
		if u.at.Before(from) || !u.at.Before(to) {
			continue
		}
		all++
		switch {
		case u.ok:
			ok++
		case u.pathBroken:
			broken++
		default:
			continue
		}
		gap = max(gap, u.at.Sub(last))
		last = u.at
	}
	return ok, broken, all, max(gap, to.Sub(last))
}

// judgedPhases are the shortest stretches a run's alert checks judge, by
// the scenario's own durations: each must hold a scrape of every job.
func judgedPhases(spec *scenario.Spec) (name string, d time.Duration) {
	_, fault := spec.FaultWindow()
	recovery := recoveryWindow
	if w := spec.Expect.Recovery.Within.D(); w > 0 && w < recovery {
		recovery = w
	}
	name, d = "baseline", spec.Baseline.Duration.D()
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"fault", fault}, {"recovery", recovery}, {"after", spec.After.Duration.D()}} {
		if p.d > 0 && (d <= 0 || p.d < d) {
			name, d = p.name, p.d
		}
	}
	return name, d
}

// ErrUncoverable is wrapped by CheckCoverable's refusal: a usage error,
// found before anything starts.
var ErrUncoverable = errors.New("the scrape interval cannot cover the scenario's phases")

// CheckCoverable refuses a scrape interval that cannot put a scrape inside
// every phase the scenario's alert checks judge: the evidence would be
// thin by construction. flag names where the interval came from
// (--scrape-interval, or the Prometheus whose interval it is).
func CheckCoverable(spec *scenario.Spec, interval time.Duration, flag string) error {
	if len(spec.Expect.Alerts) == 0 && !spec.Expect.NoUnexpectedAlerts {
		return nil
	}
	phase, d := judgedPhases(spec)
	if d > 0 && interval > d {
		return fmt.Errorf("%s: %w: %s is longer than scenario %s's %s phase (%s), and every phase its alert checks judge needs a scrape of every job inside it (at most %s)",
			flag, ErrUncoverable, interval, spec.Name, phase, d, d)
	}
	return nil
}
