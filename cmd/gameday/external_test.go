package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// remoteLatency is a short generator-latency GameDay for a gate the harness
// did not start: no alert expectations (a 20 s fault is too short for the
// burn-rate rules), the rest of the latency scenario's checks.
const remoteLatency = `name: remote-latency
seed: 7
load: {rate: 20}
baseline: {duration: 15s, min_live_ratio: 0.95}
faults:
  - name: generator-latency
    duration: 20s
    params: {min: 300ms, max: 500ms}
expect:
  no_5xx: true
  no_transport_errors: true
  min_p95_during: 200ms
  recovery: {min_live_ratio: 0.95, within: 1m}
  counters_agree: true
  livesha_valid: true
after: {duration: 10s, min_live_ratio: 0.95}
`

// tokenFiles writes the smoke gate's tokens into two files, with the
// surrounding whitespace an editor leaves.
func tokenFiles(t *testing.T) (metrics, admin string) {
	t.Helper()
	dir := t.TempDir()
	metrics, admin = filepath.Join(dir, "metrics.token"), filepath.Join(dir, "admin.token")
	os.WriteFile(metrics, []byte(smokeToken+"\n"), 0o600)
	os.WriteFile(admin, []byte("  "+smokeAdmin+"\n\n"), 0o600)
	return metrics, admin
}

// noTokens fails the test if either token is in any of the texts.
func noTokens(t *testing.T, where string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, tok := range []string{smokeToken, smokeAdmin} {
			if strings.Contains(s, tok) {
				t.Errorf("%s holds a token", where)
			}
		}
	}
}

// TestRunAgainstAnExistingGate runs a GameDay against a gate the harness
// did not start (an in-process gate standing in for staging), with the
// tokens from files: it passes, the report says kind url, and no token is
// in the output or in any file the run wrote.
func TestRunAgainstAnExistingGate(t *testing.T) {
	base := startSmokeGate(t)
	metrics, admin := tokenFiles(t)
	dir := t.TempDir()
	spec := filepath.Join(dir, "remote-latency.yaml")
	os.WriteFile(spec, []byte(remoteLatency), 0o644)
	reportDir := filepath.Join(dir, "reports")
	start := time.Now()
	code, out, errOut := runCLI(t, "run", "--target", "url="+base, "--token-file", metrics, "--admin-token-file", admin,
		"--rules", filepath.Join("..", "..", "config", "alerts.yml"), "--report-dir", reportDir, "-f", spec)
	t.Logf("run took %s", time.Since(start).Round(time.Second))
	if code != exitOK || !strings.Contains(out, "remote-latency: verdict pass") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "starting the") {
		t.Errorf("the harness says it started a target:\n%s", out)
	}
	noTokens(t, "the output", out, errOut)
	files, _ := filepath.Glob(filepath.Join(reportDir, "*"))
	var rep struct {
		Target struct{ Kind, URL string }
		Faults []struct{ Name string }
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		noTokens(t, filepath.Base(f), string(b))
		if strings.HasSuffix(f, ".json") {
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rep.Target.Kind != "url" || rep.Target.URL != base || len(rep.Faults) != 1 || rep.Faults[0].Name != "generator-latency" {
		t.Errorf("report: target %+v, faults %+v (files %v)", rep.Target, rep.Faults, files)
	}
}

// TestRunAgainstAnExistingGateRefuses: what a gate the harness did not
// start cannot take is refused before anything runs, naming the flag or
// the field, and no message carries a token.
func TestRunAgainstAnExistingGateRefuses(t *testing.T) {
	base := startSmokeGate(t)
	metrics, admin := tokenFiles(t)
	dir := t.TempDir()
	empty, wrong := filepath.Join(dir, "empty.token"), filepath.Join(dir, "wrong.token")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	os.WriteFile(wrong, []byte("not-the-"+smokeToken+"\n"), 0o600)
	io := filepath.Join(dir, "io.yaml")
	os.WriteFile(io, []byte(strings.Replace(remoteLatency, "  - name: generator-latency\n    duration: 20s\n    params: {min: 300ms, max: 500ms}",
		"  - name: cache-readonly\n    duration: 20s", 1)), 0o644)
	latency := filepath.Join(dir, "latency.yaml")
	os.WriteFile(latency, []byte(remoteLatency), 0o644)
	url := "url=" + base
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a host fault from a file", []string{"--target", url, "--token-file", metrics, "--admin-token-file", admin, "-f", io}, exitUsage,
			"scenario remote-latency: faults[0].name: cache-readonly needs the harness's own target (the gate's filesystem); with --target url= only admin-API faults are allowed: generator-latency"},
		{"a built-in with a host fault", []string{"--target", url, "--token-file", metrics, "--admin-token-file", admin, "latency", "io-glitch"}, exitUsage,
			"scenario io-glitch: faults[0].name: cache-readonly needs"},
		{"cpu-spike", []string{"--target", url, "--token-file", metrics, "--admin-token-file", admin, "cpu-spike"}, exitUsage,
			"cpu-spike needs the harness's own target (the gate's CPU domain)"},
		{"a missing token file", []string{"--target", url, "--token-file", filepath.Join(dir, "missing"), "--admin-token-file", admin, "-f", latency}, exitUsage,
			"--token-file: open " + filepath.Join(dir, "missing")},
		{"no token file", []string{"--target", url, "--admin-token-file", admin, "-f", latency}, exitUsage, "--token-file: required"},
		{"an empty token file", []string{"--target", url, "--token-file", empty, "--admin-token-file", admin, "-f", latency}, exitUsage, "--token-file: " + empty + " is empty"},
		{"an empty admin token file", []string{"--target", url, "--token-file", metrics, "--admin-token-file", empty, "-f", latency}, exitUsage, "--admin-token-file: " + empty + " is empty"},
		{"no admin token for an admin-API fault", []string{"--target", url, "--token-file", metrics, "-f", latency}, exitUsage,
			"--admin-token-file: required: scenario remote-latency: faults[0] (generator-latency)"},
		{"a token the gate refuses", []string{"--target", url, "--token-file", wrong, "--admin-token-file", admin, "-f", latency}, exitUsage,
			"--token-file: the gate at " + base + " refused the token (401"},
		{"not a URL", []string{"--target", "url=gate.staging:3000", "--token-file", metrics, "-f", latency}, exitUsage, "--target: url=: \"gate.staging:3000\": want an http:// or https:// URL"},
		{"no host", []string{"--target", "url=https://", "--token-file", metrics, "-f", latency}, exitUsage, "--target: url=: \"https:\": no host"},
		{"token files for a gate the harness starts", []string{"--target", "process", "--token-file", metrics, "-f", latency}, exitUsage,
			"--token-file: only with --target url="},
		{"an unreachable gate", []string{"--target", "url=http://127.0.0.1:1", "--token-file", metrics, "--admin-token-file", admin, "-f", latency}, exitRuntime,
			"--target: the gate at http://127.0.0.1:1 is unreachable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"run", "--report-dir", filepath.Join(dir, "reports"), "--rules", filepath.Join("..", "..", "config", "alerts.yml")}, c.args...)...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, c.code, c.want, out, errOut)
			}
			noTokens(t, "the output", out, errOut)
		})
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "reports", "*")); len(files) > 0 {
		t.Errorf("a refused run wrote %v", files)
	}
}
