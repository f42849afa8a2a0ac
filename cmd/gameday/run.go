package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/alerts"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/runlock"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
	"github.com/quannex/gameday/reports/html"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

const runHelp = `Run scenarios and write one JSON report each.

Example: gameday run io-glitch

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

Stop conditions: every run watches, from the baseline to the end of
recovery, a burst of 5xx seen by the load and the live ratio below a floor
(stop_builtins tunes or turns them off), the scenario's stop_when list and
every --stop-when EXPR (PromQL on the run's alert source: the in-process
rules engine, or --prometheus). A breach reverts every fault at once, the run
keeps observing recovery and ends aborted (exit 5), with breach→revert
seconds in its report; gameday stop --report-dir DIR (or SIGUSR1) is the
operator's stop. A condition that already holds before the first fault, an
expected alert already firing or a fault of ours still active on a gate is a
pre-flight finding: nothing is injected (exit 3). One run per report
directory at a time (a second one exits 3 naming the holder). --dry-run
checks all a run needs and prints its plan, and starts, injects and writes
nothing.

Gate pods in a cluster (docs/KUBERNETES.md):
  gameday run --target kube=NAMESPACE --service URL --prometheus URL \
    --token-file F --admin-token-file F2 [--selector app=quannex-gate] NAME...
loads the gates through their Service, reads the alerts from the cluster's
Prometheus, and injects cpu-spike and cache-readonly as Chaos Mesh objects it
creates (with their duration, so they stop if the harness dies), proves
injected from their status (Selected, AllInjected and one Injected record per
selected pod; never the conditions alone) and deletes on every exit path; the
admin-API faults go through the Service. Before anything is created the
cluster's pre-flight checks Chaos Mesh's CRDs, each RBAC verb the run needs
(create, get, watch, delete, list), the selector and leftovers of a killed run
(exit 3 naming what failed). An object not proved injected within
--inject-within stops the run (exit 5); one not recovered or gone after its
deletion fails the revert and names gameday cleanup --kube.

A fleet scenario (target.kind: fleet, such as fleet-canary) runs its
replicas as containers on a private Docker network, with a real Prometheus
(--prometheus-bin) and Alertmanager (--alertmanager-bin) on loopback that
the run starts and stops; a missing binary is refused before anything
starts (exit 2), a missing Docker engine too (exit 3).`

type runFlags struct {
	target, reportDir, rules, binDir string
	scrape                           time.Duration
	junit, baselineDir               string // baseline.go
	tokenFile, adminTokenFile        string // external.go
	promBin, amBin                   string // fleet.go
	prometheus, instance, alertmgr   string // external.go
	quiet, verbose, dryRun           bool
	stopWhen                         []string // --stop-when, in order
	stopFor                          time.Duration
	kubeFlags                               // kube.go
	push                             string // --push, kube.go
	named                            func(string) string
	stderr                           io.Writer
}

// addRunFlags declares the flags run and replay share on cmd.
func addRunFlags(app *cli.App, cmd *kingpin.CmdClause, stderr io.Writer) *runFlags {
	f := &runFlags{named: app.Named, stderr: stderr}
	app.Flag(cmd, "target", "GAMEDAY_TARGET", "auto, container, process, url=URL for a gate the harness did not start, or kube=NAMESPACE for gate pods in a cluster (Chaos Mesh injects the host faults)").Default(harness.TargetAuto).StringVar(&f.target)
	cmd.Flag("token-file", "with --target url=: file holding the bearer token for the load and the harness's scrapes").PlaceHolder("FILE").StringVar(&f.tokenFile)
	cmd.Flag("admin-token-file", "with --target url=: file holding the gate's admin token (admin-API faults, the starting e2e pass)").PlaceHolder("FILE").StringVar(&f.adminTokenFile)
	cmd.Flag("prometheus-bin", "the Prometheus server a fleet scenario starts (default: prometheus on PATH)").StringVar(&f.promBin)
	cmd.Flag("alertmanager-bin", "the Alertmanager a fleet scenario starts (default: alertmanager or prometheus-alertmanager on PATH)").StringVar(&f.amBin)
	cmd.Flag("prometheus", "with --target url=: base URL of the Prometheus that scrapes the gate with the production rules; the verdict's alerts and their scrape evidence come from it").PlaceHolder("URL").StringVar(&f.prometheus)
	cmd.Flag("prometheus-instance", "the instance label --prometheus gives the gate (default: the --target URL's host:port)").StringVar(&f.instance)
	cmd.Flag("alertmanager", "with --prometheus: base URL of the Alertmanager it sends to; must answer /-/ready, recorded in the report").PlaceHolder("URL").StringVar(&f.alertmgr)
	app.Flag(cmd, "report-dir", "GAMEDAY_REPORT_DIR", "where reports and gate logs go").Default("reports/out").PlaceHolder("DIR").StringVar(&f.reportDir)
	cmd.Flag("rules", "the production alert rules file").Default("config/alerts.yml").StringVar(&f.rules)
	cmd.Flag("bin-dir", "directory with the static gate and stressor binaries (default: next to gameday, else built from the module)").PlaceHolder("DIR").StringVar(&f.binDir)
	cmd.Flag("scrape-interval", "scrape and rule evaluation interval (it must fit inside every phase the alert checks judge)").Default("5s").DurationVar(&f.scrape)
	cmd.Flag("junit", "also write the runs as JUnit XML to this file (one testsuite per run, one testcase per check)").PlaceHolder("FILE").StringVar(&f.junit)
	cmd.Flag("baseline-dir", "compare each run with the newest earlier report of its scenario in this directory (gameday compare); a regression fails the run").PlaceHolder("DIR").StringVar(&f.baselineDir)
	cmd.Flag("quiet", "print only each run's verdict table, no progress lines").Short('q').BoolVar(&f.quiet)
	cmd.Flag("dry-run", "check everything the run needs (Docker or the binaries; a deployment's gate, tokens, Prometheus and Alertmanager; every stop condition) and print the plan; start, inject and write nothing (exit 0 the run could go ahead, 2 a scenario or flag error, 3 a dependency or the pre-flight)").BoolVar(&f.dryRun)
	cmd.Flag("stop-when", "a stop condition for every scenario run: a PromQL expression on the run's alert source (its alerts' Prometheus with --prometheus, else the in-process rules engine); a result at every evaluation for --stop-for reverts every fault and ends the run aborted (exit 5); repeatable").PlaceHolder("EXPR").StringsVar(&f.stopWhen)
	cmd.Flag("stop-for", "how long each --stop-when expression must hold").Default("0s").DurationVar(&f.stopFor)
	cmd.Flag("verbose", "also print the log lines of the libraries the run drives (testcontainers) on stderr; without it they go to testcontainers.log in --report-dir").Short('v').BoolVar(&f.verbose)
	addKubeFlags(cmd, &f.kubeFlags)
	cmd.Flag("push", "after each run, push its result (verdict, score, recovery, fault times) to this Prometheus Pushgateway as job=gameday, scenario=NAME, for the alerts of config/gameday.yml on failed and missing scheduled GameDays; a run that could not start pushes verdict error; a failed push is exit 3").PlaceHolder("URL").StringVar(&f.push)
	return f
}

// addRun declares gameday run.
func addRun(ctx context.Context, app *cli.App, stdout, stderr io.Writer) func() error {
	cmd := app.Cmd(nil, "run", runHelp)
	f := addRunFlags(app, cmd, stderr)
	file := cmd.Flag("file", "run the scenario in this YAML file").Short('f').PlaceHolder("FILE").String()
	names := cmd.Arg("scenarios", "built-in scenarios (gameday list)").HintAction(builtinNames).Strings()
	return func() error {
		if err := f.checkFlags(); err != nil {
			return err
		}
		specs, err := loadSpecs(*file, *names)
		if err != nil {
			return err
		}
		if err := f.addStops(specs); err != nil {
			return err
		}
		return execute(ctx, specs, f, stdout)
	}
}

// addStops adds the --stop-when conditions to every scenario, named
// stop-when-1, stop-when-2, … in the order given.
func (f *runFlags) addStops(specs []*scenario.Spec) error {
	if f.stopFor < 0 {
		return usagef("--stop-for: %s: must not be negative", f.stopFor)
	}
	for _, s := range specs {
		for i, expr := range f.stopWhen {
			c := scenario.StopCondition{Name: fmt.Sprintf("stop-when-%d", i+1), Expr: expr, For: scenario.Duration(f.stopFor)}
			if err := s.AddStop(c); err != nil {
				return usagef("--stop-when %q: %v", expr, err)
			}
		}
	}
	return nil
}

// parseRun parses gameday run's arguments and loads its scenarios: all
// that gameday run does before execute. export_test.go holds the CronJob
// that gameday export writes to it and to (*runFlags).check.
func parseRun(args []string, stderr io.Writer) (*runFlags, []*scenario.Spec, error) {
	app := cli.New("gameday", help, "", io.Discard, stderr)
	cmd := app.Cmd(nil, "run", runHelp)
	f := addRunFlags(app, cmd, stderr)
	file := cmd.Flag("file", "").Short('f').String()
	names := cmd.Arg("scenarios", "").Strings()
	if _, err := app.Parse(append([]string{"run"}, args...)); err != nil {
		return nil, nil, err
	}
	if err := f.checkFlags(); err != nil {
		return nil, nil, err
	}
	specs, err := loadSpecs(*file, *names)
	if err == nil {
		err = f.addStops(specs)
	}
	return f, specs, err
}

// loadSpecs loads the scenario in file, or the built-ins named, before
// anything starts, each error naming the field.
func loadSpecs(file string, names []string) ([]*scenario.Spec, error) {
	var specs []*scenario.Spec
	switch {
	case file != "" && len(names) > 0:
		return nil, usagef("run: give scenario names or -f FILE, not both")
	case file != "":
		s, err := specFile(file)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	case len(names) == 0:
		return nil, usagef("run: name at least one scenario (gameday list) or give -f FILE")
	default:
		for _, n := range names {
			s, err := builtin("run", n)
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		}
	}
	return specs, nil
}

// specFile reads and checks the scenario in file; its errors are usage
// errors that name the file and the field, and suggest the nearest name
// for one that is mistyped.
func specFile(file string) (*scenario.Spec, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, usagef("-f: %v", err)
	}
	defer fh.Close()
	s, err := scenario.Parse(fh, fault.Known)
	if err != nil {
		return nil, usagef("%s: %s", file, withSuggestion(err))
	}
	return s, nil
}

// withSuggestion is err's text, with the nearest known name when err is a
// field or a fault that is misnamed.
func withSuggestion(err error) string {
	var fe *scenario.FieldError
	if errors.As(err, &fe) && fe.Unknown != "" {
		if near := cli.Suggest(fe.Unknown, fe.Known); near != "" {
			return fmt.Sprintf("%v; did you mean %q?", err, near)
		}
	}
	return err.Error()
}

// builtin is the built-in scenario name, for command cmd.
func builtin(cmd, name string) (*scenario.Spec, error) {
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		return nil, err
	}
	if s, ok := b[name]; ok {
		return s, nil
	}
	msg := fmt.Sprintf("%s: unknown scenario %q", cmd, name)
	if near := cli.Suggest(name, scenario.Names(b)); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", near)
	}
	return nil, usagef("%s (gameday list shows them)", msg)
}

// checkTarget refuses, before anything starts, a scenario the resolved
// target cannot run (a fault that needs a container on the process
// target), naming the field: exit 2.
func checkTarget(specs []*scenario.Spec, kind string) error {
	for _, s := range specs {
		if err := harness.CheckTarget(s, kind); err != nil {
			var fe *scenario.FieldError
			if errors.As(err, &fe) {
				return usagef("scenario %s: %s: %s", s.Name, fe.Field, fe.Problem)
			}
			return err
		}
	}
	return nil
}

// builtinNames lists the built-in scenarios, for shell completion.
func builtinNames() []string {
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		return nil
	}
	return scenario.Names(b)
}

// checkAlertNames refuses, before anything starts, an expected alert the
// rules file does not define, naming the scenario's field and the nearest
// alert it does define.
func checkAlertNames(specs []*scenario.Spec, rulesFile string) error {
	rules, err := alerts.LoadRules(rulesFile)
	if err != nil {
		return usagef("--rules: %v", err)
	}
	for _, s := range specs {
		for i, a := range s.Expect.Alerts {
			if rules.Has(a.Name) {
				continue
			}
			msg := fmt.Sprintf("scenario %s: expect.alerts[%d].name: %q is not an alert in %s", s.Name, i, a.Name, rulesFile)
			if near := cli.Suggest(a.Name, rules.Names()); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			return usagef("%s", msg)
		}
	}
	return nil
}

// execute resolves the target and artifacts, runs each scenario and prints
// the verdict table.
func execute(ctx context.Context, specs []*scenario.Spec, f *runFlags, stdout io.Writer) (err error) {
	// A scheduled run that cannot start still tells its Pushgateway.
	started := false
	defer func() {
		if !started {
			err = errors.Join(err, f.pushUnrun(context.WithoutCancel(ctx), stdout, specs, f.target, err))
		}
	}()
	ext, err := f.check(specs)
	if err != nil {
		return err
	}
	kc, err := f.kube()
	if err != nil {
		return err
	}
	if err := checkAlertNames(specs, f.rules); err != nil {
		return err
	}
	if f.dryRun {
		return dryRun(ctx, specs, f, ext, kc, stdout)
	}
	defer f.thirdPartyLog()()
	progress := stdout
	if f.quiet {
		progress = io.Discard
	}
	kind, err := harness.ResolveTarget(ctx, f.target, os.Getenv("GAMEDAY_REQUIRE_DOCKER") == "1")
	if err != nil {
		return err
	}
	if err := checkTarget(specs, kind); err != nil {
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
		if err := leaseFree(ctx, ext); err != nil {
			return err
		}
		if kc != nil {
			if _, err := harness.KubePreflight(ctx, specs, kc); err != nil {
				return err
			}
		}
		if err := ext.CheckMonitoring(ctx, f.rules, specs); err != nil {
			if errors.Is(err, harness.ErrUncoverable) {
				return usageError{Msg: err.Error()}
			}
			return err
		}
	} else if arts, err = artifacts(ctx, f.binDir); err != nil { // the gate and stressor binaries: not for a url target
		return err
	}
	lock, err := runlock.Acquire(f.reportDir, runlock.Info{PID: os.Getpid(), Host: hostname(), Scenarios: names(specs), Target: kind, StartedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	defer lock.Release()
	stop, unwatch := operatorStop(f.stderr)
	defer unwatch()
	started = true
	opts := harness.Options{Target: kind, External: ext, Kube: kc, Artifacts: arts, RulesFile: f.rules, ReportDir: f.reportDir,
		ScrapeInterval: f.scrape, Progress: progress, PrometheusBin: f.promBin, AlertmanagerBin: f.amBin, Stop: stop,
		OnAbort: func(ab reports.Abort) { lock.Update(func(i *runlock.Info) { i.Abort = &ab }) }}
	return runAll(ctx, specs, f, opts, lock, stdout, progress)
}

// runAll runs each scenario in turn, writes its pages, JUnit and baseline
// comparison, and returns the worst outcome: a run that could not go
// ahead (pre-flight), an aborted one, a failed verdict or a regression.
// After an operator's stop the scenarios left are not run.
func runAll(ctx context.Context, specs []*scenario.Spec, f *runFlags, opts harness.Options, lock *runlock.Lock, stdout, progress io.Writer) error {
	var outcome error
	var reps []*reports.Report
	for i, s := range specs {
		lock.Update(func(info *runlock.Info) { info.Scenario, info.Abort = s.Name, nil })
		rep, path, err := harness.Run(ctx, s, opts)
		if perr := f.pushResult(context.WithoutCancel(ctx), progress, s.Name, rep, err); perr != nil {
			fmt.Fprintf(stdout, "gameday: %s: %v\n", s.Name, perr)
			outcome = worse(outcome, perr)
		}
		printVerdict(stdout, s.Name, rep, path)
		writePages(stdout, progress, rep, path)
		if err != nil {
			fmt.Fprintf(stdout, "gameday: %s: %v\n", s.Name, err)
		}
		switch {
		case err != nil: // a pre-flight finding, a target held or that would not start: exit 3
			outcome = worse(outcome, err)
		case rep.Verdict == reports.Aborted:
			outcome = worse(outcome, fmt.Errorf("%s: %w: %s", s.Name, errAborted, rep.Abort.Reason))
		case rep.Verdict != reports.Pass:
			outcome = worse(outcome, errVerdict)
		}
		reps = append(reps, rep)
		if err := f.writeJUnit(reps); err != nil {
			return err
		}
		if err := f.compareBaseline(stdout, rep, path); err != nil {
			if !errors.Is(err, errRegressed) && !errors.Is(err, errNotComparable) {
				return err
			}
			outcome = worse(outcome, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if rep.Abort != nil && rep.Abort.Condition == scenario.StopByOperator && i+1 < len(specs) {
			fmt.Fprintf(stdout, "gameday: stopped by operator: %v not run\n", names(specs[i+1:]))
			break
		}
	}
	return outcome
}

// writePages writes a run's HTML page and JUnit file beside its JSON; a
// failure to render costs the page, not the run.
func writePages(stdout, progress io.Writer, rep *reports.Report, path string) {
	if path == "" {
		return
	}
	if page, herr := html.Write("", path, rep); herr != nil {
		fmt.Fprintf(stdout, "  html: %v\n", herr)
	} else {
		fmt.Fprintf(progress, "  html: %s\n", page)
	}
	junit := strings.TrimSuffix(path, ".json") + ".junit.xml"
	if jerr := reports.WriteJUnitFile(junit, []*reports.Report{rep}); jerr != nil {
		fmt.Fprintf(stdout, "  junit: %v\n", jerr)
	} else {
		fmt.Fprintf(progress, "  junit: %s\n", junit)
	}
}

// operatorStop turns SIGUSR1 (what gameday stop sends) into the run's
// operator's stop; unwatch stops listening.
func operatorStop(stderr io.Writer) (stop <-chan struct{}, unwatch func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	ch, done := make(chan struct{}), make(chan struct{})
	go func() { // ends at unwatch
		select {
		case <-sig:
			fmt.Fprintln(stderr, "gameday: SIGUSR1: stopping the run (operator): every fault is reverted now")
			close(ch)
		case <-done:
		}
	}()
	return ch, func() { signal.Stop(sig); close(done) }
}

func names(specs []*scenario.Spec) []string {
	out := make([]string, 0, len(specs))
	for _, s := range specs {
		out = append(out, s.Name)
	}
	return out
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// thirdPartyLog routes the log lines of the libraries the run drives
// (testcontainers: its Docker banner, image builds, container starts and
// stops) away from the progress lines: to stderr with --verbose, else
// appended to testcontainers.log in the report directory, so that none
// is lost. The file is opened at the first line, so that a run refused
// before anything starts leaves nothing behind. closeLog restores the
// logger before.
func (f *runFlags) thirdPartyLog() (closeLog func()) {
	prev := tclog.Default()
	if f.verbose {
		tclog.SetDefault(log.New(f.stderr, "testcontainers: ", log.LstdFlags))
		return func() { tclog.SetDefault(prev) }
	}
	w := &lazyLog{path: filepath.Join(f.reportDir, "testcontainers.log"), fallback: f.stderr}
	tclog.SetDefault(log.New(w, "", log.LstdFlags))
	return func() {
		tclog.SetDefault(prev)
		w.close()
	}
}

// lazyLog appends to the file at path, created with its directory at the
// first write; where it cannot be, the lines go to fallback with the
// reason once, rather than nowhere.
type lazyLog struct {
	mu       sync.Mutex
	path     string
	file     *os.File
	fallback io.Writer
	failed   bool
}

func (l *lazyLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil && !l.failed {
		err := os.MkdirAll(filepath.Dir(l.path), 0o755)
		if err == nil {
			l.file, err = os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		}
		if err != nil {
			l.failed = true
			fmt.Fprintf(l.fallback, "gameday: testcontainers log: %v; its lines follow here\n", err)
		}
	}
	if l.file == nil {
		return l.fallback.Write(p)
	}
	return l.file.Write(p)
}

func (l *lazyLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}

// check refuses, before anything runs or is reached, flags that do not go
// together with each other or with the scenarios: the target, an external
// deployment's scenarios and token files (external.go), the result flags.
// ext is nil for a target the harness starts.
func (f *runFlags) check(specs []*scenario.Spec) (ext *harness.External, err error) {
	if ext, err = f.external(specs); err != nil {
		return nil, err
	}
	if err := f.checkScrapeInterval(specs, ext); err != nil {
		return nil, err
	}
	return ext, nil
}

// checkFlags refuses the flags that are wrong whatever the scenarios: it
// runs first, so that a mistyped flag is named before a scenario or the
// rules file is read.
func (f *runFlags) checkFlags() error {
	switch f.target {
	case harness.TargetAuto, harness.TargetContainer, harness.TargetProcess:
	default:
		if !strings.HasPrefix(f.target, harness.TargetURL+"=") && !strings.HasPrefix(f.target, harness.TargetKube+"=") {
			msg := fmt.Sprintf("%s: %q is not auto, container, process, url=URL or kube=NAMESPACE", f.named("target"), f.target)
			if near := cli.Suggest(f.target, []string{harness.TargetAuto, harness.TargetContainer, harness.TargetProcess}); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			return usagef("%s", msg)
		}
	}
	if f.scrape < 0 {
		return usagef("--scrape-interval: %s: must not be negative", f.scrape)
	}
	if f.scrape == 0 {
		return usagef("--scrape-interval: must be positive, such as 5s")
	}
	if f.push != "" {
		if _, err := target.ParseRemoteURL(f.push); err != nil {
			return usagef("--push: %v", err)
		}
		if f.dryRun {
			return usagef("--push: a dry run has no result to push")
		}
	}
	return f.checkResultFlags()
}

// checkScrapeInterval refuses a --scrape-interval that cannot put a scrape inside every phase a scenario's alert checks
// judge, where the harness scrapes (not a fleet, whose Prometheus has its
// own; not a deployment read through --prometheus, checked when reached).
func (f *runFlags) checkScrapeInterval(specs []*scenario.Spec, ext *harness.External) error {
	if ext != nil && ext.Prometheus != "" {
		return nil
	}
	for _, s := range specs {
		if s.Target.Kind == scenario.KindFleet {
			continue
		}
		if err := harness.CheckCoverable(s, f.scrape, "--scrape-interval"); err != nil {
			return usageError{Msg: err.Error()}
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
	if ab := rep.Abort; ab != nil {
		rev := "a fault was still not reverted when the report was written"
		if ab.BreachToRevertSeconds != nil {
			rev = fmt.Sprintf("breach→revert %.2fs (%d fault(s))", *ab.BreachToRevertSeconds, len(ab.Reverts))
		}
		fmt.Fprintf(w, "  stopped by %s at +%.0fs in the %s phase: %s; %s\n", ab.Condition, ab.BreachedAt.Sub(rep.StartedAt).Seconds(), ab.Phase, ab.Reason, rev)
		for _, l := range ab.LeftBehind {
			fmt.Fprintf(w, "  STILL ACTIVE after the reverts: %s\n", l)
		}
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
