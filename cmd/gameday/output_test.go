package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/quannex/gameday/cmd/internal/clitest"
	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/smoke"
)

// TestOutputForScripts holds GAMEDAYS.md's "Output for scripts" to the
// commands: each result type has exactly the documented fields, and what
// each command really prints with -o json (canary aside: it needs a
// Prometheus, and its type is held like the others) has no other, and
// -o yaml carries the same.
func TestOutputForScripts(t *testing.T) {
	for cmd, v := range map[string]any{"gameday list": listed{}, "gameday compare": compared{}, "gameday slo validate": sloValidated{},
		"gameday slo budget": sloBudgeted{}, "gameday smoke": smoke.Result{}, "gameday canary": canary.Result{}} {
		clitest.SameFields(t, cmd, v)
	}

	run := filepath.Join("..", "..", "reports", "testdata", "runs", "latency.json")
	url := startSmokeGate(t)
	dir := t.TempDir()
	token, admin := filepath.Join(dir, "token"), filepath.Join(dir, "admin")
	os.WriteFile(token, []byte(smokeToken), 0o600)
	os.WriteFile(admin, []byte(smokeAdmin), 0o600)
	for _, c := range []struct {
		name string
		args []string
		code int
		has  string // a field the output must carry
	}{
		{"gameday list", []string{"list"}, exitOK, "scenarios"},
		{"gameday compare", []string{"compare", run, run}, exitOK, "deltas"},
		{"gameday slo validate", []string{"slo", "validate", "--file", filepath.Join("..", "..", "config", "slo-error-budget.yml")}, exitOK, "slos"},
		{"gameday slo budget", []string{"slo", "budget", "--file", filepath.Join("..", "..", "config", "slo-error-budget.yml"), run}, exitOK, "slos"},
		{"gameday smoke", []string{"smoke", "--url", url, "--token-file", token, "--admin-token-file", admin}, exitOK, "checks"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(c.args, "-o", "json")...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			got := clitest.Printed(t, c.name, []byte(out))
			if got[c.has] == nil {
				t.Errorf("-o json has no %s:\n%s", c.has, out)
			}
			code, yamlOut, errOut := runCLI(t, append(c.args, "-o", "yaml")...)
			if code != c.code {
				t.Fatalf("-o yaml: exit %d, want %d\n%s", code, c.code, errOut)
			}
			clitest.SameAsYAML(t, got, yamlOut)
		})
	}
}

// TestEveryCommandsHelpShowsAnExampleFirst asks every gameday command for
// its --help, as a user would, and holds each to its usage line, a
// one-line summary and an example of the command itself, on stdout.
func TestEveryCommandsHelpShowsAnExampleFirst(t *testing.T) {
	app, _ := newApp(context.Background(), io.Discard, io.Discard)
	clitest.EveryHelpShowsAnExample(t, "gameday", app, 15, runCLI)
}
