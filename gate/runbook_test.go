package gate_test

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/gate"
)

// runbookCommands extracts the shell commands (the ```sh blocks) of the
// runbook section under the heading "## "+heading, in order, and fails
// unless there are want of them: every runbook test runs a section's
// commands as written.
func runbookCommands(t *testing.T, heading string, want int) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n## "+heading+"\n")
	if start < 0 {
		t.Fatalf("RUNBOOK.md has no %q section", heading)
	}
	section := doc[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var cmds []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)\n```").FindAllStringSubmatch(section, -1) {
		cmds = append(cmds, strings.TrimSpace(m[1]))
	}
	if len(cmds) != want {
		t.Fatalf("the %s section has %d commands, want %d", heading, len(cmds), want)
	}
	return cmds
}

// TestRunbookCommandsWorkAsWritten runs the runbook's three commands, as
// written, against a live gate that has just fallen back, and checks each
// shows what the runbook says it shows.
func TestRunbookCommandsWorkAsWritten(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "grep", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the runbook's commands (install it: .ci/run does)", tool)
		}
	}
	cmds := runbookCommands(t, "Quick diagnosis (three commands)", 3)
	logFile := filepath.Join(t.TempDir(), "gate.jsonl")
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := startGate(t, func(o *gate.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(f, nil))
		o.BreakerCooldown = time.Hour
	})
	g.do(t, "POST", "/admin/faults/failure", adminToken, `{"ttl":"1m"}`)
	for range 4 {
		g.metrics(t)
	}
	env := append(os.Environ(), "GATE_URL="+g.url, "GATE_TOKEN="+gamedayToken, "GATE_LOG_FILE="+logFile)
	run := func(cmd string) (string, error) {
		c := exec.Command("bash", "-o", "pipefail", "-c", cmd)
		c.Env = env
		out, err := c.CombinedOutput()
		return string(out), err
	}

	out, err := run(cmds[0])
	if err != nil {
		t.Fatalf("command 1: %v\n%s", err, out)
	}
	for _, want := range []string{"HTTP/1.1 200", "X-Metrics-Source: snapshot", `Warning: 110 - "Response is Stale"`, "Age: ", "X-Metrics-Fallback-Reason: breaker_open", "X-Ratelimit-Remaining: "} {
		if !strings.Contains(out, want) {
			t.Errorf("command 1 output lacks %q:\n%s", want, out)
		}
	}

	out, err = run(cmds[1])
	if err != nil {
		t.Fatalf("command 2: %v\n%s", err, out)
	}
	for _, want := range []string{`"status": "degraded"`, `"breaker": "open"`, `"name": "live_generation"`, `"name": "fault_injection"`, `"audit_head": "`, `"cache_writable": true`} {
		if !strings.Contains(out, want) {
			t.Errorf("command 2 output lacks %q:\n%s", want, out)
		}
	}

	out, err = run(cmds[2])
	if err != nil {
		t.Fatalf("command 3: %v\n%s", err, out)
	}
	for _, want := range []string{"metrics fallback: serving snapshots", "metrics circuit breaker open", "metrics fault injected"} {
		if !strings.Contains(out, want) {
			t.Errorf("command 3 output lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains([]byte(out), []byte(gamedayToken)) {
		t.Fatal("a token in the log")
	}

	// Back to green: the verification steps show live and ok.
	g.do(t, "DELETE", "/admin/faults", adminToken, "")
	g.do(t, "POST", "/admin/breaker/reset", adminToken, "")
	g.metrics(t)
	if out, _ := run(cmds[0]); !strings.Contains(out, "X-Metrics-Source: live") || strings.Contains(out, "Warning:") {
		t.Errorf("after mitigation command 1 shows:\n%s", out)
	}
	if out, _ := run(cmds[1]); !strings.Contains(out, `"status": "ok"`) || !strings.Contains(out, `"checks": []`) {
		t.Errorf("after mitigation command 2 shows:\n%s", out)
	}
}

// TestEveryRunbookLinkResolves checks that every runbook_url in the
// production rules points at a heading or anchor of docs/RUNBOOK.md.
func TestEveryRunbookLinkResolves(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		slug := strings.ToLower(strings.TrimSpace(m[1]))
		slug = regexp.MustCompile(`[^a-z0-9 -]`).ReplaceAllString(slug, "")
		anchors[strings.ReplaceAll(slug, " ", "-")] = true
	}
	for _, m := range regexp.MustCompile(`<a id="([^"]+)"></a>`).FindAllStringSubmatch(string(doc), -1) {
		anchors[m[1]] = true
	}
	rules, err := os.ReadFile(filepath.Join("..", "config", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`runbook_url: "?docs/RUNBOOK\.md#([a-z0-9-]+)`).FindAllStringSubmatch(string(rules), -1)
	if len(links) < 4 {
		t.Fatalf("only %d runbook links in config/alerts.yml", len(links))
	}
	scheduled, err := os.ReadFile(filepath.Join("..", "config", "gameday.yml"))
	if err != nil {
		t.Fatal(err)
	}
	more := regexp.MustCompile(`runbook_url: "?docs/RUNBOOK\.md#([a-z0-9-]+)`).FindAllStringSubmatch(string(scheduled), -1)
	if len(more) != 2 {
		t.Fatalf("%d runbook links in config/gameday.yml, want 2", len(more))
	}
	links = append(links, more...)
	for _, l := range links {
		if !anchors[l[1]] {
			t.Errorf("runbook_url #%s has no heading or anchor in docs/RUNBOOK.md", l[1])
		}
	}
}
