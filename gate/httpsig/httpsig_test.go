package httpsig

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// RFC 9421 Appendix B.1.4, test-key-ed25519. A published test key, not a
// secret.
const (
	rfcPrivateKey = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
`
	rfcPublicKey = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
`
)

// RFC 9421 Appendix B.2.6, "Signing a Request Using ed25519": the
// signature base and header fields, unwrapped from RFC 8792 line folding.
const (
	rfcBase = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	rfcSignatureInput = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	rfcSignature      = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
)

// rfcRequest is the test-request message of RFC 9421 Appendix B.2.
func rfcRequest(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequest("POST", "http://example.com/foo?param=Value&Pet=dog", strings.NewReader(`{"hello": "world"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
	r.Header.Set("Content-Length", "18")
	return r
}

func rfcKeys(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	priv, err := ParsePrivateKey([]byte(rfcPrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey([]byte(rfcPublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("the RFC's public key is not the private key's")
	}
	return priv, pub
}

// The RFC's own ed25519 vector, byte for byte: ed25519 is deterministic,
// so the same key and base must give the same signature.
func TestRFC9421Ed25519Vector(t *testing.T) {
	priv, pub := rfcKeys(t)
	r := rfcRequest(t)
	in := Input{
		Components: []string{"date", "@method", "@path", "@authority", "content-type", "content-length"},
		Params:     Params{{"created", int64(1618884473)}, {"keyid", "test-key-ed25519"}},
	}
	base, err := Base(Request(r), in)
	if err != nil {
		t.Fatal(err)
	}
	if string(base) != rfcBase {
		t.Fatalf("signature base:\n%s\nwant:\n%s", base, rfcBase)
	}
	sigInput, sig, err := SignInput(Request(r), "sig-b26", in, priv)
	if err != nil {
		t.Fatal(err)
	}
	if sigInput != rfcSignatureInput {
		t.Errorf("Signature-Input:\n%s\nwant\n%s", sigInput, rfcSignatureInput)
	}
	if sig != rfcSignature {
		t.Errorf("Signature:\n%s\nwant\n%s", sig, rfcSignature)
	}

	// And the RFC's header fields verify as received.
	r.Header.Set(HeaderSignatureInput, rfcSignatureInput)
	r.Header.Set(HeaderSignature, rfcSignature)
	v, err := Verify(Request(r), pub, VerifyOptions{Required: []string{"@method", "@path", "date"}})
	if err != nil {
		t.Fatalf("the RFC's signature: %v", err)
	}
	if v.Label != "sig-b26" || v.KeyID != "test-key-ed25519" || v.Created.Unix() != 1618884473 {
		t.Fatalf("verified = %+v", v)
	}
	r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:56 GMT")
	if _, err := Verify(Request(r), pub, VerifyOptions{}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another date: %v", err)
	}
}

func newKey(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

var covered = []string{"repr-digest", "content-type", "@status"}

func signedResponse(t *testing.T, priv ed25519.PrivateKey, status int, body string) http.Header {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	h := http.Header{}
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	s := &Signer{Key: priv, KeyID: KeyID(priv.Public().(ed25519.PublicKey)), Label: "sig1", Components: covered,
		Now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
	if err := s.Sign(Response(status, h)); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSignVerifyRoundTrip(t *testing.T) {
	priv, pub := newKey(t)
	h := signedResponse(t, priv, 200, "x 1\n")
	want := `sig1=("repr-digest" "content-type" "@status");created=1700000000;keyid="` + KeyID(pub) + `";alg="ed25519"`
	if got := h.Get(HeaderSignatureInput); got != want {
		t.Fatalf("Signature-Input = %s\nwant %s", got, want)
	}
	v, err := Verify(Response(200, h), pub, VerifyOptions{Label: "sig1", Required: covered})
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyID != KeyID(pub) || v.Created.Unix() != 1_700_000_000 || len(v.Input.Components) != 3 {
		t.Fatalf("verified = %+v", v)
	}
}

func TestVerifyFailures(t *testing.T) {
	priv, pub := newKey(t)
	_, otherPub := newKey(t)
	good := func() http.Header { return signedResponse(t, priv, 200, "x 1\n") }
	other := signedResponse(t, priv, 200, "x 2\n") // same key, another body
	cases := []struct {
		name   string
		status int
		edit   func(h http.Header)
		pub    ed25519.PublicKey
		want   error
	}{
		{"tampered body digest", 200, func(h http.Header) { h.Set("Repr-Digest", other.Get("Repr-Digest")) }, pub, ErrBadSignature},
		{"tampered status", 503, nil, pub, ErrBadSignature},
		{"tampered content type", 200, func(h http.Header) { h.Set("Content-Type", "text/html") }, pub, ErrBadSignature},
		{"stripped Signature", 200, func(h http.Header) { h.Del(HeaderSignature) }, pub, ErrNoSignature},
		{"stripped both", 200, func(h http.Header) { h.Del(HeaderSignature); h.Del(HeaderSignatureInput) }, pub, ErrNoSignature},
		{"wrong key", 200, nil, otherPub, ErrBadSignature},
		{"digest removed", 200, func(h http.Header) { h.Del("Repr-Digest") }, pub, ErrMissingComponent},
		{"signature of another response", 200, func(h http.Header) { h.Set(HeaderSignature, other.Get(HeaderSignature)) }, pub, ErrBadSignature},
		{"fewer components", 200, func(h http.Header) {
			in := Input{Components: []string{"content-type"}, Params: Params{{"alg", "ed25519"}}}
			si, s, _ := SignInput(Response(200, h), "sig1", in, priv)
			h.Set(HeaderSignatureInput, si)
			h.Set(HeaderSignature, s)
		}, pub, ErrNotCovered},
		{"another alg", 200, func(h http.Header) {
			h.Set(HeaderSignatureInput, strings.Replace(h.Get(HeaderSignatureInput), `alg="ed25519"`, `alg="hmac-sha256"`, 1))
		}, pub, ErrAlg},
		{"garbage", 200, func(h http.Header) { h.Set(HeaderSignature, "sig1=:not base64!:") }, pub, ErrMalformed},
		{"other label", 200, func(h http.Header) {
			h.Set(HeaderSignature, strings.Replace(h.Get(HeaderSignature), "sig1=", "sig2=", 1))
		}, pub, ErrNoSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := good()
			if c.edit != nil {
				c.edit(h)
			}
			_, err := Verify(Response(c.status, h), c.pub, VerifyOptions{Required: covered})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestHeaderValuesCombine(t *testing.T) {
	h := http.Header{"Cache-Control": {" max-age=60 ", "must-revalidate"}}
	v, err := Response(200, h).value("cache-control")
	if err != nil || v != "max-age=60, must-revalidate" {
		t.Fatalf("value = %q %v", v, err)
	}
	if _, err := Response(200, h).value("@method"); !errors.Is(err, ErrMissingComponent) {
		t.Fatalf("@method on a response: %v", err)
	}
	if _, err := Response(200, h).value("@target-uri"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("@target-uri: %v", err)
	}
}

func TestParseDictionary(t *testing.T) {
	ms, err := parseDictionary(`a=("x" "y");n=1;s="q\"\\";t=tok;b;f=?0, c=:AAE=:, d`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || !ms[0].inner || len(ms[0].items) != 2 || ms[1].inner {
		t.Fatalf("members = %+v", ms)
	}
	want := Params{{"n", int64(1)}, {"s", `q"\`}, {"t", Token("tok")}, {"b", true}, {"f", false}}
	in := Input{Components: []string{"x", "y"}, Params: ms[0].params}
	if in.String() != (Input{Components: []string{"x", "y"}, Params: want}).String() {
		t.Fatalf("params = %v", ms[0].params)
	}
	if got := in.String(); got != `("x" "y");n=1;s="q\"\\";t=tok;b;f=?0` {
		t.Fatalf("round trip = %s", got)
	}
	for _, bad := range []string{`a=("x";sf)`, `a=(1.5)`, `A=1`, `a=1,`, `a="x`, `a=:AA`, `a=("x""y")`} {
		if _, err := parseDictionary(bad); err == nil {
			t.Errorf("parseDictionary(%q) accepted", bad)
		}
	}
}

func TestKeys(t *testing.T) {
	priv, pub := newKey(t)
	pemPriv, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemPub, err := MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := ParsePrivateKey(pemPriv); err != nil || !k.Equal(priv) {
		t.Fatalf("private round trip: %v", err)
	}
	if k, err := ParsePublicKey(pemPub); err != nil || !k.Equal(pub) {
		t.Fatalf("public round trip: %v", err)
	}
	if len(KeyID(pub)) != 16 {
		t.Fatalf("KeyID = %q", KeyID(pub))
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for name, c := range map[string]struct {
		b    []byte
		priv bool
		want string
	}{
		"ecdsa private":       {ecPEM, true, "an ECDSA key, want ed25519"},
		"public as private":   {pemPub, true, `"PUBLIC KEY"`},
		"private as public":   {pemPriv, false, `"PRIVATE KEY"`},
		"not PEM":             {[]byte("hello"), true, "no PEM block"},
		"not PEM (public)":    {[]byte("hello"), false, "no PEM block"},
		"corrupt PKCS#8 body": {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), true, "does not parse"},
	} {
		var err error
		if c.priv {
			_, err = ParsePrivateKey(c.b)
		} else {
			_, err = ParsePublicKey(c.b)
		}
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrKey with %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "MC4C") {
			t.Errorf("%s: the error quotes key material", name)
		}
	}
}

// TestCreatedAndExpires: with a validity the signature covers created and
// expires; a verifier fails it once it expired, when it was created ahead
// of its clock, and past a maximum age (or without created, then), each
// beyond the allowed skew; a tampered expires breaks the signature.
func TestCreatedAndExpires(t *testing.T) {
	priv, pub := newKey(t)
	t0 := time.Unix(1_800_000_000, 0)
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(make([]byte, 32))+":")
	s := &Signer{Key: priv, KeyID: "k", Label: "sig1", Components: covered, Validity: 5 * time.Minute, Now: func() time.Time { return t0 }}
	if err := s.Sign(Response(200, h)); err != nil {
		t.Fatal(err)
	}
	if want := `sig1=("repr-digest" "content-type" "@status");created=1800000000;expires=1800000300;keyid="k";alg="ed25519"`; h.Get(HeaderSignatureInput) != want {
		t.Fatalf("Signature-Input %s\nwant %s", h.Get(HeaderSignatureInput), want)
	}
	at := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
	for name, c := range map[string]struct {
		o    VerifyOptions
		want error
	}{
		"fresh":                  {VerifyOptions{Now: at(time.Minute)}, nil},
		"just expired, in skew":  {VerifyOptions{Now: at(5*time.Minute + 10*time.Second)}, nil},
		"expired":                {VerifyOptions{Now: at(10 * time.Minute)}, ErrExpired},
		"created ahead, in skew": {VerifyOptions{Now: at(-20 * time.Second)}, nil},
		"created ahead":          {VerifyOptions{Now: at(-2 * time.Minute)}, ErrNotYetValid},
		"within max age":         {VerifyOptions{Now: at(time.Minute), MaxAge: 2 * time.Minute}, nil},
		"past max age":           {VerifyOptions{Now: at(3 * time.Minute), MaxAge: 2 * time.Minute}, ErrTooOld},
	} {
		c.o.Required = covered
		v, err := Verify(Response(200, h), pub, c.o)
		if !errors.Is(err, c.want) || (err == nil && v.Expires.Unix() != 1_800_000_300) {
			t.Errorf("%s: %v (expires %v), want %v", name, err, v.Expires, c.want)
		}
	}
	tampered := h.Clone()
	tampered.Set(HeaderSignatureInput, strings.Replace(h.Get(HeaderSignatureInput), "expires=1800000300", "expires=1900000000", 1))
	if _, err := Verify(Response(200, tampered), pub, VerifyOptions{Now: at(time.Hour)}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a later expires written in: %v, want %v", err, ErrBadSignature)
	}
	old := signedResponse(t, priv, 200, "x\n") // created only
	if _, err := Verify(Response(200, old), pub, VerifyOptions{MaxAge: time.Hour}); !errors.Is(err, ErrTooOld) {
		t.Fatalf("an old signature with a max age: %v", err)
	}
	old.Set(HeaderSignatureInput, strings.Replace(old.Get(HeaderSignatureInput), "created=1700000000;", "", 1))
	in := Input{Components: covered, Params: Params{{"alg", "ed25519"}}}
	si, sig, _ := SignInput(Response(200, old), "sig1", in, priv)
	old.Set(HeaderSignatureInput, si)
	old.Set(HeaderSignature, sig)
	if _, err := Verify(Response(200, old), pub, VerifyOptions{MaxAge: time.Hour}); !errors.Is(err, ErrTooOld) {
		t.Fatalf("no created with a max age: %v", err)
	}
}
