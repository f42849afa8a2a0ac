package gate_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/metrics"
)

func TestLivePayloadSignedAndLintClean(t *testing.T) {
	g := startGate(t, nil)
	r := g.metrics(t)
	if r.code != 200 || r.header.Get(gate.HeaderSource) != "live" {
		t.Fatalf("GET /metrics: %d source %q", r.code, r.header.Get(gate.HeaderSource))
	}
	if err := integrity.VerifyLiveSHA(r.body); err != nil {
		t.Fatalf("LIVESHA: %v", err)
	}
	if err := integrity.VerifyReprDigest(r.header.Get("Repr-Digest"), r.body); err != nil {
		t.Fatalf("Repr-Digest: %v", err)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	mfs, err := integrity.Parse(r.body, r.header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("expfmt cannot parse the live payload: %v", err)
	}
	problems, err := promlint.New(bytes.NewReader(r.body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "quannex_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	for _, name := range []string{metrics.Requests, metrics.RequestDuration, metrics.Fallbacks, metrics.BreakerState,
		metrics.BreakerTransitions, metrics.SnapshotAge, metrics.LiveLastSuccess, metrics.E2ELastPass,
		metrics.AuthFailures, metrics.RateLimited, metrics.AuditEntries, metrics.AuditHeadSequence,
		metrics.BuildInfo, metrics.GoGoroutines, metrics.ProcessResidentBytes} {
		if byName[name] == nil && !strings.HasSuffix(name, "_total") && name != metrics.RequestDuration {
			t.Errorf("metric %s missing from the live payload", name)
		}
	}
	bi := byName[metrics.BuildInfo]
	if bi == nil || len(bi.Metric[0].Label) != 3 {
		t.Fatalf("build info: %v", bi)
	}
	// The histogram has the 0.2 s SLO boundary (it appears once a request was timed).
	r = g.metrics(t)
	if !bytes.Contains(r.body, []byte(metrics.RequestDuration+`_bucket{source="live",le="0.2"}`)) {
		t.Error("request duration histogram has no 0.2 s bucket")
	}
	// Rate-limit headers on every authenticated response.
	for _, h := range []string{"RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if r.header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
}

func TestOpenMetricsHasNoLiveSHA(t *testing.T) {
	g := startGate(t, nil)
	r := g.do(t, "GET", "/metrics", gamedayToken, "", "Accept", "application/openmetrics-text; version=1.0.0")
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/openmetrics-text; version=1.0.0") {
		t.Fatalf("%d %q", r.code, r.header.Get("Content-Type"))
	}
	if integrity.HasLiveSHA(r.body) || bytes.Contains(r.body, []byte("LIVESHA")) {
		t.Fatal("OpenMetrics payload carries a LIVESHA line")
	}
	if !bytes.HasSuffix(r.body, []byte("# EOF\n")) {
		t.Fatal("OpenMetrics payload does not end with # EOF")
	}
	if err := integrity.VerifyReprDigest(r.header.Get("Repr-Digest"), r.body); err != nil {
		t.Fatal(err)
	}
	if _, err := integrity.Parse(r.body, r.header.Get("Content-Type")); err != nil {
		t.Fatalf("expfmt cannot parse OpenMetrics: %v", err)
	}
}

func TestBreakerOpensAfterThreeFailuresAndRecoversByItself(t *testing.T) {
	g := startGate(t, nil)
	g.metrics(t) // fresh snapshot
	// TTL shorter than the 300ms cooldown: the first trial finds it gone.
	r := g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"200ms"}`)
	if r.code != 201 {
		t.Fatalf("inject: %d %s", r.code, r)
	}
	reasons := []string{}
	for i := range 5 {
		r := g.metrics(t)
		if r.code != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.code, r)
		}
		if r.header.Get(gate.HeaderSource) != "snapshot" || r.header.Get("Warning") != gate.WarningStale || r.header.Get("Age") == "" {
			t.Fatalf("request %d: headers %v", i+1, r.header)
		}
		if err := integrity.VerifyLiveSHA(r.body); err != nil {
			t.Fatalf("snapshot body LIVESHA: %v", err)
		}
		if err := integrity.VerifyReprDigest(r.header.Get("Repr-Digest"), r.body); err != nil {
			t.Fatalf("snapshot Repr-Digest: %v", err)
		}
		reasons = append(reasons, r.header.Get(gate.HeaderFallback))
	}
	want := []string{"error", "error", "error", "breaker_open", "breaker_open"}
	if strings.Join(reasons, ",") != strings.Join(want, ",") {
		t.Fatalf("fallback reasons %v, want %v (open after exactly 3 failures)", reasons, want)
	}
	var st gate.Selftest
	json.Unmarshal(g.do(t, "GET", "/metrics/selftest", gamedayToken, "").body, &st)
	if st.Breaker.State != "open" || st.Status != gate.StatusDegraded {
		t.Fatalf("selftest during fault: breaker %s status %s", st.Breaker.State, st.Status)
	}
	// The fault expires by its TTL; after the cooldown a trial succeeds.
	waitUntil(t, "live again", 5*time.Second, func() bool {
		return g.metrics(t).header.Get(gate.HeaderSource) == "live"
	})
	json.Unmarshal(g.do(t, "GET", "/metrics/selftest", gamedayToken, "").body, &st)
	if st.Breaker.State != "closed" || st.Status != gate.StatusOK {
		t.Fatalf("selftest after recovery: %+v", st.Checks)
	}
	body := g.metrics(t).body
	for _, want := range []string{`quannex_circuit_breaker_transitions_total{to="open"} 1`, `quannex_circuit_breaker_transitions_total{to="closed"} 1`,
		`quannex_metrics_fallbacks_total{reason="error"} 3`, `quannex_metrics_fallbacks_total{reason="breaker_open"}`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("payload lacks %s", want)
		}
	}
}

func TestGenerationTimeoutFallsBack(t *testing.T) {
	g := startGate(t, func(o *gate.Options) { o.GenerationTimeout = 50 * time.Millisecond })
	// The injected latency (3 s) is far beyond the timeout (50 ms), so a
	// request that waited for the generation and one that gave up on it
	// are told apart by seconds: the 1.5 s bound leaves the timed-out
	// request over 1.4 s for scheduling pauses under -race and is still
	// half the latency a request that waited would show.
	if r := g.do(t, "POST", "/admin/faults/latency", adminToken, `{"min":"3s","max":"3s","seed":7,"ttl":"1m"}`); r.code != 201 {
		t.Fatalf("inject latency: %d %s", r.code, r)
	}
	start := time.Now()
	r := g.metrics(t)
	el := time.Since(start)
	if r.code != 200 || r.header.Get(gate.HeaderFallback) != "timeout" {
		t.Fatalf("%d reason %q after %v", r.code, r.header.Get(gate.HeaderFallback), el)
	}
	if el > 1500*time.Millisecond {
		t.Errorf("timed-out request took %v; the timeout is 50ms and the injected latency 3s", el)
	}
}

func TestLatencyFaultSlowsLive(t *testing.T) {
	g := startGate(t, nil)
	r := g.do(t, "POST", "/admin/faults/latency", adminToken, `{"min":"100ms","max":"120ms","seed":7,"ttl":"10s"}`)
	if r.code != 201 {
		t.Fatalf("%d %s", r.code, r)
	}
	start := time.Now()
	r = g.metrics(t)
	if el := time.Since(start); r.header.Get(gate.HeaderSource) != "live" || el < 100*time.Millisecond {
		t.Fatalf("source %q after %v", r.header.Get(gate.HeaderSource), el)
	}
	if !bytes.Contains(r.body, []byte(`quannex_fault_active{kind="latency"} 1`)) {
		t.Error("fault gauge not set")
	}
}

func TestCorruptSnapshotNeverServed(t *testing.T) {
	g := startGate(t, nil)
	g.metrics(t)
	g.metrics(t) // both text slots hold a verified payload
	g.do(t, "GET", "/metrics", gamedayToken, "", "Accept", "application/openmetrics-text; version=1.0.0")
	files, _ := filepath.Glob(filepath.Join(g.opts.CacheDir, "metrics-*.snap"))
	if len(files) != 4 {
		t.Fatalf("snapshot files %v, want 2 slots x 2 kinds", files)
	}
	for _, f := range files { // flip one body byte in every snapshot
		data, _ := os.ReadFile(f)
		data[len(data)-10] ^= 0x20
		os.WriteFile(f, data, 0o640)
	}
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"10s"}`)
	r := g.metrics(t)
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("with only corrupt snapshots: %d Retry-After %q; want 503 with Retry-After", r.code, r.header.Get("Retry-After"))
	}
	if bytes.Contains(r.body, []byte("quannex_")) {
		t.Fatal("a corrupt snapshot's content was served")
	}
	if !strings.Contains(g.logs.String(), "snapshot failed verification") {
		t.Error("corrupt snapshot not logged")
	}
	g.stop()
	assertAuditEvent(t, g.audit, audit.EventSnapshotRejected)
}

func TestNoSnapshotOrTooOldIs503(t *testing.T) {
	g := startGate(t, func(o *gate.Options) { o.SnapshotMaxAge = 50 * time.Millisecond })
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"10s"}`)
	time.Sleep(100 * time.Millisecond)
	r := g.metrics(t)
	if r.code != 503 || r.header.Get("Retry-After") == "" || r.header.Get(gate.HeaderSource) != "none" {
		t.Fatalf("%d %v", r.code, r.header)
	}
	if rd := g.do(t, "GET", "/readyz", "", ""); rd.code != 503 {
		t.Fatalf("readyz with no usable snapshot and failing live: %d", rd.code)
	}
	var st gate.Selftest
	sr := g.do(t, "GET", "/metrics/selftest", gamedayToken, "")
	json.Unmarshal(sr.body, &st)
	// 2 failures so far: the breaker is still closed, so not yet failing.
	g.metrics(t)
	sr = g.do(t, "GET", "/metrics/selftest", gamedayToken, "")
	json.Unmarshal(sr.body, &st)
	if sr.code != 503 || st.Status != gate.StatusFailing {
		t.Fatalf("selftest %d %s", sr.code, st.Status)
	}
}

func TestReadyAndHealthy(t *testing.T) {
	g := startGate(t, nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := g.do(t, "GET", p, "", ""); r.code != 200 {
			t.Errorf("%s: %d %s", p, r.code, r)
		}
	}
}

// TestE2EPassPersistsAcrossRestart: with a cache key, the last e2e pass
// survives a restart; a gate started without one (a key of its own
// process) does not take the earlier process's word for it.
func TestE2EPassPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	withKey := func(o *gate.Options) { o.CacheKey = []byte("gate-test-cache-key-00000003") }
	g := startGateIn(t, dir, withKey)
	r := g.do(t, "POST", "/e2e/pass", adminToken, "")
	if r.code != 200 {
		t.Fatalf("%d %s", r.code, r)
	}
	if r := g.do(t, "POST", "/e2e/pass", gamedayToken, ""); r.code != 401 {
		t.Fatalf("e2e pass with a metrics token: %d", r.code)
	}
	var first struct {
		LastPass time.Time `json:"last_pass"`
	}
	json.Unmarshal(r.body, &first)
	g.stop()
	g2 := startGateIn(t, dir, withKey)
	body := g2.metrics(t).body
	want := metrics.E2ELastPass + " " + strconv.FormatFloat(float64(first.LastPass.UnixNano())/1e9, 'e', -1, 64)
	if !bytes.Contains(body, []byte(want)) {
		t.Fatalf("after restart the payload lacks %q", want)
	}
	g2.stop()
	g3 := startGateIn(t, dir, nil)
	if v := g3.value(t, metrics.E2ELastPass); v != 0 {
		t.Fatalf("without the key the earlier process's pass was taken: %v", v)
	}
}

func TestBreakerManualReset(t *testing.T) {
	g := startGate(t, func(o *gate.Options) { o.BreakerCooldown = time.Hour })
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"count":3,"ttl":"1m"}`)
	for range 3 {
		g.metrics(t)
	}
	if r := g.metrics(t); r.header.Get(gate.HeaderFallback) != "breaker_open" {
		t.Fatalf("breaker not open: %v", r.header)
	}
	r := g.do(t, "POST", "/admin/breaker/reset", adminToken, "")
	if r.code != 200 || !bytes.Contains(r.body, []byte(`"was": "open"`)) {
		t.Fatalf("reset: %d %s", r.code, r)
	}
	if r := g.metrics(t); r.header.Get(gate.HeaderSource) != "live" {
		t.Fatal("not live after a manual reset")
	}
	g.stop()
	assertAuditEvent(t, g.audit, audit.EventBreakerReset)
}

func TestCounterGoingBackwardsIsAudited(t *testing.T) {
	c := &backwardsCounter{desc: prometheus.NewDesc("embedder_jobs_total", "Jobs.", nil, nil), values: []float64{10, 11, 3}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	g := startGate(t, func(o *gate.Options) { o.Registry = reg }) // warm-up took 10 (text) and 11 (openmetrics)
	g.metrics(t)                                                  // 3: backwards
	if !bytes.Contains(g.metrics(t).body, []byte(metrics.CounterRegressions+" 1")) {
		t.Fatal("regression not counted")
	}
	g.stop()
	e := assertAuditEvent(t, g.audit, audit.EventCounterChange)
	if e.Fields["series"] != "embedder_jobs_total" || e.Fields["before"] != "11" || e.Fields["after"] != "3" {
		t.Fatalf("entry %+v", e.Fields)
	}
}

// backwardsCounter reports the next of its values at each collection.
type backwardsCounter struct {
	desc   *prometheus.Desc
	values []float64
	i      int
}

func (c *backwardsCounter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *backwardsCounter) Collect(ch chan<- prometheus.Metric) {
	v := c.values[min(c.i, len(c.values)-1)]
	c.i++
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, v)
}

func TestAuditChainAndHeadExposed(t *testing.T) {
	g := startGate(t, nil)
	g.do(t, "GET", "/metrics", "", "") // auth_event
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"count":3,"ttl":"1m"}`)
	for range 4 {
		g.metrics(t)
	}
	waitUntil(t, "live again", 5*time.Second, func() bool { return g.metrics(t).header.Get(gate.HeaderSource) == "live" })
	var st gate.Selftest
	last := uint64(0)
	waitUntil(t, "audit head stable", 5*time.Second, func() bool {
		json.Unmarshal(g.do(t, "GET", "/metrics/selftest", gamedayToken, "").body, &st)
		stable := st.Audit.Pending == 0 && st.Audit.Head.Seq == last
		last = st.Audit.Head.Seq
		time.Sleep(50 * time.Millisecond)
		return stable
	})
	body := g.metrics(t).body
	if !bytes.Contains(body, []byte(metrics.AuditHeadSequence+" "+strconv.FormatUint(st.Audit.Head.Seq, 10))) {
		t.Errorf("metric head differs from selftest head %d", st.Audit.Head.Seq)
	}
	head := st.Audit.Head
	g.stop()
	rep, err := audit.VerifyFile(g.audit, audit.VerifyOptions{ExpectHead: &head})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %+v", err, rep.Problem)
	}
	for _, ev := range []string{audit.EventGateStart, audit.EventAuth, audit.EventFaultInjected, audit.EventSnapshotFallback,
		audit.EventBreakerChange, audit.EventFaultCleared, audit.EventGateStop} {
		assertAuditEvent(t, g.audit, ev)
	}
	// Fallback is audited per episode, not per request.
	f, _ := os.Open(g.audit)
	defer f.Close()
	stats, _ := audit.ComputeStats(f, time.Time{}, time.Time{})
	if n := stats.ByEvent[audit.EventSnapshotFallback]; n != 2 { // start and end
		t.Errorf("%d snapshot_fallback entries for one episode, want 2", n)
	}
}

func TestHMACAuditKey(t *testing.T) {
	key := []byte("a-key-for-the-audit-chain")
	g := startGate(t, func(o *gate.Options) { o.AuditKey = key })
	var st gate.Selftest
	json.Unmarshal(g.do(t, "GET", "/metrics/selftest", gamedayToken, "").body, &st)
	if st.Audit.Alg != audit.AlgHMACSHA256 {
		t.Fatalf("alg %q", st.Audit.Alg)
	}
	g.stop()
	if rep, _ := audit.VerifyFile(g.audit, audit.VerifyOptions{Key: key}); !rep.OK() || rep.Entries < 2 {
		t.Fatalf("%+v", rep)
	}
}

// TestGracefulShutdownDrains: a /metrics request whose handler is running
// when shutdown begins is answered in full before the gate stops. The
// request is held inside the registry (stallCollector) until shutdown has
// provably begun (the listener refuses connections), and only then
// released: no sleep decides whether it was in flight.
func TestGracefulShutdownDrains(t *testing.T) {
	stall := newStallCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(stall)
	g := startGate(t, func(o *gate.Options) {
		o.Registry = reg
		// Neither may end the held request before the test releases it.
		o.GenerationTimeout = time.Minute
		o.ShutdownTimeout = time.Minute
	})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(stall.release) }) }
	t.Cleanup(release) // runs before the gate's stop: a failed test must not hold it

	stall.armed.Store(true)
	type result struct {
		code   int
		source string
		err    error
	}
	got := make(chan result, 1)
	go func() { // no t.Fatal off the test goroutine: errors come back on got
		code, h, err := g.get("/metrics", gamedayToken)
		got <- result{code, h.Get(gate.HeaderSource), err}
	}()
	select {
	case <-stall.entered: // the handler is running, held in its generation
	case r := <-got:
		t.Fatalf("the request ended before reaching the registry: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the registry")
	}

	stopped := make(chan struct{})
	go func() {
		g.stop()
		close(stopped)
	}()
	// Shutdown has begun once the listener is closed.
	waitUntil(t, "the listener to close", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", g.Addr().String(), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	// The request is held, so neither may end now. (The short look only
	// gives a shutdown that does not wait time to show itself; a correct
	// one cannot end here however slow the machine is.)
	select {
	case <-stopped:
		t.Fatal("the gate stopped while a request was still being handled")
	case r := <-got:
		t.Fatalf("the in-flight request ended before it was released: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}

	release()
	var r result
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the released request got no answer")
	}
	if r.err != nil || r.code != 200 || r.source != "live" {
		t.Fatalf("in-flight request during shutdown: %+v, want a live 200", r)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the gate did not stop after the request was answered")
	}
	assertAuditEvent(t, g.audit, audit.EventGateStop)
}

func assertAuditEvent(t *testing.T, path, event string) *audit.Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range bytes.Split(data, []byte("\n")) {
		if e, err := audit.ParseLine(ln); err == nil && e.Event == event {
			return e
		}
	}
	t.Fatalf("no %s entry in the audit log", event)
	return nil
}

// TestSelfMetricsStayCurrentDuringFallback: while /metrics serves a frozen
// snapshot, /metrics/self shows the open breaker.
func TestSelfMetricsStayCurrentDuringFallback(t *testing.T) {
	g := startGate(t, func(o *gate.Options) { o.BreakerCooldown = time.Hour })
	g.metrics(t)
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"1m"}`)
	for range 4 {
		g.metrics(t)
	}
	snap := g.metrics(t)
	if snap.header.Get(gate.HeaderSource) != "snapshot" || !bytes.Contains(snap.body, []byte(`quannex_circuit_breaker_state{state="open"} 0`)) {
		t.Fatalf("the snapshot should be frozen from before the breaker opened")
	}
	self := g.do(t, "GET", "/metrics/self", gamedayToken, "")
	if self.code != 200 || self.header.Get(gate.HeaderSource) != "self" {
		t.Fatalf("/metrics/self: %d %v", self.code, self.header)
	}
	if !bytes.Contains(self.body, []byte(`quannex_circuit_breaker_state{state="open"} 1`)) {
		t.Fatal("/metrics/self does not show the open breaker")
	}
	if err := integrity.VerifyReprDigest(self.header.Get("Repr-Digest"), self.body); err != nil {
		t.Fatal(err)
	}
}
