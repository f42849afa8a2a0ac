package main

import (
	"bytes"
	"errors"
	"io"
	"os"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/kube"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/harness/target"
)

const exportHelp = `The scenario as Kubernetes manifests: Chaos Mesh faults, a CronJob, the canary analysis.

Example: gameday export --format kube io-glitch --namespace staging --out io-glitch.yaml

Writes the scenario for a Kubernetes cluster as multi-document YAML. Nothing
is applied: kubectl apply -f the output.

--format kube: a scheduled GameDay with a verdict. A CronJob
(concurrencyPolicy Forbid) runs gameday run --target kube=--namespace
--selector --labels --service --gate-url on --schedule as its own
ServiceAccount, whose Role holds exactly what the run's pre-flight checks
(create, get, watch, delete, list on the Chaos Mesh kinds the faults
create; list on pods); the harness creates, proves and deletes the Chaos
Mesh objects itself (docs/KUBERNETES.md). --push URL adds gameday run
--push. A fault the kube target does not inject is refused (exit 2).

--format chaos-mesh: chaos without a verdict, with the canary's Argo
Rollouts AnalysisTemplate (docs/SCALE.md says what runs where):

A scenario whose faults all go through the gate's admin API
(generator-latency) becomes a CronJob that runs it on --schedule with
gameday run --target url=--gate-url --prometheus --prometheus-instance and
the token files of the secret quannex-gameday (a ConfigMap holds a -f
scenario). A scenario whose faults Chaos Mesh injects (cpu-spike:
StressChaos; cache-readonly: IOChaos failing writes on the cache volume
with EACCES) becomes one Chaos Mesh Schedule per fault on --schedule, and
no CronJob: gameday run --target url= refuses those faults. In a fleet,
select count is mode fixed, fraction mode fixed-percent, and names only
the canary replicas, as the label track=canary. A scenario mixing the two
kinds of fault, or a selector with no cluster equivalent, is refused
(exit 2, naming the field).`

// addExport declares gameday export.
func addExport(app *cli.App, stdout io.Writer) func() error {
	cmd := app.Cmd(nil, "export", exportHelp)
	format := cmd.Flag("format", "what to write: kube (a CronJob whose gameday run --target kube= injects, proves and reverts the faults as Chaos Mesh objects, with its ServiceAccount and Role) or chaos-mesh (Chaos Mesh Schedules: chaos without a verdict, or a url CronJob for admin-API faults)").String()
	file := cmd.Flag("file", "export the scenario in this YAML file").Short('f').PlaceHolder("FILE").String()
	out := cmd.Flag("out", "write to this file instead of standard output").PlaceHolder("FILE").String()
	app.DeprecatedShort(cmd, 'o', "out")
	d := kube.Defaults
	var o kube.Options
	cmd.Flag("namespace", "the gates' namespace (chaos selector, CronJob)").Default(d.Namespace).StringVar(&o.Namespace)
	labels := cmd.Flag("labels", "the gate pods' labels, key=value,... (chaos selector)").Default(kube.FormatLabels(d.Labels)).String()
	cmd.Flag("container", "the gate's container name in its pod").Default(d.Container).StringVar(&o.Container)
	cmd.Flag("cache-path", "the gate's cache volume mount path (cache-readonly, disk-full)").Default(d.CachePath).StringVar(&o.CachePath)
	cmd.Flag("audit-path", "the gate's audit volume mount path (disk-full with path audit)").Default(d.AuditPath).StringVar(&o.AuditPath)
	cmd.Flag("schedule", "the CronJob's cron schedule").Default(d.Schedule).StringVar(&o.Schedule)
	cmd.Flag("image", "the image with the gameday binary the CronJob runs").Default(d.Image).StringVar(&o.Image)
	cmd.Flag("gate-url", "the gates' URL the harness loads (default http://quannex-gate.NAMESPACE.svc:3000)").StringVar(&o.GateURL)
	cmd.Flag("prometheus", "the team's Prometheus HTTP API (the harness's verdicts, the canary analysis)").Default(d.Prometheus).StringVar(&o.Prometheus)
	cmd.Flag("prometheus-instance", "the instance label the team's Prometheus gives the gate at --gate-url (placeholder until replaced)").Default(kube.InstancePlaceholder).StringVar(&o.Instance)
	cmd.Flag("prometheus-namespace", "the namespace of the Prometheus pods that scrape the gates (scrape-path)").Default(d.PrometheusNamespace).StringVar(&o.PrometheusNamespace)
	cmd.Flag("push", "with --format kube: the Pushgateway the CronJob's runs push their results to (gameday run --push)").PlaceHolder("URL").StringVar(&o.Push)
	promLabels := cmd.Flag("prometheus-labels", "the labels of the Prometheus pods that scrape the gates, key=value,... (scrape-path)").Default(kube.FormatLabels(d.PrometheusLabels)).String()
	names := cmd.Arg("scenario", "a built-in scenario (gameday list)").HintAction(builtinNames).Strings()
	return func() error {
		var err error
		if o.PrometheusLabels, err = kube.ParseLabels(*promLabels); err != nil {
			return usagef("--prometheus-labels: %v", err)
		}
		return export(stdout, *format, *file, *out, *labels, *names, o)
	}
}

func export(stdout io.Writer, format, file, out, labels string, names []string, o kube.Options) error {
	write := kube.ChaosMesh
	switch format {
	case "chaos-mesh":
		if o.Push != "" {
			return usagef("--push: only with --format kube (a Chaos Mesh Schedule has no run to push)")
		}
	case "kube":
		write = kube.Harness
		if o.Push != "" {
			if _, err := target.ParseRemoteURL(o.Push); err != nil {
				return usagef("--push: %v", err)
			}
		}
	case "":
		return usagef("--format: required: kube or chaos-mesh")
	default:
		return usagef("--format: %q is not a known format (kube, chaos-mesh)", format)
	}
	var err error
	if o.Labels, err = kube.ParseLabels(labels); err != nil {
		return usagef("--labels: %v", err)
	}
	var spec *scenario.Spec
	switch {
	case file != "" && len(names) > 0:
		return usagef("export: give a scenario name or -f FILE, not both")
	case file != "":
		if spec, err = specFile(file); err != nil {
			return err
		}
		o.ScenarioFile = true
	case len(names) != 1:
		return usagef("export: name one scenario (gameday list) or give -f FILE")
	default:
		if spec, err = builtin("export", names[0]); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := write(&buf, spec, o); err != nil {
		var fe *kube.FieldError
		if errors.As(err, &fe) && file != "" {
			return usagef("%s: %v", file, err)
		}
		return usagef("%v", err)
	}
	if out == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return usagef("--out: %v", err)
	}
	return nil
}
