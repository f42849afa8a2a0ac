package canary

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestEvaluateOverTLS: Options.TLS is what the queries speak to an
// https:// Prometheus with; without it the server's certificate is not
// trusted.
func TestEvaluateOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1000"]}]}}`))
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	o := Options{Prometheus: srv.URL, Stable: `track="stable"`, Canary: `track="canary"`, Window: time.Minute, MaxDelta: 0.02, MinRequests: 1}
	if _, err := Evaluate(context.Background(), o); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
	o.TLS = &tls.Config{RootCAs: pool}
	r, err := Evaluate(context.Background(), o)
	if err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	if r.Decision != Pass {
		t.Fatalf("decision %s: %s", r.Decision, r.Reason)
	}
}
