package gate_test

import (
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
)

// TestSlowAuditDiskDoesNotSlowMetrics: every audit fsync takes 2 s, twice
// the generation timeout, while audited admin calls keep the audit writer
// busy (failed authentications would not: they are audited in bounded
// form).
// /metrics reads the audit head and counters in its collectors and records
// audit entries on its path; none of it may wait for the disk, so live
// generation stays under its timeout and the breaker stays closed.
func TestSlowAuditDiskDoesNotSlowMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for 2-second fsyncs")
	}
	var syncs, inSync atomic.Int64
	g := startGate(t, func(o *gate.Options) {
		o.AuditSync = func(f *os.File) error {
			syncs.Add(1)
			inSync.Add(1)
			defer inSync.Add(-1)
			time.Sleep(2 * time.Second)
			return f.Sync()
		}
	})

	stop := make(chan struct{})
	busy := make(chan struct{})
	go func() { // audited admin calls until stop; exits then
		defer close(busy)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			req, _ := http.NewRequest("POST", g.url+"/admin/breaker/reset", nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()

	const n = 50
	lat := make([]time.Duration, 0, n)
	duringSync := 0
	for range n {
		if inSync.Load() > 0 {
			duringSync++
		}
		start := time.Now()
		r := g.metrics(t)
		lat = append(lat, time.Since(start))
		if r.code != 200 || r.header.Get(gate.HeaderSource) != "live" {
			t.Errorf("/metrics: %d from %q", r.code, r.header.Get(gate.HeaderSource))
		}
		time.Sleep(60 * time.Millisecond) // about two fsyncs' worth of requests
	}
	close(stop)
	<-busy

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[n/2], lat[(n*99+99)/100-1]
	var st gate.Selftest
	json.Unmarshal(g.do(t, "GET", "/metrics/selftest", adminToken, "").body, &st)
	t.Logf("%d /metrics with 2 s audit fsyncs (%d syncs, %d requests began during one): p50 %s, p99 %s, max %s; breaker %s, audit pending %d, head %d",
		n, syncs.Load(), duringSync, p50, p99, lat[n-1], st.Breaker.State, st.Audit.Pending, st.Audit.Head.Seq)
	if duringSync < n/2 {
		t.Fatalf("only %d of %d requests began during a slow fsync: the test did not test", duringSync, n)
	}
	if p99 >= gate.DefaultGenerationTimeout {
		t.Errorf("/metrics p99 %s, not under the generation timeout %s", p99, gate.DefaultGenerationTimeout)
	}
	if st.Breaker.State != "closed" || st.Breaker.ConsecutiveFailures != 0 {
		t.Errorf("breaker %s with %d consecutive failures", st.Breaker.State, st.Breaker.ConsecutiveFailures)
	}
}
