package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
)

// Plan is what a run of one scenario would do, for a dry run
// (gameday run --dry-run): its phases on the clock, each fault with what
// it hits, the stop conditions and the checks. It injects nothing.
type Plan struct {
	Scenario    string
	Target      string
	Phases      []PlannedPhase
	Faults      []PlannedFault
	Stops       []PlannedStop
	Checks      []string
	MaxSchedule time.Duration
}

// PlannedPhase is a phase: when it starts from the start of the baseline
// (or, AfterRecovery, when recovery ends) and how long it lasts; UpTo
// marks a length that is a bound (recovery ends as soon as the gate is
// back and the alerts have settled).
type PlannedPhase struct {
	Name          string
	Start, Length time.Duration
	AfterRecovery bool
	UpTo          bool
}

// PlannedFault is one fault: when, for how long, and its blast radius.
type PlannedFault struct {
	Name     string
	Params   map[string]string
	At, For  time.Duration
	Hits     []string // the replicas a fleet's selector picks; "the gate" for one gate, or the path to it
	Selector string   // the selector as written, in a fleet
}

// PlannedStop is one stop condition as the run would watch it.
type PlannedStop struct {
	Name, What string
	For        time.Duration
}

// PlanOf is the plan of spec on a target kind (container, process, url).
func PlanOf(spec *scenario.Spec, targetKind string) Plan {
	p := Plan{Scenario: spec.Name, Target: targetKind, MaxSchedule: spec.MaxSchedule()}
	if spec.Target.Kind == scenario.KindFleet {
		p.Target = fmt.Sprintf("fleet of %d replicas (%d canary) in containers", spec.Target.Replicas, spec.Target.Canary)
	}
	base := spec.Baseline.Duration.D()
	_, end := spec.FaultWindow()
	wait := spec.MaxSchedule() - base - end - spec.After.Duration.D()
	p.Phases = []PlannedPhase{{Name: "baseline", Length: base}, {Name: "fault", Start: base, Length: end},
		{Name: "recovery", Start: base + end, Length: wait, UpTo: true},
		{Name: "after", AfterRecovery: true, Length: spec.After.Duration.D()}}
	for i, f := range spec.Faults {
		pf := PlannedFault{Name: f.Name, Params: f.Params, At: base + f.Offset.D(), For: f.Duration.D(), Hits: []string{"the gate"}}
		if ft, err := fault.New(f.Name, f.Params); err == nil {
			if _, ok := ft.(fault.PathBreaker); ok {
				pf.Hits = []string{"the harness's scrape path to the gate"}
			}
			if ds, ok := ft.(fault.DiskSizer); ok {
				which, size := ds.Disk()
				pf.Hits = []string{fmt.Sprintf("a %d MiB filesystem the harness mounts on the gate's %s directory", size>>20, which)}
			}
		}
		if f.Select != nil {
			pf.Selector, pf.Hits = f.Select.String(), f.Select.Pick(spec.Target.Replicas, spec.Seed, i)
		}
		p.Faults = append(p.Faults, pf)
	}
	if b := spec.StopBuiltins; !b.Off {
		floor, d := b.Floor()
		allowed := ""
		if spec.Expect.SnapshotsDuring {
			allowed = fmt.Sprintf(", not from the first injection to %s after the last revert (snapshots expected)", spec.Expect.Recovery.Within.D())
		}
		p.Stops = append(p.Stops, PlannedStop{Name: scenario.Stop5xxBurst, What: fmt.Sprintf("%d responses >= 500 within %s of load", b.Burst(), stopWindow)},
			PlannedStop{Name: scenario.StopLiveRatio, What: fmt.Sprintf("the live ratio of the last %s below %.0f%%%s", stopWindow, floor*100, allowed), For: d})
	}
	for _, c := range spec.StopWhen {
		p.Stops = append(p.Stops, PlannedStop{Name: c.Name, What: c.Expr, For: c.For.D()})
	}
	p.Stops = append(p.Stops, PlannedStop{Name: scenario.StopByOperator, What: "gameday stop --report-dir DIR, or SIGUSR1 to the run"})
	p.Checks = plannedChecks(spec)
	return p
}

// plannedChecks lists the checks the scenario enables, a family's
// members by name where the scenario names them.
func plannedChecks(spec *scenario.Spec) []string {
	o := &observation{}
	if spec.Target.Kind == scenario.KindFleet {
		o.Fleet = &fleetObservation{}
	}
	var out []string
	for _, row := range checkTable {
		if row.enabled != nil && !row.enabled(spec, o) {
			continue
		}
		if !strings.HasSuffix(row.name, ":") {
			out = append(out, row.name)
			continue
		}
		var members []string
		switch row.name {
		case "alert_fires:", "alert_resolves:", "alert_delivered:", "resolution_delivered:":
			for _, a := range spec.Expect.Alerts {
				members = append(members, a.Name)
			}
		case "fault_achieved:":
			for _, f := range spec.Faults {
				if !slices.Contains(members, f.Name) {
					members = append(members, f.Name)
				}
			}
		default:
			members = []string{"each replica"}
		}
		for _, m := range members {
			out = append(out, row.name+m)
		}
	}
	return out
}

// Write prints the plan for people.
func (p Plan) Write(w io.Writer) error {
	fmt.Fprintf(w, "%s on %s: at most %s\n", p.Scenario, p.Target, p.MaxSchedule.Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PHASE\tSTARTS\tLASTS")
	for _, ph := range p.Phases {
		start, length := fmt.Sprintf("+%s", ph.Start), ph.Length.String()
		if ph.AfterRecovery {
			start = "when recovery ends"
		}
		if ph.UpTo {
			length = "up to " + length + " (until the live ratio is back and the alerts settle)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", ph.Name, start, length)
	}
	tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  FAULT\tAT\tFOR\tHITS\tPARAMS")
	for _, f := range p.Faults {
		hits := strings.Join(f.Hits, ", ")
		if f.Selector != "" {
			hits += " (" + f.Selector + ")"
		}
		fmt.Fprintf(tw, "  %s\t+%s\t%s\t%s\t%s\n", f.Name, f.At, f.For, hits, params(f.Params))
	}
	tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STOP CONDITION\tFOR\tBREACHES WHEN")
	for _, s := range p.Stops {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.For, s.What)
	}
	tw.Flush()
	_, err := fmt.Fprintf(w, "  checks: %s\n", strings.Join(p.Checks, ", "))
	return err
}

func params(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, " ")
}

// CheckStops evaluates the scenario's own stop conditions as a run would,
// without running: on the deployment's Prometheus for a url target read
// through it (a condition that already holds there is a *PreflightError),
// else on an empty in-process rules engine, which shows an expression
// that does not evaluate. Errors name the condition.
func CheckStops(ctx context.Context, spec *scenario.Spec, rulesFile string, ext *External) error {
	if len(spec.StopWhen) == 0 {
		return nil
	}
	now := time.Now()
	if ext != nil && ext.Prometheus != "" {
		api := promserver.API{URL: ext.Prometheus}
		var found []string
		for i, c := range spec.StopWhen {
			vec, err := api.Vector(ctx, c.Expr, now)
			if err != nil {
				return fmt.Errorf("--prometheus: scenario %s: stop_when[%d] (%s): %w", spec.Name, i, c.Name, err)
			}
			if len(vec) > 0 {
				found = append(found, fmt.Sprintf("stop condition %s already holds on %s (%s)", c.Name, ext.Prometheus, vec[0].Value))
			}
		}
		if len(found) > 0 {
			return &PreflightError{Found: found}
		}
		return nil
	}
	ev, err := alerts.New(ctx, alerts.Options{RulesFile: rulesFile, Interval: DefaultScrapeInterval})
	if err != nil {
		return err
	}
	defer ev.Close()
	for i, c := range spec.StopWhen {
		if _, err := ev.Query(ctx, c.Expr, now); err != nil {
			return &scenario.FieldError{Field: fmt.Sprintf("stop_when[%d].expr", i), Problem: fmt.Sprintf("does not evaluate: %v", err)}
		}
	}
	return nil
}

// ExternalPreflight is a url target's pre-flight as a dry run can make it:
// the admin token valid (read, never written), no fault of ours active in
// the gate's fault API and its GameDay lease free, and, with --prometheus, no alert the scenarios
// expect already firing there. What it finds is a *PreflightError; a
// dependency that does not answer, a plain error.
func ExternalPreflight(ctx context.Context, specs []*scenario.Spec, ext *External) error {
	var found []string
	if ext.AdminToken != "" {
		api := gateapi.New(ext.URL, ext.Token, ext.AdminToken)
		active, err := api.ActiveFaults(ctx)
		if err != nil {
			return fmt.Errorf("--admin-token-file: the gate at %s: %w", ext.URL, err)
		}
		if len(active) > 0 {
			found = append(found, fmt.Sprintf("the gate at %s already has a fault of ours active (%s)", ext.URL, strings.Join(active, ", ")))
		}
		var held *gateapi.LeaseHeldError
		switch err := api.Lease(ctx); {
		case errors.As(err, &held):
			found = append(found, fmt.Sprintf("the gate at %s is %v: one GameDay per target at a time", ext.URL, err))
		case err != nil && !errors.Is(err, gateapi.ErrNoLease):
			return fmt.Errorf("--admin-token-file: the gate at %s: %w", ext.URL, err)
		}
	}
	if ext.Prometheus != "" {
		api := promserver.API{URL: ext.Prometheus}
		for _, s := range specs {
			for i, a := range s.Expect.Alerts {
				vec, err := api.Vector(ctx, fmt.Sprintf(`ALERTS{alertname=%q, alertstate="firing", instance=%q}`, a.Name, ext.instance()), time.Now())
				if err != nil {
					return fmt.Errorf("--prometheus: %w", err)
				}
				if len(vec) > 0 {
					found = append(found, fmt.Sprintf("alert %s (scenario %s: expect.alerts[%d]) is already firing on %s", a.Name, s.Name, i, ext.Prometheus))
				}
			}
		}
	}
	if len(found) > 0 {
		return &PreflightError{Found: found}
	}
	return nil
}
