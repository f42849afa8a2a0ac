package load

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// gate answers like a gate's /metrics and counts what it was asked.
func gate(t *testing.T, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/metrics" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		hits.Add(1)
		w.Header().Set("X-Metrics-Source", "none")
		fmt.Fprintln(w, "up 1")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStartManyRotates: three endpoints share the rate about evenly and
// every record names the endpoint that answered it.
func TestStartManyRotates(t *testing.T) {
	hits := make([]atomic.Int64, 3)
	var eps []Endpoint
	for i := range hits {
		eps = append(eps, Endpoint{Name: fmt.Sprintf("replica-%d", i+1), URL: gate(t, &hits[i]).URL + "/metrics"})
	}
	g := StartMany(eps, "tok", 60, time.Second)
	<-g.done // ends by itself at maxDuration
	g.Stop()
	rs := g.Records()
	if len(rs) < 55 || len(rs) > 61 {
		t.Fatalf("%d records for 60/s over 1 s", len(rs))
	}
	by := ByInstance(rs)
	if len(by) != 3 {
		t.Fatalf("targets %v, want the three endpoints", keys(by))
	}
	for i, e := range eps {
		got := by[e.Name]
		if n := len(got); n < len(rs)/3-1 || n > len(rs)/3+1 {
			t.Errorf("%s: %d of %d records, want about a third", e.Name, n, len(rs))
		}
		if int64(len(got)) != hits[i].Load() {
			t.Errorf("%s: %d records but the endpoint answered %d", e.Name, len(got), hits[i].Load())
		}
		for _, r := range got {
			if r.Code != 200 || r.Source != "none" || r.Err != "" {
				t.Fatalf("%s: %+v", e.Name, r)
			}
		}
	}
}

// TestStartManySharedURL: two names on one URL (one Service reached twice)
// are still told apart, and a fragment in an endpoint URL is never sent.
func TestStartManySharedURL(t *testing.T) {
	var hits atomic.Int64
	u := gate(t, &hits).URL + "/metrics"
	g := StartMany([]Endpoint{{Name: "a", URL: u}, {Name: "b", URL: u + "#x"}}, "tok", 40, 500*time.Millisecond)
	<-g.done
	by := ByInstance(g.Records())
	if len(by["a"]) < 8 || len(by["b"]) < 8 || len(by) != 2 {
		t.Fatalf("a %d, b %d, targets %v", len(by["a"]), len(by["b"]), keys(by))
	}
	for _, r := range by["b"] {
		if r.Code != 200 {
			t.Fatalf("b: %+v", r)
		}
	}
}

// TestStartHasNoTarget: the single-gate load records Target "".
func TestStartHasNoTarget(t *testing.T) {
	var hits atomic.Int64
	g := Start(gate(t, &hits).URL+"/metrics", "tok", 20, 300*time.Millisecond)
	<-g.done
	rs := g.Records()
	if len(rs) == 0 || int64(len(rs)) != hits.Load() {
		t.Fatalf("%d records, %d hits", len(rs), hits.Load())
	}
	for _, r := range rs {
		if r.Instance != "" || r.Code != 200 {
			t.Fatalf("%+v", r)
		}
	}
}

func keys(m map[string][]Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
