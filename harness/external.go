package harness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/gateapi"
	"github.com/quannex/gameday/harness/promserver"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
	"github.com/quannex/gameday/reports"
)

// External is a deployment the harness did not start, for Options.Target
// TargetURL. Its tokens never appear in progress lines, errors or the
// report.
type External struct {
	URL string // the gate's base URL
	// Token is the bearer token for /metrics and /metrics/self: the load
	// and the harness's own scrapes both use it.
	Token string
	// AdminToken is the gate's admin token, for the faults and the
	// starting e2e pass; empty when no fault needs it (the e2e pass is then
	// skipped).
	AdminToken string
	// Prometheus, when set, is the base URL of the Prometheus that scrapes
	// the gate with the production rules: the run's alerts and their
	// scrape evidence are read from it (an alert source of its own,
	// promsource.go) instead of the harness's in-process evaluation.
	// Instance is the instance label it gives the gate; empty: the URL's
	// host:port, as a static target.
	Prometheus, Instance string
	// Alertmanager, when set, is the base URL of the Alertmanager that
	// Prometheus sends to; it must be ready and is recorded in the report.
	Alertmanager string
}

// validate names the first missing or bad field, and refuses a fault a
// url target cannot take.
func (e *External) validate(spec *scenario.Spec) error {
	if err := e.validateFields(spec); err != nil {
		return err
	}
	return CheckExternal(spec)
}

// validateFields names the first missing or bad field.
func (e *External) validateFields(spec *scenario.Spec) error {
	switch {
	case e == nil:
		return errors.New("options: the url target needs Options.External")
	case e.Token == "":
		return errors.New("options: External.Token: required (the load's and the scrapes' bearer token)")
	}
	if _, err := target.ParseRemoteURL(e.URL); err != nil {
		return fmt.Errorf("options: External.URL: %w", err)
	}
	for _, u := range []struct{ field, v string }{{"Prometheus", e.Prometheus}, {"Alertmanager", e.Alertmanager}} {
		if _, err := target.ParseRemoteURL(u.v); u.v != "" && err != nil {
			return fmt.Errorf("options: External.%s: %w", u.field, err)
		}
	}
	switch {
	case e.Instance != "" && e.Prometheus == "":
		return errors.New("options: External.Instance: the instance label of the gate in External.Prometheus, which is not set")
	case e.Alertmanager != "" && e.Prometheus == "":
		return errors.New("options: External.Alertmanager: recorded beside External.Prometheus, which is not set")
	}
	if i := AdminFault(spec); i >= 0 && e.AdminToken == "" {
		return fmt.Errorf("options: External.AdminToken: required: faults[%d] (%s) is injected through the gate's admin API", i, spec.Faults[i].Name)
	}
	return nil
}

// CheckTarget refuses, before anything starts, what the target cannot
// do: on the process target, a fault that needs a container
// (fault.ContainerOnly) or a memory limit; in a fleet, a fault on the
// harness's own scrape path (fault.PathBreaker), which a fleet does not
// have; a disk-full fault in a fleet; a fault that needs root
// (fault.RootOnly) where the harness is not; on a kube target, what
// CheckKube refuses. The error names the field.
func CheckTarget(spec *scenario.Spec, kind string) error {
	if kind == TargetKube {
		return CheckKube(spec)
	}
	for i, f := range spec.Faults {
		ft, err := fault.New(f.Name, f.Params)
		if err != nil {
			continue // Validate named it
		}
		field := fmt.Sprintf("faults[%d].name", i)
		if _, ok := ft.(fault.DiskSizer); ok && spec.Target.Kind == scenario.KindFleet {
			return &scenario.FieldError{Field: field, Problem: f.Name + " runs on a single gate the harness starts (the process or container target), not in a fleet"}
		}
		if ro, ok := ft.(fault.RootOnly); ok && ro.RootOnly() != "" && os.Geteuid() != 0 {
			return &scenario.FieldError{Field: field, Problem: fmt.Sprintf("%s %s, which needs root; the harness runs as uid %d", f.Name, ro.RootOnly(), os.Geteuid())}
		}
	}
	if spec.Target.Kind == scenario.KindFleet {
		for i, f := range spec.Faults {
			if ft, err := fault.New(f.Name, f.Params); err == nil {
				if _, ok := ft.(fault.PathBreaker); ok {
					return &scenario.FieldError{Field: fmt.Sprintf("faults[%d].name", i),
						Problem: fmt.Sprintf("%s breaks the harness's own scrape path, and a fleet is scraped by the Prometheus it starts: run it on a single gate", f.Name)}
				}
			}
		}
	}
	if kind != TargetProcess {
		return nil
	}
	if spec.Target.Memory != "" {
		return &scenario.FieldError{Field: "target.memory", Problem: "the process target has no memory limit to set: run it with --target container"}
	}
	for i, f := range spec.Faults {
		ft, err := fault.New(f.Name, f.Params)
		if err != nil {
			continue // Validate named it
		}
		if co, ok := ft.(fault.ContainerOnly); ok {
			return &scenario.FieldError{Field: fmt.Sprintf("faults[%d].name", i),
				Problem: fmt.Sprintf("%s needs %s: the process target cannot; run it with --target container", f.Name, co.ContainerOnly())}
		}
	}
	return nil
}

// CheckExternal refuses what a scenario cannot do against a gate the
// harness did not start, naming the field: a fault that needs the gate's
// host (fault.RemoteCapable decides), a fleet, and the target options that
// configure a gate the harness starts (its throwaway TLS, a CPU limit).
// The CLI calls it right after loading the scenarios, so nothing runs;
// Run calls it again for other callers.
func CheckExternal(spec *scenario.Spec) error {
	bad := func(field, problem string) error { return &scenario.FieldError{Field: field, Problem: problem} }
	switch {
	case spec.Target.Kind != "":
		return bad("target.kind", fmt.Sprintf("a %s is started by the harness; --target url= runs against one gate it did not start", spec.Target.Kind))
	case spec.Target.TLS:
		return bad("target.tls", "the harness's throwaway CA is for a gate it starts; with --target url= give an https:// URL (verified against the system's roots)")
	case spec.Target.CPUs != 0:
		return bad("target.cpus", "a CPU limit is set on a gate the harness starts; with --target url= leave it out")
	case spec.Target.Memory != "":
		return bad("target.memory", "a memory limit is set on a gate the harness starts; with --target url= leave it out")
	}
	for i, f := range spec.Faults {
		if ok, needs := fault.RemoteCapable(f.Name); !ok {
			return bad(fmt.Sprintf("faults[%d].name", i), fmt.Sprintf("%s needs the harness's own target (%s); with --target url= only admin-API faults are allowed: %s",
				f.Name, needs, strings.Join(fault.RemoteNames(), ", ")))
		}
	}
	return nil
}

// AdminFault is the index of the first fault of spec injected through the
// gate's admin API (which needs the admin token), or -1.
func AdminFault(spec *scenario.Spec) int {
	for i, fs := range spec.Faults {
		f, err := fault.New(fs.Name, fs.Params)
		if err != nil {
			continue
		}
		if _, ok := f.(fault.AdminAPI); ok {
			return i
		}
	}
	return -1
}

// instance is the instance label the Prometheus gives the gate.
func (e *External) instance() string {
	if e.Instance != "" {
		return e.Instance
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		return e.URL
	}
	return u.Host
}

// tokens are the deployment's, for the load, the scrapes and the admin
// API alike.
func (e *External) tokens() tokens {
	return tokens{load: e.Token, scraper: e.Token, admin: e.AdminToken}
}

// CheckMonitoring checks the existing stack before a run: the Prometheus
// and the Alertmanager answer /-/ready, the Prometheus scrapes the gate's
// instance in every job of the scrape config next to rulesFile, and has
// the alerting rules of rulesFile loaded, every alert the specs expect
// among them. Errors name the flag (--prometheus, --alertmanager).
func (e *External) CheckMonitoring(ctx context.Context, rulesFile string, specs []*scenario.Spec) error {
	mon, err := loadMonitoring(rulesFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if e.Alertmanager != "" {
		if err := (promserver.API{URL: e.Alertmanager}).Ready(ctx); err != nil {
			return fmt.Errorf("--alertmanager: %s is not ready: %w", e.Alertmanager, err)
		}
	}
	if e.Prometheus == "" {
		return nil
	}
	src := newExistingPrometheus(e, mon)
	jobs, from, err := src.prepare(ctx)
	if err != nil {
		return err
	}
	for _, s := range specs {
		for _, j := range jobs {
			if err := CheckCoverable(s, j.Interval, from); err != nil {
				return err
			}
		}
	}
	missing := map[string]bool{}
	for _, n := range src.missing {
		missing[n] = true
	}
	for _, s := range specs {
		for i, a := range s.Expect.Alerts {
			if missing[a.Name] {
				return fmt.Errorf("--prometheus: %s has no alerting rule %s loaded (scenario %s: expect.alerts[%d])", e.Prometheus, a.Name, s.Name, i)
			}
		}
	}
	return nil
}

// urlTopology is a deployment the harness did not start: one gate at a URL, which
// every fault hits through its admin API. Nothing is started, so nothing
// is stopped; the deployment's logs and configuration are its own.
type urlTopology struct {
	ext *External
	one *instance
	// holder names the run in the gate's GameDay lease, taken for ttl (the
	// longest the run can take, and a margin) when the run has the admin
	// token; say writes a progress line.
	holder string
	ttl    time.Duration
	say    func(string, ...any)
}

// ErrTargetHeld is returned when another GameDay holds the gate's lease:
// one GameDay per target at a time.
var ErrTargetHeld = errors.New("another GameDay runs against the gate")

func (u *urlTopology) start(ctx context.Context, life *lifecycle) ([]*instance, error) {
	h, err := target.NewRemote(u.ext.URL)
	if err != nil {
		return nil, err
	}
	u.one = newInstance("", "", h, h.BaseURL(), u.ext.tokens())
	if u.ext.AdminToken == "" {
		u.say("no admin token: the gate's GameDay lease is not taken, so another run against it is not held apart")
		return []*instance{u.one}, nil
	}
	var held *gateapi.LeaseHeldError
	switch err := u.one.api.TakeLease(ctx, u.holder, u.ttl); {
	case errors.As(err, &held):
		return nil, fmt.Errorf("%w: the gate at %s is %v (one GameDay per target at a time)", ErrTargetHeld, u.ext.URL, err)
	case errors.Is(err, gateapi.ErrNoLease):
		u.say("the gate offers no GameDay lease (a gate from before it): another run against it is not held apart")
	case err != nil:
		return nil, fmt.Errorf("take the gate's GameDay lease: %w", err)
	default:
		u.say("took the gate's GameDay lease for %s", u.ttl)
		life.push("the GameDay lease", func(ctx context.Context) error { return u.one.api.ReleaseLease(ctx, u.holder) })
	}
	return []*instance{u.one}, nil
}

func (u *urlTopology) hits(int) []*instance { return []*instance{u.one} }

func (u *urlTopology) describe(rep *reports.Report) {
	if u.one == nil { // its URL did not check out
		return
	}
	rep.Target = reports.Target{Kind: TargetURL, URL: u.one.url, Build: map[string]string{}}
}
