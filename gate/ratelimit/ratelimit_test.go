package ratelimit

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Unix(1_700_000_000, 0)} }
func mustPolicy(t *testing.T, s string) Policy {
	t.Helper()
	p, err := ParsePolicy(s)
	if err != nil {
		t.Fatalf("ParsePolicy(%q): %v", s, err)
	}
	return p
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{
		"20/min": {20, time.Minute}, "100/s": {100, time.Second}, " 5 / hour ": {5, time.Hour}, "7/sec": {7, time.Second},
	} {
		if got := mustPolicy(t, in); got != want {
			t.Errorf("ParsePolicy(%q) = %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"", "20", "0/min", "-1/s", "x/min", "20/day", "20/"} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
}

func TestParseOverrides(t *testing.T) {
	m, err := ParseOverrides("scraper=600/min, gameday=100/s")
	if err != nil {
		t.Fatal(err)
	}
	if m["scraper"] != (Policy{600, time.Minute}) || m["gameday"] != (Policy{100, time.Second}) {
		t.Fatalf("got %v", m)
	}
	for in, want := range map[string]string{
		"scraper":      "entry 1: want name=N/unit",
		"a=1/s,a=2/s":  `entry 2: name "a" given twice`,
		"a=1/s,b=fast": "entry 2 (b)",
		"=1/s":         "entry 1",
	} {
		if _, err := ParseOverrides(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOverrides(%q) err = %v, want %q", in, err, want)
		}
	}
}

func TestAllowBurstThenRate(t *testing.T) {
	c := newClock()
	l := New(mustPolicy(t, "20/min"), WithClock(c.now))
	for i := range 20 {
		d, err := l.Allow("scraper")
		if err != nil || !d.Allowed {
			t.Fatalf("request %d refused: %+v %v", i+1, d, err)
		}
		if d.Remaining != 19-i {
			t.Fatalf("request %d: remaining %d, want %d", i+1, d.Remaining, 19-i)
		}
	}
	d, _ := l.Allow("scraper")
	if d.Allowed || !d.FirstDenial {
		t.Fatalf("21st request: %+v, want refused and first denial", d)
	}
	if d.RetryAfter != 3*time.Second {
		t.Errorf("RetryAfter = %v, want 3s (one token at 20/min)", d.RetryAfter)
	}
	if d2, _ := l.Allow("scraper"); d2.FirstDenial {
		t.Error("second refusal in a row reported as first denial")
	}
	if d3, _ := l.Allow("other"); !d3.Allowed {
		t.Error("another key shares the bucket")
	}
	c.advance(3 * time.Second)
	if d4, _ := l.Allow("scraper"); !d4.Allowed {
		t.Error("not allowed after refill")
	}
}

func TestOverride(t *testing.T) {
	l := New(mustPolicy(t, "1/min"), WithOverrides(map[string]Policy{"gameday": {100, time.Second}}), WithClock(newClock().now))
	for i := range 100 {
		if d, _ := l.Allow("gameday"); !d.Allowed {
			t.Fatalf("gameday refused at %d", i)
		}
	}
	l.Allow("x")
	if d, _ := l.Allow("x"); d.Allowed {
		t.Fatal("default policy not applied to x")
	}
}

func TestHeaders(t *testing.T) {
	c := newClock()
	l := New(mustPolicy(t, "2/min"), WithClock(c.now))
	d, _ := l.Allow("a")
	h := http.Header{}
	d.SetHeaders(h)
	want := map[string]string{
		"RateLimit-Policy": `"default";q=2;w=60`, "RateLimit": `"default";r=1;t=30`,
		"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "30",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if h.Get("Retry-After") != "" {
		t.Error("Retry-After on an allowed request")
	}
	l.Allow("a")
	d, _ = l.Allow("a")
	h = http.Header{}
	d.SetHeaders(h)
	if h.Get("Retry-After") != "30" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("refused: Retry-After %q remaining %q", h.Get("Retry-After"), h.Get("X-RateLimit-Remaining"))
	}
}

func TestBoundedKeys(t *testing.T) {
	c := newClock()
	l := New(mustPolicy(t, "1/s"), WithMaxKeys(2), WithClock(c.now))
	l.Allow("a")
	l.Allow("b")
	if _, err := l.Allow("c"); err != ErrFull {
		t.Fatalf("third key with two busy buckets: err %v, want ErrFull", err)
	}
	c.advance(time.Second) // a and b refill: evictable
	if _, err := l.Allow("c"); err != nil {
		t.Fatalf("idle keys not evicted: %v", err)
	}
}
