package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quannex/gameday/harness"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// replayable writes a report recording the built-in latency scenario, the
// way the harness stores it.
func replayable(t *testing.T) string {
	t.Helper()
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(b["latency"])
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "latency.json")
	rep := fmt.Sprintf(`{"schema_version":%d,"scenario":%s,"verdict":"pass"}`, reports.SchemaVersion, spec)
	if err := os.WriteFile(f, []byte(rep), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Flags may come before, between and after positional arguments, as
// GAMEDAYS.md writes them; "--" ends them. Every case stops at a usage
// error or help before any GameDay starts.
func TestFlagsAroundPositionalArguments(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	report := replayable(t)
	wd, _ := os.Getwd()
	root, err := harness.ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	badSLO := filepath.Join(dir, "slo.yml")
	os.WriteFile(badSLO, []byte("slos:\n  - name: x\n    objective: 2\n    window: 1d\n    freshness: 1h\n"), 0o644)

	for _, c := range []struct {
		args []string
		code int
		want string
		not  string
	}{
		{[]string{"run", "no-such", "--target", "process"}, exitUsage, `unknown scenario "no-such"`, "--target"},
		{[]string{"run", "no-such", "--target", "process", "--report-dir", dir}, exitUsage, `unknown scenario "no-such"`, "--target"},
		{[]string{"run", "--target", "process", "latency", "no-such", "--report-dir", dir}, exitUsage, `unknown scenario "no-such"`, "--report-dir"},
		{[]string{"run", "latency", "--target", "vm"}, exitUsage, `--target: "vm" is not auto`, ""},
		{[]string{"run", "no-such", "--bogus"}, exitUsage, "unknown flag --bogus (see gameday run --help)", ""},
		{[]string{"run", "no-such", "--target"}, exitUsage, "--target: needs a value", ""},
		{[]string{"run", "--", "--target"}, exitUsage, `unknown scenario "--target"`, ""},
		{[]string{"run", "--target", "--", "no-such"}, exitUsage, `--target: "no-such" is not auto`, ""}, // "--" ends the flags, not a value
		{[]string{"run", "no-such", "--help"}, exitOK, "usage: gameday run", ""},
		{[]string{"replay", missing, "--target", "process"}, exitUsage, "read report", ""},
		{[]string{"replay", "--target", "process", missing}, exitUsage, "read report", ""},
		{[]string{"replay", report, "--target", "vm"}, exitUsage, `--target: "vm" is not auto`, ""},
		{[]string{"replay", "--target", "vm", report}, exitUsage, `--target: "vm" is not auto`, ""},
		{[]string{"replay", report, "--bogus"}, exitUsage, "unknown flag --bogus (see gameday replay --help)", ""},
		{[]string{"replay", report, report, "--target", "vm"}, exitUsage, `unexpected argument "` + report + `"`, ""},
		{[]string{"slo", "budget", report, "--file", badSLO}, exitUsage, "slos[0].objective", ""},
		{[]string{"slo", "validate", "--file", filepath.Join(root, "config", "slo-error-budget.yml"), "--frob"}, exitUsage, "-frob", ""},
		{[]string{"dashboard", "--out", filepath.Join(dir, "no", "such", "dir.json")}, exitUsage, "--out:", ""},
		{[]string{"cleanup", "--frob"}, exitUsage, "-frob", ""},
		{[]string{"canary", "--window", "1m", "--frob"}, exitUsage, "-frob", ""},
		{[]string{"smoke", "--url", "http://127.0.0.1:1", "--frob"}, exitUsage, "unknown flag --frob", ""},
		{[]string{"smoke", "--url", "http://127.0.0.1:1", "extra", "--token-file", "t"}, exitUsage, `unexpected argument "extra" (see gameday smoke --help)`, ""},
		{[]string{"canary", "extra", "--window", "1m"}, exitUsage, `unexpected argument "extra" (see gameday canary --help)`, ""},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) || (c.not != "" && strings.Contains(errOut, c.not)) {
			t.Errorf("gameday %v: exit %d, want %d with %q (and not %q)\n%s%s", c.args, code, c.code, c.want, c.not, out, errOut)
		}
	}
}

// TestThirdPartyLinesGoToTheRunLog holds --verbose and its absence to
// account: testcontainers' lines land in testcontainers.log in the report
// directory (appended, the file created at the first line only), or on
// stderr with --verbose, never on stdout, and the logger before is
// restored.
func TestThirdPartyLinesGoToTheRunLog(t *testing.T) {
	var stderr bytes.Buffer
	dir := filepath.Join(t.TempDir(), "reports")
	f := &runFlags{reportDir: dir, stderr: &stderr, named: func(s string) string { return "--" + s }}
	before := tclog.Default()
	closeLog := f.thirdPartyLog()
	closeLog()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a run that logged nothing created %s (%v)", dir, err)
	}
	for i := range 2 {
		closeLog := f.thirdPartyLog()
		tclog.Printf("🐳 Creating container %d", i)
		closeLog()
	}
	b, err := os.ReadFile(filepath.Join(dir, "testcontainers.log"))
	if err != nil || !strings.Contains(string(b), "Creating container 0") || !strings.Contains(string(b), "Creating container 1") {
		t.Fatalf("testcontainers.log: %q (%v), want both lines", b, err)
	}
	if stderr.Len() != 0 {
		t.Fatalf("without --verbose, stderr got %q", stderr.String())
	}
	f.verbose = true
	closeLog = f.thirdPartyLog()
	tclog.Printf("🐳 Creating container v")
	closeLog()
	if !strings.Contains(stderr.String(), "testcontainers: ") || !strings.Contains(stderr.String(), "Creating container v") {
		t.Fatalf("with --verbose, stderr got %q", stderr.String())
	}
	if tclog.Default() != before {
		t.Fatal("the logger before was not restored")
	}
}
