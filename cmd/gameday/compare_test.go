package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/reports"
)

// editedRun writes a copy of a real report with edit applied to its JSON.
func editedRun(t *testing.T, name string, edit func(r map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "reports", "testdata", "runs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	edit(r)
	out, _ := json.Marshal(r)
	path := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompareExitCodes(t *testing.T) {
	base := editedRun(t, "latency", func(map[string]any) {})
	same := editedRun(t, "latency", func(map[string]any) {})
	slower := editedRun(t, "latency", func(r map[string]any) { r["recovery_seconds"] = 30.0 })
	reseeded := editedRun(t, "latency", func(r map[string]any) { r["scenario"].(map[string]any)["seed"] = 9.0 })
	badField := editedRun(t, "latency", func(r map[string]any) { r["recovery_seconds"] = "soon" })

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{"same run", []string{"compare", base, same}, exitOK, "no regression", nil},
		{"recovery slower", []string{"compare", base, slower}, exitFail, "regressed: recovery_seconds", []string{"latency: regressed against the base run", "recovery_seconds"}},
		{"tolerance widened", []string{"compare", "--recovery-seconds", "40", base, slower}, exitOK, "no regression", nil},
		{"flags after the files", []string{"compare", base, slower, "--recovery-percent=100000"}, exitOK, "no regression", nil},
		{"another seed", []string{"compare", base, reseeded}, exitInconclusive, "", []string{"not comparable", "scenario.seed", "base 3, new 9"}},
		{"one file", []string{"compare", base}, exitUsage, "", []string{"NEW: required (see gameday compare --help)"}},
		{"missing file", []string{"compare", base, "/nonexistent/new.json"}, exitUsage, "", []string{"new /nonexistent/new.json", "no such file"}},
		{"a field of the wrong type", []string{"compare", badField, base}, exitUsage, "", []string{"base " + badField, "recovery_seconds"}},
		{"negative tolerance", []string{"compare", "--p95-percent=-1", base, same}, exitUsage, "", []string{"--p95-percent: must not be negative"}},
		{"help", []string{"compare", "--help"}, exitOK, "usage: gameday compare", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
		})
	}
}

func TestRunRefusesBadResultFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct{ flag, value string }{
		{"--baseline-dir", filepath.Join(dir, "missing")},
		{"--baseline-dir", file},
		{"--junit", dir},
		{"--junit", filepath.Join(file, "junit.xml")},
	} {
		code, _, errs := runCLI(t, "run", "latency", "--target", "process", tc.flag, tc.value)
		if code != exitUsage || !strings.Contains(errs, tc.flag+":") {
			t.Errorf("%s %s: exit %d: %s", tc.flag, tc.value, code, errs)
		}
	}
}

func TestCompareBaselineDir(t *testing.T) {
	dir := t.TempDir()
	read := func(path string) *reports.Report {
		r, err := reports.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := read(editedRun(t, "latency", func(map[string]any) {}))
	older := read(editedRun(t, "latency", func(r map[string]any) { r["recovery_seconds"] = 100.0 }))
	older.StartedAt = base.StartedAt.Add(-time.Hour)
	for _, r := range []*reports.Report{base, older} {
		if _, err := reports.Write(dir, "latency", r); err != nil {
			t.Fatal(err)
		}
	}
	f := &runFlags{baselineDir: dir, scrape: 5 * time.Second}
	var out strings.Builder

	// The newest earlier report is the base: 30 s is a regression against
	// 0.04 s, not against the older 100 s.
	slower := read(editedRun(t, "latency", func(r map[string]any) { r["recovery_seconds"] = 30.0 }))
	slower.StartedAt = base.StartedAt.Add(time.Hour)
	path, err := reports.Write(dir, "latency", slower)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.compareBaseline(&out, slower, path); !errors.Is(err, errRegressed) || !strings.Contains(out.String(), "regressed: recovery_seconds") {
		t.Fatalf("regression: %v\n%s", err, out.String())
	}
	out.Reset()
	same := read(editedRun(t, "latency", func(map[string]any) {}))
	if err := f.compareBaseline(&out, same, ""); err != nil || !strings.Contains(out.String(), "no regression") {
		t.Fatalf("same: %v\n%s", err, out.String())
	}
	reseeded := read(editedRun(t, "latency", func(r map[string]any) { r["scenario"].(map[string]any)["seed"] = 9.0 }))
	if err := f.compareBaseline(&out, reseeded, ""); !errors.Is(err, errNotComparable) {
		t.Fatalf("another seed: %v", err)
	}
	out.Reset()
	other := read(editedRun(t, "cpu-spike-short", func(map[string]any) {}))
	if err := f.compareBaseline(&out, other, ""); err != nil || !strings.Contains(out.String(), "no earlier report of cpu-spike-short") {
		t.Fatalf("no baseline: %v\n%s", err, out.String())
	}
	if worse(fmt.Errorf("x: %w", errNotComparable), fmt.Errorf("y: %w", errRegressed)) == nil ||
		!errors.Is(worse(fmt.Errorf("x: %w", errNotComparable), fmt.Errorf("y: %w", errRegressed)), errRegressed) ||
		!errors.Is(worse(fmt.Errorf("y: %w", errRegressed), fmt.Errorf("x: %w", errNotComparable)), errRegressed) {
		t.Error("a regression must outweigh a run that could not be compared")
	}
}
