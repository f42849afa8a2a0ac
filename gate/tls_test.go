package gate_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/metrics"
)

// testCA is a throwaway certificate authority in t.TempDir().
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	return ca
}

var serial int64 = 100

// issue signs a leaf certificate: a server one for localhost and 127.0.0.1,
// or a client one. It returns the PEM certificate and key.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// replace writes b to path through a temporary file and a rename: the
// file is replaced in place, as a certificate rotation tool does.
func replace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startTLSGate writes a server certificate and a web config (with
// clientAuth, if any, and the CA as client_ca_file) and starts a gate
// serving it.
func startTLSGate(t *testing.T, ca *testCA, clientAuth string) (*testGate, string) {
	t.Helper()
	dir := t.TempDir()
	crt, key := ca.issue(t, "gate-1", true)
	replace(t, filepath.Join(dir, "server.crt"), crt)
	replace(t, filepath.Join(dir, "server.key"), key)
	replace(t, filepath.Join(dir, "ca.crt"), ca.pem)
	cfg := "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
	if clientAuth != "" {
		cfg += "  client_auth_type: " + clientAuth + "\n  client_ca_file: ca.crt\n"
	}
	replace(t, filepath.Join(dir, "web.yml"), []byte(cfg))
	g := startGate(t, func(o *gate.Options) { o.WebConfigFile = filepath.Join(dir, "web.yml") })
	return g, dir
}

// tlsGet sends GET path over a new connection (no keep-alive), with token
// unless it is empty, and returns the response or the transport error.
func tlsGet(g *testGate, cfg *tls.Config, path, token string) (*http.Response, []byte, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+g.Addr().String()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func clientCert(t *testing.T, ca *testCA, cn string) tls.Certificate {
	t.Helper()
	crt, key := ca.issue(t, cn, false)
	c, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTLSRefusesPlainHTTP(t *testing.T) {
	ca := newTestCA(t, "test CA")
	g, _ := startTLSGate(t, ca, "")
	resp, err := http.Get("http://" + g.Addr().String() + "/metrics")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "quannex_") {
			t.Fatalf("plain HTTP answered %d with %.80q", resp.StatusCode, b)
		}
	}
	resp, body, err := tlsGet(g, &tls.Config{RootCAs: ca.pool}, "/metrics", gamedayToken)
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Metrics-Source") != "live" || !strings.Contains(string(body), "# LIVESHA:") {
		t.Fatalf("HTTPS /metrics: %d %s", resp.StatusCode, resp.Header.Get("X-Metrics-Source"))
	}
	if _, _, err := tlsGet(g, &tls.Config{RootCAs: newTestCA(t, "other CA").pool}, "/healthz", ""); err == nil {
		t.Fatal("a client trusting another CA accepted the gate's certificate")
	}
}

func TestMTLSNeedsAClientCertificateAndTheToken(t *testing.T) {
	ca := newTestCA(t, "test CA")
	g, _ := startTLSGate(t, ca, "RequireAndVerifyClientCert")
	if resp, _, err := tlsGet(g, &tls.Config{RootCAs: ca.pool}, "/healthz", ""); err == nil {
		t.Fatalf("no client certificate: answered %d", resp.StatusCode)
	}
	stranger := clientCert(t, newTestCA(t, "other CA"), "stranger")
	if resp, _, err := tlsGet(g, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{stranger}}, "/healthz", ""); err == nil {
		t.Fatalf("a client certificate of another CA: answered %d", resp.StatusCode)
	}
	cfg := &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{clientCert(t, ca, "scraper")}}
	resp, body, err := tlsGet(g, cfg, "/metrics", gamedayToken)
	if err != nil {
		t.Fatalf("client certificate and token: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "# LIVESHA:") {
		t.Fatalf("client certificate and token: %d", resp.StatusCode)
	}
	resp, _, err = tlsGet(g, cfg, "/metrics", "")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("client certificate without the token: %v %v; want 401", resp, err)
	}
}

func TestRotatedServerCertificateServedWithoutRestart(t *testing.T) {
	ca := newTestCA(t, "test CA")
	g, dir := startTLSGate(t, ca, "")
	servedCN := func() string {
		t.Helper()
		resp, _, err := tlsGet(g, &tls.Config{RootCAs: ca.pool}, "/healthz", "")
		if err != nil {
			t.Fatal(err)
		}
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if cn := servedCN(); cn != "gate-1" {
		t.Fatalf("served %q, want gate-1", cn)
	}
	crt, key := ca.issue(t, "gate-2", true)
	replace(t, filepath.Join(dir, "server.key"), key)
	replace(t, filepath.Join(dir, "server.crt"), crt)
	if cn := servedCN(); cn != "gate-2" {
		t.Fatalf("after the rotation a new connection got %q, want gate-2", cn)
	}
	if resp, _, err := tlsGet(g, &tls.Config{RootCAs: ca.pool}, "/metrics", gamedayToken); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics after the rotation: %v %v", resp, err)
	}
}

func TestWebConfigCheckedInNew(t *testing.T) {
	o := defaultOptions(t, t.TempDir())
	o.WebConfigFile = filepath.Join(t.TempDir(), "absent.yml")
	if _, err := gate.New(o); err == nil || !strings.Contains(err.Error(), "WebConfigFile: ") {
		t.Fatalf("New with a missing web config: %v", err)
	}
}

// TestWebConfigParsedOnlyWhenItChanges: new TLS connections do not make the
// gate read and parse its web config and certificates again while none of
// the files changed (a flood of handshakes would otherwise cost a parse
// each); a changed certificate is parsed once, and served.
func TestWebConfigParsedOnlyWhenItChanges(t *testing.T) {
	ca := newTestCA(t, "test CA")
	g, dir := startTLSGate(t, ca, "")
	connect := func(n int) string {
		t.Helper()
		var cn string
		for range n {
			resp, _, err := tlsGet(g, &tls.Config{RootCAs: ca.pool}, "/healthz", "")
			if err != nil {
				t.Fatal(err)
			}
			cn = resp.TLS.PeerCertificates[0].Subject.CommonName
		}
		return cn
	}
	if cn := connect(20); cn != "gate-1" || g.value(t, metrics.WebConfigReloads) != 0 {
		t.Fatalf("20 connections over unchanged files: served %s, %s = %v; want no parse", cn, metrics.WebConfigReloads, g.value(t, metrics.WebConfigReloads))
	}
	crt, key := ca.issue(t, "gate-2", true)
	replace(t, filepath.Join(dir, "server.key"), key)
	replace(t, filepath.Join(dir, "server.crt"), crt)
	if cn := connect(20); cn != "gate-2" {
		t.Fatalf("after the rotation: served %s", cn)
	}
	// A look between the two renames finds a key without its certificate:
	// that set does not load and is not counted. So one parse put in force.
	if n := g.value(t, metrics.WebConfigReloads); n != 1 {
		t.Fatalf("%s = %v after one rotation and 20 connections; want 1", metrics.WebConfigReloads, n)
	}
}
