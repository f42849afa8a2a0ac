package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
)

// setup reads the monitoring configuration, builds the run's topology and
// alert source, starts the one and then the other (each pushing what it
// starts on the lifecycle), records the starting e2e pass on every gate
// and reads their request counters.
func (r *runner) setup(ctx context.Context) error {
	mon, err := loadMonitoring(r.opts.RulesFile)
	if err != nil {
		return err
	}
	r.mon = mon
	names := make([]string, 0, len(r.spec.Expect.Alerts))
	for _, a := range r.spec.Expect.Alerts {
		names = append(names, a.Name)
	}
	if err := mon.checkAlerts(names); err != nil {
		return err
	}
	if err := r.build(); err != nil {
		return err
	}
	jobs, from, err := r.src.prepare(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := CheckCoverable(r.spec, j.Interval, from); err != nil && !r.hooks.SkipCoverageCheck {
			return err
		}
	}
	ins, err := func() ([]*instance, error) {
		defer r.topo.describe(r.rep) // a panic too: the report names what started
		return r.topo.start(ctx, &r.life)
	}()
	if err != nil {
		return err
	}
	r.ins = ins
	r.say("target %s at %s", r.rep.Target.Kind, ins[0].url)
	if err := r.greet(ctx); err != nil {
		return err
	}
	err = func() error {
		defer r.src.describe(r.rep)
		return r.src.start(ctx, &r.life, ins)
	}()
	if err != nil {
		return err
	}
	r.life.push("the evidence so far", noErr(func() { r.salvage(context.Background()) }))
	return nil
}

// build chooses the topology and the alert source: a fleet is watched by
// the Prometheus and Alertmanager it starts; a deployment by its own
// Prometheus when External.Prometheus says so; any other gate by the
// harness's in-process evaluation.
func (r *runner) build() error {
	spec, o := r.spec, r.opts
	if err := CheckTarget(spec, o.Target); err != nil {
		return err
	}
	topts := target.Options{GateBin: o.Artifacts.GateBin, StressorBin: o.Artifacts.StressorBin, CPUs: spec.Target.CPUs,
		Memory: spec.Target.MemoryBytes(), TLS: spec.Target.TLS, Disks: disks(spec)}
	if o.ReportDir != "" {
		os.MkdirAll(o.ReportDir, 0o755)
		topts.LogFile = filepath.Join(o.ReportDir, fmt.Sprintf("%s-%s.gate.log", spec.Name, r.rep.StartedAt.Format("20060102T150405Z")))
	}
	switch {
	case spec.Target.Kind == scenario.KindFleet:
		r.tok = freshTokens()
		topts.Env = gateEnv(o.GateEnv, r.tok)
		r.say("starting a fleet of %d replicas (%d canary)", spec.Target.Replicas, spec.Target.Canary)
		r.topo = newFleet(spec, topts, r.tok)
		src := newFleetMonitoring(r.mon, o.PrometheusBin, o.AlertmanagerBin, r.tok)
		src.expect, src.printf = spec.Expect.Alerts, r.say
		r.src = src
		return nil
	case o.Target == TargetKube:
		if err := o.Kube.validate(); err != nil {
			return err
		}
		if err := o.External.validateFields(spec); err != nil {
			return err
		}
		if o.External.Prometheus == "" {
			return errors.New("options: External.Prometheus: required with the kube target (the cluster's Prometheus, where the alerts come from)")
		}
		kube := *o.Kube // this run's: its id labels its objects alone
		if kube.Run == "" {
			kube.Run = r.rep.StartedAt.Format("20060102t150405")
		}
		r.tok = o.External.tokens()
		host, _ := os.Hostname()
		r.topo = &kubeTopology{kube: &kube, spec: spec, prove: r.hooks.ChaosProof, urlTopology: &urlTopology{ext: o.External, say: r.say, ttl: spec.MaxSchedule() + 5*time.Minute,
			holder: fmt.Sprintf("gameday pid %d on %s (run %s)", os.Getpid(), host, spec.Name)}}
		src := newExistingPrometheus(o.External, r.mon)
		src.expect, src.printf = spec.Expect.Alerts, r.say
		r.src = src
		return nil
	case o.Target == TargetURL:
		if err := o.External.validate(spec); err != nil {
			return err
		}
		r.tok = o.External.tokens()
		host, _ := os.Hostname()
		r.topo = &urlTopology{ext: o.External, say: r.say, ttl: spec.MaxSchedule() + 5*time.Minute,
			holder: fmt.Sprintf("gameday pid %d on %s (run %s)", os.Getpid(), host, spec.Name)}
		if o.External.Prometheus != "" {
			src := newExistingPrometheus(o.External, r.mon)
			src.expect, src.printf = spec.Expect.Alerts, r.say
			r.src = src
			return nil
		}
	default:
		r.tok = freshTokens()
		topts.Env = gateEnv(o.GateEnv, r.tok)
		r.say("starting the %s target", o.Target)
		r.topo = newSingle(o.Target, topts, r.tok)
	}
	r.src = &inProcess{mon: r.mon, interval: o.ScrapeInterval, expect: spec.Expect.Alerts, printf: r.say, fail: r.fail, hooks: r.hooks, tok: r.tok,
		breaksPath: breaksPath(spec)}
	return nil
}

// greet records the starting e2e pass on every gate (where the run has an
// admin token) and reads each gate's request counter, so that the checks
// can hold the gates' count of the load against the load's own.
func (r *runner) greet(ctx context.Context) error {
	if r.tok.admin == "" {
		r.say("no admin token: the starting e2e pass is not recorded")
	}
	for _, in := range r.ins {
		if r.tok.admin != "" {
			if err := in.api.E2EPass(ctx); err != nil {
				return fmt.Errorf("%srecord the starting e2e pass: %w", prefix(in.name), err)
			}
		}
		before, err := in.api.RequestsTotal(ctx)
		if err != nil {
			return fmt.Errorf("%sread the gate's request counter: %w", prefix(in.name), err)
		}
		r.obs.GateRequests -= before
	}
	if b, err := r.ins[0].api.BuildInfo(ctx); err == nil {
		r.rep.Target.Build = b
	}
	return nil
}

// prefix names an instance at the start of an error: "replica-3: ".
func prefix(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}

// disks are the size-limited filesystems the scenario's disk-full faults
// fill, for the target to mount (the largest where two ask for one
// directory).
func disks(spec *scenario.Spec) map[string]int64 {
	var out map[string]int64
	for _, f := range spec.Faults {
		if ft, err := fault.New(f.Name, f.Params); err == nil {
			if ds, ok := ft.(fault.DiskSizer); ok {
				which, size := ds.Disk()
				if out == nil {
					out = map[string]int64{}
				}
				out[which] = max(out[which], size)
			}
		}
	}
	return out
}

// breaksPath: the scenario has a fault on the harness's scrape path
// (fault.PathBreaker), so the harness scrapes through a proxy of its own.
func breaksPath(spec *scenario.Spec) bool {
	for _, f := range spec.Faults {
		if ft, err := fault.New(f.Name, f.Params); err == nil {
			if _, ok := ft.(fault.PathBreaker); ok {
				return true
			}
		}
	}
	return false
}
