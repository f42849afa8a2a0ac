package integrity

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestLiveSHA(t *testing.T) {
	payload := AppendLiveSHA([]byte("# TYPE x counter\nx 1\n"))
	if err := VerifyLiveSHA(payload); err != nil {
		t.Fatalf("fresh payload: %v", err)
	}
	tampered := append([]byte(nil), payload...)
	tampered[len("# TYPE x counter\nx ")] = '2'
	if err := VerifyLiveSHA(tampered); !errors.Is(err, ErrLiveSHAMismatch) {
		t.Fatalf("tampered: %v, want mismatch", err)
	}
	if err := VerifyLiveSHA([]byte("x 1\n")); !errors.Is(err, ErrNoLiveSHA) {
		t.Fatalf("unsigned: %v, want ErrNoLiveSHA", err)
	}
	if _, err := Parse(payload, ""); err != nil {
		t.Fatalf("signed payload does not parse as text: %v", err)
	}
}

func TestReprDigest(t *testing.T) {
	body := []byte("x 1\n")
	h := ReprDigest(body)
	if err := VerifyReprDigest(h, body); err != nil {
		t.Fatal(err)
	}
	if err := VerifyReprDigest("sha-512=:AAAA:, "+h, body); err != nil {
		t.Fatalf("with another member first: %v", err)
	}
	if err := VerifyReprDigest(h, []byte("x 2\n")); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("other body: %v", err)
	}
	for _, bad := range []string{"", "sha-256=abc", "sha-256=:!!:", "md5=:AAAA:"} {
		if err := VerifyReprDigest(bad, body); !errors.Is(err, ErrBadDigestHeader) {
			t.Errorf("VerifyReprDigest(%q) = %v", bad, err)
		}
	}
}

func TestCounters(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "h"}, []string{"l"})
	reg.MustRegister(c)
	c.WithLabelValues("a").Add(5)
	tr := NewCounters()
	mfs, _ := reg.Gather()
	if r := tr.Observe(mfs); len(r) != 0 {
		t.Fatalf("baseline reported %v", r)
	}
	c.WithLabelValues("a").Add(1)
	mfs, _ = reg.Gather()
	if r := tr.Observe(mfs); len(r) != 0 {
		t.Fatalf("increase reported %v", r)
	}
	// A fresh family with a lower value: what a restarted or forged source sends.
	lower := []*dto.MetricFamily{{
		Name: mfs[0].Name, Type: dto.MetricType_COUNTER.Enum(),
		Metric: []*dto.Metric{{Label: mfs[0].Metric[0].Label, Counter: &dto.Counter{Value: ptr(2.0)}}},
	}}
	r := tr.Observe(lower)
	if len(r) != 1 || r[0].Series != `c_total{l="a"}` || r[0].Before != 6 || r[0].After != 2 {
		t.Fatalf("regression = %+v", r)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCheckPayload(t *testing.T) {
	body := AppendLiveSHA([]byte("# TYPE x counter\nx 1\n"))
	c := CheckPayload(body, "", ReprDigest(body))
	if !c.OK() || c.LiveSHA != "ok" || c.ReprDigest != "ok" || c.Families != 1 {
		t.Fatalf("good payload: %+v", c)
	}
	c = CheckPayload([]byte("x{ 1\n"), "", "")
	if c.OK() {
		t.Fatalf("garbage passed: %+v", c)
	}
	om := []byte("# TYPE x counter\nx_total 1\n# EOF\n")
	c = CheckPayload(om, "application/openmetrics-text; version=1.0.0", ReprDigest(om))
	if !c.OK() || c.LiveSHA != "absent" {
		t.Fatalf("openmetrics payload: %+v", c)
	}
}
