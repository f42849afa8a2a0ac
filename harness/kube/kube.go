// Package kube writes a GameDay scenario as Kubernetes manifests for a team
// that runs GameDays on a cluster: a scenario of admin-API faults as a
// CronJob running gameday run --target url= against a deployed gate, a
// scenario of faults Chaos Mesh injects as Chaos Mesh Schedules (a fleet's
// selectors as Chaos Mesh selector modes), and with both the Argo Rollouts
// AnalysisTemplate of the canary rule (package canary's queries).
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
	"maps"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
)

// Options say where the gates run and how the harness is scheduled. The
// zero value of a field takes the default of Defaults.
type Options struct {
	Namespace string            // the gates' namespace; the CronJob goes there too
	Labels    map[string]string // the gate pods' labels (the chaos selector)
	Container string            // the gate's container in its pod
	CachePath string            // the gate's cache volume mount path
	AuditPath string            // the gate's audit volume mount path
	Schedule  string            // the CronJob's cron schedule
	Image     string            // the image holding the gameday binary
	// GateURL is the gates' Service URL the harness loads; empty: the
	// quannex-gate Service of Namespace on port 3000 (deploy/gate-rollout.yaml).
	GateURL    string
	Prometheus string // the team's Prometheus HTTP API
	// Instance is the instance label the team's Prometheus gives the gate
	// at GateURL (gameday run --prometheus-instance); empty:
	// InstancePlaceholder, which the user replaces.
	Instance string
	// PrometheusNamespace and PrometheusLabels select the Prometheus pods
	// that scrape the gates: the other end of a scrape-path fault.
	PrometheusNamespace string
	PrometheusLabels    map[string]string
	// Push is the Pushgateway the kube CronJob's runs push their results
	// to (gameday run --push); empty: none.
	Push string
	// ScenarioFile is set when the scenario is not a built-in: the CronJob
	// mounts it from a ConfigMap and runs it with -f.
	ScenarioFile bool
}

// InstancePlaceholder stands for the gate's instance label until the
// user replaces it: a run with it finds no such instance in the team's
// Prometheus and stops before it starts (exit 3, naming --prometheus).
const InstancePlaceholder = "REPLACE-gate-instance-label"

// Defaults are the values a zero Options field takes; they match deploy/.
var Defaults = Options{
	Namespace:  "default",
	Labels:     map[string]string{"app": "quannex-gate"},
	Container:  "gate",
	CachePath:  "/cache",
	AuditPath:  "/audit",
	Schedule:   "0 6 * * 1",
	Image:      "quannex/gameday:local",
	Prometheus: "http://prometheus.monitoring.svc:9090",
	// The prometheus-operator's and the Helm chart's pod label.
	PrometheusNamespace: "monitoring",
	PrometheusLabels:    map[string]string{"app.kubernetes.io/name": "prometheus"},
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
	if o.AuditPath == "" {
		o.AuditPath = d.AuditPath
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
	if o.Instance == "" {
		o.Instance = InstancePlaceholder
	}
	if o.PrometheusNamespace == "" {
		o.PrometheusNamespace = d.PrometheusNamespace
	}
	if len(o.PrometheusLabels) == 0 {
		o.PrometheusLabels = d.PrometheusLabels
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
	case !strings.HasPrefix(o.AuditPath, "/"):
		return fmt.Errorf("--audit-path: %q is not an absolute path", o.AuditPath)
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

// ParseLabels reads "k=v,k2=v2" (the --labels and --prometheus-labels
// flags); the caller names the flag in its error.
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
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

// The CronJob's token files: the secret TokenSecret mounted at tokenDir,
// one file per key, read by gameday run's --token-file and
// --admin-token-file.
const (
	TokenSecret   = "quannex-gameday"
	tokenDir      = "/var/run/secrets/gameday"
	metricsKey    = "metrics-token"
	adminKey      = "admin-token"
	scenarioDir   = "/etc/gameday"
	reportDir     = "/reports"
	trackLabel    = "track"
	canaryTrack   = "canary"
	chaosHistory  = 1
	chaosDeadline = 300 // seconds a missed Schedule may still start
)

// ChaosMesh writes the scenario as multi-document YAML for one of two
// shapes, so that nothing exported pairs a fault with a run that could not
// judge it:
//
//   - every fault goes through the gate's admin API (generator-latency), on
//     one gate: a CronJob runs the scenario itself with gameday run
//     --target url= (the scenario's ConfigMap beside it when it is not a
//     built-in), and the harness injects, judges and reverts;
//   - every fault is one Chaos Mesh injects (cpu-spike, cache-readonly), on
//     one gate or a fleet: one Chaos Mesh Schedule per fault, on the
//     --schedule cron, and no CronJob: gameday run refuses these faults
//     with --target url=, and a run of anything else beside them would
//     judge the gates while faults it does not know of are injected.
//
// The canary AnalysisTemplate comes with both. A scenario mixing the two
// kinds, an admin-API fault in a fleet, a fault with no mapping and a
// selector with no cluster equivalent are a *FieldError naming the field.
func ChaosMesh(w io.Writer, s *scenario.Spec, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	base, meta := dnsName(s.Name), metaOf(s, o)
	admin, err := viaAdminAPI(s)
	if err != nil {
		return err
	}
	var docs []doc
	var head string
	if admin {
		if docs, err = cronDocs(s, o, base, meta); err != nil {
			return err
		}
		head = "# The CronJob runs the whole GameDay: no Chaos Mesh object is needed.\n"
	} else {
		for i := range s.Faults {
			sd, err := chaosSchedule(s, i, o, base, meta)
			if err != nil {
				return err
			}
			docs = append(docs, sd)
		}
		head = "# Each Chaos Mesh Schedule injects its fault on --schedule, for the fault's\n" +
			"# duration; no gameday run judges it (gameday run --target url= takes\n" +
			"# admin-API faults only): the team's alerts and the canary analysis do.\n" +
			"# docs/SCALE.md says what runs where.\n"
	}
	docs = append(docs, doc{
		comment: "The canary rule of `gameday canary` (deploy/analysis-template.yaml) for\nArgo Rollouts: abort when the canary's snapshot ratio over 15 minutes exceeds\nthe stable pods' by more than 0.02; inconclusive, never a pass, on no data,\nNaN or fewer than 100 requests on a side.",
		obj:     analysisTemplate(o),
	})
	return writeDocs(w, s, o, "chaos-mesh", head, docs)
}

// metaOf names and labels the scenario's objects in o's namespace: each
// is part of quannex-gameday and carries the scenario, with the extra
// annotations a document adds.
func metaOf(s *scenario.Spec, o Options) func(name string, extra map[string]string) objectMeta {
	base := dnsName(s.Name)
	return func(name string, extra map[string]string) objectMeta {
		ann := map[string]string{"gameday.quannex.org/scenario": s.Name}
		for k, v := range extra {
			ann[k] = v
		}
		return objectMeta{Name: name, Namespace: o.Namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "quannex-gameday", "gameday.quannex.org/scenario": base}, Annotations: ann}
	}
}

// viaAdminAPI reports whether every fault of s goes through the gate's
// admin API (a CronJob's gameday run injects them) rather than Chaos Mesh;
// a mix, or a fault with no mapping, is a *FieldError.
func viaAdminAPI(s *scenario.Spec) (bool, error) {
	admin, chaos := -1, -1 // the first fault of each kind
	for i, f := range s.Faults {
		switch ok, _ := fault.RemoteCapable(f.Name); {
		case ok:
			if admin < 0 {
				admin = i
			}
		case f.Name == "cpu-spike" || f.Name == "cache-readonly" || f.Name == "crash" || f.Name == "memory-pressure" || f.Name == "scrape-path" || f.Name == "disk-full":
			if chaos < 0 {
				chaos = i
			}
		default:
			return false, &FieldError{Field: fmt.Sprintf("faults[%d].name", i), Err: ErrNoMapping,
				Problem: fmt.Sprintf("%v: fault %q (exported: cpu-spike, cache-readonly, crash, memory-pressure, scrape-path, disk-full, generator-latency)", ErrNoMapping, f.Name)}
		}
	}
	if chaos >= 0 && len(s.StopWhen) > 0 {
		return false, &FieldError{Field: "stop_when", Problem: fmt.Sprintf(
			"faults[%d] (%s) is exported as a Chaos Mesh Schedule, which runs without the harness: nothing would evaluate a stop condition or revert on it; remove stop_when to export chaos without a brake, or run the scenario with gameday run", chaos, s.Faults[chaos].Name)}
	}
	if admin >= 0 && chaos >= 0 {
		return false, &FieldError{Field: fmt.Sprintf("faults[%d].name", admin), Problem: fmt.Sprintf(
			"%s is injected by the CronJob's gameday run, and faults[%d] (%s) by Chaos Mesh: the run would judge the gates while a fault it does not know of is injected; export the admin-API faults and the Chaos Mesh ones as two scenarios",
			s.Faults[admin].Name, chaos, s.Faults[chaos].Name)}
	}
	return admin >= 0, nil
}

// cronDocs are a scenario of admin-API faults as the CronJob that runs it
// (and the scenario's ConfigMap when it is not a built-in).
func cronDocs(s *scenario.Spec, o Options, base string, meta func(string, map[string]string) objectMeta) ([]doc, error) {
	// The CronJob's gameday run must accept the scenario as it is.
	if err := harness.CheckExternal(s); err != nil {
		var fe *scenario.FieldError
		if errors.As(err, &fe) {
			return nil, &FieldError{Field: fe.Field, Problem: "the CronJob's gameday run --target url= would refuse it: " + fe.Problem}
		}
		return nil, fmt.Errorf("export: %w", err)
	}
	var notes []string
	for i, f := range s.Faults {
		notes = append(notes, fmt.Sprintf("faults[%d]: %s for %s, %s after the %s baseline.\n"+
			"No Chaos Mesh object: the harness injects this fault itself through the\n"+
			"gate's admin API (POST /admin/faults/latency, min %s, max %s, seed %d,\n"+
			"a TTL just past the fault so the gate ends it if the run dies), from the\n"+
			"CronJob's run below. Not HTTPChaos: a delay in the pod's HTTP proxy happens\n"+
			"outside the gate's handler, so the gate's duration histogram, and with it\n"+
			"HighLatency, would never see it; and it would also slow snapshots and\n"+
			"/metrics/self scrapes, which the scenario does not.",
			i, f.Name, f.Duration.D(), f.Offset.D(), s.Baseline.Duration.D(),
			paramOr(f.Params, "min", "300ms"), paramOr(f.Params, "max", "500ms"), s.Seed))
	}
	cron, cm, err := cronJob(s, o, base, meta, []string{"--target", "url=" + o.GateURL}, "")
	if err != nil {
		return nil, err
	}
	var docs []doc
	if cm != nil {
		docs = append(docs, doc{comment: "The scenario the CronJob runs (-f), as exported.", obj: *cm})
	}
	cronComment := strings.Join(notes, "\n\n") + "\n\n" +
		"Runs the scenario against the gate at --gate-url on a schedule: the load,\n" +
		"the admin-API faults and the verdict, whose alerts come from the team's\n" +
		"Prometheus (--prometheus) for the gate's instance label there\n" +
		"(--prometheus-instance). REPLACE the placeholders: the instance label,\n" +
		"and the secret " + TokenSecret + " (keys " + metricsKey + ": a token of METRICS_TOKENS\n" +
		"whose rate limit takes the load, " + adminKey + ": the gate's GATE_ADMIN_TOKEN),\n" +
		"mounted as files for --token-file and --admin-token-file. The image's\n" +
		"working directory must hold config/alerts.yml and config/prometheus.yml,\n" +
		"the rules and scrape jobs the team's Prometheus loads. --gate-url must\n" +
		"reach one gate: the fault, the load and the scrapes all go to it."
	return append(docs, doc{comment: cronComment, obj: cron}), nil
}

// writeDocs writes the manifests as one YAML stream, each document under
// its comment.
func writeDocs(w io.Writer, s *scenario.Spec, o Options, format, head string, docs []doc) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# GameDay %q as Kubernetes manifests (gameday export --format %s).\n", s.Name, format)
	fmt.Fprintf(&buf, "# Namespace %s, gates selected by %s, container %s.\n", o.Namespace, FormatLabels(o.Labels), o.Container)
	buf.WriteString(head)
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
	_, err := w.Write(buf.Bytes())
	return err
}

// chaosSchedule writes fault i, one Chaos Mesh injects, as a Schedule on
// o.Schedule.
func chaosSchedule(s *scenario.Spec, i int, o Options, base string, meta func(string, map[string]string) objectMeta) (doc, error) {
	f := s.Faults[i]
	field := fmt.Sprintf("faults[%d]", i)
	sel, blast, err := selector(s, i, o)
	if err != nil {
		return doc{}, err
	}
	dur := f.Duration.D().String()
	extra := map[string]string{
		"gameday.quannex.org/fault":  field,
		"gameday.quannex.org/offset": f.Offset.D().String(),
	}
	if f.Select != nil {
		extra["gameday.quannex.org/select"] = f.Select.String()
	}
	deadline := int64(chaosDeadline)
	spec := scheduleSpec{Schedule: o.Schedule, StartingDeadlineSeconds: &deadline, ConcurrencyPolicy: "Forbid", HistoryLimit: chaosHistory}
	when := fmt.Sprintf("%s: %s for %s on %s, injected by Chaos Mesh on the schedule %q\n(the scenario's %s baseline and %s offset belong to the harness's run).",
		field, f.Name, dur, blast, o.Schedule, s.Baseline.Duration.D(), f.Offset.D())
	var comment string
	switch f.Name {
	case "cpu-spike":
		cores := 2 // the fault's default (harness/fault/cpu_spike.go)
		if v, ok := f.Params["cores"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return doc{}, &FieldError{Field: field + ".params.cores", Problem: "want an integer from 1"}
			}
			cores = n
		}
		comment = when + "\nThe harness burns the cores inside the gate's CPU domain; here stress-ng\nworkers in every selected gate container, one per core, at full load."
		spec.Type = "StressChaos"
		spec.StressChaos = &stressChaosSpec{containerSelector: sel, Duration: dur,
			Stressors: stressors{CPU: &cpuStressor{Workers: cores, Load: 100}}}
	case "memory-pressure":
		frac := 0.8 // the fault's default (harness/fault/memory_pressure.go)
		if v, ok := f.Params["fraction"]; ok {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return doc{}, &FieldError{Field: field + ".params.fraction", Problem: "want a fraction such as 0.8"}
			}
			frac = p
		}
		size := int64(frac*float64(s.Target.MemoryBytes())) >> 20
		comment = when + fmt.Sprintf("\nThe harness fills %.0f%% of the gate container's memory limit (target.memory %s): here\none stress-ng vm worker in the gate container holds %d MiB. Give the gate's Deployment the\nsame limit (resources.limits.memory: %s), or the pressure is another one.", frac*100, s.Target.Memory, size, s.Target.Memory)
		if f.Params["oom"] == "true" {
			size = (s.Target.MemoryBytes() + s.Target.MemoryBytes()/16) >> 20
			comment = when + fmt.Sprintf("\nThe harness allocates past the gate container's memory limit (target.memory %s) and makes\nthe gate the OOM killer's choice, so the kernel kills the gate and the restart policy\nstarts it again; here one stress-ng vm worker in the gate container holds %d MiB, past the\nsame limit (resources.limits.memory: %s), and the kernel kills whichever process in the\ncontainer it picks: often the worker, not the gate. Chaos Mesh cannot choose the victim.", s.Target.Memory, size, s.Target.Memory)
		}
		spec.Type = "StressChaos"
		spec.StressChaos = &stressChaosSpec{containerSelector: sel, Duration: dur,
			Stressors: stressors{Memory: &memoryStressor{Workers: 1, Size: fmt.Sprintf("%dMiB", size)}}}
	case "crash":
		if v, ok := f.Params["times"]; ok && v != "1" {
			return doc{}, &FieldError{Field: field + ".params.times", Problem: "a Chaos Mesh Schedule kills once each time it fires: export a crash with times: 1 and a --schedule as often as the kills should come"}
		}
		comment = when + "\nThe harness SIGKILLs the gate and its target restarts it with the files it has;\nhere Chaos Mesh kills the gate container (container-kill: SIGKILL) and the kubelet\nrestarts it in the same pod, its volumes kept. pod-kill would be another failure:\na new pod, with empty emptyDir volumes."
		spec.Type = "PodChaos"
		spec.PodChaos = &podChaosSpec{containerSelector: sel, Action: "container-kill"}
	case "cache-readonly":
		comment = when + "\nThe harness makes the cache directory 0555 and its files 0444, so the gate's\nwrites get EACCES while reads go on; here the write-side file operations on the cache\nvolume fail with errno 13 (EACCES) and reads are left alone, so the gate can\nstill serve its verified snapshot."
		spec.Type = "IOChaos"
		spec.IOChaos = &ioChaosSpec{containerSelector: sel, Action: "fault", Errno: 13, Percent: 100,
			VolumePath: o.CachePath, Path: strings.TrimSuffix(o.CachePath, "/") + "/**/*",
			Methods:  []string{"create", "mknod", "mkdir", "write", "setattr", "rename", "unlink", "link", "symlink", "fsync"},
			Duration: dur}
	case "disk-full":
		comment, spec.Type, spec.IOChaos = when+diskFullNote(f.Params), "IOChaos", diskFullChaos(f.Params, sel, dur, o)
	case "scrape-path":
		ns, err := scrapePathChaos(f.Params, field, sel, dur, o)
		if err != nil {
			return doc{}, err
		}
		comment = when + "\nThe harness puts a toxiproxy toxic on its own scrape path; here the network\nbetween the gate pods and the Prometheus pods (" + FormatLabels(o.PrometheusLabels) + " in " + o.PrometheusNamespace + ")\nis broken both ways (" + ns.Action + "), and nothing else: the load and the other\nclients of the gate keep their path. Expect GateScrapeFailing, and no alert of\nthe gate's own." + scrapePathNote(f.Params)
		spec.Type = "NetworkChaos"
		spec.NetworkChaos = ns
	}
	name := dnsName(fmt.Sprintf("%s-%s-%d", base, f.Name, i))
	return doc{comment: comment, obj: schedule{APIVersion: chaosAPIVersion, Kind: "Schedule", Metadata: meta(name, extra), Spec: spec}}, nil
}

// diskFullChaos maps a disk-full fault to an IOChaos that fails the
// write side of the cache or audit volume with ENOSPC (errno 28).
func diskFullChaos(params map[string]string, sel containerSelector, dur string, o Options) *ioChaosSpec {
	vol := o.CachePath
	if params["path"] == "audit" {
		vol = o.AuditPath
	}
	return &ioChaosSpec{containerSelector: sel, Action: "fault", Errno: 28, Percent: 100,
		VolumePath: vol, Path: strings.TrimSuffix(vol, "/") + "/**/*",
		Methods:  []string{"write", "fsync", "mkdir", "symlink"},
		Duration: dur}
}

// diskFullNote is the comment of a disk-full export: where IOChaos differs
// from a full disk, and, on the audit log, what of the harness's run the
// cluster does not do (its admin calls while full).
func diskFullNote(params map[string]string) string {
	what := "cache"
	if params["path"] == "audit" {
		what = "audit"
	}
	note := "\nThe harness fills a size-limited filesystem under the gate's " + what + " directory until\nENOSPC and keeps it full; here every write, fsync, mkdir and symlink on the " + what + " volume\nfails with errno 28 (ENOSPC) and reads are left alone. IOChaos fails writes that\nneed no new blocks too, which a full disk lets through"
	if what == "cache" {
		note += ": the gate's in-place overwrite of its\nsnapshot slots fails here, so expect the gate to fall back (CircuitBreakerActive)\nin the cluster where the harness's full disk costs it nothing."
	} else {
		note += " (appends within the log's last page)."
	}
	if what == "audit" {
		note += "\nThe harness also calls the admin API while the audit disk is full, so the log has\nentries to fail on; here only the gate's own audit events do (GateAuditWriteFailing\nfires once one waits 3 minutes)."
	}
	return note
}

// scrapePathChaos maps a scrape-path fault to a NetworkChaos between the
// gate pods sel selects and the Prometheus pods: blackhole is a partition,
// reset 100 % loss (Chaos Mesh sends no RST), latency a netem delay,
// bandwidth a token bucket of the same rate.
func scrapePathChaos(params map[string]string, field string, sel containerSelector, dur string, o Options) (*networkChaosSpec, error) {
	sel.ContainerNames = nil // a pod's network, not a container's
	ns := &networkChaosSpec{containerSelector: sel, Direction: "both", Duration: dur,
		Target: &podTarget{Selector: podSelector{Namespaces: []string{o.PrometheusNamespace}, LabelSelectors: o.PrometheusLabels}, Mode: "all"}}
	switch paramOr(params, "toxic", "blackhole") {
	case "blackhole":
		ns.Action = "partition"
	case "reset":
		ns.Action, ns.Loss = "loss", &netLoss{Loss: "100"}
	case "latency":
		d, err := time.ParseDuration(paramOr(params, "latency", "2s"))
		if err != nil {
			return nil, &FieldError{Field: field + ".params.latency", Problem: "want a duration such as 2s"}
		}
		ns.Action, ns.Delay = "delay", &netDelay{Latency: fmt.Sprintf("%dms", d.Milliseconds())}
	case "bandwidth":
		rate, err := strconv.Atoi(paramOr(params, "rate", "1"))
		if err != nil || rate < 1 {
			return nil, &FieldError{Field: field + ".params.rate", Problem: "want KB/s, an integer from 1"}
		}
		// tc's tbf: a queue (limit) and a bucket (buffer) of at least
		// one MTU.
		ns.Action, ns.Bandwidth = "bandwidth", &netBandwidth{Rate: fmt.Sprintf("%dkbps", rate*8), Limit: 20971520, Buffer: 10000}
	default:
		return nil, &FieldError{Field: field + ".params.toxic", Problem: "want blackhole, reset, latency or bandwidth"}
	}
	return ns, nil
}

// scrapePathNote says where the export differs from the harness's fault.
func scrapePathNote(params map[string]string) string {
	if paramOr(params, "toxic", "blackhole") == "reset" {
		return "\nThe harness's reset toxic resets each connection, so scrapes fail at once;\nChaos Mesh has no reset, and 100 % loss makes them time out instead."
	}
	return ""
}

// selector maps fault i's blast radius to a Chaos Mesh selector, and says
// in words what it picks. One gate: every pod with o.Labels (today's
// shape). A fleet: count is mode fixed, fraction mode fixed-percent; names
// exist only in the harness's fleet, so only the canary replicas map, to
// the label track=canary the Rollout puts on its canary pods.
func selector(s *scenario.Spec, i int, o Options) (containerSelector, string, error) {
	sel := containerSelector{Selector: podSelector{Namespaces: []string{o.Namespace}, LabelSelectors: o.Labels},
		Mode: "all", ContainerNames: []string{o.Container}}
	sl := s.Faults[i].Select
	if s.Target.Kind != scenario.KindFleet || sl == nil {
		return sel, "every gate pod", nil
	}
	field := fmt.Sprintf("faults[%d].select", i)
	switch {
	case sl.Count > 0:
		sel.Mode, sel.Value = "fixed", strconv.Itoa(sl.Count)
		return sel, fmt.Sprintf("%d gate pod(s) Chaos Mesh picks", sl.Count), nil
	case sl.Fraction > 0:
		pct := math.Round(sl.Fraction * 100)
		if math.Abs(pct-sl.Fraction*100) > 1e-9 {
			return sel, "", &FieldError{Field: field + ".fraction", Problem: fmt.Sprintf("%g is not a whole percent, which Chaos Mesh's fixed-percent mode takes", sl.Fraction)}
		}
		sel.Mode, sel.Value = "fixed-percent", strconv.Itoa(int(pct))
		return sel, fmt.Sprintf("%d %% of the gate pods (rounded up by Chaos Mesh (pkg/selector/generic/mode.go), to the nearest by the harness)", int(pct)), nil
	}
	canary := map[string]bool{}
	for k := 1; k <= s.Target.Canary; k++ {
		canary[scenario.ReplicaName(k)] = true
	}
	named := map[string]bool{}
	for _, n := range sl.Names {
		named[n] = true
	}
	if s.Target.Canary == 0 || !maps.Equal(canary, named) {
		why := "this fleet has no canary replicas (target.canary)"
		if s.Target.Canary > 0 {
			why = fmt.Sprintf("they are not exactly the canary replicas (replica-1 to replica-%d, target.canary)", s.Target.Canary)
		}
		return sel, "", &FieldError{Field: field + ".names", Problem: fmt.Sprintf(
			"%s name replicas of the harness's fleet, which a cluster's pods do not have; only the canary replicas map, to the label %s=%s, and %s: use count or fraction",
			strings.Join(sl.Names, ", "), trackLabel, canaryTrack, why)}
	}
	labels := maps.Clone(o.Labels)
	labels[trackLabel] = canaryTrack
	sel.Selector.LabelSelectors = labels
	return sel, fmt.Sprintf("the canary pods (%s=%s)", trackLabel, canaryTrack), nil
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

// cronJob is the CronJob running the scenario with gameday run and the
// target arguments (--target url=… or kube=…), as the ServiceAccount sa
// (empty: the namespace's default).
func cronJob(s *scenario.Spec, o Options, base string, meta func(string, map[string]string) objectMeta, target []string, sa string) (cronJobObj, *configMap, error) {
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
		args = append(args, "-f", scenarioDir+"/scenario.yaml")
		mounts = append(mounts, volumeMount{Name: "scenario", MountPath: scenarioDir, ReadOnly: true})
		vols = append(vols, volume{Name: "scenario", ConfigMap: &configMapSource{Name: cm.Metadata.Name}})
	} else {
		args = append(args, s.Name)
	}
	args = append(args, target...)
	args = append(args, "--token-file", tokenDir+"/"+metricsKey, "--admin-token-file", tokenDir+"/"+adminKey,
		"--prometheus", o.Prometheus, "--prometheus-instance", o.Instance, "--report-dir", reportDir)
	if o.Push != "" {
		args = append(args, "--push", o.Push)
	}
	mode := int32(0o440) // owner root, group the pod's fsGroup: the non-root harness reads them
	mounts = append(mounts, volumeMount{Name: "tokens", MountPath: tokenDir, ReadOnly: true}, volumeMount{Name: "reports", MountPath: reportDir})
	vols = append(vols, volume{Name: "tokens", Secret: &secretSource{SecretName: TokenSecret, DefaultMode: &mode}},
		volume{Name: "reports", EmptyDir: &struct{}{}})
	deadline := int64((s.MaxSchedule() + cronJobDeadlineMargin) / time.Second)
	zero, one := int32(0), int32(1)
	return cronJobObj{APIVersion: "batch/v1", Kind: "CronJob", Metadata: meta(name, nil),
		Spec: cronJobSpec{Schedule: o.Schedule, ConcurrencyPolicy: "Forbid", SuccessfulJobsHistoryLimit: &one, FailedJobsHistoryLimit: &one,
			JobTemplate: jobTemplate{Spec: jobSpec{BackoffLimit: &zero, ActiveDeadlineSeconds: deadline,
				Template: podTemplate{Spec: podSpec{ServiceAccountName: sa, RestartPolicy: "Never",
					SecurityContext: &podSecurityContext{RunAsNonRoot: true, RunAsUser: 65534, RunAsGroup: 65534, FSGroup: 65534},
					Containers:      []container{{Name: "gameday", Image: o.Image, Args: args, VolumeMounts: mounts}},
					Volumes:         vols}}}}}}, cm, nil
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
