package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testKey is a configured cache key: what it records, a store opened
// later with the same key loads.
func testKey(t testing.TB) Key {
	t.Helper()
	k, err := NewKey([]byte("snapshot-test-cache-key-0001"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openKeyed(t testing.TB, dir string) *Store {
	t.Helper()
	return Open(dir, Options{Key: testKey(t)})
}

func record(t *testing.T, s *Store, kind, body string, at time.Time) {
	t.Helper()
	if _, err := s.Record(Meta{Kind: kind, ContentType: "text/plain; version=0.0.4", GeneratedAt: at}, []byte(body)); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

// reasons maps each rejected file to its reason.
func reasons(rs []*RejectError) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		m[r.File] = r.Reason
	}
	return m
}

func TestRecordLoadNewest(t *testing.T) {
	dir := t.TempDir()
	s := openKeyed(t, dir)
	if _, _, err := s.Load(KindText); !errors.Is(err, ErrNone) {
		t.Fatalf("empty store Load err = %v, want ErrNone", err)
	}
	t0 := time.Now().UTC()
	record(t, s, KindText, "one\n", t0)
	record(t, s, KindText, "two\n", t0.Add(time.Second))
	record(t, s, KindText, "three\n", t0.Add(2*time.Second))
	snap, rejected, err := s.Load(KindText)
	if err != nil || len(rejected) != 0 {
		t.Fatalf("Load: %v %v", err, rejected)
	}
	if string(snap.Body) != "three\n" {
		t.Fatalf("newest body %q", snap.Body)
	}
	// Two slots only: "one" was overwritten.
	names, _ := filepath.Glob(filepath.Join(dir, "*.snap"))
	if len(names) != 2 {
		t.Fatalf("slot files %v, want 2", names)
	}
	// A store reopened with the same key keeps writing over the older slot.
	s2 := openKeyed(t, dir)
	if !s2.LastRecorded().Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("LastRecorded after reopen = %v", s2.LastRecorded())
	}
	record(t, s2, KindText, "four\n", t0.Add(3*time.Second))
	snap, _, _ = s2.Load(KindText)
	if string(snap.Body) != "four\n" {
		t.Fatalf("after reopen newest %q", snap.Body)
	}
	snap, _, _ = openKeyed(t, dir).Load(KindText)
	if string(snap.Body) != "four\n" {
		t.Fatal("reopen lost the newest")
	}
}

// TestEphemeralKeyLoadsOnlyItsOwn: a store without a configured key loads
// what it recorded itself, and nothing an earlier store (an earlier
// process) recorded; those files are reported as written under another
// key, and overwritten.
func TestEphemeralKeyLoadsOnlyItsOwn(t *testing.T) {
	dir := t.TempDir()
	first := Open(dir, Options{})
	if !first.Key().Ephemeral() {
		t.Fatal("a store without a key did not get an ephemeral one")
	}
	record(t, first, KindText, "first process\n", time.Now())
	if snap, _, err := first.Load(KindText); err != nil || string(snap.Body) != "first process\n" {
		t.Fatalf("own recording: %v", err)
	}
	var atOpen []*RejectError
	second := Open(dir, Options{OnReject: func(r *RejectError) { atOpen = append(atOpen, r) }})
	if got := reasons(atOpen); got[slotName(KindText, 0)] != ReasonOtherKey {
		t.Fatalf("reported at open: %v; want the first process's slot as other_key", got)
	}
	if snap, rejected, err := second.Load(KindText); !errors.Is(err, ErrNone) || len(rejected) != 1 {
		t.Fatalf("second process loaded the first one's payload: %v %v %v", snap, rejected, err)
	}
	if !second.LastRecorded().IsZero() {
		t.Fatalf("LastRecorded %v from a file of another key", second.LastRecorded())
	}
	record(t, second, KindText, "second process\n", time.Now())
	record(t, second, KindText, "second again\n", time.Now())
	if snap, rejected, err := second.Load(KindText); err != nil || len(rejected) != 0 || string(snap.Body) != "second again\n" {
		t.Fatalf("after recording: %v %v", rejected, err)
	}
	if len(second.Rejected()) != 0 {
		t.Fatalf("Rejected after both slots were rewritten: %v", second.Rejected())
	}
}

// TestForgedSlotsNeverLoaded: files the gate's key did not write — the
// earlier unkeyed formats with correct digests, a current-format file
// under another key, one whose HMAC was recomputed without the key — are
// refused with a reason, and the authentic slot is served.
func TestForgedSlotsNeverLoaded(t *testing.T) {
	dir := t.TempDir()
	s := openKeyed(t, dir)
	t0 := time.Now().UTC()
	record(t, s, KindText, "authentic\n", t0)
	meta := []byte(`{"kind":"text","content_type":"text/plain; version=0.0.4","generated_at":"` + t0.Add(time.Hour).Format(time.RFC3339Nano) + `","size":7,"sha256":"` + sha256Hex("forged\n") + `"}`)
	other, _ := NewKey([]byte("someone-elses-key-000000"))
	for name, data := range map[string][]byte{
		"earlier format v2": append([]byte(magicV2), make([]byte, 200)...),
		"earlier format v1": []byte(magicV1 + " " + string(meta) + "\nforged\n"),
		"other key":         encode(nil, other, 99, meta, []byte("forged\n")),
		"mac of zeros": func() []byte {
			b := encode(nil, other, 99, meta, []byte("forged\n"))
			copy(b[offKeyID:], s.key.id[:])
			return b
		}(),
		"garbage": []byte("metrics 1\n"),
	} {
		t.Run(name, func(t *testing.T) {
			forged := filepath.Join(dir, slotName(KindText, 1))
			if err := os.WriteFile(forged, data, 0o640); err != nil {
				t.Fatal(err)
			}
			snap, rejected, err := s.Load(KindText)
			if err != nil || string(snap.Body) != "authentic\n" {
				t.Fatalf("Load: %v %v", snap, err)
			}
			want := ReasonUnauthenticated
			if name == "other key" {
				want = ReasonOtherKey
			}
			if got := reasons(rejected)[slotName(KindText, 1)]; got != want {
				t.Fatalf("reason %q, want %q (%v)", got, want, rejected)
			}
			if got := reasons(s.Rejected())[slotName(KindText, 1)]; got != want {
				t.Fatalf("Rejected() %v", s.Rejected())
			}
		})
	}
}

func TestCorruptSlotNeverServed(t *testing.T) {
	dir := t.TempDir()
	s := openKeyed(t, dir)
	t0 := time.Now().UTC()
	record(t, s, KindText, "older payload\n", t0)
	record(t, s, KindText, "newer payload\n", t0.Add(time.Second))
	newest := filepath.Join(dir, slotName(KindText, 1))
	data, _ := os.ReadFile(newest)
	i := strings.Index(string(data), "newer payload")
	for name, edit := range map[string]func([]byte) []byte{
		"a bit of the body":    func(b []byte) []byte { b[i] ^= 0x01; return b },
		"a bit of the padding": func(b []byte) []byte { b[len(b)-10] ^= 0x20; return b },
		"cut":                  func(b []byte) []byte { return b[:len(b)-padTo/2] },
		"grown":                func(b []byte) []byte { return append(b, make([]byte, padTo)...) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(newest, edit(append([]byte(nil), data...)), 0o640); err != nil {
				t.Fatal(err)
			}
			snap, rejected, err := s.Load(KindText)
			if err != nil || string(snap.Body) != "older payload\n" {
				t.Fatalf("served %v %v, want the older verified one", snap, err)
			}
			if got := reasons(rejected); len(got) != 1 || got[slotName(KindText, 1)] != ReasonCorrupt {
				t.Fatalf("rejected = %v", rejected)
			}
		})
	}
	// Both corrupt: nothing is served.
	older := filepath.Join(dir, slotName(KindText, 0))
	if err := os.WriteFile(older, data[:len(data)/2], 0o640); err != nil {
		t.Fatal(err)
	}
	if _, rejected, err := s.Load(KindText); !errors.Is(err, ErrNone) || len(rejected) != 2 {
		t.Fatalf("both corrupt: err %v rejected %v", err, rejected)
	}
}

// TestFutureSnapshotRefused: an authentic snapshot dated beyond the clock
// skew allowance is refused; one within it loads.
func TestFutureSnapshotRefused(t *testing.T) {
	s := openKeyed(t, t.TempDir())
	now := time.Now().UTC()
	record(t, s, KindText, "now\n", now)
	record(t, s, KindText, "an hour ahead\n", now.Add(time.Hour))
	snap, rejected, err := s.Load(KindText)
	if err != nil || string(snap.Body) != "now\n" {
		t.Fatalf("Load: %v %v; want the present one", snap, err)
	}
	if got := reasons(rejected)[slotName(KindText, 1)]; got != ReasonFuture {
		t.Fatalf("rejected %v, want the future one as %s", rejected, ReasonFuture)
	}
	record(t, s, KindText, "a little ahead\n", now.Add(MaxClockSkew/2))
	if snap, _, err := s.Load(KindText); err != nil || string(snap.Body) != "a little ahead\n" {
		t.Fatalf("within the skew allowance: %v %v", snap, err)
	}
}

func TestLoadFallsBackToOtherKind(t *testing.T) {
	s := openKeyed(t, t.TempDir())
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
	s := openKeyed(t, dir)
	if _, err := s.Record(Meta{Kind: KindText, ContentType: "x", GeneratedAt: time.Now()}, []byte("x")); err == nil {
		t.Fatal("Record into a non-directory succeeded")
	}
	if s.Writable() == nil {
		t.Fatal("Writable reported a non-directory writable")
	}
}

func TestDecodeReasons(t *testing.T) {
	k := testKey(t)
	now := time.Now()
	good := func(meta, body string) []byte { return encode(nil, k, 1, []byte(meta), []byte(body)) }
	meta := `{"kind":"text","content_type":"t","generated_at":"2026-01-01T00:00:00Z","size":2,"sha256":"` + sha256Hex("ab") + `"}`
	if snap, rej := decode(good(meta, "ab"), k, now); rej != nil || string(snap.Body) != "ab" {
		t.Fatalf("a good file: %v", rej)
	}
	for name, c := range map[string]struct {
		data   []byte
		reason string
		detail string
	}{
		"no magic":      {[]byte("hello"), ReasonUnauthenticated, "not a slot file"},
		"v1":            {[]byte(magicV1 + " {}\nab"), ReasonUnauthenticated, "earlier unkeyed format QNXSNAP1"},
		"v2":            {append([]byte(magicV2), make([]byte, 100)...), ReasonUnauthenticated, "earlier unkeyed format QNXSNAP2"},
		"short":         {[]byte(magic + "xx"), ReasonCorrupt, "shorter than the header"},
		"meta too long": {good(meta, "ab")[:headerLen+2], ReasonCorrupt, "metadata length"},
		"mac":           {[]byte(strings.Replace(string(good(meta, "ab")), `"t"`, `"u"`, 1)), ReasonUnauthenticated, "HMAC does not verify"},
		"meta json":     {good(`[]`, "ab"), ReasonCorrupt, "not valid JSON"},
		"kind":          {good(`{"kind":"x"}`, "ab"), ReasonCorrupt, "unknown kind"},
		"size":          {good(strings.Replace(meta, `"size":2`, `"size":3`, 1), "ab"), ReasonCorrupt, "size mismatch"},
		"digest":        {good(meta, "ac"), ReasonCorrupt, "sha-256 of the body"},
		"file size":     {append(good(meta, "ab"), 0), ReasonCorrupt, "file size"},
	} {
		_, rej := decode(c.data, k, now)
		if rej == nil || rej.Reason != c.reason || !strings.Contains(rej.Detail, c.detail) {
			t.Errorf("%s: %+v, want %s containing %q", name, rej, c.reason, c.detail)
		}
	}
}

func FuzzDecode(f *testing.F) {
	k := testKey(f)
	dir := f.TempDir()
	s := Open(dir, Options{Key: k})
	if _, err := s.Record(Meta{Kind: KindText, ContentType: "t", GeneratedAt: time.Now()}, []byte("# HELP x y\nx 1\n")); err != nil {
		f.Fatal(err)
	}
	valid, _ := os.ReadFile(filepath.Join(dir, slotName(KindText, 0)))
	f.Add(valid)
	f.Add([]byte(magicV1 + "{}\n"))
	f.Add(encode(nil, k, 7, []byte(`{"kind":"text","content_type":"t","generated_at":"2026-01-01T00:00:00Z","size":1,"sha256":"x"}`), []byte("a")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, rej := decode(data, k, time.Now())
		if (snap == nil) == (rej == nil) {
			t.Fatalf("snap %v with rejection %v", snap, rej)
		}
		if snap != nil && len(snap.Body) != snap.Size {
			t.Fatal("accepted a snapshot whose size does not match")
		}
	})
}

// TestTornInPlaceWriteNeverServed simulates a crash in the middle of
// overwriting the older slot: only part of the new file's bytes reach the
// disk, the rest is the older payload. Load must refuse the torn slot, serve
// the other one, and the next Record must write over the torn slot. A tear
// at a page boundary (what a crash leaves) is corrupt, never mistaken for a
// forgery; one inside the first 64 bytes, which no disk tears, fails the
// HMAC.
func TestTornInPlaceWriteNeverServed(t *testing.T) {
	t0 := time.Now().UTC()
	for name, c := range map[string]struct {
		torn   func(old, new []byte) []byte
		reason string
	}{
		"first page new, rest old": {func(old, new []byte) []byte { return append(new[:padTo:padTo], old[padTo:]...) }, ReasonCorrupt},
		"first page old, rest new": {func(old, new []byte) []byte { return append(old[:padTo:padTo], new[padTo:]...) }, ReasonCorrupt},
		"header only":              {func(old, new []byte) []byte { return append(new[:headerLen:headerLen], old[headerLen:]...) }, ReasonUnauthenticated},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openKeyed(t, dir)
			body := strings.Repeat("older payload line\n", 400) // longer than one padding block
			record(t, s, KindText, body, t0)
			record(t, s, KindText, "newer payload\n", t0.Add(time.Second))
			older := filepath.Join(dir, slotName(KindText, 0))
			old, err := os.ReadFile(older)
			if err != nil {
				t.Fatal(err)
			}
			newest := strings.Repeat("newest payload line\n", 400)
			meta := `{"kind":"text","content_type":"t","generated_at":"` + t0.Add(2*time.Second).Format(time.RFC3339Nano) + `","size":` + itoa(len(newest)) + `,"sha256":"` + sha256Hex(newest) + `"}`
			next := encode(nil, s.key, 3, []byte(meta), []byte(newest))
			f, err := os.OpenFile(older, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(c.torn(old, next), 0); err != nil {
				t.Fatal(err)
			}
			f.Close()

			snap, rejected, err := openKeyed(t, dir).Load(KindText)
			if err != nil || string(snap.Body) != "newer payload\n" {
				t.Fatalf("Load after a torn write: %v; want the complete newer slot", err)
			}
			if got := reasons(rejected); len(got) != 1 || got[slotName(KindText, 0)] != c.reason {
				t.Fatalf("rejected = %v, want the torn slot as %s", rejected, c.reason)
			}
			s2 := openKeyed(t, dir)
			record(t, s2, KindText, "after restart\n", t0.Add(3*time.Second))
			snap, rejected, _ = s2.Load(KindText)
			if string(snap.Body) != "after restart\n" || len(rejected) != 0 {
				t.Fatalf("the next Record did not replace the torn slot: %q %v", snap.Body, rejected)
			}
		})
	}
}

// TestRecordShrinkingPayload checks that a payload smaller than the one it
// overwrites leaves no stale bytes that would fail verification.
func TestRecordShrinkingPayload(t *testing.T) {
	dir := t.TempDir()
	s := openKeyed(t, dir)
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
	if snap, rejected, err := s.Load(KindText); err != nil || len(rejected) != 0 || string(snap.Body) != "c\n" {
		t.Fatalf("Load: %v %v %q", err, rejected, snap.Body)
	}
}

// TestUnsafeSlotEntriesNeverFollowed plants, in a slot, what a neighbour
// with write access to the cache directory could: a symlink to another file
// of the gate's user, a named pipe, a directory, a hard link, a file of
// another user. Opening the store never blocks on them, Load refuses each
// (unsafe_file) and serves the authentic slot, and the next Record never
// writes through one: it sets the entry aside and writes a fresh slot.
func TestUnsafeSlotEntriesNeverFollowed(t *testing.T) {
	victimDir := t.TempDir()
	victim := filepath.Join(victimDir, "audit.jsonl")
	const victimContent = "the gate's other file\n"
	plants := map[string]func(t *testing.T, path string){
		"symlink": func(t *testing.T, path string) { must(t, os.Symlink(victim, path)) },
		"fifo":    func(t *testing.T, path string) { must(t, syscall.Mkfifo(path, 0o640)) },
		"dir":     func(t *testing.T, path string) { must(t, os.Mkdir(path, 0o750)) },
		"hardlink": func(t *testing.T, path string) {
			if err := os.Link(victim, path); err != nil {
				t.Skipf("no hard links here: %v", err)
			}
		},
		"other user": func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to make a file of another user")
			}
			must(t, os.WriteFile(path, []byte("planted\n"), 0o666))
			must(t, os.Chown(path, 65534, 65534))
		},
	}
	for name, plant := range plants {
		t.Run(name, func(t *testing.T) {
			must(t, os.WriteFile(victim, []byte(victimContent), 0o640))
			dir := t.TempDir()
			s := openKeyed(t, dir)
			t0 := time.Now().UTC()
			record(t, s, KindText, "authentic\n", t0) // slot a
			slotB := filepath.Join(dir, slotName(KindText, 1))
			plant(t, slotB)

			opened := make(chan *Store, 1)
			var atOpen []*RejectError
			go func() {
				opened <- Open(dir, Options{Key: testKey(t), OnReject: func(r *RejectError) { atOpen = append(atOpen, r) }})
			}()
			var s2 *Store
			select {
			case s2 = <-opened:
			case <-time.After(30 * time.Second):
				t.Fatal("Open blocked on the planted entry")
			}
			if got := reasons(atOpen)[slotName(KindText, 1)]; got != ReasonUnsafeFile {
				t.Fatalf("reported at open: %v", atOpen)
			}
			snap, rejected, err := s2.Load(KindText)
			if err != nil || string(snap.Body) != "authentic\n" || reasons(rejected)[slotName(KindText, 1)] != ReasonUnsafeFile {
				t.Fatalf("Load: %v %v %v", snap, rejected, err)
			}

			var setAside []*RejectError
			s3 := Open(dir, Options{Key: testKey(t), OnReject: func(r *RejectError) { setAside = append(setAside, r) }})
			setAside = nil
			record(t, s3, KindText, "next\n", t0.Add(time.Second)) // writes slot b
			if b, _ := os.ReadFile(victim); string(b) != victimContent {
				t.Fatalf("the write went through the planted entry: the victim holds %q", b)
			}
			if len(setAside) != 1 || setAside[0].Reason != ReasonUnsafeFile || !strings.Contains(setAside[0].Detail, "set aside as") {
				t.Fatalf("set aside: %v", setAside)
			}
			if aside, _ := filepath.Glob(slotB + ".unsafe-*"); len(aside) != 1 {
				t.Fatalf("the planted entry was not kept aside: %v", aside)
			}
			if snap, rejected, err := s3.Load(KindText); err != nil || string(snap.Body) != "next\n" || len(rejected) != 0 {
				t.Fatalf("after the write: %v %v %v", snap, rejected, err)
			}
		})
	}
}

// TestUnwritableSlotIsNotSetAside: a slot of the gate's own that it may not
// write (a read-only cache, as the io-glitch GameDay makes) fails the
// write as it is, and nothing is reported or moved.
func TestUnwritableSlotIsNotSetAside(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes a read-only file regardless of its mode")
	}
	dir := t.TempDir()
	var rejected []*RejectError
	s := Open(dir, Options{Key: testKey(t), OnReject: func(r *RejectError) { rejected = append(rejected, r) }})
	record(t, s, KindText, "a\n", time.Now())
	record(t, s, KindText, "b\n", time.Now())
	for i := range 2 {
		must(t, os.Chmod(filepath.Join(dir, slotName(KindText, i)), 0o444))
	}
	if _, err := s.Record(Meta{Kind: KindText, ContentType: "t", GeneratedAt: time.Now()}, []byte("c\n")); err == nil {
		t.Fatal("Record into a read-only slot succeeded")
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, "*.unsafe-*")); len(rejected) != 0 || len(aside) != 0 {
		t.Fatalf("a read-only slot was treated as planted: %v %v", rejected, aside)
	}
}

func TestStateFiles(t *testing.T) {
	dir := t.TempDir()
	s := openKeyed(t, dir)
	if _, err := s.LoadState("e2e.json"); !errors.Is(err, ErrNone) {
		t.Fatalf("no state yet: %v", err)
	}
	must(t, s.SaveState("e2e.json", []byte(`{"last_pass":"2026-01-01T00:00:00Z"}`)))
	if b, err := openKeyed(t, dir).LoadState("e2e.json"); err != nil || string(b) != `{"last_pass":"2026-01-01T00:00:00Z"}` {
		t.Fatalf("reopened with the key: %q %v", b, err)
	}
	path := filepath.Join(dir, "e2e.json")
	for name, c := range map[string]struct {
		plant  func()
		reason string
	}{
		"plain json": {func() { must(t, os.WriteFile(path, []byte(`{"last_pass":"2099-01-01T00:00:00Z"}`), 0o640)) }, ReasonUnauthenticated},
		"edited": {func() {
			b, _ := os.ReadFile(path)
			must(t, os.WriteFile(path, []byte(strings.Replace(string(b), "2026", "2099", 1)), 0o640))
		}, ReasonUnauthenticated},
		"fifo": {func() { os.Remove(path); must(t, syscall.Mkfifo(path, 0o640)) }, ReasonUnsafeFile},
	} {
		t.Run(name, func(t *testing.T) {
			must(t, s.SaveState("e2e.json", []byte(`{"last_pass":"2026-01-01T00:00:00Z"}`)))
			c.plant()
			if _, err := s.LoadState("e2e.json"); reasonOf(err) != c.reason {
				t.Fatalf("LoadState: %v, want %s", err, c.reason)
			}
		})
	}
	must(t, s.SaveState("e2e.json", []byte("x")))
	if _, err := Open(dir, Options{}).LoadState("e2e.json"); reasonOf(err) != ReasonOtherKey {
		t.Fatalf("another key: %v", err)
	}
}

func reasonOf(err error) string {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRecord measures recording one payload of a typical size (the
// gate's own text payload is a few tens of KiB) in the default temporary
// directory, overwriting the slots in place.
func BenchmarkRecord(b *testing.B) {
	s := openKeyed(b, b.TempDir())
	body := []byte(strings.Repeat("quannex_metrics_requests_total{source=\"live\",code=\"200\"} 12345\n", 600))
	m := Meta{Kind: KindText, ContentType: "text/plain; version=0.0.4", GeneratedAt: time.Now()}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := s.Record(m, body); err != nil {
			b.Fatal(err)
		}
	}
}
