package gate_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate/lease"
)

// TestOneGameDayLeaseAtATime: the admin API's GameDay lease is one
// holder's until it gives it back (its TTL: package lease); another
// holder is refused with 409 naming the holder, the holder renews it, a
// bad request names its field, and the metrics token cannot touch it.
func TestOneGameDayLeaseAtATime(t *testing.T) {
	g := startGate(t, nil)
	state := func(r response) lease.State {
		t.Helper()
		var st lease.State
		if err := json.Unmarshal(r.body, &st); err != nil {
			t.Fatalf("%d %s: %v", r.code, r, err)
		}
		return st
	}
	const a, b = `"gameday pid 1 on ci-1 (run latency)"`, `"gameday pid 2 on ci-2 (run latency)"`
	if r := g.do(t, "GET", "/admin/lease", adminToken, ""); r.code != 200 || state(r).Held {
		t.Fatalf("a fresh gate: %d %s", r.code, r)
	}
	r := g.do(t, "POST", "/admin/lease", adminToken, `{"holder":`+a+`,"ttl":"1m"}`)
	if st := state(r); r.code != 200 || !st.Held || st.Holder != strings.Trim(a, `"`) || time.Until(st.ExpiresAt) > time.Minute {
		t.Fatalf("take: %d %+v", r.code, st)
	}
	r = g.do(t, "POST", "/admin/lease", adminToken, `{"holder":`+b+`,"ttl":"1m"}`)
	if st := state(r); r.code != 409 || st.Holder != strings.Trim(a, `"`) || !strings.Contains(st.Error, "held by gameday pid 1 on ci-1") {
		t.Fatalf("a second holder: %d %+v, want 409 naming the first", r.code, st)
	}
	if r := g.do(t, "DELETE", "/admin/lease", adminToken, `{"holder":`+b+`}`); r.code != 409 {
		t.Fatalf("another holder's release: %d %s", r.code, r)
	}
	if r := g.do(t, "POST", "/admin/lease", adminToken, `{"holder":`+a+`,"ttl":"2m"}`); r.code != 200 || time.Until(state(r).ExpiresAt) < time.Minute {
		t.Fatalf("renew: %d %s", r.code, r)
	}
	if r := g.do(t, "DELETE", "/admin/lease", adminToken, `{"holder":`+a+`}`); r.code != 200 || state(r).Held {
		t.Fatalf("release: %d %s", r.code, r)
	}
	if r := g.do(t, "POST", "/admin/lease", adminToken, `{"holder":`+b+`,"ttl":"1m"}`); r.code != 200 {
		t.Fatalf("take after release: %d %s", r.code, r)
	}
	for body, want := range map[string]string{
		`{"holder":"","ttl":"1m"}`:                                 `"holder" is required`,
		`{"holder":"x\u0007y","ttl":"1m"}`:                         "printable",
		`{"holder":"x","ttl":"48h"}`:                               `"ttl": from 1s to 24h`,
		`{"holder":"x"}`:                                           `"ttl" is required`,
		`{"holder":"` + strings.Repeat("h", 201) + `","ttl":"1m"}`: "1 to 200",
	} {
		r := g.do(t, "POST", "/admin/lease", adminToken, body)
		var e struct{ Error string }
		json.Unmarshal(r.body, &e)
		if r.code != 400 || !strings.Contains(e.Error, want) {
			t.Errorf("POST %s: %d %s, want 400 with %q", body, r.code, r, want)
		}
	}
	if r := g.do(t, "GET", "/admin/lease", scraperToken, ""); r.code != 401 && r.code != 403 {
		t.Errorf("the metrics token read the lease: %d", r.code)
	}
}
