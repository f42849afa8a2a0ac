package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	src := filepath.Join("..", "..", "reports", "html", "testdata")
	good := []string{filepath.Join(src, "io-glitch.json"), filepath.Join(src, "cpu-spike-old.json")}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema_version": 7}`), 0o644); err != nil {
		t.Fatal(err)
	}

	if code, _, _ := runCLI(t, "report", "--help"); code != exitOK {
		t.Errorf("report --help: exit %d", code)
	}
	if code, _, _ := runCLI(t, "report"); code != exitUsage {
		t.Errorf("report with no file: exit %d, want %d", code, exitUsage)
	}

	out := filepath.Join(t.TempDir(), "new", "site")
	code, stdout, stderr := runCLI(t, append([]string{"report", "--out", out}, good...)...)
	if code != exitOK {
		t.Fatalf("report: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"io-glitch.html", "cpu-spike-old.html", "index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("report did not write %s: %v", f, err)
		}
	}
	junit := filepath.Join(out, "runs.junit.xml")
	if code, stdout, stderr := runCLI(t, append([]string{"report", "--out", out, "--junit", junit}, good...)...); code != exitOK {
		t.Fatalf("report --junit: exit %d\n%s%s", code, stdout, stderr)
	}
	x, err := os.ReadFile(junit)
	if err != nil || strings.Count(string(x), "<testsuite ") != 2 || !strings.Contains(string(x), `name="faults_reverted"`) {
		t.Errorf("report --junit wrote %v:\n%s", err, x)
	}
	index, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if !strings.Contains(string(index), `href="io-glitch.html"`) {
		t.Error("index does not link the io-glitch page")
	}

	// A mix renders the good, names the bad with its field and exits 1.
	code, stdout, stderr = runCLI(t, "report", "--out", out, good[0], bad)
	if code != exitFail || !strings.Contains(stderr, "bad.json: field schema_version") || !strings.Contains(stdout, "io-glitch.html") {
		t.Errorf("mixed: exit %d, want %d\nstdout: %s\nstderr: %s", code, exitFail, stdout, stderr)
	}
	// All bad: exit 2.
	if code, _, stderr = runCLI(t, "report", "--out", out, bad); code != exitUsage || !strings.Contains(stderr, "bad.json") {
		t.Errorf("all bad: exit %d, want %d: %s", code, exitUsage, stderr)
	}
}
