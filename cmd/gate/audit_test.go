package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quannex/gameday/gate/audit"
)

// TestAuditVerifyAcrossSegments: verify and stats read every segment of a
// log given as its directory or its active file; recorded damage is
// reported with where the chain verifies again; a deleted segment is named.
func TestAuditVerifyAcrossSegments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	path := filepath.Join(dir, "audit.jsonl")
	opts := audit.Options{MaxBytes: 4 << 10}
	l := audit.Open(path, opts)
	for i := range 60 {
		if _, err := l.Append(context.Background(), audit.EventAuth, map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close(context.Background())

	code, out, _ := runCLI(t, "audit", "verify", "--log", dir)
	if code != exitOK || !strings.Contains(out, "60 entries verified in ") || !strings.Contains(out, "OK: chain intact") {
		t.Fatalf("verify a directory: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "audit", "stats", "--log", path)
	if code != exitOK || !strings.Contains(out, ": 60 entries") {
		t.Fatalf("stats across segments: exit %d\n%s", code, out)
	}

	// Damage in the active segment: the next start records it with a
	// checkpoint, and verify resumes there.
	data, _ := os.ReadFile(path)
	ls := bytes.SplitAfter(data, []byte("\n"))
	ls[1] = bytes.Replace(ls[1], []byte(`"i":"`), []byte(`"i":"9`), 1)
	os.WriteFile(path, bytes.Join(ls, nil), 0o640)
	l = audit.Open(path, opts)
	l.Append(context.Background(), audit.EventGateStart, nil)
	l.Close(context.Background())
	code, out, _ = runCLI(t, "audit", "verify", "--log", path)
	for _, want := range []string{"DAMAGED from audit.jsonl line 2 to audit.jsonl line", "edited", "chain verified again from checkpoint entry 61", "recorded by checkpoint entry 61", "FIRST BAD ENTRY: audit.jsonl line 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify after damage: no %q in\n%s", want, out)
		}
	}
	if code != exitProblem {
		t.Errorf("verify after damage: exit %d, want %d", code, exitProblem)
	}

	os.Remove(filepath.Join(dir, "audit-000002.jsonl"))
	code, out, _ = runCLI(t, "audit", "verify", "--log", dir)
	if code != exitProblem || !strings.Contains(out, "segment audit-000002.jsonl is missing") {
		t.Fatalf("deleted segment: exit %d\n%s", code, out)
	}
}

func TestByteSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "64MiB": 64 << 20, "512KiB": 512 << 10, "2GiB": 2 << 30, "100B": 100} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("%q: %d %v, want %d", in, b, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "64MB", "1.5MiB", "99999999999GiB"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("%q accepted as %d", bad, b)
		}
	}
	if b := byteSize(64 << 20); b.String() != "64MiB" {
		t.Errorf("String %q", b.String())
	}
}
