package gate_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/snapshot"
)

// TestForgedSnapshotNeverServedOrSigned: a neighbour who can write the
// cache directory plants slot files in the unkeyed format, with digests
// that match and a sequence above the gate's, one of them dated an hour
// ahead. The gate, falling back, never serves (nor signs) them: it serves
// its own authentic slot while there is one, a 503 when only forged ones
// are left, never a negative Age; and it reports each in the log, the
// audit log, quannex_snapshot_rejected_total and /readyz.
func TestForgedSnapshotNeverServedOrSigned(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g := startGate(t, func(o *gate.Options) { o.SigningKey = priv })
	g.metrics(t)
	g.metrics(t) // both text slots hold an authentic payload
	if r := g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"1m"}`); r.code != 201 {
		t.Fatalf("inject: %d %s", r.code, r)
	}
	forgeSlot(t, g.opts.CacheDir, "metrics-text.b.snap", "text", forgedPayload, time.Now().Add(time.Hour))

	r := g.metrics(t)
	if bytes.Contains(r.body, []byte("forged_metric")) {
		t.Fatalf("the forged snapshot was served (Age %q, signed: %v)", r.header.Get("Age"), r.header.Get("Signature") != "")
	}
	if r.code != 200 || r.header.Get(gate.HeaderSource) != "snapshot" {
		t.Fatalf("with one authentic slot left: %d %v", r.code, r.header)
	}
	if age, err := strconv.Atoi(r.header.Get("Age")); err != nil || age < 0 {
		t.Fatalf("Age %q", r.header.Get("Age"))
	}
	verifySigned(t, "snapshot", r, pub)

	// Every slot forged: nothing authentic is left, so 503, unsigned data
	// never goes out as a snapshot.
	for _, f := range []string{"metrics-text.a.snap", "metrics-openmetrics.a.snap", "metrics-openmetrics.b.snap"} {
		forgeSlot(t, g.opts.CacheDir, f, "text", forgedPayload, time.Now().Add(time.Hour))
	}
	r = g.metrics(t)
	if bytes.Contains(r.body, []byte("forged_metric")) || r.code != 503 {
		t.Fatalf("with only forged slots: %d, Age %q, %s", r.code, r.header.Get("Age"), r.body)
	}
	var ready map[string]any
	rd := g.do(t, "GET", "/readyz", "", "")
	if err := json.Unmarshal(rd.body, &ready); err != nil {
		t.Fatal(err)
	}
	if rej, _ := ready["snapshot_files_rejected"].(map[string]any); rej["unauthenticated"] != 4.0 || rd.code != 503 {
		t.Fatalf("/readyz: %d %s; want 503 naming 4 unauthenticated files", rd.code, rd.body)
	}
	if n := g.value(t, metrics.SnapshotRejected, "reason", snapshot.ReasonUnauthenticated); n != 4 {
		t.Fatalf("%s{reason=unauthenticated} = %v, want 4 (once per file)", metrics.SnapshotRejected, n)
	}
	if !strings.Contains(g.logs.String(), `"reason":"unauthenticated"`) {
		t.Error("no log line names the unauthenticated files")
	}
	g.stop()
	e := assertAuditEvent(t, g.audit, audit.EventSnapshotRejected)
	if e.Fields["reason"] != snapshot.ReasonUnauthenticated {
		t.Errorf("audit entry %v", e.Fields)
	}
}

// TestFutureSnapshotRefused: an authentic snapshot (written with the
// gate's cache key) dated beyond the clock skew allowance is refused and
// reported; the present one is served, with an Age of zero or more.
func TestFutureSnapshotRefused(t *testing.T) {
	key := []byte("gate-test-cache-key-00000001")
	g := startGate(t, func(o *gate.Options) { o.CacheKey = key })
	g.metrics(t)
	g.metrics(t)
	k, _ := snapshot.NewKey(key)
	ahead := snapshot.Open(g.opts.CacheDir, snapshot.Options{Key: k})
	if _, err := ahead.Record(snapshot.Meta{Kind: snapshot.KindText, ContentType: "text/plain; version=0.0.4",
		GeneratedAt: time.Now().Add(time.Hour)}, forgedPayload); err != nil {
		t.Fatal(err)
	}
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"1m"}`)
	r := g.metrics(t)
	age, err := strconv.Atoi(r.header.Get("Age"))
	if r.code != 200 || bytes.Contains(r.body, []byte("forged_metric")) || err != nil || age < 0 {
		t.Fatalf("%d, Age %q: want the present snapshot, Age >= 0", r.code, r.header.Get("Age"))
	}
	if n := g.value(t, metrics.SnapshotRejected, "reason", snapshot.ReasonFuture); n != 1 {
		t.Fatalf("%s{reason=future} = %v", metrics.SnapshotRejected, n)
	}
}

// brokenCollector fails every Gather: live generation fails from the start.
type brokenCollector struct{ desc *prometheus.Desc }

func newBrokenCollector() *brokenCollector {
	return &brokenCollector{prometheus.NewDesc("embedder_broken", "Always fails.", nil, nil)}
}
func (c *brokenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *brokenCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(c.desc, errors.New("collector broken"))
}

// TestSnapshotsSurviveRestartOnlyWithTheKey: a gate restarted with the same
// GATE_CACHE_KEY while live generation fails serves what the previous
// process recorded; one restarted without a key (an ephemeral key per
// process) serves nothing recorded before its start: a 503, not ready.
func TestSnapshotsSurviveRestartOnlyWithTheKey(t *testing.T) {
	key := []byte("gate-test-cache-key-00000002")
	dir := t.TempDir()
	first := startGateIn(t, dir, func(o *gate.Options) { o.CacheKey = key })
	recorded := first.metrics(t).body
	first.stop()

	broken := func(o *gate.Options) {
		o.Registry = prometheus.NewRegistry()
		o.Registry.MustRegister(newBrokenCollector())
	}
	keyed := startGateIn(t, dir, func(o *gate.Options) { broken(o); o.CacheKey = key })
	r := keyed.metrics(t)
	if r.code != 200 || r.header.Get(gate.HeaderSource) != "snapshot" || !bytes.Equal(r.body, recorded) {
		t.Fatalf("restarted with the key: %d %s; want the payload recorded before the restart", r.code, r.header.Get(gate.HeaderSource))
	}
	if rd := keyed.do(t, "GET", "/readyz", "", ""); rd.code != 200 {
		t.Fatalf("readyz with the key: %d %s", rd.code, rd.body)
	}
	keyed.stop()

	unkeyed := startGateIn(t, dir, broken)
	if r := unkeyed.metrics(t); r.code != 503 {
		t.Fatalf("restarted without a key: %d %s; want 503", r.code, r.header.Get(gate.HeaderSource))
	}
	rd := unkeyed.do(t, "GET", "/readyz", "", "")
	if rd.code != 503 || !strings.Contains(string(rd.body), `"other_key"`) {
		t.Fatalf("readyz without the key: %d %s", rd.code, rd.body)
	}
}

// TestPlantedCacheEntriesNeitherFollowedNorBlockedOn: the cache directory
// holds, where the gate's files go, a symlink to another file of the
// gate's user, named pipes, and a pipe as the e2e state. The gate starts
// (never blocking on a pipe), serves live, never writes through the
// symlink, sets each planted entry aside and reports it.
func TestPlantedCacheEntriesNeitherFollowedNorBlockedOn(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	if err := os.MkdirAll(cache, 0o750); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "victim")
	const victimContent = "another file of the gate's user\n"
	if err := os.WriteFile(victim, []byte(victimContent), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(cache, "metrics-text.a.snap")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"metrics-text.b.snap", "metrics-openmetrics.a.snap", "e2e-last-pass.json"} {
		if err := syscall.Mkfifo(filepath.Join(cache, f), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	opts, logs := gateOptions(t, dir, nil)
	type result struct {
		srv *gate.Server
		err error
	}
	started := make(chan result, 1)
	go func() { srv, err := gate.New(opts); started <- result{srv, err} }()
	var res result
	select {
	case res = <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("gate.New blocked on the cache directory's contents")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	g := serveGate(t, res.srv, opts, logs, dir)
	for range 3 {
		if r := g.metrics(t); r.code != 200 || r.header.Get(gate.HeaderSource) != "live" {
			t.Fatalf("/metrics: %d %s", r.code, r.header.Get(gate.HeaderSource))
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != victimContent {
		t.Fatalf("the gate wrote through the symlink: the victim holds %.60q", b)
	}
	aside, _ := filepath.Glob(filepath.Join(cache, "*.unsafe-*"))
	if len(aside) < 2 {
		t.Fatalf("planted slots set aside: %v", aside)
	}
	if n := g.value(t, metrics.SnapshotRejected, "reason", snapshot.ReasonUnsafeFile); n < 4 {
		t.Fatalf("%s{reason=unsafe_file} = %v, want every planted entry", metrics.SnapshotRejected, n)
	}
	if r := g.do(t, "POST", "/e2e/pass", adminToken, ""); r.code != 200 {
		t.Fatalf("e2e pass over a planted pipe: %d %s", r.code, r)
	}
}

// TestPlantedE2EPassNotBelieved: an e2e state file written without the
// cache key (a neighbour hiding a broken pipeline from E2EStale) is not
// believed at start, and is reported.
func TestPlantedE2EPassNotBelieved(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	os.MkdirAll(cache, 0o750)
	planted, _ := json.Marshal(map[string]time.Time{"last_pass": time.Now().Add(-time.Minute).UTC()})
	if err := os.WriteFile(filepath.Join(cache, "e2e-last-pass.json"), planted, 0o640); err != nil {
		t.Fatal(err)
	}
	g := startGateIn(t, dir, nil)
	if v := g.value(t, metrics.E2ELastPass); v != 0 {
		t.Fatalf("%s = %v: the planted pass was believed", metrics.E2ELastPass, v)
	}
	if n := g.value(t, metrics.SnapshotRejected, "reason", snapshot.ReasonUnauthenticated); n != 1 {
		t.Fatalf("planted e2e state not reported: %v", n)
	}
}
