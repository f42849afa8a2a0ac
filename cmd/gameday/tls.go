package main

import (
	"crypto/tls"
	"flag"

	"github.com/quannex/gameday/harness/certs"
)

// tlsFlags are --ca-file, --cert-file and --key-file: the CA to trust
// instead of the system roots and the client certificate for mutual TLS.
type tlsFlags struct {
	ca, cert, key string
}

// addTLSFlags registers the three flags; peer names what they talk to.
func addTLSFlags(fs *flag.FlagSet, peer string) *tlsFlags {
	f := &tlsFlags{}
	fs.StringVar(&f.ca, "ca-file", "", "PEM CA certificate(s) to verify "+peer+" with, instead of the system roots")
	fs.StringVar(&f.cert, "cert-file", "", "PEM client certificate to present to "+peer+" (mutual TLS; with --key-file)")
	fs.StringVar(&f.key, "key-file", "", "PEM key of --cert-file")
	return f
}

// config returns the client TLS config, nil when no flag is set; cmd
// prefixes usage errors, which name the flag.
func (f *tlsFlags) config(cmd string) (*tls.Config, error) {
	if *f == (tlsFlags{}) {
		return nil, nil
	}
	cfg, err := certs.ClientConfig(f.ca, "", "")
	if err != nil {
		return nil, usagef("%s: --ca-file: %v", cmd, err)
	}
	if f.cert != "" || f.key != "" {
		if f.cert == "" || f.key == "" {
			return nil, usagef("%s: --cert-file and --key-file go together", cmd)
		}
		c, err := certs.ClientConfig("", f.cert, f.key)
		if err != nil {
			return nil, usagef("%s: --cert-file, --key-file: %v", cmd, err)
		}
		cfg.Certificates = c.Certificates
	}
	return cfg, nil
}
