package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	rotOld   = "process-rotation-old-0003"
	rotNew   = "process-rotation-new-0004"
	rotAdmin = "process-rotation-adm-0005"
)

// writeTokens replaces path atomically with lines, mode 0600 and owned by
// the unprivileged user the process tests run the gate as (when they run
// as root): a token file open to every user is refused.
func writeTokens(t *testing.T, path string, lines ...string) {
	t.Helper()
	tmp := path + ".tmp"
	writePrivate(t, tmp, strings.Join(lines, "\n")+"\n")
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// writePrivate writes content to path, mode 0600, for the gate's user.
func writePrivate(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o600)
	if os.Geteuid() == 0 {
		os.Chown(path, nobody, nobody)
	}
}

// tokenDir is a directory the unprivileged user can reach (t.TempDir's
// parent is private to the test's user).
func tokenDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gate-tokens-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

func TestTokenFileConfigErrors(t *testing.T) {
	dir := tokenDir(t)
	good := filepath.Join(dir, "good")
	writeTokens(t, good, "# ok", "a:"+rotOld)
	empty := filepath.Join(dir, "empty")
	writePrivate(t, empty, "\n# nothing\n")
	blank := filepath.Join(dir, "blank")
	writePrivate(t, blank, "")
	short := filepath.Join(dir, "short")
	writeTokens(t, short, "a:"+rotOld, "b:shortToken12")
	missing := filepath.Join(dir, "missing")
	open := filepath.Join(dir, "open")
	writeTokens(t, open, "a:"+rotOld)
	os.Chmod(open, 0o644)
	shared := filepath.Join(dir, "shared")
	writeTokens(t, shared, "a:"+rotAdmin)
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"METRICS_TOKENS": rotNew, "METRICS_TOKENS_FILE": good}, nil, "METRICS_TOKENS and METRICS_TOKENS_FILE are both set"},
		{map[string]string{"METRICS_TOKENS_FILE": good, "GATE_ADMIN_TOKEN": rotAdmin, "GATE_ADMIN_TOKEN_FILE": good}, nil, "GATE_ADMIN_TOKEN and GATE_ADMIN_TOKEN_FILE are both set"},
		{map[string]string{"METRICS_TOKENS_FILE": missing}, nil, "METRICS_TOKENS_FILE: token file " + missing + ": missing (no such file)"},
		{map[string]string{"METRICS_TOKENS_FILE": dir}, nil, "METRICS_TOKENS_FILE: token file " + dir + ": unreadable"},
		{map[string]string{"METRICS_TOKENS_FILE": blank}, nil, "METRICS_TOKENS_FILE: token file " + blank + ": empty"},
		{map[string]string{"METRICS_TOKENS_FILE": empty}, nil, "METRICS_TOKENS_FILE: token file " + empty + ": no tokens"},
		{map[string]string{"METRICS_TOKENS_FILE": short}, nil, "METRICS_TOKENS_FILE: token file " + short + ": line 2: token shorter than 16 characters"},
		{map[string]string{"METRICS_TOKENS_FILE": good, "GATE_ADMIN_TOKEN_FILE": missing}, nil, "GATE_ADMIN_TOKEN_FILE: token file " + missing + ": missing"},
		{map[string]string{"METRICS_TOKENS_FILE": good, "GATE_ADMIN_TOKEN_FILE": short}, nil, "GATE_ADMIN_TOKEN_FILE: token file " + short + ": line 2: token shorter"},
		{map[string]string{"METRICS_TOKENS_FILE": good}, []string{"--token-file-poll=-1s"}, "--token-file-poll: must not be negative"},
		{map[string]string{"METRICS_TOKENS_FILE": good, "GATE_TOKEN_FILE_POLL": "-1s"}, nil, "GATE_TOKEN_FILE_POLL (--token-file-poll): must not be negative"},
		{map[string]string{"METRICS_TOKENS_FILE": open}, nil, "METRICS_TOKENS_FILE: token file " + open + ": open to every user (mode 0644)"},
		{map[string]string{"METRICS_TOKENS_FILE": good, "GATE_ADMIN_TOKEN_FILE": open}, nil, "GATE_ADMIN_TOKEN_FILE: token file " + open + ": open to every user"},
		{map[string]string{"METRICS_TOKENS_FILE": shared, "GATE_ADMIN_TOKEN": rotAdmin}, nil, "METRICS_TOKENS_FILE: token file " + shared + `: one secret in two roles: the metrics token "a" is also the admin token "admin"`},
		{map[string]string{"METRICS_TOKENS": "m:" + rotNew, "GATE_ADMIN_TOKEN": rotNew}, nil, `one secret in two roles: the metrics token "m" is also the admin token "admin"`},
		{map[string]string{"METRICS_TOKENS": "m:" + rotNew, "AUDIT_HMAC_KEY": rotNew}, nil, `one secret in two roles: the metrics token "m" is also the audit key (AUDIT_HMAC_KEY)`},
		{map[string]string{"METRICS_TOKENS_FILE": good, "GATE_CACHE_KEY": rotOld}, nil, `METRICS_TOKENS_FILE: token file ` + good + `: one secret in two roles: the metrics token "a" is also the cache key (GATE_CACHE_KEY)`},
		{map[string]string{"METRICS_TOKENS": "m:" + rotNew, "AUDIT_HMAC_KEY": rotOld, "GATE_CACHE_KEY": rotOld}, nil, "one secret in two roles: the cache key (GATE_CACHE_KEY) is also the audit key (AUDIT_HMAC_KEY)"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			for _, v := range []string{"METRICS_TOKENS", "METRICS_TOKENS_FILE", "GATE_ADMIN_TOKEN", "GATE_ADMIN_TOKEN_FILE", "METRICS_RATE_LIMITS", "AUDIT_HMAC_KEY", "GATE_CACHE_KEY"} {
				t.Setenv(v, "")
				os.Unsetenv(v)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			d := t.TempDir()
			args := append([]string{"serve", "--web.listen-address", "127.0.0.1:0", "--cache-dir", d + "/c", "--audit-log", d + "/a/a.jsonl"}, c.args...)
			code, _, stderr := runCLI(t, args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d containing %q", code, stderr, exitUsage, c.want)
			}
			for _, s := range []string{rotOld, rotNew, rotAdmin, "shortToken12"} {
				if strings.Contains(stderr, s) {
					t.Fatal("an error quotes a token")
				}
			}
		})
	}
}

func TestServeHelpListsTokenFiles(t *testing.T) {
	_, errOut, _ := runCLI(t, "serve", "--help")
	for _, want := range []string{"METRICS_TOKENS_FILE", "GATE_ADMIN_TOKEN_FILE", "token-file-poll", "GATE_TOKEN_FILE_POLL", "SIGHUP"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}
}

func getWith(t *testing.T, p *proc, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSIGHUPReloadsTokenFiles runs the real binary with polling off: a
// changed token file takes effect on SIGHUP, in the same process, and a bad
// one is refused, counted and shown in selftest.
func TestSIGHUPReloadsTokenFiles(t *testing.T) {
	dir := tokenDir(t)
	file := filepath.Join(dir, "metrics.tokens")
	adminFile := filepath.Join(dir, "admin.tokens")
	writeTokens(t, file, "proc-a:"+rotOld)
	writeTokens(t, adminFile, rotAdmin)
	p := startProcessEnv(t, []string{"METRICS_TOKENS_FILE=" + file, "GATE_ADMIN_TOKEN_FILE=" + adminFile,
		"METRICS_RATE_LIMITS=proc-a=1000/s,proc-b=1000/s,admin=100/s"}, "--token-file-poll", "0")
	pid := p.cmd.Process.Pid
	if code, _ := getWith(t, p, "/metrics", rotOld); code != 200 {
		t.Fatalf("token from the file: %d", code)
	}

	writeTokens(t, file, "proc-b:"+rotNew)
	time.Sleep(300 * time.Millisecond)
	if code, _ := getWith(t, p, "/metrics", rotNew); code != 401 {
		t.Fatalf("new token before SIGHUP: %d, want 401 (polling is off)", code)
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for {
		if code, _ := getWith(t, p, "/metrics", rotNew); code == 200 {
			break
		}
		if time.Since(sent) > 2*time.Second {
			t.Fatal("the new token does not work 2s after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := getWith(t, p, "/metrics", rotOld); code != 401 {
		t.Errorf("old token after SIGHUP: %d, want 401", code)
	}

	// A bad file on SIGHUP: refused, the tokens in force stay.
	writeTokens(t, file, "proc-b:"+rotNew, "proc-c:shortToken12")
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, self := getWith(t, p, "/metrics/self", rotNew)
		if strings.Contains(self, "\nquannex_auth_reload_failures_total 1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failure is not counted 2s after SIGHUP:\n%s", self)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := getWith(t, p, "/metrics", rotNew); code != 200 {
		t.Errorf("token in force after a bad file: %d", code)
	}
	code, st := getWith(t, p, "/metrics/selftest", rotAdmin) // the admin token sees files and reasons
	if code != 200 || !strings.Contains(st, `"status": "degraded"`) || !strings.Contains(st, "token file "+file+": line 2: token shorter than 16 characters") {
		t.Errorf("selftest after a bad file: %d\n%s", code, st)
	}

	if p.cmd.Process.Pid != pid || p.cmd.ProcessState != nil {
		t.Fatal("the gate restarted")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	<-p.done
	logs, audit := p.logs.String(), readAll(t, p.audit)
	if !strings.Contains(logs, `"msg":"metrics auth: tokens reloaded"`) || !strings.Contains(logs, `"trigger":"reload_requested"`) {
		t.Errorf("no reload in the log:\n%s", logs)
	}
	if strings.Count(audit, `"event":"gate_start"`) != 1 || !strings.Contains(audit, `"outcome":"reload_failed"`) ||
		!strings.Contains(audit, `"added":"proc-b"`) || !strings.Contains(audit, `"removed":"proc-a"`) {
		t.Errorf("audit log:\n%s", audit)
	}
	for _, s := range []string{rotOld, rotNew, rotAdmin, "shortToken12"} {
		if strings.Contains(logs+audit+st, s) {
			t.Fatal("a token appears in the log, the audit log or selftest")
		}
	}
}

func readAll(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
