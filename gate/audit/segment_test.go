package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRotationChainsSegments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	path := filepath.Join(dir, "audit.jsonl")
	opts := Options{MaxBytes: 2 << 10}
	l := Open(path, opts)
	for i := range 60 {
		if _, err := l.Append(context.Background(), EventAuth, map[string]string{"i": strconv.Itoa(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close(context.Background())

	segs, err := Segments(path)
	if err != nil || len(segs) < 4 {
		t.Fatalf("segments %v %v", segs, err)
	}
	if filepath.Base(segs[0]) != "audit-000001.jsonl" || segs[len(segs)-1] != path {
		t.Fatalf("segment names %v", segs)
	}
	var prevLast *Entry
	for _, s := range segs {
		fi, _ := os.Stat(s)
		if fi.Size() > opts.MaxBytes {
			t.Errorf("%s is %d bytes, over %d", s, fi.Size(), opts.MaxBytes)
		}
		ls := lines(t, s)
		first, _ := ParseLine(bytes.TrimSpace(ls[0]))
		if prevLast != nil && (first.Seq != prevLast.Seq+1 || first.Prev != prevLast.Hash) {
			t.Fatalf("%s does not chain to the previous segment", s)
		}
		prevLast, _ = ParseLine(bytes.TrimSpace(ls[len(ls)-1]))
	}

	for _, p := range []string{path, dir} { // the active file or the directory
		rep, err := VerifyFile(p, VerifyOptions{ExpectHead: &Head{Seq: 60, Hash: prevLast.Hash}})
		if err != nil || !rep.OK() || rep.Entries != 60 || len(rep.Segments) != len(segs) {
			t.Fatalf("verify %s: %v %+v %d entries, %v", p, err, rep.Problem, rep.Entries, rep.Segments)
		}
	}

	// A restart chains on from the newest rotated segment, even when the
	// gate stopped between the rename and the new active file.
	if err := os.Rename(path, segmentName(path, len(segs))); err != nil {
		t.Fatal(err)
	}
	l = Open(path, opts)
	e, err := l.Append(context.Background(), EventGateStart, nil)
	l.Close(context.Background())
	if err != nil || e.Seq != prevLast.Seq+1 || e.Prev != prevLast.Hash {
		t.Fatalf("after restart: %+v %v (head was %d)", e, err, prevLast.Seq)
	}

	// A deleted middle segment is found and named.
	os.Remove(segs[1])
	rep, err := VerifyFile(dir, VerifyOptions{})
	if err != nil || rep.OK() || rep.Problem.Kind != DamageDeleted || rep.Problem.Segment != filepath.Base(segs[2]) ||
		!strings.Contains(rep.Problem.Detail, "segment audit-000002.jsonl is missing") {
		t.Fatalf("deleted segment: %v %+v", err, rep.Problem)
	}
	t.Logf("%s", rep.Problem)
}

func TestSegmentsOfADirectory(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a-000002.jsonl", "a-000001.jsonl", "a.jsonl", "a.jsonl.torn-1", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o640)
	}
	segs, err := Segments(dir)
	if err != nil || len(segs) != 3 || filepath.Base(segs[0]) != "a-000001.jsonl" || filepath.Base(segs[2]) != "a.jsonl" {
		t.Fatalf("%v %v", segs, err)
	}
	os.WriteFile(filepath.Join(dir, "b.jsonl"), nil, 0o640)
	if _, err := Segments(dir); err == nil || !strings.Contains(err.Error(), "several logs") {
		t.Fatalf("two logs in one directory: %v", err)
	}
	if _, err := Segments(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Fatal("a missing log must be an error")
	}
}

// TestDamagedSegmentTail: the newest rotated segment does not end with an
// entry. The gate reads it whole, records the damage once, and the chain
// verifies again from the checkpoint.
func TestDamagedSegmentTail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	path := filepath.Join(dir, "audit.jsonl")
	opts := Options{MaxBytes: 2 << 10}
	l := Open(path, opts)
	for i := range 20 {
		l.Append(context.Background(), EventAuth, map[string]string{"i": strconv.Itoa(i + 1)})
	}
	l.Close(context.Background())
	segs, _ := Segments(path)
	newest := segs[len(segs)-2]
	f, _ := os.OpenFile(newest, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("garbage\n")
	f.Close()

	for range 2 {
		l = Open(path, opts)
		if _, err := l.Append(context.Background(), EventGateStart, nil); err != nil {
			t.Fatal(err)
		}
		l.Close(context.Background())
	}
	rep, err := VerifyFile(dir, VerifyOptions{})
	if err != nil || len(rep.Damage) != 1 {
		t.Fatalf("%v %+v", err, rep.Damage)
	}
	d := rep.Damage[0]
	if d.Kind != DamageCorrupt || d.Segment != filepath.Base(newest) || d.ResumedAt == nil || d.RecordedBy != d.ResumedAt.Seq || d.ResumedAt.Seq != 21 {
		t.Fatalf("damage %+v resumed %v", d, d.ResumedAt)
	}
	if rep.Head.Seq != 23 { // 20, the checkpoint, two starts
		t.Fatalf("head %v", rep.Head)
	}
}
