package certs_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/harness/certs"
)

// TestWrittenFilesServeMutualTLS: the web config Write produces passes
// the gate's start check, and its server certificate and client config
// complete a mutual TLS handshake for the named host.
func TestWrittenFilesServeMutualTLS(t *testing.T) {
	f, err := certs.Write(filepath.Join(t.TempDir(), "tls"), []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := gate.CheckWebConfig(f.Path(certs.WebConfigFile)); err != nil {
		t.Fatalf("the web config does not pass the gate's check: %v", err)
	}
	if st, err := os.Stat(f.Path(certs.ServerKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("server key mode: %v %v", st, err)
	}
	client, err := f.Client()
	if err != nil {
		t.Fatal(err)
	}
	srvCert, err := tls.LoadX509KeyPair(f.Path(certs.ServerCertFile), f.Path(certs.ServerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: client.RootCAs}
	srv.StartTLS()
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: client}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("mutual TLS: %v", err)
	}
	resp.Body.Close()
}

func TestClientConfigNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := certs.ClientConfig(filepath.Join(dir, "absent.crt"), "", ""); err == nil || !strings.Contains(err.Error(), "absent.crt") {
		t.Errorf("missing CA file: %v", err)
	}
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not PEM"), 0o600)
	if _, err := certs.ClientConfig(junk, "", ""); err == nil || !strings.Contains(err.Error(), "junk.pem") {
		t.Errorf("a CA file without PEM: %v", err)
	}
	if _, err := certs.ClientConfig("", junk, ""); err == nil {
		t.Error("a certificate without its key was accepted")
	}
	if cfg, err := certs.ClientConfig("", "", ""); err != nil || cfg.RootCAs != nil || len(cfg.Certificates) != 0 {
		t.Errorf("no files: %+v %v", cfg, err)
	}
}
