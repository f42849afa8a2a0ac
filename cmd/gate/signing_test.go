package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/httpsig"
)

// keyDir is a directory the gate process can reach even when it runs as
// nobody (see startProcess).
func keyDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gate-keys-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

// newKeys runs gate keygen into dir and returns the key file, the public
// key file and the public key.
func newKeys(t *testing.T, dir, name string) (keyFile, pubFile string, pub ed25519.PublicKey) {
	t.Helper()
	prefix := filepath.Join(dir, name)
	code, out, errOut := runCLI(t, "keygen", "--out", prefix)
	if code != exitOK {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	keyFile, pubFile = prefix+".key", prefix+".pub"
	pub, err := loadPublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "keyid:       "+httpsig.KeyID(pub)) {
		t.Fatalf("keygen does not print the keyid %s:\n%s", httpsig.KeyID(pub), out)
	}
	if os.Geteuid() == 0 {
		os.Chown(keyFile, nobody, nobody)
	}
	return keyFile, pubFile, pub
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	keyFile, pubFile, pub := newKeys(t, dir, "gate")
	for f, mode := range map[string]os.FileMode{keyFile: 0o600, pubFile: 0o644} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", f, st.Mode().Perm(), err, mode)
		}
	}
	priv, err := loadSigningKey(keyFile)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("the key files are not one pair: %v", err)
	}
	code, out, errOut := runCLI(t, "keygen", "--out", filepath.Join(dir, "gate"))
	if code != exitUsage || !strings.Contains(errOut, "--out: ") || !strings.Contains(errOut, "never overwrites") {
		t.Fatalf("second keygen over the same prefix: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "keygen"); code != exitUsage || !strings.Contains(errOut, "--out: required") {
		t.Fatalf("keygen without --out: exit %d %s", code, errOut)
	}
	if code, out, _ := runCLI(t, "keygen", "--help"); code != exitOK || !strings.Contains(out, "PREFIX.key") {
		t.Errorf("keygen --help: exit %d %s", code, out)
	}
	_, help, _ := runCLI(t, "serve", "--help")
	for _, want := range []string{"GATE_SIGNING_KEY", "GATE_SIGNING_KEY_ID", "RFC 9421", "gate verify --pubkey"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}
	keyPEM, _ := os.ReadFile(keyFile)
	body := strings.Split(string(keyPEM), "\n")[1]
	if strings.Contains(out+errOut, body) {
		t.Fatal("keygen printed the private key")
	}
}

// A key that is missing, not ed25519, open to everyone or garbage stops
// gate serve with exit 2 naming the flag and its variable, and never
// quotes the file.
func TestServeSigningKeyErrors(t *testing.T) {
	dir := t.TempDir()
	keyFile, pubFile, _ := newKeys(t, dir, "good")
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecFile := writeFile(t, dir, "ec.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	open := writeFile(t, dir, "open.key", mustRead(t, keyFile))
	os.Chmod(open, 0o644)
	garbage := writeFile(t, dir, "garbage.key", []byte("not a key\n"))
	pubFile = writeFile(t, dir, "pub-as-key.key", mustRead(t, pubFile)) // mode 0600
	t.Setenv("METRICS_TOKENS", testToken)
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--signing-key", filepath.Join(dir, "absent.key")}, "", "--signing-key: stat"},
		{[]string{"--signing-key", ecFile}, "", "holds an ECDSA key, want ed25519"},
		{[]string{"--signing-key", pubFile}, "", `PEM block is "PUBLIC KEY"`},
		{[]string{"--signing-key", open}, "", "open to every user (mode 0644)"},
		{[]string{"--signing-key", garbage}, "", "no PEM block"},
		{nil, ecFile, "GATE_SIGNING_KEY (--signing-key): "},
		{[]string{"--signing-key-id", "x"}, "", "--signing-key-id: set without --signing-key (GATE_SIGNING_KEY)"},
	} {
		t.Run(c.want, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("GATE_SIGNING_KEY", c.env)
			}
			args := append([]string{"serve", "--web.listen-address", "127.0.0.1:0", "--cache-dir", dir + "/c", "--audit-log", dir + "/a/a.jsonl"}, c.args...)
			code, _, errOut := runCLI(t, args...)
			if code != exitUsage || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "--signing-key") {
				t.Fatalf("exit %d, stderr %q; want exit 2 with %q", code, errOut, c.want)
			}
			for _, f := range []string{keyFile, ecFile} {
				if line := strings.Split(string(mustRead(t, f)), "\n")[1]; strings.Contains(errOut, line) {
					t.Fatal("the error quotes key material")
				}
			}
		})
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// proxy serves the gate at target through edit, as a tampering middlebox
// would.
func proxy(t *testing.T, target string, edit func(*http.Response)) string {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error { edit(r); return nil }
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// gate verify --pubkey against a real gate process started with
// --signing-key: its responses verify; a forged, stripped or re-statused
// one, an edited body or another key fail with exit 1; an unusable key file
// is exit 2 naming --pubkey.
func TestVerifyPubkeyAgainstProcess(t *testing.T) {
	dir := keyDir(t)
	keyFile, pubFile, pub := newKeys(t, dir, "gate")
	_, otherPub, _ := newKeys(t, dir, "other")
	p := startProcess(t, "--signing-key", keyFile)
	t.Setenv("METRICS_TOKEN", testToken)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{p.url + "/metrics"}, "LIVESHA:     ok"},
		{[]string{"--accept", openMetrics, p.url + "/metrics"}, "Repr-Digest: ok"},
		{[]string{p.url + "/metrics/self"}, "Repr-Digest: ok"},
	} {
		code, out, errOut := runCLI(t, append([]string{"verify", "--pubkey", pubFile}, c.args...)...)
		if code != exitOK || !strings.Contains(out, c.want) || !strings.Contains(out, `Signature:   ok (sig1, keyid "`+httpsig.KeyID(pub)+`"`) {
			t.Fatalf("verify --pubkey %v: exit %d\n%s%s", c.args, code, out, errOut)
		}
	}

	// Another key's signature over the same headers: a forgery.
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	forged := proxy(t, p.url, func(r *http.Response) {
		s := &httpsig.Signer{Key: otherPriv, KeyID: httpsig.KeyID(pub), Label: gate.SignatureLabel, Components: gate.SignedComponents}
		s.Sign(httpsig.Response(r.StatusCode, r.Header))
	})
	strippedURL := proxy(t, p.url, func(r *http.Response) {
		r.Header.Del(httpsig.HeaderSignature)
		r.Header.Del(httpsig.HeaderSignatureInput)
	})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--pubkey", pubFile, forged + "/metrics"}, exitProblem, "signature: forged or altered"},
		{[]string{"--pubkey", pubFile, strippedURL + "/metrics"}, exitProblem, "signature: missing: the response is not signed"},
		{[]string{"--pubkey", otherPub, p.url + "/metrics"}, exitProblem, "forged or altered"},
		{[]string{"--pubkey", keyFile, p.url + "/metrics"}, exitUsage, `--pubkey: ` + keyFile + `: not a usable ed25519 key: PEM block is "PRIVATE KEY"`},
		{[]string{"--pubkey", filepath.Join(dir, "absent.pub"), p.url + "/metrics"}, exitUsage, "--pubkey: open"},
		{[]string{"--pubkey", pubFile, "--allow-unsigned", p.url + "/metrics"}, exitUsage, "--allow-unsigned: not with --pubkey"},
	} {
		code, out, errOut := runCLI(t, append([]string{"verify"}, c.args...)...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("verify %v: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, out, errOut)
		}
	}

	// A saved response: the body in one file, the header block in another.
	body, hdr := p.scrapeResponse(t, "/metrics")
	payload := writeFile(t, dir, "m.prom", body)
	headers := writeFile(t, dir, "h.txt", hdr)
	if code, out, errOut := runCLI(t, "verify", "--pubkey", pubFile, "--headers", headers, payload); code != exitOK || !strings.Contains(out, "Signature:   ok") {
		t.Fatalf("saved response: exit %d\n%s%s", code, out, errOut)
	}
	edited := writeFile(t, dir, "edited.prom", editValue(t, body))
	status503 := writeFile(t, dir, "h503.txt", bytes.Replace(hdr, []byte("HTTP/1.1 200 OK"), []byte("HTTP/1.1 503 Service Unavailable"), 1))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--pubkey", pubFile, "--headers", headers, edited}, exitProblem, "Repr-Digest: Repr-Digest does not match the body"},
		{[]string{"--pubkey", pubFile, "--headers", status503, payload}, exitProblem, "signature: forged or altered"},
		{[]string{"--pubkey", pubFile, payload}, exitUsage, "--pubkey: a FILE or standard input needs --headers"},
		{[]string{"--pubkey", pubFile, "--headers", payload, payload}, exitUsage, "--headers: "},
		{[]string{"--headers", headers, "--digest", "sha-256=:" + strings.Repeat("A", 43) + "=:", payload}, exitUsage, "--headers: it supplies Repr-Digest"},
		{[]string{"--headers", headers, payload}, exitOK, "Repr-Digest: ok"},
	} {
		code, out, errOut := runCLI(t, append([]string{"verify"}, c.args...)...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("verify %v: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, out, errOut)
		}
	}
}

// scrapeResponse fetches path and returns the body and the header block as
// curl -D writes it.
func (p *proc) scrapeResponse(t *testing.T, path string) (body, header []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	var h bytes.Buffer
	h.WriteString("HTTP/1.1 200 OK\r\n")
	resp.Header.Write(&h)
	h.WriteString("\r\n")
	return body, h.Bytes()
}

// TestVerifyRefusesAReplayedResponse: the gate's signatures carry created
// and expires; gate verify fails a response signed with the gate's key
// whose signature expired (a recording replayed later), and with --max-age
// one created longer ago than that.
func TestVerifyRefusesAReplayedResponse(t *testing.T) {
	dir := keyDir(t)
	keyFile, pubFile, _ := newKeys(t, dir, "gate")
	p := startProcess(t, "--signing-key", keyFile, "--signature-validity", "2m")
	t.Setenv("METRICS_TOKEN", testToken)
	code, out, errOut := runCLI(t, "verify", "--pubkey", pubFile, "--max-age", "1m", p.url+"/metrics")
	if code != exitOK || !strings.Contains(out, "expires ") {
		t.Fatalf("a fresh response: exit %d\n%s%s", code, out, errOut)
	}
	body, hdr := p.scrapeResponse(t, "/metrics")
	if !bytes.Contains(hdr, []byte(";expires=")) {
		t.Fatalf("the signature carries no expires:\n%s", hdr)
	}

	// The same response as the gate signed it ten minutes ago, replayed.
	priv, err := loadSigningKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	replayed := proxy(t, p.url, func(r *http.Response) {
		s := &httpsig.Signer{Key: priv, KeyID: httpsig.KeyID(priv.Public().(ed25519.PublicKey)), Label: gate.SignatureLabel,
			Components: gate.SignedComponents, Validity: 2 * time.Minute, Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }}
		s.Sign(httpsig.Response(r.StatusCode, r.Header))
	})
	code, out, errOut = runCLI(t, "verify", "--pubkey", pubFile, replayed+"/metrics")
	if code != exitProblem || !strings.Contains(out+errOut, "stale: signature sig1: signature expired") {
		t.Fatalf("an expired signature: exit %d\n%s%s", code, out, errOut)
	}

	payload, headers := writeFile(t, dir, "m.prom", body), writeFile(t, dir, "h.txt", hdr)
	time.Sleep(2100 * time.Millisecond) // the saved response is now more than 2 s old
	code, out, errOut = runCLI(t, "verify", "--pubkey", pubFile, "--headers", headers, "--max-age", "2s", payload)
	if code != exitProblem || !strings.Contains(out+errOut, "older than the maximum age") {
		t.Fatalf("older than --max-age: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "verify", "--max-age", "1m", payload); code != exitUsage || !strings.Contains(errOut, "--max-age: only with --pubkey") {
		t.Fatalf("--max-age without --pubkey: exit %d %s", code, errOut)
	}
}
