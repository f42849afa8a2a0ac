// Package clitest holds what the tests of the commands (gate and gameday)
// share: the fields GAMEDAYS.md documents for each command's -o json
// output ("Output for scripts"), held against the result's type and
// against what the command really prints. Tests only.
package clitest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"go.yaml.in/yaml/v3"

	"github.com/quannex/gameday/cmd/internal/cli"
)

var fieldRow = regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")

// Documented returns the fields GAMEDAYS.md lists under "### command" in
// its "Output for scripts" section (the test runs in cmd/<binary>).
func Documented(t testing.TB, command string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "GAMEDAYS.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n## Output for scripts\n")
	if i < 0 {
		t.Fatal("GAMEDAYS.md has no Output for scripts section")
	}
	doc = doc[i+1:]
	if j := strings.Index(doc[1:], "\n## "); j >= 0 {
		doc = doc[:j+1]
	}
	i = strings.Index(doc, "\n### "+command+"\n")
	if i < 0 {
		t.Fatalf("GAMEDAYS.md, Output for scripts: no ### %s", command)
	}
	doc = doc[i+1:]
	if j := strings.Index(doc[1:], "\n### "); j >= 0 {
		doc = doc[:j+1]
	}
	var out []string
	for _, m := range fieldRow.FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

// SameFields fails unless GAMEDAYS.md documents exactly the fields of
// result, what command writes with -o json.
func SameFields(t testing.TB, command string, result any) {
	t.Helper()
	doc, have := Documented(t, command), cli.Fields(result)
	for _, f := range have {
		if !slices.Contains(doc, f) {
			t.Errorf("%s -o json writes %s, which GAMEDAYS.md (Output for scripts) does not document", command, f)
		}
	}
	for _, f := range doc {
		if !slices.Contains(have, f) {
			t.Errorf("GAMEDAYS.md documents %s for %s -o json, which it does not write", f, command)
		}
	}
}

// Printed checks the -o json output of command, as it printed it: it
// decodes, and every field in it is documented (a map's keys, documented
// as "name{}", are its values). It returns the decoded output.
func Printed(t testing.TB, command string, out []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s -o json: %v\n%s", command, err, out)
	}
	doc := Documented(t, command)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if slices.Contains(doc, path+"{}") {
				for _, e := range v {
					walk(path+"{}", e)
				}
				return
			}
			for k, e := range v {
				p := k
				if path != "" {
					p = path + "." + k
				}
				if !slices.Contains(doc, p) {
					t.Errorf("%s -o json printed %s, which GAMEDAYS.md (Output for scripts) does not document", command, p)
					continue
				}
				walk(p, e)
			}
		case []any:
			for _, e := range v {
				if _, obj := e.(map[string]any); obj {
					walk(path+"[]", e)
				} else if !slices.Contains(doc, path+"[]") {
					t.Errorf("%s -o json printed elements of %s, which GAMEDAYS.md does not document as %s[]", command, path, path)
				}
			}
		}
	}
	walk("", v)
	return v
}

// SameAsYAML fails unless the YAML a command printed holds the fields of
// its JSON output, decoded (timestamps and figures that change between
// two runs aside, only the keys are compared).
func SameAsYAML(t testing.TB, fromJSON map[string]any, yamlOut string) {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal([]byte(yamlOut), &v); err != nil {
		t.Fatalf("-o yaml: %v\n%s", err, yamlOut)
	}
	if got, want := keys(v), keys(fromJSON); !slices.Equal(got, want) {
		t.Errorf("-o yaml has the fields %q, -o json %q", got, want)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// EveryHelpShowsAnExample asks every visible command of app (not
// kingpin's help, not a group such as "slo") for its --help through run,
// as a user would, and holds each to HelpShowsAnExample; app must have at
// least min of them, or the walk is broken.
func EveryHelpShowsAnExample(t *testing.T, bin string, app *cli.App, min int, run func(t *testing.T, args ...string) (int, string, string)) {
	t.Helper()
	var cmds [][]string
	var walk func(path []string, models []*kingpin.CmdModel)
	walk = func(path []string, models []*kingpin.CmdModel) {
		for _, c := range models {
			if c.Hidden || (len(path) == 0 && c.Name == "help") {
				continue
			}
			p := append(append([]string(nil), path...), c.Name)
			if len(c.Commands) > 0 {
				walk(p, c.Commands)
				continue
			}
			cmds = append(cmds, p)
		}
	}
	walk(nil, app.Model().Commands)
	if len(cmds) < min {
		t.Fatalf("found %d commands of %s: %v", len(cmds), bin, cmds)
	}
	for _, words := range cmds {
		code, out, errOut := run(t, append(words, "--help")...)
		HelpShowsAnExample(t, bin, words, code, out, errOut)
	}
}

// HelpShowsAnExample checks what "BIN WORDS --help" printed: exit 0, all
// of it on standard output, its usage line, then (after the one-line
// summary) an example of it before anything else: "Example: " and a
// line that runs BIN WORDS (after variables, or inside a shell's source).
func HelpShowsAnExample(t testing.TB, bin string, words []string, code int, stdout, stderr string) {
	t.Helper()
	cmd := bin + " " + strings.Join(words, " ")
	if code != 0 || stderr != "" {
		t.Errorf("%s --help: exit %d, stderr %q", cmd, code, stderr)
	}
	paras := strings.Split(strings.TrimSpace(stdout), "\n\n")
	if len(paras) < 3 || !strings.HasPrefix(paras[0], "usage: "+cmd) {
		t.Fatalf("%s --help: no usage line, summary and example first:\n%s", cmd, stdout)
	}
	if !strings.HasPrefix(paras[2], "Example: ") || !strings.Contains(strings.ReplaceAll(paras[2], "\n", " "), cmd) {
		t.Errorf("%s --help: the paragraph after the summary is not an example of it:\n%s", cmd, stdout)
	}
}
