// Package kube writes a GameDay scenario as Kubernetes manifests for a team
// that runs GameDays on a cluster: its faults as Chaos Mesh resources
// (StressChaos, IOChaos), a CronJob that runs the harness against the
// deployed gates on a schedule, and the Argo Rollouts AnalysisTemplate of the
// canary rule (package canary's queries).
//
// The manifests are written from small structs of this package, not from the
// Chaos Mesh or Kubernetes Go types: those would add about 35 MB and 500
// packages to the gameday binary. kube_test.go decodes every exported object
// strictly into the real types (github.com/chaos-mesh/chaos-mesh/api,
// k8s.io/api) and runs Chaos Mesh's own webhook validation on it, so a field
// this package misspells or puts in the wrong place fails a test. Nothing here
// talks to a cluster.
package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/scenario"
)

// Options say where the gates run and how the harness is scheduled. The
// zero value of a field takes the default of Defaults.
type Options struct {
	Namespace string            // the gates' namespace; the CronJob goes there too
	Labels    map[string]string // the gate pods' labels (the chaos selector)
	Container string            // the gate's container in its pod
	CachePath string            // the gate's cache volume mount path
	Schedule  string            // the CronJob's cron schedule
	Image     string            // the image holding the gameday binary
	// GateURL is the gates' Service URL the harness loads; empty: the
	// quannex-gate Service of Namespace on port 3000 (deploy/gate-rollout.yaml).
	GateURL    string
	Prometheus string // the team's Prometheus HTTP API
	// ScenarioFile is set when the scenario is not a built-in: the CronJob
	// mounts it from a ConfigMap and runs it with -f.
	ScenarioFile bool
}

// Defaults are the values a zero Options field takes; they match deploy/.
var Defaults = Options{
	Namespace:  "default",
	Labels:     map[string]string{"app": "quannex-gate"},
	Container:  "gate",
	CachePath:  "/cache",
	Schedule:   "0 6 * * 1",
	Image:      "quannex/gameday:local",
	Prometheus: "http://prometheus.monitoring.svc:9090",
}

func (o Options) withDefaults() Options {
	d := Defaults
	if o.Namespace == "" {
		o.Namespace = d.Namespace
	}
	if len(o.Labels) == 0 {
		o.Labels = d.Labels
	}
	if o.Container == "" {
		o.Container = d.Container
	}
	if o.CachePath == "" {
		o.CachePath = d.CachePath
	}
	if o.Schedule == "" {
		o.Schedule = d.Schedule
	}
	if o.Image == "" {
		o.Image = d.Image
	}
	if o.Prometheus == "" {
		o.Prometheus = d.Prometheus
	}
	if o.GateURL == "" {
		o.GateURL = "http://quannex-gate." + o.Namespace + ".svc:3000"
	}
	return o
}

var (
	dnsLabel  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	labelPart = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
)

// Validate checks the options, naming the flag.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case len(o.Namespace) > 63 || !dnsLabel.MatchString(o.Namespace):
		return fmt.Errorf("--namespace: %q is not a Kubernetes namespace name (lower case letters, digits and -)", o.Namespace)
	case !dnsLabel.MatchString(o.Container):
		return fmt.Errorf("--container: %q is not a container name", o.Container)
	case !strings.HasPrefix(o.CachePath, "/"):
		return fmt.Errorf("--cache-path: %q is not an absolute path", o.CachePath)
	case len(strings.Fields(o.Schedule)) != 5 && !strings.HasPrefix(o.Schedule, "@"):
		return fmt.Errorf("--schedule: %q is not a cron schedule of five fields such as \"0 6 * * 1\"", o.Schedule)
	case strings.TrimSpace(o.Image) == "" || strings.ContainsAny(o.Image, " \t\n"):
		return fmt.Errorf("--image: %q is not an image reference", o.Image)
	case !strings.HasPrefix(o.GateURL, "http://") && !strings.HasPrefix(o.GateURL, "https://"):
		return fmt.Errorf("--gate-url: %q is not an http(s) URL", o.GateURL)
	case !strings.HasPrefix(o.Prometheus, "http://") && !strings.HasPrefix(o.Prometheus, "https://"):
		return fmt.Errorf("--prometheus: %q is not an http(s) URL", o.Prometheus)
	}
	for k, v := range o.Labels {
		name := k[strings.LastIndex(k, "/")+1:]
		if len(name) > 63 || !labelPart.MatchString(name) || len(v) > 63 || (v != "" && !labelPart.MatchString(v)) {
			return fmt.Errorf("--labels: %s=%s is not a Kubernetes label", k, v)
		}
	}
	return nil
}

// ParseLabels reads "k=v,k2=v2" (the --labels flag).
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels: %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// FieldError names the scenario field that cannot be exported.
type FieldError struct {
	Field, Problem string
	Err            error // ErrNoMapping, or nil
}

func (e *FieldError) Error() string { return "export: " + e.Field + ": " + e.Problem }

func (e *FieldError) Unwrap() error { return e.Err }

// ErrNoMapping is wrapped by the error for a fault with no Chaos Mesh
// equivalent.
var ErrNoMapping = errors.New("no Chaos Mesh mapping")

// Chaos Mesh and Kubernetes API versions of the exported objects.
const (
	chaosAPIVersion = "chaos-mesh.org/v1alpha1"
	argoAPIVersion  = "argoproj.io/v1alpha1"
)

// A doc is one YAML document: comment lines above an object.
type doc struct {
	comment string
	obj     any
}

// ChaosMesh writes the scenario as multi-document YAML: one Chaos Mesh
// object per fault that has one (a note for the fault the harness injects
// itself), the scenario's ConfigMap when it is not a built-in, the CronJob
// running the harness, and the canary AnalysisTemplate. A fault with no
// mapping is a *FieldError naming faults[i].name.
func ChaosMesh(w io.Writer, s *scenario.Spec, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	base := dnsName(s.Name)
	meta := func(name string, extra map[string]string) objectMeta {
		ann := map[string]string{"gameday.quannex.org/scenario": s.Name}
		for k, v := range extra {
			ann[k] = v
		}
		return objectMeta{Name: name, Namespace: o.Namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "quannex-gameday", "gameday.quannex.org/scenario": base}, Annotations: ann}
	}
	sel := containerSelector{Selector: podSelector{Namespaces: []string{o.Namespace}, LabelSelectors: o.Labels},
		Mode: "all", ContainerNames: []string{o.Container}}

	var docs []doc
	var notes []string
	for i, f := range s.Faults {
		field := fmt.Sprintf("faults[%d]", i)
		name := dnsName(fmt.Sprintf("%s-%s-%d", base, f.Name, i))
		extra := map[string]string{
			"gameday.quannex.org/fault":  field,
			"gameday.quannex.org/offset": f.Offset.D().String(),
		}
		dur := f.Duration.D().String()
		when := fmt.Sprintf("%s: %s for %s, %s after the %s baseline.", field, f.Name, dur, f.Offset.D(), s.Baseline.Duration.D())
		switch f.Name {
		case "cpu-spike":
			cores := 2 // the fault's default (harness/fault/cpu_spike.go)
			if v, ok := f.Params["cores"]; ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return &FieldError{Field: field + ".params.cores", Problem: "want an integer from 1"}
				}
				cores = n
			}
			docs = append(docs, doc{
				comment: when + "\nThe harness burns the cores inside the gate's CPU domain; here stress-ng\nworkers in every selected gate container, one per core, at full load.",
				obj: stressChaos{APIVersion: chaosAPIVersion, Kind: "StressChaos", Metadata: meta(name, extra),
					Spec: stressChaosSpec{containerSelector: sel, Duration: dur,
						Stressors: stressors{CPU: &cpuStressor{Workers: cores, Load: 100}}}},
			})
		case "cache-readonly":
			docs = append(docs, doc{
				comment: when + "\nThe harness makes the cache directory 0555 and its files 0444, so the gate's\nwrites get EACCES while reads go on; here the write-side file operations on the cache\nvolume fail with errno 13 (EACCES) and reads are left alone, so the gate can\nstill serve its verified snapshot.",
				obj: ioChaos{APIVersion: chaosAPIVersion, Kind: "IOChaos", Metadata: meta(name, extra),
					Spec: ioChaosSpec{containerSelector: sel, Action: "fault", Errno: 13, Percent: 100,
						VolumePath: o.CachePath, Path: strings.TrimSuffix(o.CachePath, "/") + "/**/*",
						Methods:  []string{"create", "mknod", "mkdir", "write", "setattr", "rename", "unlink", "link", "symlink", "fsync"},
						Duration: dur}},
			})
		case "generator-latency":
			notes = append(notes, when+fmt.Sprintf(
				"\nNo Chaos Mesh object: the harness injects this fault itself through the\n"+
					"gate's admin API (POST /admin/faults/latency, min %s, max %s, seed %d,\n"+
					"a TTL just past the fault so the gate ends it if the run dies), from the\n"+
					"CronJob's run below. Not HTTPChaos: a delay in the pod's HTTP proxy happens\n"+
					"outside the gate's handler, so the gate's duration histogram, and with it\n"+
					"HighLatency, would never see it; and it would also slow snapshots and\n"+
					"/metrics/self scrapes, which the scenario does not.",
				paramOr(f.Params, "min", "300ms"), paramOr(f.Params, "max", "500ms"), s.Seed))
		default:
			return &FieldError{Field: field + ".name", Err: ErrNoMapping,
				Problem: fmt.Sprintf("%v: fault %q (exported: cpu-spike, cache-readonly, generator-latency)", ErrNoMapping, f.Name)}
		}
	}

	cron, cm, err := cronJob(s, o, base, meta)
	if err != nil {
		return err
	}
	if cm != nil {
		docs = append(docs, doc{comment: "The scenario the CronJob runs (-f), as exported.", obj: *cm})
	}
	cronComment := "Runs the harness against the deployed gates on a schedule: load through the\n" +
		"gates' Service, verdicts from the team's Prometheus. --target url= and\n" +
		"--prometheus of gameday run are being designed (docs/SCALE.md): placeholders\n" +
		"until they land. Tokens come from the secret quannex-gameday (keys\n" +
		"metrics-token and admin-token, placeholders too)."
	for _, n := range notes {
		cronComment = n + "\n\n" + cronComment
	}
	docs = append(docs, doc{comment: cronComment, obj: cron})
	docs = append(docs, doc{
		comment: "The canary rule of `gameday canary` (deploy/analysis-template.yaml) for\nArgo Rollouts: abort when the canary's snapshot ratio over 15 minutes exceeds\nthe stable pods' by more than 0.02; inconclusive, never a pass, on no data,\nNaN or fewer than 100 requests on a side.",
		obj:     analysisTemplate(o),
	})

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# GameDay %q as Kubernetes manifests (gameday export --format chaos-mesh).\n", s.Name)
	fmt.Fprintf(&buf, "# Namespace %s, gates selected by %s, container %s.\n", o.Namespace, FormatLabels(o.Labels), o.Container)
	buf.WriteString("# Each Chaos Mesh object injects on creation and ends after its duration:\n" +
		"# create it when the CronJob's run enters its fault phase (the annotation\n" +
		"# gameday.quannex.org/offset is after the baseline). docs/SCALE.md says who does.\n")
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		for _, line := range strings.Split(d.comment, "\n") {
			buf.WriteString(strings.TrimRight("# "+line, " ") + "\n")
		}
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(d.obj); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		enc.Close()
		buf.Write(b.Bytes())
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func paramOr(p map[string]string, k, def string) string {
	if v, ok := p[k]; ok {
		return v
	}
	return def
}

// cronJobDeadlineMargin: time for the harness to start and write its report
// beyond the scenario's own schedule.
const cronJobDeadlineMargin = 5 * time.Minute

func cronJob(s *scenario.Spec, o Options, base string, meta func(string, map[string]string) objectMeta) (cronJobObj, *configMap, error) {
	name := "gameday-" + base
	if len(name) > 52 { // a CronJob's name leaves 11 characters for its Jobs' suffix
		name = strings.TrimRight(name[:52], "-")
	}
	args := []string{"run"}
	var cm *configMap
	var mounts []volumeMount
	var vols []volume
	if o.ScenarioFile {
		b, err := yaml.Marshal(s)
		if err != nil {
			return cronJobObj{}, nil, fmt.Errorf("export: %w", err)
		}
		cm = &configMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: meta(name+"-scenario", nil),
			Data: map[string]string{"scenario.yaml": string(b)}}
		args = append(args, "-f", "/etc/gameday/scenario.yaml")
		mounts = append(mounts, volumeMount{Name: "scenario", MountPath: "/etc/gameday", ReadOnly: true})
		vols = append(vols, volume{Name: "scenario", ConfigMap: &configMapSource{Name: cm.Metadata.Name}})
	} else {
		args = append(args, s.Name)
	}
	args = append(args, "--target", "url="+o.GateURL, "--prometheus", o.Prometheus, "--report-dir", "/reports")
	mounts = append(mounts, volumeMount{Name: "reports", MountPath: "/reports"})
	vols = append(vols, volume{Name: "reports", EmptyDir: &struct{}{}})
	deadline := int64((s.MaxSchedule() + cronJobDeadlineMargin) / time.Second)
	secret := func(key string) *envSource {
		return &envSource{SecretKeyRef: &secretKeyRef{Name: "quannex-gameday", Key: key}}
	}
	zero, one := int32(0), int32(1)
	return cronJobObj{APIVersion: "batch/v1", Kind: "CronJob", Metadata: meta(name, nil),
		Spec: cronJobSpec{Schedule: o.Schedule, ConcurrencyPolicy: "Forbid", SuccessfulJobsHistoryLimit: &one, FailedJobsHistoryLimit: &one,
			JobTemplate: jobTemplate{Spec: jobSpec{BackoffLimit: &zero, ActiveDeadlineSeconds: deadline,
				Template: podTemplate{Spec: podSpec{RestartPolicy: "Never",
					SecurityContext: &podSecurityContext{RunAsNonRoot: true, RunAsUser: 65534, RunAsGroup: 65534},
					Containers: []container{{Name: "gameday", Image: o.Image, Args: args,
						Env: []envVar{
							{Name: "METRICS_TOKEN", ValueFrom: secret("metrics-token")},
							{Name: "GATE_ADMIN_TOKEN", ValueFrom: secret("admin-token")},
						},
						VolumeMounts: mounts}},
					Volumes: vols}}}}}}, cm, nil
}

// The canary selectors of deploy/analysis-template.yaml.
const (
	canarySelector = `namespace="{{args.namespace}}",job="quannex-gate-self",track="canary"`
	stableSelector = `namespace="{{args.namespace}}",job="quannex-gate-self",track="stable"`
	canaryWindow   = 15 * time.Minute
	canaryDelta    = "0.02"
	canaryMinReq   = 100
)

func analysisTemplate(o Options) analysisTemplateObj {
	q := fmt.Sprintf("(\n  %s\n  -\n  %s\n)\nand on() %s >= %d\nand on() %s >= %d\n",
		canary.RatioQuery(canarySelector, canaryWindow), canary.RatioQuery(stableSelector, canaryWindow),
		canary.RequestsQuery(canarySelector, canaryWindow), canaryMinReq,
		canary.RequestsQuery(stableSelector, canaryWindow), canaryMinReq)
	return analysisTemplateObj{APIVersion: argoAPIVersion, Kind: "AnalysisTemplate",
		Metadata: objectMeta{Name: "quannex-gate-canary", Namespace: o.Namespace},
		Spec: analysisSpec{Args: []analysisArg{{Name: "namespace"}}, Metrics: []analysisMetric{{
			Name: "snapshot-ratio-delta", Interval: "5m", Count: 3, FailureLimit: 0, InconclusiveLimit: 1,
			SuccessCondition: "len(result) == 1 && !isNaN(result[0]) && result[0] <= " + canaryDelta,
			FailureCondition: "len(result) == 1 && !isNaN(result[0]) && result[0] > " + canaryDelta,
			Provider:         analysisProvider{Prometheus: prometheusProvider{Address: o.Prometheus, Query: q}},
		}}}}
}

// dnsName makes s a DNS-1123 label: lower case, - for anything else, at
// most 63 characters.
func dnsName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	out := strings.Trim(string(b), "-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	return out
}

// FormatLabels writes labels as sorted key=value pairs joined by commas (the
// --labels flag).
func FormatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}
