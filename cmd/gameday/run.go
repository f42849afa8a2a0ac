package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quannex/gameday/cmd/internal/cliflags"
	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
	"github.com/quannex/gameday/reports/html"
)

const runUsage = `Usage: gameday run [flags] NAME... | -f FILE

Runs built-in scenarios (gameday list) or one from a YAML file, printing a
progress line every 5 seconds and a verdict table, and writes one JSON report
per scenario to --report-dir.

The target: container (testcontainers; the image is built locally, nothing is
pulled) where a Docker engine answers, else process. GAMEDAY_REQUIRE_DOCKER=1
makes a missing engine an error (CI sets it).

An existing deployment (a scheduled GameDay in staging):
  gameday run --target url=https://gate.staging:3000 \
    --token-file F --admin-token-file F2 NAME... | -f FILE
runs against a gate the harness did not start. Only faults the gate's admin
API offers are allowed (generator-latency); a scenario with any other fault,
a fleet, target.tls or target.cpus is refused before anything runs (exit 2,
naming the field). --token-file holds one bearer token, used for the load
and for the harness's scrapes of /metrics and /metrics/self (give the token
an identity whose rate limit takes the scenario's load); --admin-token-file
holds the gate's admin token, required when a fault goes through the admin
API. An https:// gate is verified against the system's roots. The gate must
answer /readyz and take the token before the run starts (else exit 3).
Tokens never appear in output, errors or reports.

With --prometheus URL the verdict's alerts are the ones that Prometheus
raised for the gate (its ALERTS series for --prometheus-instance over the
run), and the alert checks' scrape evidence is its own up series for that
instance in every job of the scrape config beside --rules, phase by phase:
no series, no evidence, and the checks fail. Before the run it must be
ready, scrape the instance in every job and have the rules loaded (else
exit 3, naming the flag). --alertmanager URL must answer /-/ready and is
recorded in the report; delivery checks need the fleet's own receiver.

A fleet scenario (target.kind: fleet, such as fleet-canary) runs its
replicas as containers on a private Docker network, with a real Prometheus
(--prometheus-bin) and Alertmanager (--alertmanager-bin) on loopback that
the run starts and stops; a missing binary is refused before anything
starts (exit 2), a missing Docker engine too (exit 3).

Flags:
`

type runFlags struct {
	target, reportDir, rules, binDir string
	scrape                           time.Duration
	junit, baselineDir               string // baseline.go
	tokenFile, adminTokenFile        string // external.go
	promBin, amBin                   string // fleet.go
	prometheus, instance, alertmgr   string // external.go
}

func addRunFlags(fs *flag.FlagSet) *runFlags {
	f := &runFlags{}
	fs.StringVar(&f.target, "target", envOr("GAMEDAY_TARGET", harness.TargetAuto), "auto, container, process, or url=URL for a gate the harness did not start (env GAMEDAY_TARGET)")
	fs.StringVar(&f.tokenFile, "token-file", "", "with --target url=: file holding the bearer token for the load and the harness's scrapes")
	fs.StringVar(&f.adminTokenFile, "admin-token-file", "", "with --target url=: file holding the gate's admin token (admin-API faults, the starting e2e pass)")
	fs.StringVar(&f.promBin, "prometheus-bin", "", "the Prometheus server a fleet scenario starts (default: prometheus on PATH)")
	fs.StringVar(&f.amBin, "alertmanager-bin", "", "the Alertmanager a fleet scenario starts (default: alertmanager or prometheus-alertmanager on PATH)")
	fs.StringVar(&f.prometheus, "prometheus", "", "with --target url=: base URL of the Prometheus that scrapes the gate with the production rules; the verdict's alerts and their scrape evidence come from it")
	fs.StringVar(&f.instance, "prometheus-instance", "", "the instance label --prometheus gives the gate (default: the --target URL's host:port)")
	fs.StringVar(&f.alertmgr, "alertmanager", "", "with --prometheus: base URL of the Alertmanager it sends to; must answer /-/ready, recorded in the report")
	fs.StringVar(&f.reportDir, "report-dir", envOr("GAMEDAY_REPORT_DIR", "reports/out"), "where reports and gate logs go (env GAMEDAY_REPORT_DIR)")
	fs.StringVar(&f.rules, "rules", "config/alerts.yml", "the production alert rules file")
	fs.StringVar(&f.binDir, "bin-dir", "", "directory with the static gate and stressor binaries (default: next to gameday, else built from the module)")
	fs.DurationVar(&f.scrape, "scrape-interval", 5*time.Second, "scrape and rule evaluation interval")
	fs.StringVar(&f.junit, "junit", "", "also write the runs as JUnit XML to this file (one testsuite per run, one testcase per check)")
	fs.StringVar(&f.baselineDir, "baseline-dir", "", "compare each run with the newest earlier report of its scenario in this directory (gameday compare); a regression fails the run")
	return f
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, specs, err := parseRun(args, stderr)
	if err != nil {
		return err
	}
	return execute(ctx, specs, f, stdout)
}

// parseRun parses gameday run's arguments and loads its scenarios: all
// that runCmd does before execute. export_test.go holds the CronJob that
// gameday export writes to it and to (*runFlags).check.
func parseRun(args []string, stderr io.Writer) (*runFlags, []*scenario.Spec, error) {
	fs := flag.NewFlagSet("gameday run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); fs.PrintDefaults() }
	f := addRunFlags(fs)
	file := fs.String("f", "", "run the scenario in this YAML file")
	if err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	var specs []*scenario.Spec
	switch {
	case *file != "" && fs.NArg() > 0:
		return nil, nil, usagef("run: give scenario names or -f FILE, not both")
	case *file != "":
		fh, err := os.Open(*file)
		if err != nil {
			return nil, nil, usagef("-f: %v", err)
		}
		s, err := scenario.Parse(fh, fault.Known)
		fh.Close()
		if err != nil {
			return nil, nil, usagef("%s: %v", *file, err)
		}
		specs = append(specs, s)
	case fs.NArg() == 0:
		return nil, nil, usagef("run: name at least one scenario (gameday list) or give -f FILE")
	default:
		b, err := scenario.Builtins(fault.Known)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range fs.Args() {
			s, ok := b[n]
			if !ok {
				return nil, nil, usagef("run: unknown scenario %q (gameday list shows them)", n)
			}
			specs = append(specs, s)
		}
	}
	return f, specs, nil
}

// parse parses args into fs with flags anywhere among the positional
// arguments (package cliflags), turning -h into errHelp and any other error
// into a usage error (the flag package has already named the flag).
func parse(fs *flag.FlagSet, args []string) error {
	if err := cliflags.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err.Error()}
	}
	return nil
}

// execute resolves the target and artifacts, runs each scenario and prints
// the verdict table.
func execute(ctx context.Context, specs []*scenario.Spec, f *runFlags, stdout io.Writer) error {
	ext, err := f.check(specs)
	if err != nil {
		return err
	}
	// A rules file that does not load is a usage error, found before any
	// target starts.
	if _, err := alerts.LoadRules(f.rules); err != nil {
		return usagef("--rules: %v", err)
	}
	kind, err := harness.ResolveTarget(ctx, f.target, os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1")
	if err != nil {
		return err
	}
	if err := f.fleetBins(specs, kind); err != nil {
		return err
	}
	var arts harness.Artifacts
	if ext != nil {
		if err := reachGate(ctx, ext); err != nil {
			return err
		}
		if err := ext.CheckMonitoring(ctx, f.rules, specs); err != nil {
			if errors.Is(err, harness.ErrUncoverable) {
				return usageError{err.Error()}
			}
			return err
		}
	} else if arts, err = artifacts(ctx, f.binDir); err != nil { // the gate and stressor binaries: not for a url target
		return err
	}
	failed := false
	var reps []*reports.Report
	var against error // the baseline comparisons' outcome
	for _, s := range specs {
		rep, path, err := harness.Run(ctx, s, harness.Options{Target: kind, External: ext, Artifacts: arts, RulesFile: f.rules, ReportDir: f.reportDir,
			ScrapeInterval: f.scrape, Progress: stdout, PrometheusBin: f.promBin, AlertmanagerBin: f.amBin})
		printVerdict(stdout, s.Name, rep, path)
		if path != "" { // a page beside the JSON; a failure to render costs the page, not the run
			if page, herr := html.Write("", path, rep); herr != nil {
				fmt.Fprintf(stdout, "  html: %v\n", herr)
			} else {
				fmt.Fprintf(stdout, "  html: %s\n", page)
			}
			// And the run as JUnit beside it, for CI that reads test results.
			junit := strings.TrimSuffix(path, ".json") + ".junit.xml"
			if jerr := reports.WriteJUnitFile(junit, []*reports.Report{rep}); jerr != nil {
				fmt.Fprintf(stdout, "  junit: %v\n", jerr)
			} else {
				fmt.Fprintf(stdout, "  junit: %s\n", junit)
			}
		}
		if err != nil {
			fmt.Fprintf(stdout, "gameday: %s: %v\n", s.Name, err)
		}
		if rep.Verdict != reports.Pass {
			failed = true
		}
		reps = append(reps, rep)
		if err := f.writeJUnit(reps); err != nil {
			return err
		}
		if err := f.compareBaseline(stdout, rep, path); err != nil {
			if !errors.Is(err, errRegressed) && !errors.Is(err, errNotComparable) {
				return err
			}
			against = worse(against, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if failed {
		return errVerdict
	}
	return against
}

// check refuses, before anything runs or is reached, flags that do not go
// together with each other or with the scenarios: the target, an external
// deployment's scenarios and token files (external.go), the result flags.
// ext is nil for a target the harness starts.
func (f *runFlags) check(specs []*scenario.Spec) (ext *harness.External, err error) {
	switch f.target {
	case harness.TargetAuto, harness.TargetContainer, harness.TargetProcess:
	default:
		if !strings.HasPrefix(f.target, harness.TargetURL+"=") {
			return nil, usagef("--target: %q is not auto, container, process or url=URL", f.target)
		}
	}
	if ext, err = f.external(specs); err != nil {
		return nil, err
	}
	if err := f.checkResultFlags(); err != nil {
		return nil, err
	}
	if err := f.checkScrapeInterval(specs, ext); err != nil {
		return nil, err
	}
	return ext, nil
}

// checkScrapeInterval refuses a --scrape-interval that is not positive, or
// that cannot put a scrape inside every phase a scenario's alert checks
// judge, where the harness scrapes (not a fleet, whose Prometheus has its
// own; not a deployment read through --prometheus, checked when reached).
func (f *runFlags) checkScrapeInterval(specs []*scenario.Spec, ext *harness.External) error {
	if f.scrape <= 0 {
		return usagef("--scrape-interval: %s: must be positive, such as 5s", f.scrape)
	}
	if ext != nil && ext.Prometheus != "" {
		return nil
	}
	for _, s := range specs {
		if s.Target.Kind == scenario.KindFleet {
			continue
		}
		if err := harness.CheckCoverable(s, f.scrape, "--scrape-interval"); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// artifacts finds the gate and stressor binaries: --bin-dir, then next to
// this executable, then built from the module the working directory is in.
func artifacts(ctx context.Context, binDir string) (harness.Artifacts, error) {
	if binDir != "" {
		return harness.FindArtifacts(binDir)
	}
	if exe, err := os.Executable(); err == nil {
		if a, err := harness.FindArtifacts(filepath.Dir(exe)); err == nil {
			return a, nil
		}
	}
	wd, _ := os.Getwd()
	root, err := harness.ModuleRoot(wd)
	if err != nil {
		return harness.Artifacts{}, fmt.Errorf("artifacts: no gate binary next to gameday and %v; pass --bin-dir", err)
	}
	dir, err := os.MkdirTemp("", "gameday-bin-*")
	if err != nil {
		return harness.Artifacts{}, err
	}
	return harness.Build(ctx, root, dir)
}

func printVerdict(w io.Writer, name string, rep *reports.Report, path string) {
	fmt.Fprintf(w, "\n%s: verdict %s, score %g/100 (wall %.0fs, schedule %.0fs, harness overhead %.1fs)\n", name, rep.Verdict, rep.Score, rep.WallSeconds, rep.ScheduleSeconds, rep.Harness.OverheadSeconds)
	if rep.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", rep.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHECK\tRESULT\tEVIDENCE\tEXPECTED\tOBSERVED")
	var warnings []string
	for _, c := range rep.Checks {
		res := "pass"
		if !c.Pass {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d %s\t%s\t%s\n", c.Name, res, c.Evidence, c.EvidenceOf, c.Expected, c.Observed)
		if c.Warning != "" {
			warnings = append(warnings, c.Name+": "+c.Warning)
		}
	}
	tw.Flush()
	for _, wl := range warnings {
		fmt.Fprintf(w, "  warning: %s\n", wl)
	}
	for _, a := range rep.Alerts {
		fmt.Fprintf(w, "  alert %s%s: pending %s, firing %s, resolved %s, fired %d times\n", a.Name, alertLabels(a.Labels),
			ts(a.PendingAt, rep), ts(a.FiringAt, rep), ts(a.ResolvedAt, rep), a.Firings)
	}
	for _, f := range rep.Faults {
		rev := "never reverted"
		if !f.RevertedAt.IsZero() {
			rev = fmt.Sprintf("reverted +%.0fs", f.RevertedAt.Sub(rep.StartedAt).Seconds())
		}
		if f.RevertErr != "" {
			rev += " (" + f.RevertErr + ")"
		}
		fmt.Fprintf(w, "  fault %s: injected +%.0fs, %s\n", f.Name, f.InjectedAt.Sub(rep.StartedAt).Seconds(), rev)
	}
	if rep.RecoverySeconds != nil {
		fmt.Fprintf(w, "  recovery: %.0fs after the revert\n", *rep.RecoverySeconds)
	}
	if path != "" {
		fmt.Fprintf(w, "  report: %s\n", path)
	}
}

// alertLabels renders the labels that tell alerts of one name apart
// (the rule's window, the instance), not the ones every alert carries.
func alertLabels(ls map[string]string) string {
	var parts []string
	for _, k := range []string{"instance", "window"} {
		if v, ok := ls[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func ts(t *time.Time, rep *reports.Report) string {
	if t == nil {
		return "-"
	}
	return fmt.Sprintf("+%.0fs", t.Sub(rep.StartedAt).Seconds())
}
