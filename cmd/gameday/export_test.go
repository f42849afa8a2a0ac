package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// gameday export: the manifests on standard output or in -o, help, and
// every bad input an exit 2 that names the flag or field. What the
// manifests hold is harness/kube's tests.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "io-glitch.yaml")
	if code, _, errOut := runCLI(t, "export", "io-glitch", "--format", "chaos-mesh", "-o", out, "--namespace", "gd"); code != exitOK {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Schedule", "type: IOChaos", "errno: 13", "kind: AnalysisTemplate", "namespace: gd"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("-o file has no %q", want)
		}
	}
	if code, stdout, _ := runCLI(t, "export", "--format=chaos-mesh", "cpu-spike"); code != exitOK || !strings.Contains(stdout, "type: StressChaos") {
		t.Fatalf("export to stdout: exit %d\n%s", code, stdout)
	}

	canaryOnStable := filepath.Join(dir, "stable.yaml")
	b, err = os.ReadFile(filepath.Join("..", "..", "harness", "scenario", "builtin", "fleet-canary.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(canaryOnStable, bytes.Replace(b, []byte("names: [replica-1]"), []byte("names: [replica-2]"), 1), 0o644)
	unknownFault := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknownFault, []byte("name: x\nload: {rate: 1}\nbaseline: {duration: 1s}\nafter: {duration: 1s}\nfaults:\n  - {name: power-cut, duration: 1s}\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "--help"}, exitOK, "usage: gameday export"},
		{[]string{"export", "latency"}, exitUsage, "--format: required"},
		{[]string{"export", "latency", "--format", "litmus"}, exitUsage, `--format: "litmus" is not a known format`},
		{[]string{"export", "no-such", "--format", "chaos-mesh"}, exitUsage, `unknown scenario "no-such"`},
		{[]string{"export", "--format", "chaos-mesh"}, exitUsage, "name one scenario"},
		{[]string{"export", "latency", "-f", unknownFault, "--format", "chaos-mesh"}, exitUsage, "not both"},
		{[]string{"export", "-f", unknownFault, "--format", "chaos-mesh"}, exitUsage, "faults[0].name"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "--namespace", "Bad_NS"}, exitUsage, "--namespace:"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "--labels", "app"}, exitUsage, "--labels:"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "--schedule", "weekly"}, exitUsage, "--schedule:"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "--out", filepath.Join(dir, "no", "dir.yaml")}, exitUsage, "--out:"},
		{[]string{"export", "-f", canaryOnStable, "--format", "chaos-mesh"}, exitUsage, "faults[0].select.names"},
	} {
		code, stdout, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stdout+errOut, c.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, stdout, errOut)
		}
	}
}

// cronJobRun is what of an exported CronJob gameday run sees: its
// arguments and the files its volumes put at their mount paths.
type cronJobRun struct {
	Kind     string                `yaml:"kind"`
	Metadata struct{ Name string } `yaml:"metadata"`
	Data     map[string]string     `yaml:"data"`
	Spec     struct {
		JobTemplate struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args         []string `yaml:"args"`
							VolumeMounts []struct {
								Name      string `yaml:"name"`
								MountPath string `yaml:"mountPath"`
							} `yaml:"volumeMounts"`
						} `yaml:"containers"`
						Volumes []struct {
							Name      string                 `yaml:"name"`
							ConfigMap *struct{ Name string } `yaml:"configMap"`
							Secret    *struct {
								SecretName string `yaml:"secretName"`
							} `yaml:"secret"`
						} `yaml:"volumes"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

// The exported CronJob's exact arguments, with its ConfigMap's scenario and
// the secret's token files at their mount paths (under a temporary
// directory), pass gameday run's own parsing, scenario loading and
// pre-run checks (parseRun, (*runFlags).check: fault.Known,
// harness.CheckExternal, the token files). And the scenarios exported
// without a CronJob are the ones those checks refuse with --target url=.
func TestExportCronJobIsAcceptedByRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "slow.yaml")
	os.WriteFile(file, []byte("name: slow-generator\nseed: 7\nload: {rate: 5}\nbaseline: {duration: 30s, min_live_ratio: 0.9}\n"+
		"faults:\n  - {name: generator-latency, duration: 2m, params: {min: 100ms, max: 200ms}}\n"+
		"expect: {no_5xx: true, min_p95_during: 100ms, alerts: [{name: HighLatency, fire_within: 150s, resolve_within: 150s}]}\n"+
		"after: {duration: 30s, min_live_ratio: 0.9}\n"), 0o644)
	for _, args := range [][]string{
		{"latency"},
		{"-f", file},
	} {
		exp := append([]string{"export", "--format", "chaos-mesh", "--namespace", "staging", "--prometheus-instance", "10.0.3.7:3000"}, args...)
		code, stdout, errOut := runCLI(t, exp...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", exp, code, errOut)
		}
		root := t.TempDir()
		var run []string
		configMaps := map[string]map[string]string{}
		dec := yaml.NewDecoder(strings.NewReader(stdout))
		for {
			var d cronJobRun
			if err := dec.Decode(&d); err != nil {
				break
			}
			switch d.Kind {
			case "ConfigMap":
				configMaps[d.Metadata.Name] = d.Data
			case "CronJob":
				if run != nil {
					t.Fatalf("%v: two CronJobs", args)
				}
				pod := d.Spec.JobTemplate.Spec.Template.Spec
				if len(pod.Containers) != 1 {
					t.Fatalf("%v: %d containers", args, len(pod.Containers))
				}
				c := pod.Containers[0]
				at := map[string]string{} // volume name -> mount path
				for _, m := range c.VolumeMounts {
					at[m.Name] = m.MountPath
				}
				for _, a := range c.Args {
					for _, m := range c.VolumeMounts {
						if strings.HasPrefix(a, m.MountPath+"/") || a == m.MountPath {
							a = filepath.Join(root, a)
						}
					}
					run = append(run, a)
				}
				for _, v := range pod.Volumes {
					p := filepath.Join(root, at[v.Name])
					os.MkdirAll(p, 0o755)
					switch {
					case v.ConfigMap != nil:
						data, ok := configMaps[v.ConfigMap.Name]
						if !ok {
							t.Fatalf("%v: the volume %s mounts the ConfigMap %s, not exported before the CronJob", args, v.Name, v.ConfigMap.Name)
						}
						for k, body := range data {
							os.WriteFile(filepath.Join(p, k), []byte(body), 0o644)
						}
					case v.Secret != nil:
						// The keys the export documents, as the team creates them.
						for _, k := range []string{"metrics-token", "admin-token"} {
							os.WriteFile(filepath.Join(p, k), []byte("token-"+k+"\n"), 0o600)
						}
					}
				}
			}
		}
		if len(run) == 0 || run[0] != "run" {
			t.Fatalf("%v: the CronJob does not run gameday run: %q", args, run)
		}
		f, specs, err := parseRun(run[1:], io.Discard)
		if err != nil {
			t.Fatalf("%v: gameday run %q: %v", args, run[1:], err)
		}
		ext, err := f.check(specs)
		if err != nil {
			t.Fatalf("%v: gameday run %q refuses: %v", args, run[1:], err)
		}
		if ext == nil || ext.URL != "http://quannex-gate.staging.svc:3000" || ext.Token != "token-metrics-token" || ext.AdminToken != "token-admin-token" ||
			ext.Prometheus == "" || ext.Instance != "10.0.3.7:3000" {
			t.Fatalf("%v: the run's deployment %+v", args, ext)
		}
	}

	// No CronJob for the others, because gameday run would refuse them.
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("t"), 0o600)
	for _, name := range []string{"io-glitch", "cpu-spike", "fleet-canary", "fleet-io-glitch"} {
		code, stdout, errOut := runCLI(t, "export", "--format", "chaos-mesh", name)
		if code != exitOK || strings.Contains(stdout, "kind: CronJob") || !strings.Contains(stdout, "kind: Schedule") {
			t.Fatalf("%s: exit %d, want Schedules and no CronJob: %s", name, code, errOut)
		}
		f, specs, err := parseRun([]string{name, "--target", "url=http://gate:3000", "--token-file", tok, "--admin-token-file", tok}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var ue usageError
		if _, err := f.check(specs); !errors.As(err, &ue) {
			t.Fatalf("%s: gameday run --target url= accepts it (%v): the export should give it a CronJob", name, err)
		}
	}
}
