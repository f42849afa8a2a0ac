package audit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeLog appends n entries through a real Log and returns the path.
func writeLog(t *testing.T, n int, key []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit", "audit.jsonl")
	l := Open(path, Options{Key: key})
	for i := range n {
		if _, err := l.Append(context.Background(), EventAuth, map[string]string{"i": strconv.Itoa(i + 1)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return path
}

func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func join(ls [][]byte) []byte {
	var out []byte
	for _, l := range ls {
		out = append(out, bytes.TrimSuffix(l, []byte("\n"))...)
		out = append(out, '\n')
	}
	return out
}

func TestAppendVerify(t *testing.T) {
	path := writeLog(t, 5, nil)
	rep, err := VerifyFile(path, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Entries != 5 || rep.Head.Seq != 5 || rep.Alg != AlgSHA256 || rep.TornTail != nil {
		t.Fatalf("report %+v", rep)
	}
	// Reopening continues the chain.
	l := Open(path, Options{})
	e, err := l.Append(context.Background(), EventGateStart, nil)
	if err != nil || e.Seq != 6 || e.Prev != rep.Head.Hash {
		t.Fatalf("after reopen: %+v %v", e, err)
	}
	l.Close(context.Background())
	if rep, _ := VerifyFile(path, VerifyOptions{ExpectHead: &Head{Seq: 6, Hash: e.Hash}}); !rep.OK() {
		t.Fatalf("after reopen: %+v", rep.Problem)
	}
}

func TestTamperingDetected(t *testing.T) {
	path := writeLog(t, 6, nil)
	orig := lines(t, path)
	head := Verify(join(orig), VerifyOptions{}).Head

	edit := func(i int, from, to string) [][]byte {
		out := append([][]byte(nil), orig...)
		out[i] = bytes.Replace(out[i], []byte(from), []byte(to), 1)
		return out
	}
	// An edit whose hash was recomputed: only the chain reveals it.
	rehashed := func() [][]byte {
		out := append([][]byte(nil), orig...)
		e, _ := ParseLine(bytes.TrimSpace(out[2]))
		e.Fields["i"] = "999"
		e.Hash, _ = computeHash(e, nil)
		line, _ := marshalLine(e)
		out[2] = line
		return out
	}
	cases := []struct {
		name     string
		log      [][]byte
		expect   *Head
		wantLine int
		wantKind string
	}{
		{"edited field", edit(3, `"i":"4"`, `"i":"5"`), nil, 4, DamageEdited},
		{"edited event", edit(1, EventAuth, EventE2EPass), nil, 2, DamageEdited},
		{"edited and rehashed", rehashed(), nil, 3, DamageEdited},
		{"deleted", append(append([][]byte(nil), orig[:2]...), orig[3:]...), nil, 3, DamageDeleted},
		{"deleted first", orig[1:], nil, 1, DamageDeleted},
		{"inserted", append(append(append([][]byte(nil), orig[:3]...), orig[2]), orig[3:]...), nil, 3, DamageInserted},
		{"reordered", [][]byte{orig[0], orig[1], orig[3], orig[2], orig[4], orig[5]}, nil, 3, DamageReordered},
		{"truncated", orig[:4], &head, 5, DamageTruncated},
		{"garbage line", append(append(append([][]byte(nil), orig[:2]...), []byte("{not json}\n")), orig[2:]...), nil, 3, DamageCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := Verify(join(c.log), VerifyOptions{ExpectHead: c.expect})
			if rep.Problem == nil {
				t.Fatalf("not detected")
			}
			if rep.Problem.Line != c.wantLine || rep.Problem.Kind != c.wantKind {
				t.Fatalf("got line %d %s (%s), want line %d %s", rep.Problem.Line, rep.Problem.Kind, rep.Problem.Detail, c.wantLine, c.wantKind)
			}
		})
	}
	// Truncation without an expected head is, by design, not detectable.
	if rep := Verify(join(orig[:4]), VerifyOptions{}); !rep.OK() {
		t.Fatalf("a prefix without expected head: %+v", rep.Problem)
	}
}

func TestHMACChain(t *testing.T) {
	key := []byte("an-audit-key-of-some-length")
	path := writeLog(t, 3, key)
	if rep, _ := VerifyFile(path, VerifyOptions{Key: key}); !rep.OK() || rep.Alg != AlgHMACSHA256 {
		t.Fatalf("with key: %+v", rep)
	}
	rep, _ := VerifyFile(path, VerifyOptions{})
	if rep.Problem == nil || rep.Problem.Kind != DamageKeyRequired {
		t.Fatalf("without key: %+v", rep.Problem)
	}
	rep, _ = VerifyFile(path, VerifyOptions{Key: []byte("another-key-entirely-000")})
	if rep.Problem == nil || rep.Problem.Kind != DamageEdited || rep.Problem.Line != 1 {
		t.Fatalf("wrong key: %+v", rep.Problem)
	}
	// Someone without the key rewrites entry 2 as a plain SHA-256 entry.
	ls := lines(t, path)
	e, _ := ParseLine(bytes.TrimSpace(ls[1]))
	e.Alg, e.Fields["i"] = AlgSHA256, "forged"
	e.Hash, _ = computeHash(e, nil)
	ls[1], _ = marshalLine(e)
	rep = Verify(join(ls), VerifyOptions{Key: key})
	if rep.Problem == nil || rep.Problem.Line != 2 || rep.Problem.Kind != DamageUnsigned {
		t.Fatalf("forged entry: %+v", rep.Problem)
	}
}

func TestTornTailSetAside(t *testing.T) {
	path := writeLog(t, 3, nil)
	ls := lines(t, path)
	torn := append(join(ls), ls[2][:40]...) // half of a line, no newline
	os.WriteFile(path, torn, 0o640)

	rep, _ := VerifyFile(path, VerifyOptions{})
	if !rep.OK() || rep.TornTail == nil || rep.TornTail.Length != 40 || rep.Entries != 3 {
		t.Fatalf("torn tail must be reported, not as damage: %+v %+v", rep.Problem, rep.TornTail)
	}
	var (
		mu     sync.Mutex
		synced []string // files made durable, in order
	)
	l := Open(path, Options{Sync: func(f *os.File) error {
		mu.Lock()
		synced = append(synced, filepath.Base(f.Name()))
		mu.Unlock()
		return f.Sync()
	}})
	if st := l.Status(); st.TornTail == nil || st.Damage != nil {
		t.Fatalf("status %+v", st)
	}
	// The copy of the torn tail is synced (during Open, before the tail
	// is cut from the log): a crash in between loses neither.
	mu.Lock()
	first := append([]string(nil), synced...)
	mu.Unlock()
	if len(first) == 0 || !strings.HasPrefix(first[0], "audit.jsonl.torn-") {
		t.Fatalf("files synced at open: %v; want the torn tail's copy first", first)
	}
	l.Append(context.Background(), EventGateStart, nil)
	l.Close(context.Background())
	rep, _ = VerifyFile(path, VerifyOptions{})
	if !rep.OK() || rep.TornTail != nil || rep.Entries != 5 {
		t.Fatalf("after recovery: %+v torn %+v", rep.Problem, rep.TornTail)
	}
	// The torn bytes were kept, and an entry says where.
	ls = lines(t, path)
	e, _ := ParseLine(bytes.TrimSpace(ls[3]))
	if e.Event != EventTornTail || e.Fields["length"] != "40" {
		t.Fatalf("entry 4 = %+v, want the torn-tail record", e)
	}
	saved, err := os.ReadFile(filepath.Join(filepath.Dir(path), e.Fields["saved_to"]))
	if err != nil || !bytes.Equal(saved, torn[len(torn)-40:]) {
		t.Fatalf("torn bytes not kept: %q %v", saved, err)
	}
}

func TestDamagedLogIsRecordedAndChainContinues(t *testing.T) {
	path := writeLog(t, 3, nil)
	ls := lines(t, path)
	ls[1] = bytes.Replace(ls[1], []byte(`"i":"2"`), []byte(`"i":"X"`), 1)
	os.WriteFile(path, join(ls), 0o640)
	l := Open(path, Options{})
	if st := l.Status(); st.Damage == nil || st.Damage.Line != 2 {
		t.Fatalf("damage not reported at open: %+v", st.Damage)
	}
	e, err := l.Append(context.Background(), EventGateStart, nil)
	l.Close(context.Background())
	if err != nil || e.Seq != 5 { // 4 is the checkpoint
		t.Fatalf("append after damage: %+v %v", e, err)
	}
	ls = lines(t, path)
	e4, _ := ParseLine(bytes.TrimSpace(ls[3]))
	if e4.Event != EventCheckpoint || e4.Fields["kind"] != DamageEdited || e4.Fields["line"] != "2" {
		t.Fatalf("entry 4 = %+v", e4)
	}

	// Verification names the damaged stretch and verifies past it.
	rep, err := VerifyFile(path, VerifyOptions{ExpectHead: &Head{Seq: e.Seq, Hash: e.Hash}})
	if err != nil || rep.OK() || rep.Problem.Line != 2 || len(rep.Damage) != 1 {
		t.Fatalf("verify after checkpoint: %v %+v %+v", err, rep.Problem, rep.Damage)
	}
	d := rep.Damage[0]
	if d.Line != 2 || d.EndLine != 3 || d.After.Seq != 1 || d.ResumedAt == nil || d.ResumedAt.Seq != 4 || d.RecordedBy != 4 {
		t.Fatalf("damage %+v", d)
	}
	if rep.Head != (Head{Seq: e.Seq, Hash: e.Hash}) || rep.Entries != 3 { // 1, the checkpoint, 5
		t.Fatalf("head %v entries %d", rep.Head, rep.Entries)
	}

	// A restart knows the damage: no second checkpoint, no new damage.
	l = Open(path, Options{})
	st := l.Status()
	e6, err := l.Append(context.Background(), EventGateStart, nil)
	l.Close(context.Background())
	if st.Damage != nil || st.KnownDamage != 1 || err != nil || e6.Seq != 6 || e6.Prev != e.Hash {
		t.Fatalf("restart: damage %+v known %d, appended %+v %v", st.Damage, st.KnownDamage, e6, err)
	}
	if n := bytes.Count(join(lines(t, path)), []byte(EventCheckpoint)); n != 1 {
		t.Fatalf("%d checkpoints after a restart, want 1", n)
	}
}

// TestDamagedTailGetsACheckpoint: the last lines do not verify; the
// checkpoint takes a sequence number never used and the chain goes on.
func TestDamagedTailGetsACheckpoint(t *testing.T) {
	key := []byte("an-audit-key-of-some-length")
	path := writeLog(t, 4, key)
	ls := lines(t, path)
	ls = append(ls[:3], []byte("{\"not\": \"an entry\"}\n"), ls[3]) // garbage before the last entry
	os.WriteFile(path, join(ls), 0o640)
	for range 2 { // the second open finds the damage recorded
		l := Open(path, Options{Key: key})
		if _, err := l.Append(context.Background(), EventGateStart, nil); err != nil {
			t.Fatal(err)
		}
		l.Close(context.Background())
	}
	rep, _ := VerifyFile(path, VerifyOptions{Key: key})
	if len(rep.Damage) != 1 || rep.Problem.Kind != DamageCorrupt || rep.Problem.Line != 4 {
		t.Fatalf("damage %+v", rep.Damage)
	}
	d := rep.Damage[0]
	if d.EndLine != 5 || d.ResumedAt == nil || d.ResumedAt.Seq != 5 || d.RecordedBy != 5 || rep.Head.Seq != 7 || rep.Entries != 6 {
		t.Fatalf("damage %+v head %v entries %d", d, rep.Head, rep.Entries)
	}
	// Without the key a checkpoint cannot be forged: a plain SHA-256 one
	// does not resume the chain.
	ls = lines(t, path)
	cp, _ := ParseLine(bytes.TrimSpace(ls[5]))
	cp.Alg = AlgSHA256
	cp.Hash, _ = computeHash(cp, nil)
	ls[5], _ = marshalLine(cp)
	rep = Verify(join(ls), VerifyOptions{Key: key})
	if len(rep.Damage) != 1 || rep.Damage[0].ResumedAt != nil || rep.Damage[0].RecordedBy != 0 {
		t.Fatalf("a forged checkpoint resumed the chain: %+v", rep.Damage)
	}
}

func TestUnwritableThenWritable(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "audit")
	// A file where the directory should be: unwritable for root as well.
	os.WriteFile(dir, []byte("in the way"), 0o640)
	path := filepath.Join(dir, "audit.jsonl")
	l := Open(path, Options{RetryEvery: 10 * time.Millisecond, Buffer: 8})
	for i := range 5 {
		l.Record(EventAuth, map[string]string{"i": strconv.Itoa(i)})
	}
	waitFor(t, func() bool { return !l.Status().Writable })
	st := l.Status()
	if st.WriteFailures == 0 || st.LastError == "" {
		t.Fatalf("failure not shown: %+v", st)
	}
	for i := range 20 { // overflow the bounded buffer
		l.Record(EventRateLimit, map[string]string{"i": strconv.Itoa(i)})
	}
	if l.Status().Dropped == 0 {
		t.Fatal("overflow not counted")
	}
	dropped := l.Status().Dropped
	os.Remove(dir)
	os.MkdirAll(dir, 0o750)
	waitFor(t, func() bool { return l.Status().Writable && l.Status().Pending == 0 })
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, _ := VerifyFile(path, VerifyOptions{})
	if !rep.OK() {
		t.Fatal(rep.Problem)
	}
	// Every entry is either written or accounted for in an audit_gap entry.
	data, _ := os.ReadFile(path)
	st2, _ := ComputeStats(bytes.NewReader(data), time.Time{}, time.Time{})
	var gapTotal uint64
	for _, ln := range lines(t, path) {
		if e, _ := ParseLine(bytes.TrimSpace(ln)); e != nil && e.Event == EventGap {
			n, _ := strconv.ParseUint(e.Fields["dropped_total"], 10, 64)
			gapTotal += n
		}
	}
	written := uint64(st2.ByEvent[EventAuth] + st2.ByEvent[EventRateLimit])
	if gapTotal != dropped || written+gapTotal != 25 {
		t.Fatalf("written %d + gap %d (dropped %d) != 25 recorded", written, gapTotal, dropped)
	}
}

// TestOutageRecordedWhenWritableAgain: a disk that refused the log's
// writes (ENOSPC at fsync, three times) leaves an audit_unwritable entry
// in front of the entries that waited, saying since when and how often;
// the chain verifies, and the next batch carries none.
func TestOutageRecordedWhenWritableAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var calls atomic.Int32
	refuse := func(f *os.File) error {
		if calls.Add(1) <= 3 {
			return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.ENOSPC}
		}
		return f.Sync()
	}
	start := time.Now().UTC()
	l := Open(path, Options{RetryEvery: 10 * time.Millisecond, Sync: refuse})
	l.Record(EventE2EPass, map[string]string{"i": "held"})
	waitFor(t, func() bool { return l.Status().Writable && l.Status().Pending == 0 && calls.Load() > 3 })
	if _, err := l.Append(context.Background(), EventE2EPass, map[string]string{"i": "after"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep, _ := VerifyFile(path, VerifyOptions{}); !rep.OK() {
		t.Fatal(rep.Problem)
	}
	var events []string
	var outage *Entry
	for _, ln := range lines(t, path) {
		e, err := ParseLine(bytes.TrimSpace(ln))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e.Event)
		if e.Event == EventUnwritable {
			outage = e
		}
	}
	if want := []string{EventUnwritable, EventE2EPass, EventE2EPass}; !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	since, err := time.Parse(time.RFC3339Nano, outage.Fields["since"])
	if err != nil || since.Before(start) || since.After(outage.Time) {
		t.Errorf("since %q (%v): want between %v and the entry's time %v", outage.Fields["since"], err, start, outage.Time)
	}
	if outage.Fields["failures"] != "3" || !strings.Contains(outage.Fields["error"], "no space left on device") {
		t.Errorf("fields %v: want 3 failures and the ENOSPC", outage.Fields)
	}
}

func TestCloseReportsUnwritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	os.WriteFile(dir, nil, 0o640)
	l := Open(filepath.Join(dir, "a.jsonl"), Options{RetryEvery: 5 * time.Millisecond})
	l.Record(EventAuth, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := l.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 entries not written") {
		t.Fatalf("Close = %v", err)
	}
}

func TestStats(t *testing.T) {
	path := writeLog(t, 4, nil)
	f, _ := os.Open(path)
	defer f.Close()
	st, err := ComputeStats(f, time.Time{}, time.Time{})
	if err != nil || st.Entries != 4 || st.ByEvent[EventAuth] != 4 {
		t.Fatalf("stats %+v %v", st, err)
	}
	f.Seek(0, 0)
	st, _ = ComputeStats(f, time.Now().Add(time.Hour), time.Time{})
	if st.Entries != 0 {
		t.Fatalf("since in the future: %+v", st)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHelperAppender is not a test: TestKillDuringAppend runs the test
// binary with it selected to append under load until it is killed.
func TestHelperAppender(t *testing.T) {
	path := os.Getenv("AUDIT_HELPER_LOG")
	if path == "" {
		t.Skip("helper process for TestKillDuringAppend")
	}
	l := Open(path, Options{})
	out := bufio.NewWriter(os.Stdout)
	done := make(chan Entry, 64)
	for w := range 4 { // four concurrent appenders, as under load
		go func() {
			for i := 0; ; i++ {
				e, err := l.Append(context.Background(), EventAuth, map[string]string{"w": strconv.Itoa(w), "i": strconv.Itoa(i), "pad": strings.Repeat("x", 200)})
				if err == nil {
					done <- e
				}
			}
		}()
	}
	for e := range done {
		fmt.Fprintf(out, "ack %d %s\n", e.Seq, e.Hash)
		out.Flush()
	}
}

func TestKillDuringAppend(t *testing.T) {
	for round := range 5 {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$")
		cmd.Env = append(os.Environ(), "AUDIT_HELPER_LOG="+path)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[uint64]string{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var seq uint64
			var hash string
			if _, err := fmt.Sscanf(sc.Text(), "ack %d %s", &seq, &hash); err == nil {
				acked[seq] = hash
			}
			if len(acked) >= 300+round*137 {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		cmd.Wait()
		rep, err := VerifyFile(path, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("round %d: log after SIGKILL does not verify: %+v", round, rep.Problem)
		}
		ls := lines(t, path)
		for seq, hash := range acked {
			if seq > rep.Head.Seq {
				t.Fatalf("round %d: acknowledged entry %d lost (head %d)", round, seq, rep.Head.Seq)
			}
			e, _ := ParseLine(bytes.TrimSpace(ls[seq-1]))
			if e.Hash != hash {
				t.Fatalf("round %d: entry %d differs from what was acknowledged", round, seq)
			}
		}
		t.Logf("round %d: %d acknowledged, %d durable, torn tail %v", round, len(acked), rep.Entries, rep.TornTail != nil)
		// A restart repairs and continues.
		l := Open(path, Options{})
		if _, err := l.Append(context.Background(), EventGateStart, nil); err != nil {
			t.Fatal(err)
		}
		l.Close(context.Background())
		if rep, _ := VerifyFile(path, VerifyOptions{}); !rep.OK() || rep.TornTail != nil {
			t.Fatalf("round %d: after restart %+v %+v", round, rep.Problem, rep.TornTail)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	path := filepath.Join(f.TempDir(), "a.jsonl")
	l := Open(path, Options{})
	l.Append(context.Background(), EventAuth, map[string]string{"k": "v"})
	l.Close(context.Background())
	data, _ := os.ReadFile(path)
	f.Add(bytes.TrimSpace(data))
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLine(line)
		if (e == nil) == (err == nil) {
			t.Fatalf("entry %v with error %v", e, err)
		}
		if e != nil {
			if e.Seq == 0 || e.Event == "" || len(e.Hash) != 64 {
				t.Fatalf("accepted an incomplete entry %+v", e)
			}
			// A parsed entry verifies or not, but never panics.
			Verify(append(append([]byte(nil), line...), '\n'), VerifyOptions{})
		}
	})
}
