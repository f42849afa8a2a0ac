package harness

import (
	"testing"
	"time"

	"github.com/quannex/gameday/harness/load"
)

func TestLiveRatioSeriesLatencyAndCodes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rs []load.Record
	for i := range 20 { // first bucket: 20 live 200s, 1..20 ms
		rs = append(rs, load.Record{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Code: 200, Source: "live", Latency: time.Duration(i+1) * time.Millisecond})
	}
	// second bucket: a 503 and a request that got no status; third empty;
	// fourth one live response.
	rs = append(rs,
		load.Record{At: t0.Add(6 * time.Second), Code: 503, Source: "none", Latency: 300 * time.Millisecond},
		load.Record{At: t0.Add(7 * time.Second), Err: "connection refused", Latency: time.Second},
		load.Record{At: t0.Add(16 * time.Second), Code: 200, Source: "live", Latency: 2 * time.Millisecond},
	)
	s := liveRatioSeries(rs)
	if len(s) != 4 {
		t.Fatalf("buckets: got %d, want 4", len(s))
	}
	if s[0].P50Ms == nil || *s[0].P50Ms != 10 || *s[0].P95Ms != 19 {
		t.Errorf("bucket 0 quantiles: p50 %v p95 %v, want 10 and 19", s[0].P50Ms, s[0].P95Ms)
	}
	if s[0].Codes["200"] != 20 || s[0].TransportErrors != 0 {
		t.Errorf("bucket 0 codes: %v, transport errors %d", s[0].Codes, s[0].TransportErrors)
	}
	if s[1].Codes["503"] != 1 || s[1].TransportErrors != 1 || len(s[1].Codes) != 1 {
		t.Errorf("bucket 1 codes: %v, transport errors %d; want 503:1 and 1", s[1].Codes, s[1].TransportErrors)
	}
	if s[2].P95Ms != nil || s[2].Codes != nil {
		t.Errorf("empty bucket: p95 %v codes %v, want none", s[2].P95Ms, s[2].Codes)
	}
}
