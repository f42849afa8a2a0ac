package main

import (
	"crypto/tls"

	"github.com/quannex/gameday/cmd/internal/cli"
)

// tlsConfig is the client TLS config of --ca-file, --cert-file,
// --key-file and --server-name (cli.TLS, shared with gate verify), nil
// when none is set; cmd prefixes usage errors, which name the flag.
func tlsConfig(f *cli.TLS, cmd string) (*tls.Config, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, usagef("%s: %v", cmd, err)
	}
	return cfg, nil
}
