package main

import (
	"crypto/tls"
	"flag"

	"github.com/quannex/gameday/cmd/internal/cliflags"
)

// tlsFlags are --ca-file, --cert-file, --key-file and --server-name
// (cliflags.TLS, shared with gate verify).
type tlsFlags struct{ *cliflags.TLS }

// addTLSFlags registers the flags; peer names what they talk to.
func addTLSFlags(fs *flag.FlagSet, peer string) tlsFlags {
	return tlsFlags{cliflags.AddTLS(fs, peer)}
}

// config returns the client TLS config, nil when no flag is set; cmd
// prefixes usage errors, which name the flag.
func (f tlsFlags) config(cmd string) (*tls.Config, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, usagef("%s: %v", cmd, err)
	}
	return cfg, nil
}
