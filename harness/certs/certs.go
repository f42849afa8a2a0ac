// Package certs makes the throwaway TLS material of a GameDay run — a CA,
// a server certificate for the gate, a client certificate for the harness
// and the exporter-toolkit web config that serves them with client
// certificates required — and builds client TLS configs from PEM files
// (the --ca-file, --cert-file and --key-file of gameday smoke and canary).
//
// Nothing here is for production certificates: keys are ECDSA P-256, valid
// for a day, and live only in the run's temporary directory. No error or
// log line carries key material.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names inside the directory Write fills. The web config names the
// others relative to itself, so the directory may be mounted anywhere
// (the container target mounts it at /tls).
const (
	CAFile         = "ca.crt"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
	ClientCertFile = "client.crt"
	ClientKeyFile  = "client.key"
	WebConfigFile  = "web.yml"
)

// webConfig serves the server certificate and requires a client
// certificate signed by the run's CA.
const webConfig = `tls_server_config:
  cert_file: ` + ServerCertFile + `
  key_file: ` + ServerKeyFile + `
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ` + CAFile + `
`

// validity is how long the throwaway certificates are valid.
const validity = 24 * time.Hour

// Files is the TLS material of one run, in Dir.
type Files struct {
	Dir string
}

// Path returns the path of one of the files above.
func (f Files) Path(name string) string { return filepath.Join(f.Dir, name) }

// Names lists every file Write creates.
func Names() []string {
	return []string{CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile, WebConfigFile}
}

// Write creates dir and writes a fresh CA, a server certificate for hosts
// (DNS names or IP addresses), a client certificate and the web config.
// Keys are written 0600.
func Write(dir string, hosts []string) (Files, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Files{}, fmt.Errorf("certs: %w", err)
	}
	f := Files{Dir: dir}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Files{}, fmt.Errorf("certs: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "gameday throwaway CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validity),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return Files{}, fmt.Errorf("certs: CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Files{}, fmt.Errorf("certs: CA: %w", err)
	}
	if err := writePEM(f.Path(CAFile), "CERTIFICATE", caDER, 0o644); err != nil {
		return Files{}, err
	}
	server := &x509.Certificate{
		Subject: pkix.Name{CommonName: "gate"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else if h != "" {
			server.DNSNames = append(server.DNSNames, h)
		}
	}
	if err := issue(f, server, ca, caKey, ServerCertFile, ServerKeyFile); err != nil {
		return Files{}, err
	}
	client := &x509.Certificate{
		Subject: pkix.Name{CommonName: "gameday"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if err := issue(f, client, ca, caKey, ClientCertFile, ClientKeyFile); err != nil {
		return Files{}, err
	}
	if err := os.WriteFile(f.Path(WebConfigFile), []byte(webConfig), 0o644); err != nil {
		return Files{}, fmt.Errorf("certs: %w", err)
	}
	return f, nil
}

// issue signs tmpl with the CA and writes the certificate and its key.
func issue(f Files, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certName, keyName string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certs: %s: %w", certName, err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(validity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("certs: %s: %w", certName, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("certs: %s: %w", keyName, err)
	}
	if err := writePEM(f.Path(certName), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writePEM(f.Path(keyName), "EC PRIVATE KEY", kder, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// Client is the TLS config the harness speaks to the gate with: it trusts
// the run's CA and presents the client certificate.
func (f Files) Client() (*tls.Config, error) {
	return ClientConfig(f.Path(CAFile), f.Path(ClientCertFile), f.Path(ClientKeyFile))
}

// ClientConfig builds a client TLS config from PEM files: caFile, if set,
// replaces the system roots; certFile and keyFile, both or neither, are
// the client certificate presented for mutual TLS. Errors name the file,
// never its contents.
func ClientConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		return nil, errors.New("a client certificate needs both the certificate and the key file")
	default:
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
