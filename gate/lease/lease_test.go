package lease

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOneHolderAtATime(t *testing.T) {
	var l Lease
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if st := l.State(t0); st.Held {
		t.Fatalf("the zero lease is held: %+v", st)
	}
	st, renewed, err := l.Take("a", time.Minute, t0)
	if err != nil || renewed || !st.Held || st.Holder != "a" || !st.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("take: %+v %v %v", st, renewed, err)
	}
	var held *HeldError
	if _, _, err := l.Take("b", time.Minute, t0.Add(time.Second)); !errors.As(err, &held) || held.Holder != "a" || !strings.Contains(err.Error(), "held by a until") {
		t.Fatalf("a second holder: %v", err)
	}
	if _, err := l.Release("b", t0); !errors.As(err, &held) {
		t.Fatalf("another holder's release: %v", err)
	}
	if st, renewed, err := l.Take("a", 2*time.Minute, t0.Add(30*time.Second)); err != nil || !renewed || !st.ExpiresAt.Equal(t0.Add(150*time.Second)) {
		t.Fatalf("renew: %+v %v %v", st, renewed, err)
	}
	// Past its TTL the lease is free: a killed harness keeps nothing.
	if st := l.State(t0.Add(150 * time.Second)); st.Held {
		t.Fatalf("at its expiry: %+v", st)
	}
	if _, _, err := l.Take("b", time.Minute, t0.Add(150*time.Second)); err != nil {
		t.Fatalf("take after the TTL: %v", err)
	}
	if released, err := l.Release("b", t0.Add(151*time.Second)); err != nil || !released {
		t.Fatalf("release: %v %v", released, err)
	}
	if released, err := l.Release("b", t0.Add(152*time.Second)); err != nil || released {
		t.Fatalf("release of a free lease: %v %v", released, err)
	}
}

func TestBadRequestsNameTheField(t *testing.T) {
	var l Lease
	for _, c := range []struct {
		holder string
		ttl    time.Duration
		want   string
	}{
		{"", time.Minute, `"holder" is required`},
		{strings.Repeat("h", 201), time.Minute, "1 to 200"},
		{"x\ay", time.Minute, "printable"},
		{"x", 0, `"ttl": from 1s to 24h`},
		{"x", 48 * time.Hour, `"ttl": from 1s to 24h`},
	} {
		if _, _, err := l.Take(c.holder, c.ttl, time.Now()); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Take(%q, %s): %v, want %q", c.holder, c.ttl, err, c.want)
		}
	}
}
