package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quannex/gameday/cmd/internal/clitest"
	"github.com/quannex/gameday/gate/audit"
	"github.com/quannex/gameday/gate/integrity"
)

const (
	testToken  = "process-test-token-0001"
	adminToken = "process-admin-token-0002"
	nobody     = 65534
)

var gateBin string

// TestMain builds the real gate binary once; the process tests run it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gate-bin-*")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755) // the unprivileged user must reach the binary
	gateBin = filepath.Join(dir, "gate")
	out, err := exec.Command("go", "build", "-o", gateBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build gate: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, nil, "METRICS_TOKENS is not set"},
		{map[string]string{"METRICS_TOKENS": "a:short"}, nil, "METRICS_TOKENS: entry 1: token shorter than 16"},
		{map[string]string{"METRICS_TOKENS": testToken, "METRICS_RATE_LIMIT": "lots"}, nil, "METRICS_RATE_LIMIT:"},
		{map[string]string{"METRICS_TOKENS": testToken, "METRICS_RATE_LIMITS": "x"}, nil, "METRICS_RATE_LIMITS: entry 1"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_BREAKER_COOLDOWN": "soon"}, nil, `GATE_BREAKER_COOLDOWN (--breaker-cooldown): time: invalid duration "soon"`},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_FAULT_INJECTION": "maybe"}, nil, "GATE_FAULT_INJECTION (--enable-fault-injection): "},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--breaker-threshold", "0"}, "--breaker-threshold: must be positive"},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--max-connections=-1"}, "--max-connections: must be 0 (unlimited) or positive"},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--web.config.poll-interval=-1s"}, "--web.config.poll-interval: must be 0 (per new connection only) or positive"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_WEB_CONFIG_POLL": "soon"}, nil, "GATE_WEB_CONFIG_POLL"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_MAX_CONNECTIONS": "many"}, nil, "GATE_MAX_CONNECTIONS (--max-connections): "},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--max-connections-per-address=-2"}, "--max-connections-per-address: must be 0"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_MAX_CONNECTIONS_PER_ADDRESS": "600"}, nil, "GATE_MAX_CONNECTIONS_PER_ADDRESS (--max-connections-per-address): 600 must be below --max-connections 512"},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--probe-listen", "256.0.0.1:1"}, "probe listener: listen on 256.0.0.1:1"},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--generation-timeout", "x"}, `--generation-timeout: time: invalid duration "x"`},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--enable-fault-injection"}, "needs an admin token (GATE_ADMIN_TOKEN or GATE_ADMIN_TOKEN_FILE)"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_ADMIN_TOKEN": "a,b"}, nil, "GATE_ADMIN_TOKEN: must be a single token"},
		{map[string]string{"METRICS_TOKENS": testToken, "AUDIT_HMAC_KEY": "short"}, nil, "AUDIT_HMAC_KEY: must be at least 16"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_CACHE_KEY": "short"}, nil, "GATE_CACHE_KEY: must be at least 16"},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--signature-validity", "0s"}, "--signature-validity: must be positive"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_SIGNATURE_VALIDITY": "long"}, nil, "GATE_SIGNATURE_VALIDITY (--signature-validity): "},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_SIGNATURE_VALIDITY": "-1s"}, nil, "GATE_SIGNATURE_VALIDITY (--signature-validity): must be positive"},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_BREAKER_COOLDOWN": "-10s"}, nil, "GATE_BREAKER_COOLDOWN (--breaker-cooldown): must be positive"},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--web.listen-address", ":99999"}, `--web.listen-address: ":99999": the port must be a number from 0 to 65535`},
		{map[string]string{"METRICS_TOKENS": testToken, "GATE_LISTEN": "nohost"}, nil, `GATE_LISTEN (--web.listen-address): "nohost": want host:port`},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--log.level", "loud"}, `--log.level: slog: level string "loud"`},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--cache-dir", "x", "--audit-log", "x/a.jsonl"}, "AuditLog: must not be inside the cache directory"},
		{map[string]string{"METRICS_TOKENS": testToken}, []string{"--web.listen-address", "256.0.0.1:1"}, "listen on 256.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			for _, v := range []string{"METRICS_TOKENS", "METRICS_RATE_LIMIT", "METRICS_RATE_LIMITS", "GATE_ADMIN_TOKEN", "AUDIT_HMAC_KEY", "GATE_CACHE_KEY"} {
				t.Setenv(v, "")
				os.Unsetenv(v)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			args := append(serveArgs(dir, c.args), c.args...)
			code, _, stderr := runCLI(t, args...)
			want := exitUsage
			if strings.Contains(c.want, "listen on") {
				want = exitRuntime
			}
			if code != want || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d containing %q", code, stderr, want, c.want)
			}
			if strings.Contains(stderr, testToken) {
				t.Fatal("an error quotes the token")
			}
		})
	}
}

// serveArgs are gate serve with a loopback listener and dir's cache and
// audit log, but for the flags extra gives itself (a flag may be given
// once).
func serveArgs(dir string, extra []string) []string {
	given := func(name string) bool {
		for _, a := range extra {
			if a == name || strings.HasPrefix(a, name+"=") {
				return true
			}
		}
		return false
	}
	args := []string{"serve"}
	for _, f := range [][2]string{{"--web.listen-address", "127.0.0.1:0"}, {"--cache-dir", dir + "/c"}, {"--audit-log", dir + "/a/a.jsonl"}} {
		if !given(f[0]) && !(f[0] == "--web.listen-address" && os.Getenv("GATE_LISTEN") != "") {
			args = append(args, f[0], f[1])
		}
	}
	return args
}

func TestHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"audit", "--help"}, {"verify", "--help"}, {"version"}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitOK || out+errOut == "" {
			t.Errorf("gate %v: exit %d", args, code)
		}
	}
	code, out, _ := runCLI(t, "serve", "--help")
	for _, want := range []string{"METRICS_TOKENS", "GATE_LISTEN", "--web.listen-address", "GATE_CACHE_DIR", "GATE_AUDIT_LOG", "GATE_LOG_FILE", "--log.level", "GATE_FAULT_INJECTION", "insecure-no-auth", "-breaker-cooldown", "-max-connections", "GATE_MAX_CONNECTIONS", "--web.config.poll-interval", "GATE_WEB_CONFIG_POLL",
		"-max-connections-per-address", "GATE_MAX_CONNECTIONS_PER_ADDRESS", "-probe-listen", "GATE_PROBE_LISTEN", "GATE_CACHE_KEY",
		"-signature-validity", "GATE_SIGNATURE_VALIDITY", "-audit-head-file", "GATE_AUDIT_HEAD_FILE"} {
		if !strings.Contains(out, strings.TrimPrefix(want, "-")) {
			t.Errorf("serve --help (on stdout) does not mention %s", want)
		}
	}
	_ = code
	if code, _, _ := runCLI(t, "frobnicate"); code != exitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	if code, _, _ := runCLI(t); code != exitUsage {
		t.Errorf("no command: exit %d", code)
	}
}

// proc is a gate started as a real process.
type proc struct {
	cmd   *exec.Cmd
	url   string
	logs  *bytes.Buffer
	dir   string
	cache string
	audit string
	done  chan struct{}
	env   []string // what it was started with, for restartProcess
	args  []string
}

// startProcess runs `gate serve` with its cache and audit dirs under a fresh
// directory. When the test runs as root the gate runs as nobody, so that
// file permissions apply to it.
func startProcess(t *testing.T, extraArgs ...string) *proc {
	t.Helper()
	return startProcessEnv(t, []string{"METRICS_TOKENS=proc:" + testToken, "GATE_ADMIN_TOKEN=" + adminToken}, extraArgs...)
}

// startProcessEnv is startProcess with the variables in env instead of the
// default tokens; entries in env win over the defaults.
func startProcessEnv(t *testing.T, env []string, extraArgs ...string) *proc {
	t.Helper()
	dir, err := os.MkdirTemp("", "gate-proc-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return startProcessIn(t, dir, env, extraArgs...)
}

// restartProcess starts a gate over the directories of p (stopped), with
// the same variables and flags.
func restartProcess(t *testing.T, p *proc) *proc {
	t.Helper()
	return startProcessIn(t, p.dir, p.env, p.args...)
}

// startProcessIn is startProcessEnv in the directory dir.
func startProcessIn(t *testing.T, dir string, env []string, extraArgs ...string) *proc {
	t.Helper()
	p := &proc{dir: dir, cache: filepath.Join(dir, "cache"), audit: filepath.Join(dir, "audit", "audit.jsonl"), logs: &bytes.Buffer{},
		done: make(chan struct{}), env: env, args: extraArgs}
	for _, d := range []string{p.cache, filepath.Dir(p.audit)} {
		os.MkdirAll(d, 0o755)
		if os.Geteuid() == 0 {
			os.Chown(d, nobody, nobody)
		}
	}
	args := append([]string{"serve", "--web.listen-address", "127.0.0.1:0", "--cache-dir", p.cache, "--audit-log", p.audit}, extraArgs...)
	p.cmd = exec.Command(gateBin, args...)
	p.cmd.Env = append([]string{"METRICS_RATE_LIMITS=proc=1000/s,admin=100/s", "PATH=/usr/bin:/bin"}, env...)
	if os.Geteuid() == 0 {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.WriteString(line + "\n")
			var m struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "gate serving metrics" {
				addr <- m.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-time.After(10 * time.Second):
		t.Fatalf("gate did not start:\n%s", p.logs)
	}
	return p
}

func (p *proc) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestUnwritableCacheFallsBackThenRecovers(t *testing.T) {
	p := startProcess(t, "--breaker-cooldown", "300ms")
	if resp, _ := p.get(t, "/metrics"); resp.Header.Get("X-Metrics-Source") != "live" {
		t.Fatalf("before the fault: %v", resp.Header)
	}
	// Read-only as a read-only filesystem is: no new file, and no write
	// into the snapshot slots the gate overwrites in place.
	slots, _ := filepath.Glob(filepath.Join(p.cache, "*"))
	for _, f := range slots {
		os.Chmod(f, 0o444)
	}
	if err := os.Chmod(p.cache, 0o555); err != nil {
		t.Fatal(err)
	}
	resp, body := p.get(t, "/metrics")
	if resp.StatusCode != 200 || resp.Header.Get("X-Metrics-Source") != "snapshot" ||
		resp.Header.Get("Warning") != `110 - "Response is Stale"` || resp.Header.Get("X-Metrics-Fallback-Reason") != "record" {
		t.Fatalf("with a read-only cache: %d %v", resp.StatusCode, resp.Header)
	}
	if err := integrity.VerifyLiveSHA(body); err != nil {
		t.Fatalf("snapshot served: %v", err)
	}
	_, st := p.get(t, "/metrics/selftest")
	if !bytes.Contains(st, []byte(`"writable": false`)) {
		t.Errorf("selftest does not show the cache unwritable: %s", st)
	}
	os.Chmod(p.cache, 0o755)
	for _, f := range slots {
		os.Chmod(f, 0o640)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := p.get(t, "/metrics")
		if resp.Header.Get("X-Metrics-Source") == "live" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not live again 5s after the cache became writable")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	p := startProcess(t)
	p.get(t, "/metrics")
	p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.cmd.Wait()
	<-p.done
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
	}
	if !strings.Contains(p.logs.String(), "gate stopped") {
		t.Errorf("no shutdown log:\n%s", p.logs)
	}
	// The audit log is complete and its last entry is the stop.
	rep, err := audit.VerifyFile(p.audit, audit.VerifyOptions{})
	if err != nil || !rep.OK() || rep.TornTail != nil {
		t.Fatalf("audit after shutdown: %v %+v", err, rep)
	}
	code, out, _ := runCLI(t, "audit", "verify", "--log", p.audit, "--expect-head", rep.Head.String())
	if code != exitOK || !strings.Contains(out, "OK: chain intact") {
		t.Fatalf("gate audit verify: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "audit", "stats", "--log", p.audit)
	if code != exitOK || !strings.Contains(out, "gate_stop") || !strings.Contains(out, "gate_start") {
		t.Fatalf("gate audit stats: %d %s", code, out)
	}
	if strings.Contains(p.logs.String(), testToken) || strings.Contains(p.logs.String(), adminToken) {
		t.Fatal("a token appears in the process log")
	}
}

func TestAuditVerifyCommandReportsDamage(t *testing.T) {
	p := startProcess(t)
	p.get(t, "/metrics")
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	data, _ := os.ReadFile(p.audit)
	lines := bytes.SplitAfter(data, []byte("\n"))
	tampered := append(append([]byte(nil), lines[1]...), lines[0]...) // swap the first two
	for _, l := range lines[2:] {
		tampered = append(tampered, l...)
	}
	bad := filepath.Join(p.dir, "tampered.jsonl")
	os.WriteFile(bad, tampered, 0o600)
	code, out, _ := runCLI(t, "audit", "verify", "--log", bad, "-o", "json")
	clitest.Printed(t, "gate audit verify", []byte(out))
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json output: %v\n%s", err, out)
	}
	if code != exitProblem || rep.Problem == nil || rep.Problem.Line != 1 || rep.Problem.Kind != audit.DamageReordered {
		t.Fatalf("exit %d problem %+v", code, rep.Problem)
	}
	code, out, _ = runCLI(t, "audit", "stats", "--log", p.audit, "-o", "json")
	if st := clitest.Printed(t, "gate audit stats", []byte(out)); code != exitOK || st["by_event"] == nil {
		t.Fatalf("audit stats -o json: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "audit", "verify", "--log", filepath.Join(p.dir, "missing.jsonl")); code != exitRuntime {
		t.Fatalf("missing file: exit %d", code)
	}
	if code, _, errOut := runCLI(t, "audit", "verify", "--log", bad, "--expect-head", "x"); code != exitUsage || !strings.Contains(errOut, "--expect-head") {
		t.Fatalf("bad --expect-head: exit %d %s", code, errOut)
	}
}

// TestOutputFieldsAreDocumented holds GAMEDAYS.md's "Output for scripts"
// to the gate's commands' result types (what they print is held in the
// commands' own tests).
func TestOutputFieldsAreDocumented(t *testing.T) {
	clitest.SameFields(t, "gate verify", verifyResult{})
	clitest.SameFields(t, "gate audit verify", auditVerified{})
	clitest.SameFields(t, "gate audit stats", audit.Stats{})
}

func TestVerifyCommand(t *testing.T) {
	p := startProcess(t)
	t.Setenv("METRICS_TOKEN", testToken)
	code, out, _ := runCLI(t, "verify", p.url+"/metrics")
	if code != exitOK || !strings.Contains(out, "LIVESHA:     ok") || !strings.Contains(out, "Repr-Digest: ok") {
		t.Fatalf("verify URL: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "verify", p.url+"/metrics", "-o", "json")
	if v := clitest.Printed(t, "gate verify", []byte(out)); code != exitOK || v["livesha"] != "ok" {
		t.Fatalf("verify URL -o json: exit %d\n%s", code, out)
	}
	_, body := p.get(t, "/metrics")
	f := filepath.Join(p.dir, "payload.prom")
	os.WriteFile(f, body, 0o600)
	if code, _, _ := runCLI(t, "verify", f); code != exitOK {
		t.Fatalf("verify file: exit %d", code)
	}
	body[len(body)/2] ^= 1
	os.WriteFile(f, body, 0o600)
	if code, out, _ := runCLI(t, "verify", f); code != exitProblem || !strings.Contains(out, "does not match") {
		t.Fatalf("tampered file: exit %d\n%s", code, out)
	}
}

// TestEveryCommandsHelpShowsAnExampleFirst asks every gate command for
// its --help, as a user would, and holds each to its usage line, a
// one-line summary and an example of the command itself, on stdout.
func TestEveryCommandsHelpShowsAnExampleFirst(t *testing.T) {
	app, _ := newApp(io.Discard, io.Discard)
	clitest.EveryHelpShowsAnExample(t, "gate", app, 6, runCLI)
}
