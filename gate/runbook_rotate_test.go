package gate_test

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
)

// TestRunbookRotationWorksAsWritten runs the runbook's rotation procedure,
// command by command as written, against a live gate reading a token file,
// with a file standing in for Prometheus's credentials_file (Prometheus
// reads it at every scrape; the test scrapes with it the same way).
func TestRunbookRotationWorksAsWritten(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "grep", "sed", "head", "base64", "tr", "chown", "chmod", "mv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the runbook's commands", tool)
		}
	}
	cmds := runbookCommands(t, "Rotate a token", 6)
	logFile := filepath.Join(t.TempDir(), "gate.jsonl")
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The gate's file ends without a newline: step 1 must cope.
	g, file := startFileGate(t, func(o *gate.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(f, nil))
		// Steps 2 and 5 wait a second for the gate to re-read the file, and
		// step 4 is held to it: see tokenPollForTimingTests.
		o.TokenFilePoll = tokenPollForTimingTests
	}, "# metrics tokens", "gameday:"+gamedayToken, "scraper-a:"+oldToken)
	if err := os.WriteFile(file, []byte(strings.TrimSuffix(readFile(t, file), "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := filepath.Join(t.TempDir(), "quannex-gate.token")
	if err := os.WriteFile(prom, []byte(oldToken), 0o640); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GATE_URL="+g.url, "GATE_LOG_FILE="+logFile, "METRICS_TOKENS_FILE="+file,
		"PROM_CREDENTIALS_FILE="+prom, "OLD_NAME=scraper-a", "NEW_NAME=scraper-b")
	var outputs []string
	run := func(i int) string {
		t.Helper()
		c := exec.Command("bash", "-o", "pipefail", "-c", cmds[i])
		c.Env = env
		out, err := c.CombinedOutput()
		outputs = append(outputs, string(out))
		if err != nil {
			t.Fatalf("command %d: %v\n%s", i+1, err, out)
		}
		return string(out)
	}
	scrape := func(token string) int {
		t.Helper()
		code, _, err := g.get("/metrics", token)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}

	// 1. A new token in a file of its own, and in the gate's file.
	run(0)
	b, err := os.ReadFile(prom + ".next")
	if err != nil {
		t.Fatal(err)
	}
	newTok := string(b)
	rotationSecrets = append(rotationSecrets, newTok)
	t.Cleanup(func() { rotationSecrets = rotationSecrets[:len(rotationSecrets)-1] })
	if len(newTok) < 40 || strings.ContainsAny(newTok, "\n=+/") {
		t.Fatalf("the new token is %d characters (%q… is not a bearer token)", len(newTok), newTok[:4])
	}
	if fi, _ := os.Stat(prom + ".next"); fi.Mode().Perm() != 0o600 {
		t.Errorf("the new token's file has mode %v, want 0600", fi.Mode().Perm())
	}
	if got := readFile(t, file); !strings.HasSuffix(got, "scraper-a:"+oldToken+"\nscraper-b:"+newTok+"\n") {
		t.Fatal("step 1 did not add the new entry on a line of its own")
	}

	// 2. Both tokens work.
	out := run(1)
	for _, want := range []string{`"scraper-a"`, `"scraper-b"`, `"name": "auth_reload"`, `"status": "ok"`} {
		if !strings.Contains(out, want) {
			t.Errorf("command 2 output lacks %s:\n%s", want, out)
		}
	}
	if scrape(oldToken) != 200 || scrape(newTok) != 200 {
		t.Fatal("both tokens should work between steps 2 and 4")
	}

	// 3. Prometheus's file now holds the new token, with its owner and mode.
	run(2)
	if got := readFile(t, prom); got != newTok {
		t.Fatal("the credentials file does not hold the new token")
	}
	if fi, _ := os.Stat(prom); fi.Mode().Perm() != 0o640 {
		t.Errorf("the credentials file has mode %v after the switch, want its old 0640", fi.Mode().Perm())
	}
	if _, err := os.Stat(prom + ".next"); !os.IsNotExist(err) {
		t.Errorf("the .next file is left over: %v", err)
	}
	if scrape(readFile(t, prom)) != 200 {
		t.Fatal("a scrape with the credentials file fails")
	}

	// 4. The old token goes, within a second. The second counts from the
	// end of the command: starting bash and sed is not the gate's time.
	run(3)
	removed := time.Now()
	if took := g.waitStatus(t, oldToken, 401, removed, 3*time.Second); took > time.Second {
		t.Errorf("the old token worked %s after step 4", took)
	}
	if scrape(newTok) != 200 || scrape(gamedayToken) != 200 {
		t.Error("the tokens that stay must keep working")
	}

	// 5. The verification shows it.
	out = run(4)
	if !strings.Contains(out, `"scraper-b"`) || strings.Contains(out, `"scraper-a"`) || !strings.Contains(out, `"status": "ok"`) {
		t.Errorf("command 5 output:\n%s", out)
	}
	out = run(5)
	for _, want := range []string{`"msg":"metrics auth: tokens reloaded"`, `"added":["scraper-b"]`, `"removed":["scraper-a"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("command 6 output lacks %s:\n%s", want, out)
		}
	}
	g.stop()
	outputs = append(outputs, readFile(t, logFile))
	assertNoSecrets(t, g, outputs...)
}
