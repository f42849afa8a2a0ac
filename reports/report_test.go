package reports

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Scenario: json.RawMessage(`{"name":"io glitch/x"}`), StartedAt: time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC),
		Verdict: Pass, Checks: []Check{{Name: "no_5xx", Pass: true}}}
	path, err := Write(dir, "io glitch/x", r)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "io_glitch_x-20261127T101500Z.json" {
		t.Fatalf("report name %s", filepath.Base(path))
	}
	back, err := Read(path)
	if err != nil || back.SchemaVersion != SchemaVersion || !back.Passed() {
		t.Fatalf("read back %+v %v", back, err)
	}
	var spec struct{ Name string }
	if err := json.Unmarshal(back.Scenario, &spec); err != nil || spec.Name != "io glitch/x" {
		t.Fatalf("scenario read back as %s", back.Scenario)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestReadRejectsOtherSchemasAndGarbage(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"schema_version": 2, "scenario": {"name": "x"}}`), 0o644)
	if _, err := Read(other); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "2 (this build reads 1)") {
		t.Fatalf("schema 2: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{`), 0o644)
	if _, err := Read(bad); err == nil {
		t.Fatal("garbage accepted")
	}
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte(`{"schema_version": 1}`), 0o644)
	if _, err := Read(empty); err == nil || !strings.Contains(err.Error(), "no scenario") {
		t.Fatalf("no scenario: %v", err)
	}
}

func TestPassedNeedsChecksAndNoError(t *testing.T) {
	if (&Report{}).Passed() {
		t.Error("a report without checks passed")
	}
	if (&Report{Checks: []Check{{Pass: true}}, Error: "target did not start"}).Passed() {
		t.Error("a report with an error passed")
	}
	if (&Report{Checks: []Check{{Pass: true}, {Pass: false}}}).Passed() {
		t.Error("a failed check passed")
	}
}
