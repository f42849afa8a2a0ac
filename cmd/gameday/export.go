package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/kube"
	"github.com/quannex/gameday/harness/scenario"
)

const exportUsage = `Usage: gameday export --format chaos-mesh NAME | -f FILE [-o FILE]
                      [--namespace NS] [--labels k=v,...] [--container NAME] [--cache-path DIR]
                      [--schedule CRON] [--image IMAGE] [--gate-url URL] [--prometheus URL]
                      [--prometheus-instance LABEL]

Writes the scenario for a Kubernetes cluster as multi-document YAML, with
the canary's Argo Rollouts AnalysisTemplate. Nothing is applied: kubectl
apply -f the output. docs/SCALE.md says what runs where.

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
(exit 2, naming the field).

Flags:
`

func exportCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, exportUsage); fs.PrintDefaults() }
	format := fs.String("format", "", "output format: chaos-mesh")
	file := fs.String("f", "", "export the scenario in this YAML file")
	out := fs.String("o", "", "write to this file instead of standard output")
	d := kube.Defaults
	var o kube.Options
	fs.StringVar(&o.Namespace, "namespace", d.Namespace, "the gates' namespace (chaos selector, CronJob)")
	labels := fs.String("labels", kube.FormatLabels(d.Labels), "the gate pods' labels, key=value,... (chaos selector)")
	fs.StringVar(&o.Container, "container", d.Container, "the gate's container name in its pod")
	fs.StringVar(&o.CachePath, "cache-path", d.CachePath, "the gate's cache volume mount path (cache-readonly)")
	fs.StringVar(&o.Schedule, "schedule", d.Schedule, "the CronJob's cron schedule")
	fs.StringVar(&o.Image, "image", d.Image, "the image with the gameday binary the CronJob runs")
	fs.StringVar(&o.GateURL, "gate-url", "", "the gates' URL the harness loads (default http://quannex-gate.NAMESPACE.svc:3000)")
	fs.StringVar(&o.Prometheus, "prometheus", d.Prometheus, "the team's Prometheus HTTP API (the harness's verdicts, the canary analysis)")
	fs.StringVar(&o.Instance, "prometheus-instance", kube.InstancePlaceholder, "the instance label the team's Prometheus gives the gate at --gate-url (placeholder until replaced)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *format {
	case "chaos-mesh":
	case "":
		return usagef("--format: required: chaos-mesh")
	default:
		return usagef("--format: %q is not a known format (chaos-mesh)", *format)
	}
	var err error
	if o.Labels, err = kube.ParseLabels(*labels); err != nil {
		return usagef("%v", err)
	}
	var spec *scenario.Spec
	switch {
	case *file != "" && fs.NArg() > 0:
		return usagef("export: give a scenario name or -f FILE, not both")
	case *file != "":
		fh, err := os.Open(*file)
		if err != nil {
			return usagef("-f: %v", err)
		}
		spec, err = scenario.Parse(fh, fault.Known)
		fh.Close()
		if err != nil {
			return usagef("%s: %v", *file, err)
		}
		o.ScenarioFile = true
	case fs.NArg() != 1:
		return usagef("export: name one scenario (gameday list) or give -f FILE")
	default:
		b, err := scenario.Builtins(fault.Known)
		if err != nil {
			return err
		}
		var ok bool
		if spec, ok = b[fs.Arg(0)]; !ok {
			return usagef("export: unknown scenario %q (gameday list shows them)", fs.Arg(0))
		}
	}
	var buf bytes.Buffer
	if err := kube.ChaosMesh(&buf, spec, o); err != nil {
		var fe *kube.FieldError
		if errors.As(err, &fe) && *file != "" {
			return usagef("%s: %v", *file, err)
		}
		return usagef("%v", err)
	}
	if *out == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return usagef("-o: %v", err)
	}
	return nil
}
