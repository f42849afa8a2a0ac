package main

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/ratelimit"
	"github.com/quannex/gameday/harness/certs"
)

// startMTLSGate runs a gate in-process that requires client certificates
// from a throwaway CA, and returns its https URL and the files.
func startMTLSGate(t *testing.T) (string, certs.Files) {
	t.Helper()
	dir := t.TempDir()
	files, err := certs.Write(filepath.Join(dir, "tls"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := auth.ParseList("smoke:" + smokeToken)
	admin := auth.NewToken("admin", smokeAdmin)
	srv := gatetest.Start(t, gate.Options{Tokens: toks, AdminToken: &admin, FaultInjection: true,
		RateLimits:    map[string]ratelimit.Policy{"smoke": {Limit: 1000, Window: time.Second}, "admin": {Limit: 1000, Window: time.Second}},
		WebConfigFile: files.Path(certs.WebConfigFile),
	})
	base := "https://" + srv.Addr().String()
	cfg, err := files.Client()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	// As startSmokeGate: wait for the first durable audit entry.
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/metrics/self", nil)
		req.Header.Set("Authorization", "Bearer "+smokeToken)
		if resp, err := c.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(b, []byte(metrics.AuditEntries+"{")) {
				return base, files
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the gate made no audit entry durable within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSmokeOverMutualTLS(t *testing.T) {
	for _, v := range []string{"GATE_URL", "METRICS_TOKEN", "GATE_ADMIN_TOKEN"} {
		t.Setenv(v, "")
	}
	url, f := startMTLSGate(t)
	ca, crt, key := f.Path(certs.CAFile), f.Path(certs.ClientCertFile), f.Path(certs.ClientKeyFile)
	base := []string{"smoke", "--url", url, "--token", smokeToken, "--admin-token", smokeAdmin}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"CA and client certificate", []string{"--ca-file", ca, "--cert-file", crt, "--key-file", key}, exitOK, "smoke PASS"},
		{"no client certificate", []string{"--ca-file", ca}, exitRuntime, "gate unreachable"},
		{"system roots", nil, exitRuntime, "gate unreachable"},
		{"missing CA file", []string{"--ca-file", ca + ".absent"}, exitUsage, "--ca-file: "},
		{"certificate without key", []string{"--ca-file", ca, "--cert-file", crt}, exitUsage, "--cert-file and --key-file go together"},
		{"key of no certificate", []string{"--cert-file", ca, "--key-file", key}, exitUsage, "--cert-file, --key-file: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(base, c.args...)...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, c.code, c.want, out, errOut)
			}
			if strings.Contains(out+errOut, "PRIVATE KEY") {
				t.Fatal("key material in the output")
			}
		})
	}
	// Plain HTTP to the TLS gate gets no metrics.
	code, out, errOut := runCLI(t, "smoke", "--url", strings.Replace(url, "https://", "http://", 1), "--token", smokeToken)
	if code == exitOK || strings.Contains(out, "smoke PASS") {
		t.Fatalf("plain HTTP: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCanaryTLSFlags(t *testing.T) {
	code, _, errOut := runCLI(t, "canary", "--prometheus", "https://127.0.0.1:1", "--stable", `track="stable"`, "--canary", `track="canary"`,
		"--ca-file", filepath.Join(t.TempDir(), "absent.crt"))
	if code != exitUsage || !strings.Contains(errOut, "canary: --ca-file: ") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
