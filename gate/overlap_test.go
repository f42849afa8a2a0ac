package gate_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quannex/gameday/gate"
)

// stallCollector holds one gather, once armed, until released: a
// generation that is admitted and then takes as long as the test wants.
type stallCollector struct {
	desc    *prometheus.Desc
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newStallCollector() *stallCollector {
	return &stallCollector{
		desc:    prometheus.NewDesc("gate_test_stall", "A collector the test can hold.", nil, nil),
		entered: make(chan struct{}),
		release: make(chan struct{}),
	}
}

func (c *stallCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stallCollector) Collect(ch chan<- prometheus.Metric) {
	if c.armed.CompareAndSwap(true, false) {
		close(c.entered)
		<-c.release
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1)
}

func (g *testGate) selftest(t *testing.T) gate.Selftest {
	t.Helper()
	var st gate.Selftest
	if err := json.Unmarshal(g.do(t, "GET", "/metrics/selftest", gamedayToken, "").body, &st); err != nil {
		t.Fatalf("selftest: %v", err)
	}
	return st
}

// TestLateSuccessDoesNotCloseAnOpenBreaker: a text scrape's generation is
// admitted while the breaker is closed and then stalls; meanwhile three
// OpenMetrics scrapes fail and open the breaker. When the slow text
// generation succeeds, the breaker must stay open until its cooldown ends,
// and only the trial after the cooldown closes it.
func TestLateSuccessDoesNotCloseAnOpenBreaker(t *testing.T) {
	// The checks between the breaker opening and the end of its cooldown
	// are a handful of requests; 10 s leaves them ample room on a loaded
	// machine under -race (the test then waits out the rest of it).
	const cooldown = 10 * time.Second
	stall := newStallCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(stall)
	g := startGate(t, func(o *gate.Options) {
		o.Registry = reg
		o.GenerationTimeout = 20 * time.Second
		o.BreakerCooldown = cooldown
	})
	om := func() response {
		return g.do(t, "GET", "/metrics", gamedayToken, "", "Accept", "application/openmetrics-text; version=1.0.0")
	}

	stall.armed.Store(true)
	type result struct {
		code   int
		source string
		err    error
	}
	textDone := make(chan result, 1)
	go func() { // ends when the stalled text generation is released
		req, _ := http.NewRequest("GET", g.url+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+gamedayToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			textDone <- result{err: err}
			return
		}
		resp.Body.Close()
		textDone <- result{code: resp.StatusCode, source: resp.Header.Get(gate.HeaderSource)}
	}()
	select {
	case <-stall.entered:
	case <-time.After(10 * time.Second):
		close(stall.release)
		t.Fatal("the text generation never reached the registry")
	}

	if r := g.do(t, "POST", "/admin/faults/failure", adminToken, `{"count":3,"ttl":"30s"}`); r.code != 201 {
		close(stall.release)
		t.Fatalf("inject: %d %s", r.code, r)
	}
	for i := range 3 {
		if r := om(); r.header.Get(gate.HeaderFallback) != gate.ReasonError {
			close(stall.release)
			t.Fatalf("OpenMetrics scrape %d: %d reason %q, want a failed generation", i+1, r.code, r.header.Get(gate.HeaderFallback))
		}
	}
	st := g.selftest(t)
	if st.Breaker.State != "open" || st.Breaker.OpenedAt == nil {
		close(stall.release)
		t.Fatalf("after three failed OpenMetrics generations: breaker %+v, want open", st.Breaker)
	}
	openedAt := *st.Breaker.OpenedAt

	close(stall.release)
	text := <-textDone
	if text.err != nil || text.code != 200 || text.source != "live" {
		t.Fatalf("the stalled text scrape: %+v, want a live 200", text)
	}
	// Observe first, judge after: every observation below must have been
	// made before the cooldown ended, which is checked once the last one is
	// in, before any of them is held against the gate.
	st = g.selftest(t)
	afterStall := om()
	self := g.do(t, "GET", "/metrics/self", gamedayToken, "").body
	if el := time.Since(openedAt); el >= cooldown {
		t.Fatalf("the checks ended %s after the breaker opened, not within the %s cooldown: cannot judge", el, cooldown)
	}
	if st.Breaker.State != "open" || st.Breaker.OpenedAt == nil || !st.Breaker.OpenedAt.Equal(openedAt) {
		t.Fatalf("a success admitted before the breaker opened changed it: %+v, want open since %s", st.Breaker, openedAt)
	}
	if afterStall.header.Get(gate.HeaderFallback) != gate.ReasonBreakerOpen {
		t.Fatalf("scrape before the cooldown ended: reason %q, want breaker_open", afterStall.header.Get(gate.HeaderFallback))
	}
	if !bytes.Contains(self, []byte(`quannex_circuit_breaker_transitions_total{to="closed"} 0`)) {
		t.Fatalf("the breaker closed before its cooldown:\n%s", self)
	}

	time.Sleep(time.Until(openedAt.Add(cooldown)))
	if r := om(); r.header.Get(gate.HeaderSource) != "live" {
		t.Fatalf("trial after the cooldown: %d %v", r.code, r.header)
	}
	if st := g.selftest(t); st.Breaker.State != "closed" {
		t.Fatalf("after a good trial: breaker %+v, want closed", st.Breaker)
	}
}
