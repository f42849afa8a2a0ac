package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"k8s.io/client-go/rest"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/chaosmesh"
	"github.com/quannex/gameday/harness/kube"
	"github.com/quannex/gameday/harness/push"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
)

// kubeFlags are the flags of a kube target (--target kube=NAMESPACE) and
// of gameday cleanup --kube.
type kubeFlags struct {
	kubeconfig, context  string
	selector, service    string
	container, cachePath string
	injectWithin         time.Duration
}

// addKubeFlags declares the cluster flags on cmd.
func addKubeFlags(cmd *kingpin.CmdClause, k *kubeFlags) {
	d := kube.Defaults
	cmd.Flag("kubeconfig", "with --target kube=: the kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else the pod's service account)").PlaceHolder("FILE").StringVar(&k.kubeconfig)
	cmd.Flag("context", "with --target kube=: the kubeconfig context (default: its current one)").StringVar(&k.context)
	cmd.Flag("selector", "with --target kube=: the gate pods' labels, key=value,... (the Chaos Mesh selector; default "+kube.FormatLabels(d.Labels)+")").StringVar(&k.selector)
	cmd.Flag("service", "with --target kube=: the gates' Service URL (the load, the harness's scrapes and the admin API go there)").PlaceHolder("URL").StringVar(&k.service)
	cmd.Flag("container", "with --target kube=: the gate's container in its pod (default "+d.Container+")").StringVar(&k.container)
	cmd.Flag("cache-path", "with --target kube=: the gate's cache volume mount path (cache-readonly; default "+d.CachePath+")").StringVar(&k.cachePath)
	cmd.Flag("inject-within", "with --target kube=: how long a Chaos Mesh object has to be proved injected (else the run stops, exit 5)").Default(harness.DefaultInjectWithin.String()).DurationVar(&k.injectWithin)
}

// noKubeFlags refuses the cluster flags without --target kube=.
func (f *runFlags) noKubeFlags() error {
	for _, fl := range []struct{ name, v string }{{"--kubeconfig", f.kubeconfig}, {"--context", f.context}, {"--selector", f.selector},
		{"--service", f.service}, {"--container", f.container}, {"--cache-path", f.cachePath}} {
		if fl.v != "" {
			return usagef("%s: only with --target kube=NAMESPACE", fl.name)
		}
	}
	return nil
}

// kube builds the cluster side of a kube target: nil for the others. A
// bad flag is exit 2 naming it; a kubeconfig that does not load is exit 3.
func (f *runFlags) kube() (*harness.Kube, error) {
	ns, ok := strings.CutPrefix(f.target, harness.TargetKube+"=")
	if !ok {
		return nil, nil
	}
	t, err := f.kubeFlags.target(ns)
	if err != nil {
		return nil, err
	}
	if f.injectWithin <= 0 {
		return nil, usagef("--inject-within: %s: must be positive, such as 1m", f.injectWithin)
	}
	cfg, err := f.kubeFlags.config()
	if err != nil {
		return nil, err
	}
	return &harness.Kube{Config: cfg, Target: t, InjectWithin: f.injectWithin}, nil
}

// target is the gate pods of namespace ns as the flags name them.
func (k *kubeFlags) target(ns string) (chaosmesh.Target, error) {
	d := kube.Defaults
	o := kube.Options{Namespace: ns, Container: k.container, CachePath: k.cachePath}
	if k.selector != "" {
		lbl, err := kube.ParseLabels(k.selector)
		if err != nil {
			return chaosmesh.Target{}, usagef("--selector: %v", err)
		}
		o.Labels = lbl
	}
	if err := o.Validate(); err != nil {
		// The export's flags are named as the run's: --namespace is the
		// target's, --labels the selector.
		msg := err.Error()
		for from, to := range map[string]string{"--namespace: ": "--target kube=: ", "--labels: ": "--selector: "} {
			if rest, ok := strings.CutPrefix(msg, from); ok {
				msg = to + rest
			}
		}
		return chaosmesh.Target{}, usagef("%s", msg)
	}
	t := chaosmesh.Target{Namespace: ns, Labels: o.Labels, Container: o.Container, CachePath: o.CachePath}
	if t.Labels == nil {
		t.Labels = d.Labels
	}
	if t.Container == "" {
		t.Container = d.Container
	}
	if t.CachePath == "" {
		t.CachePath = d.CachePath
	}
	return t, nil
}

// config loads the kubeconfig the flags name. A --kubeconfig that does not
// load or a --context it does not hold is exit 2 naming the flag; a
// KUBECONFIG, ~/.kube/config or in-cluster configuration that does not
// load is exit 3.
func (k *kubeFlags) config() (*rest.Config, error) {
	cfg, err := chaosmesh.Config(k.kubeconfig, k.context)
	if err != nil && (k.kubeconfig != "" || k.context != "") {
		return nil, usagef("%v", err)
	}
	return cfg, err
}

// cleanupKube is gameday cleanup --kube's part: every chaos object of
// the harness in the namespace, deleted and waited for.
func cleanupKube(ctx context.Context, stdout io.Writer, k *kubeFlags, ns, run string, within time.Duration) error {
	cfg, err := k.config()
	if err != nil {
		return err
	}
	cm, err := chaosmesh.New(cfg, ns)
	if err != nil {
		return err
	}
	left, err := cm.Cleanup(ctx, chaosmesh.Kinds, run, within)
	var stuck []string
	removed := 0
	for _, l := range left {
		if l.Err != nil {
			stuck = append(stuck, fmt.Sprintf("%s %s (run %s): %v", l.Kind, l.Name, l.Run, l.Err))
			continue
		}
		removed++
		fmt.Fprintf(stdout, "gameday: removed %s %s (run %s) from %s\n", l.Kind, l.Name, l.Run, ns)
	}
	fmt.Fprintf(stdout, "gameday: removed %d Chaos Mesh object(s) of the harness from namespace %s\n", removed, ns)
	if err != nil {
		return err
	}
	if len(stuck) > 0 {
		return fmt.Errorf("%d Chaos Mesh object(s) not removed: %s; if Chaos Mesh cannot recover them, the annotation chaos-mesh.chaos-mesh.org/cleanFinalizer=forced makes it drop their finalizers (the fault may then stay in the pods)",
			len(stuck), strings.Join(stuck, "; "))
	}
	return nil
}

// pushResult sends one scenario's result to the Pushgateway of --push,
// if set; the error names the flag.
func (f *runFlags) pushResult(ctx context.Context, progress io.Writer, name string, rep *reports.Report, runErr error) error {
	if f.push == "" {
		return nil
	}
	if err := push.Push(ctx, f.push, rep, name, runErr); err != nil {
		return err
	}
	fmt.Fprintf(progress, "  pushed to %s (job=%s, scenario=%s)\n", f.push, push.Job, name)
	return nil
}

// pushUnrun pushes an error result for every scenario of a run that could
// not start (a pre-flight finding, an unreachable gate or cluster), so
// that a scheduled GameDay that cannot happen alerts as a failed one. A
// usage error is the caller's to fix and is not pushed.
func (f *runFlags) pushUnrun(ctx context.Context, stdout io.Writer, specs []*scenario.Spec, kind string, runErr error) error {
	var ue usageError
	if f.push == "" || runErr == nil || errors.As(runErr, &ue) {
		return nil
	}
	now := time.Now().UTC()
	kind, _, _ = strings.Cut(kind, "=") // url=URL, kube=NAMESPACE
	var errs []error
	for _, s := range specs {
		rep := &reports.Report{StartedAt: now, FinishedAt: now, Target: reports.Target{Kind: kind}, Error: runErr.Error()}
		errs = append(errs, f.pushResult(ctx, stdout, s.Name, rep, runErr))
	}
	return errors.Join(errs...)
}
