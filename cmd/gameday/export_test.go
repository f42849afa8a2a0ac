package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	for _, want := range []string{"kind: IOChaos", "errno: 13", "kind: CronJob", "kind: AnalysisTemplate", "namespace: gd"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("-o file has no %q", want)
		}
	}
	if code, stdout, _ := runCLI(t, "export", "--format=chaos-mesh", "cpu-spike"); code != exitOK || !strings.Contains(stdout, "kind: StressChaos") {
		t.Fatalf("export to stdout: exit %d\n%s", code, stdout)
	}

	unknownFault := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknownFault, []byte("name: x\nload: {rate: 1}\nbaseline: {duration: 1s}\nafter: {duration: 1s}\nfaults:\n  - {name: disk-full, duration: 1s}\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "--help"}, exitOK, "Usage: gameday export"},
		{[]string{"export", "latency"}, exitUsage, "--format: required"},
		{[]string{"export", "latency", "--format", "litmus"}, exitUsage, `--format: "litmus" is not a known format`},
		{[]string{"export", "no-such", "--format", "chaos-mesh"}, exitUsage, `unknown scenario "no-such"`},
		{[]string{"export", "--format", "chaos-mesh"}, exitUsage, "name one scenario"},
		{[]string{"export", "latency", "-f", unknownFault, "--format", "chaos-mesh"}, exitUsage, "not both"},
		{[]string{"export", "-f", unknownFault, "--format", "chaos-mesh"}, exitUsage, "faults[0].name"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "--namespace", "Bad_NS"}, exitUsage, "--namespace:"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "--labels", "app"}, exitUsage, "--labels:"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "--schedule", "weekly"}, exitUsage, "--schedule:"},
		{[]string{"export", "latency", "--format", "chaos-mesh", "-o", filepath.Join(dir, "no", "dir.yaml")}, exitUsage, "-o:"},
	} {
		code, stdout, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stdout+errOut, c.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, stdout, errOut)
		}
	}
}
