package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadWebConfigExitsTwoNamingTheFlag: a web config that does not parse,
// names files that are not there, or asks for basic auth stops gate serve
// at start with exit 2 and a message naming the flag and the variable.
func TestBadWebConfigExitsTwoNamingTheFlag(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(dir, "absent.yml"), "absent.yml"},
		{"does not parse", write("bad.yml", "tls_server_config: [\n"), "yaml"},
		{"unknown field", write("unknown.yml", "tls_server_config:\n  certificate: x\n"), "certificate"},
		{"missing cert", write("nocert.yml", "tls_server_config:\n  cert_file: "+dir+"/none.crt\n  key_file: "+dir+"/none.key\n"), "none.crt"},
		{"rate limit", write("rate.yml", "rate_limit:\n  burst: 1\n  interval: 1s\n"), "rate_limit is not supported"},
		{"basic auth", write("basic.yml", "basic_auth_users:\n  alice: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n"), "basic_auth_users"},
	}
	for _, c := range cases {
		for _, viaEnv := range []bool{false, true} {
			t.Run(c.name, func(t *testing.T) {
				t.Setenv("METRICS_TOKENS", testToken)
				args := []string{"serve", "--web.listen-address", "127.0.0.1:0", "--cache-dir", dir + "/c", "--audit-log", dir + "/a/a.jsonl"}
				if viaEnv {
					t.Setenv("GATE_WEB_CONFIG_FILE", c.file)
				} else {
					args = append(args, "--web.config.file", c.file)
				}
				code, _, stderr := runCLI(t, args...)
				named := "--web.config.file: "
				if viaEnv {
					named = "GATE_WEB_CONFIG_FILE (--web.config.file): "
				}
				if code != exitUsage || !strings.Contains(stderr, named) || !strings.Contains(stderr, c.want) {
					t.Fatalf("exit %d, stderr %q; want exit 2 naming the flag and %q", code, stderr, c.want)
				}
			})
		}
	}
}
