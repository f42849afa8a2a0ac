package gate_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/httpsig"
	"github.com/quannex/gameday/gate/integrity"
	"github.com/quannex/gameday/gate/metrics"
)

// verifySigned checks r's signature with pub and its Repr-Digest against
// the body, as a scraper holding the public key would.
func verifySigned(t *testing.T, what string, r response, pub ed25519.PublicKey) httpsig.Verified {
	t.Helper()
	v, err := httpsig.Verify(httpsig.Response(r.code, r.header), pub,
		httpsig.VerifyOptions{Label: gate.SignatureLabel, Required: gate.SignedComponents})
	if err != nil {
		t.Fatalf("%s: signature: %v\nSignature-Input: %s", what, err, r.header.Get(httpsig.HeaderSignatureInput))
	}
	if err := integrity.VerifyReprDigest(r.header.Get(gate.HeaderReprDigest), r.body); err != nil {
		t.Fatalf("%s: Repr-Digest: %v", what, err)
	}
	return v
}

// With a signing key, live and snapshot /metrics responses and /metrics/self
// all carry a signature that verifies with the public key and no other.
func TestSignedResponses(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	g := startGate(t, func(o *gate.Options) { o.SigningKey = priv })

	live := g.metrics(t)
	if live.code != 200 || live.header.Get(gate.HeaderSource) != metrics.SourceLive {
		t.Fatalf("live: %d %s", live.code, live.header.Get(gate.HeaderSource))
	}
	v := verifySigned(t, "live text", live, pub)
	if v.KeyID != httpsig.KeyID(pub) || v.Created.IsZero() {
		t.Fatalf("verified = %+v", v)
	}
	if !strings.Contains(live.header.Get(httpsig.HeaderSignatureInput), `alg="ed25519"`) {
		t.Fatalf("Signature-Input without alg: %s", live.header.Get(httpsig.HeaderSignatureInput))
	}
	if err := integrity.VerifyLiveSHA(live.body); err != nil {
		t.Fatalf("the text payload lost its LIVESHA line: %v", err)
	}
	om := g.do(t, "GET", "/metrics", gamedayToken, "", "Accept", "application/openmetrics-text; version=1.0.0")
	verifySigned(t, "live OpenMetrics", om, pub)
	verifySigned(t, "/metrics/self", g.do(t, "GET", "/metrics/self", gamedayToken, ""), pub)

	if r := g.do(t, "POST", "/admin/faults/failure", adminToken, `{"count":1,"ttl":"1m"}`); r.code != 201 {
		t.Fatalf("inject failure: %d %s", r.code, r)
	}
	snap := g.metrics(t)
	if snap.header.Get(gate.HeaderSource) != metrics.SourceSnapshot {
		t.Fatalf("after an injected failure: source %q", snap.header.Get(gate.HeaderSource))
	}
	verifySigned(t, "snapshot", snap, pub)

	// The same response fails with another key, a changed status or a
	// stripped signature.
	for name, c := range map[string]struct {
		status int
		h      http.Header
		pub    ed25519.PublicKey
		want   error
	}{
		"another key":      {200, live.header, otherPub, httpsig.ErrBadSignature},
		"status rewritten": {503, live.header, pub, httpsig.ErrBadSignature},
		"stripped":         {200, stripped(live.header), pub, httpsig.ErrNoSignature},
	} {
		_, err := httpsig.Verify(httpsig.Response(c.status, c.h), c.pub, httpsig.VerifyOptions{Required: gate.SignedComponents})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// A body edited after signing keeps a valid signature over the old
	// digest, which no longer matches: the digest check catches it.
	edited := append([]byte("x 1\n"), live.body...)
	if err := integrity.VerifyReprDigest(live.header.Get(gate.HeaderReprDigest), edited); !errors.Is(err, integrity.ErrDigestMismatch) {
		t.Errorf("edited body: %v", err)
	}
	if !strings.Contains(g.logs.String(), httpsig.KeyID(pub)) {
		t.Errorf("the start log does not name the keyid")
	}
}

func stripped(h http.Header) http.Header {
	c := h.Clone()
	c.Del(httpsig.HeaderSignature)
	return c
}

// Without a key nothing is signed; a key of the wrong size is refused by
// name.
func TestUnsignedByDefaultAndBadKey(t *testing.T) {
	g := startGate(t, nil)
	if r := g.metrics(t); r.header.Get(httpsig.HeaderSignature) != "" || r.header.Get(httpsig.HeaderSignatureInput) != "" {
		t.Fatalf("signed without a key: %v", r.header)
	}
	o := defaultOptions(t, t.TempDir())
	o.SigningKey = ed25519.PrivateKey("short")
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "SigningKey") {
		t.Fatalf("Validate = %v", err)
	}
}
