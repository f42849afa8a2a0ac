package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// writeTLS writes a throwaway self-signed certificate for 127.0.0.1, its
// key and an exporter-toolkit web config naming them into dir, for both
// servers of the TLS suite; it returns the config's path and a client
// config trusting the certificate.
func writeTLS(dir string) (webConfig string, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, fmt.Errorf("bench tls: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatebench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", nil, fmt.Errorf("bench tls: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, fmt.Errorf("bench tls: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("bench tls: %w", err)
	}
	files := map[string][]byte{
		"bench.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"bench.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"web.yml":   []byte("tls_server_config:\n  cert_file: bench.crt\n  key_file: bench.key\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", nil, fmt.Errorf("bench tls: %w", err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", nil, fmt.Errorf("bench tls: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return filepath.Join(dir, "web.yml"), &tls.Config{RootCAs: pool}, nil
}
