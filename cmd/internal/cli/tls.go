package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
)

// TLS holds the client side of TLS as the commands take it: --ca-file,
// --cert-file, --key-file and --server-name, the fields of a Prometheus
// scrape job's tls_config, so one set of files serves both.
type TLS struct {
	CAFile, CertFile, KeyFile, ServerName string
}

// AddTLS declares the four flags on cmd; peer names what the command
// talks to ("the gate", "Prometheus").
func AddTLS(cmd *kingpin.CmdClause, peer string) *TLS {
	f := &TLS{}
	cmd.Flag("ca-file", "PEM CA certificate(s) to verify "+peer+" with, instead of the system roots").StringVar(&f.CAFile)
	cmd.Flag("cert-file", "PEM client certificate to present to "+peer+" (mutual TLS; with --key-file)").StringVar(&f.CertFile)
	cmd.Flag("key-file", "PEM key of --cert-file").StringVar(&f.KeyFile)
	cmd.Flag("server-name", "name to verify "+peer+"'s certificate against, when the URL's host is not in it (e.g. an IP address)").StringVar(&f.ServerName)
	return f
}

// Set reports whether any of the flags was given.
func (f *TLS) Set() bool { return *f != TLS{} }

// Config returns the client TLS config, nil when no flag is set. Errors
// name the flag and the file, never a file's contents; the caller makes
// them its usage error.
func (f *TLS) Config() (*tls.Config, error) {
	if !f.Set() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CAFile != "" {
		b, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--ca-file: %s: no PEM certificate in it", f.CAFile)
		}
	}
	if f.CertFile != "" || f.KeyFile != "" {
		if f.CertFile == "" || f.KeyFile == "" {
			return nil, errors.New("--cert-file and --key-file go together")
		}
		c, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert-file, --key-file: %s, %s: %w", f.CertFile, f.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
