package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/auth"
	"github.com/quannex/gameday/gate/gatetest"
	"github.com/quannex/gameday/gate/metrics"
	"github.com/quannex/gameday/gate/ratelimit"
)

const (
	smokeToken     = "gameday-smoke-token-00001"
	smokeSlowToken = "gameday-smoke-slow-token-2"
	smokeAdmin     = "gameday-smoke-admin-token-3"
)

// startSmokeGate runs a real gate in-process on a loopback :0 listener, with
// the admin token and fault injection, until the test ends. The "slow" token
// has too little rate limit for the pack.
func startSmokeGate(t *testing.T) string {
	t.Helper()
	toks, err := auth.ParseList("smoke:" + smokeToken + ",slow:" + smokeSlowToken)
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.NewToken("admin", smokeAdmin)
	base := gatetest.Start(t, gate.Options{
		Tokens:         toks,
		AdminToken:     &admin,
		FaultInjection: true,
		RateLimits: map[string]ratelimit.Policy{
			"smoke": {Limit: 1000, Window: time.Second},
			"slow":  {Limit: 5, Window: time.Minute},
			"admin": {Limit: 1000, Window: time.Second},
		},
	}).URL
	// The first audit entry is written in the background; until it is,
	// quannex_audit_entries_total has no series and the golden set fails.
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/metrics/self", nil)
		req.Header.Set("Authorization", "Bearer "+smokeToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(b, []byte(metrics.AuditEntries+"{")) {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the gate made no audit entry durable within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSmokeExitCodes(t *testing.T) {
	for _, v := range []string{"GATE_URL", "METRICS_TOKEN", "GATE_ADMIN_TOKEN"} {
		t.Setenv(v, "")
	}
	url := startSmokeGate(t)
	dir := t.TempDir()
	tok, slow, admin, empty := filepath.Join(dir, "token"), filepath.Join(dir, "slow"), filepath.Join(dir, "admin"), filepath.Join(dir, "empty")
	for f, v := range map[string]string{tok: smokeToken, slow: smokeSlowToken, admin: smokeAdmin, empty: ""} {
		if err := os.WriteFile(f, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		out  []string // in stdout and stderr
	}{
		{"all five pass", []string{"--url", url, "--token-file", tok, "--admin-token-file", admin}, exitOK,
			[]string{"smoke PASS", "(0 skipped)", "e2e pass recorded: true"}},
		{"no admin token skips check 4", []string{"--url", url, "--token-file", tok}, exitInconclusive,
			[]string{"skip", "no admin token", "smoke INCOMPLETE", "(1 skipped)", "e2e pass recorded: false", "1 check(s) skipped, so not a pass"}},
		{"a failed check", []string{"--url", url, "--token-file", slow, "--admin-token-file", admin}, exitFail,
			[]string{"429", "smoke FAIL", "e2e pass recorded: false"}},
		{"-o json", []string{"--token-file", tok, "--url", url, "-o", "json"}, exitInconclusive,
			[]string{`"verdict": "incomplete"`, `"skipped": 1`, `"pass": false`}},
		{"--json, deprecated", []string{"--token-file", tok, "--url", url, "--json"}, exitInconclusive,
			[]string{`"verdict": "incomplete"`, "--json is deprecated"}},
		{"--token, deprecated", []string{"--url", url, "--token", smokeToken, "--admin-token", smokeAdmin}, exitOK,
			[]string{"smoke PASS", "--token is deprecated", "use --token-file", "--admin-token is deprecated"}},
		{"unreachable", []string{"--url", "http://127.0.0.1:1", "--token-file", tok}, exitRuntime,
			[]string{"gate unreachable"}},
		{"no token", []string{"--url", url}, exitUsage, []string{"--token-file is required"}},
		{"an empty token file", []string{"--url", url, "--token-file", empty}, exitUsage, []string{"--token-file: " + empty + " is empty"}},
		{"not a URL", []string{"--url", "gate:3000", "--token-file", tok}, exitUsage, []string{"--url: "}},
		{"unknown flag", []string{"--url", url, "--frob"}, exitUsage, []string{"unknown flag --frob"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"smoke"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, want := range c.out {
				if !strings.Contains(out+errOut, want) {
					t.Errorf("output lacks %q\n%s%s", want, out, errOut)
				}
			}
			for _, secret := range []string{smokeToken, smokeSlowToken, smokeAdmin} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("a token is in the output:\n%s%s", out, errOut)
				}
			}
		})
	}
}

func TestSmokeHelpNamesEveryExitCode(t *testing.T) {
	code, help, _ := runCLI(t, "smoke", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"0 pass (all five checks ran and passed)", "1 a check failed", "2 usage", "3 gate unreachable", "4 incomplete"} {
		if !strings.Contains(strings.Join(strings.Fields(help), " "), want) {
			t.Errorf("smoke --help lacks %q:\n%s", want, help)
		}
	}
	code, out, _ := runCLI(t, "--help")
	if code != exitOK || !strings.Contains(out, "smoke incomplete") {
		t.Errorf("gameday --help does not say smoke exits 4 when incomplete:\n%s", out)
	}
}
