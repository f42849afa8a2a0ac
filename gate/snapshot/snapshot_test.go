package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func record(t *testing.T, s *Store, kind, body string, at time.Time) {
	t.Helper()
	if _, err := s.Record(Meta{Kind: kind, ContentType: "text/plain; version=0.0.4", GeneratedAt: at}, []byte(body)); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func TestRecordLoadNewest(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	if _, _, err := s.Load(KindText); !errors.Is(err, ErrNone) {
		t.Fatalf("empty store Load err = %v, want ErrNone", err)
	}
	t0 := time.Now().UTC()
	record(t, s, KindText, "one\n", t0)
	record(t, s, KindText, "two\n", t0.Add(time.Second))
	record(t, s, KindText, "three\n", t0.Add(2*time.Second))
	snap, corrupt, err := s.Load(KindText)
	if err != nil || len(corrupt) != 0 {
		t.Fatalf("Load: %v %v", err, corrupt)
	}
	if string(snap.Body) != "three\n" {
		t.Fatalf("newest body %q", snap.Body)
	}
	// Two slots only: "one" was overwritten.
	names, _ := filepath.Glob(filepath.Join(dir, "*.snap"))
	if len(names) != 2 {
		t.Fatalf("slot files %v, want 2", names)
	}
	// A reopened store keeps writing over the older slot.
	s2 := Open(dir)
	if !s2.LastRecorded().Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("LastRecorded after reopen = %v", s2.LastRecorded())
	}
	record(t, s2, KindText, "four\n", t0.Add(3*time.Second))
	snap, _, _ = s2.Load(KindText)
	if string(snap.Body) != "four\n" {
		t.Fatalf("after reopen newest %q", snap.Body)
	}
	snap, _, _ = Open(dir).Load(KindText)
	if string(snap.Body) != "four\n" {
		t.Fatal("reopen lost the newest")
	}
}

func TestCorruptSlotNeverServed(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	t0 := time.Now().UTC()
	record(t, s, KindText, "older payload\n", t0)
	record(t, s, KindText, "newer payload\n", t0.Add(time.Second))
	newest := filepath.Join(dir, slotName(KindText, 1))
	data, _ := os.ReadFile(newest)
	data[len(data)-3] ^= 0x01 // one bit in the body
	if err := os.WriteFile(newest, data, 0o640); err != nil {
		t.Fatal(err)
	}
	snap, corrupt, err := s.Load(KindText)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(snap.Body) != "older payload\n" {
		t.Fatalf("served %q, want the older verified one", snap.Body)
	}
	if len(corrupt) != 1 || corrupt[0].File != slotName(KindText, 1) {
		t.Fatalf("corrupt = %v", corrupt)
	}
	// Both corrupt: nothing is served.
	older := filepath.Join(dir, slotName(KindText, 0))
	if err := os.WriteFile(older, data[:len(data)/2], 0o640); err != nil {
		t.Fatal(err)
	}
	if _, corrupt, err := s.Load(KindText); !errors.Is(err, ErrNone) || len(corrupt) != 2 {
		t.Fatalf("both corrupt: err %v corrupt %v", err, corrupt)
	}
}

func TestLoadFallsBackToOtherKind(t *testing.T) {
	s := Open(t.TempDir())
	record(t, s, KindText, "text\n", time.Now())
	snap, _, err := s.Load(KindOpenMetrics)
	if err != nil || snap.Kind != KindText {
		t.Fatalf("Load(openmetrics) = %v, %v; want the text snapshot", snap, err)
	}
}

func TestRecordUnwritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	// A file where the directory should be fails for every user, root included.
	if err := os.WriteFile(dir, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	s := Open(dir)
	if _, err := s.Record(Meta{Kind: KindText, ContentType: "x", GeneratedAt: time.Now()}, []byte("x")); err == nil {
		t.Fatal("Record into a non-directory succeeded")
	}
	if s.Writable() == nil {
		t.Fatal("Writable reported a non-directory writable")
	}
}

func TestDecodeReasons(t *testing.T) {
	good := []byte(magicV1 + `{"kind":"text","content_type":"t","generated_at":"2026-01-01T00:00:00Z","size":2,"sha256":"` +
		"2d6d4c2a0bf69a3e0ff0cec1cf1fcdda3a2cf4ec7cb35fa4eed2fbdd0d4eb7ad" + "\"}\nab")
	for name, c := range map[string]struct {
		data   string
		reason string
	}{
		"no magic":     {"hello", "missing QNXSNAP header"},
		"no newline":   {magicV1 + "{", "header line not terminated"},
		"bad json":     {magicV1 + "{\n", "header is not valid JSON"},
		"unknown kind": {magicV1 + `{"kind":"x"}` + "\n", "unknown kind in header"},
		"short v2":     {magic + "xx", "shorter than the header"},
		"v2 lengths":   {string(encode(nil, 1, []byte(`{}`), []byte("ab"))[:headerLen+2]), "lengths in the header exceed the file"},
		"v2 digest":    {strings.Replace(string(encode(nil, 1, []byte(`{}`), []byte("ab"))), "{}", "[]", 1), "sha-256 of the file does not match the header (torn or damaged write)"},
		"v2 padding":   {string(encode(nil, 1, []byte(`{}`), []byte("ab"))) + "x", "sha-256 of the file does not match the header (torn or damaged write)"},
		"v2 meta":      {string(encode(nil, 1, []byte(`{"kind":"x"}`), []byte("ab"))), "unknown kind in header"},
		"size":         {string(good) + "c", "size mismatch: header says 2 bytes, body has 3"},
		"digest":       {string(good), "sha-256 of the body does not match the header"},
	} {
		if _, reason := Decode([]byte(c.data)); reason != c.reason {
			t.Errorf("%s: reason %q, want %q", name, reason, c.reason)
		}
	}
}

func FuzzDecode(f *testing.F) {
	dir := f.TempDir()
	s := Open(dir)
	if _, err := s.Record(Meta{Kind: KindText, ContentType: "t", GeneratedAt: time.Now()}, []byte("# HELP x y\nx 1\n")); err != nil {
		f.Fatal(err)
	}
	valid, _ := os.ReadFile(filepath.Join(dir, slotName(KindText, 0)))
	f.Add(valid)
	f.Add([]byte(magicV1 + "{}\n"))
	f.Add(encode(nil, 7, []byte(`{"kind":"text","content_type":"t","generated_at":"2026-01-01T00:00:00Z","size":1,"sha256":"x"}`), []byte("a")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, reason := Decode(data)
		if (snap == nil) == (reason == "") {
			t.Fatalf("snap %v with reason %q", snap, reason)
		}
		if snap != nil && len(snap.Body) != snap.Size {
			t.Fatal("accepted a snapshot whose size does not match")
		}
	})
}

// TestTornInPlaceWriteNeverServed simulates a crash in the middle of
// overwriting the older slot: only part of the new file's bytes reach the
// disk, the rest is the older payload. Load must refuse the torn slot, serve
// the other one, and the next Record must write over the torn slot.
func TestTornInPlaceWriteNeverServed(t *testing.T) {
	t0 := time.Now().UTC()
	for name, torn := range map[string]func(old, new []byte) []byte{
		"head new, tail old": func(old, new []byte) []byte { return append(new[:len(new)/2:len(new)/2], old[len(new)/2:]...) },
		"head old, tail new": func(old, new []byte) []byte { return append(old[:headerLen:headerLen], new[headerLen:]...) },
		"header only":        func(old, new []byte) []byte { return append(new[:headerLen:headerLen], old[headerLen:]...) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := Open(dir)
			body := strings.Repeat("older payload line\n", 400) // longer than one padding block
			record(t, s, KindText, body, t0)
			record(t, s, KindText, "newer payload\n", t0.Add(time.Second))
			older := filepath.Join(dir, slotName(KindText, 0))
			old, err := os.ReadFile(older)
			if err != nil {
				t.Fatal(err)
			}
			meta := `{"kind":"text","content_type":"t","generated_at":"` + t0.Add(2*time.Second).Format(time.RFC3339Nano) + `"}`
			next := encode(nil, 3, []byte(meta), []byte(strings.Repeat("newest payload line\n", 400)))
			f, err := os.OpenFile(older, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(torn(old, next), 0); err != nil {
				t.Fatal(err)
			}
			f.Close()

			snap, corrupt, err := Open(dir).Load(KindText)
			if err != nil || string(snap.Body) != "newer payload\n" {
				t.Fatalf("Load after a torn write: %v; want the complete newer slot", err)
			}
			if len(corrupt) != 1 || corrupt[0].File != slotName(KindText, 0) {
				t.Fatalf("corrupt = %v, want the torn slot", corrupt)
			}
			s2 := Open(dir)
			record(t, s2, KindText, "after restart\n", t0.Add(3*time.Second))
			snap, corrupt, _ = s2.Load(KindText)
			if string(snap.Body) != "after restart\n" || len(corrupt) != 0 {
				t.Fatalf("the next Record did not replace the torn slot: %q %v", snap.Body, corrupt)
			}
		})
	}
}

// TestRecordShrinkingPayload checks that a payload smaller than the one it
// overwrites leaves no stale bytes that would fail verification, and that
// the earlier format still loads.
func TestRecordShrinkingPayload(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	t0 := time.Now().UTC()
	record(t, s, KindText, strings.Repeat("x", 3*padTo), t0)
	record(t, s, KindText, "b\n", t0.Add(time.Second))
	record(t, s, KindText, "c\n", t0.Add(2*time.Second))
	for i := range 2 {
		st, err := os.Stat(filepath.Join(dir, slotName(KindText, i)))
		if err != nil || st.Size() != padTo {
			t.Fatalf("slot %d: %v size %d, want %d", i, err, st.Size(), padTo)
		}
	}
	if snap, corrupt, err := s.Load(KindText); err != nil || len(corrupt) != 0 || string(snap.Body) != "c\n" {
		t.Fatalf("Load: %v %v %q", err, corrupt, snap.Body)
	}

	v1 := filepath.Join(t.TempDir(), "v1")
	os.MkdirAll(v1, 0o750)
	data := []byte(magicV1 + `{"kind":"text","content_type":"t","generated_at":"2026-01-01T00:00:00Z","size":2,"sha256":"` +
		"fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603" + "\"}\nab")
	if err := os.WriteFile(filepath.Join(v1, slotName(KindText, 0)), data, 0o640); err != nil {
		t.Fatal(err)
	}
	s = Open(v1)
	if snap, _, err := s.Load(KindText); err != nil || string(snap.Body) != "ab" {
		t.Fatalf("earlier format: %v", err)
	}
	record(t, s, KindText, "v2\n", time.Now())
	if snap, _, _ := s.Load(KindText); string(snap.Body) != "v2\n" {
		t.Fatalf("after an earlier-format slot: %q", snap.Body)
	}
}

// BenchmarkRecord measures recording one payload of a typical size (the
// gate's own text payload is a few tens of KiB) in the default temporary
// directory, overwriting the slots in place.
func BenchmarkRecord(b *testing.B) {
	s := Open(b.TempDir())
	body := []byte(strings.Repeat("quannex_metrics_requests_total{source=\"live\",code=\"200\"} 12345\n", 600))
	m := Meta{Kind: KindText, ContentType: "text/plain; version=0.0.4", GeneratedAt: time.Now()}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := s.Record(m, body); err != nil {
			b.Fatal(err)
		}
	}
}
