package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quannex/gameday/harness/certs"
)

// tlsFiles writes a CA, server and client certificates and a web config
// requiring client certificates (harness/certs) where a gate running as
// nobody can read them.
func tlsFiles(t *testing.T) certs.Files {
	t.Helper()
	dir := filepath.Join(keyDir(t), "tls")
	f, err := certs.Write(dir, []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.Chown(dir, nobody, nobody)
		for _, n := range certs.Names() {
			os.Chown(f.Path(n), nobody, nobody)
		}
	}
	return f
}

// gate verify fetches from a gate serving mutual TLS with --ca-file,
// --cert-file and --key-file: without the client certificate the handshake
// fails (exit 3), with it the signature and digests verify; bad TLS flags
// are usage errors naming the flag and quoting no key.
func TestVerifyOverMutualTLS(t *testing.T) {
	keyFile, pubFile, _ := newKeys(t, keyDir(t), "gate")
	f := tlsFiles(t)
	p := startProcess(t, "--signing-key", keyFile, "--web.config.file", f.Path(certs.WebConfigFile))
	url := "https://" + strings.TrimPrefix(p.url, "http://") + "/metrics"
	t.Setenv("METRICS_TOKEN", testToken)
	ca, crt, key := f.Path(certs.CAFile), f.Path(certs.ClientCertFile), f.Path(certs.ClientKeyFile)
	dir := t.TempDir()
	garbage := writeFile(t, dir, "garbage.key", []byte("not a key\n"))
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"CA and client certificate", []string{"--ca-file", ca, "--cert-file", crt, "--key-file", key}, exitOK, "Signature:   ok"},
		{"flags after the URL", []string{url + "#", "--ca-file", ca, "--cert-file", crt, "--key-file", key}, exitOK, "Signature:   ok"},
		{"server name in the certificate", []string{"--ca-file", ca, "--cert-file", crt, "--key-file", key, "--server-name", "localhost"}, exitOK, "Signature:   ok"},
		{"no client certificate", []string{"--ca-file", ca}, exitRuntime, "certificate required"},
		{"system roots only", []string{"--cert-file", crt, "--key-file", key}, exitRuntime, "certificate"},
		{"server name not in the certificate", []string{"--ca-file", ca, "--cert-file", crt, "--key-file", key, "--server-name", "other.example"}, exitRuntime, "other.example"},
		{"missing CA file", []string{"--ca-file", ca + ".absent", "--cert-file", crt, "--key-file", key}, exitUsage, "--ca-file: "},
		{"CA file holds no certificate", []string{"--ca-file", key}, exitUsage, "--ca-file: "},
		{"certificate without key", []string{"--ca-file", ca, "--cert-file", crt}, exitUsage, "--cert-file and --key-file go together"},
		{"key without certificate", []string{"--ca-file", ca, "--key-file", key}, exitUsage, "--cert-file and --key-file go together"},
		{"unreadable key", []string{"--ca-file", ca, "--cert-file", crt, "--key-file", filepath.Join(dir, "absent.key")}, exitUsage, "--cert-file, --key-file: "},
		{"garbage key", []string{"--ca-file", ca, "--cert-file", crt, "--key-file", garbage}, exitUsage, "--cert-file, --key-file: "},
		{"key of another certificate", []string{"--ca-file", ca, "--cert-file", ca, "--key-file", key}, exitUsage, "--cert-file, --key-file: "},
		{"TLS flags with a plain URL", []string{"--ca-file", ca, p.url + "/metrics"}, exitUsage, "only for an https:// URL"},
		{"TLS flags with a file", []string{"--ca-file", ca, "--headers", garbage, garbage}, exitUsage, "only for an https:// URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"verify", "--pubkey", pubFile}, c.args...)
			if !strings.Contains(strings.Join(c.args, " "), "://") && c.name != "TLS flags with a file" {
				args = append(args, url)
			}
			code, out, errOut := runCLI(t, args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, c.code, c.want, out, errOut)
			}
			for _, k := range []string{key, keyFile} {
				b, _ := os.ReadFile(k)
				for _, line := range strings.Split(string(b), "\n")[1:] {
					if len(line) > 8 && strings.Contains(out+errOut, line) {
						t.Fatalf("the output quotes %s", k)
					}
				}
			}
		})
	}
	if _, out, _ := runCLI(t, "verify", "--help"); !strings.Contains(out, "-cert-file") || !strings.Contains(out, "RequireAndVerifyClientCert") {
		t.Errorf("verify --help does not tell the TLS flags:\n%s", out)
	}
}
