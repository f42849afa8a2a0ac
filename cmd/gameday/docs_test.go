package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// docs are the documents whose commands must keep working as shown.
var docs = []string{"README.md", "GAMEDAYS.md", "docs/RUNBOOK.md", "docs/SCALE.md", "docs/THREATS.md", "docs/ARCHITECTURE.md", "docs/KUBERNETES.md"}

// shown is one command a document shows: the binary (gate, gameday or
// make), its arguments, and where it is. An inline one (a code span in
// prose) may name flags without their values ("`gate verify --pubkey`").
type shown struct {
	where  string
	bin    string
	args   []string
	inline bool
}

func (s shown) String() string { return s.where + ": " + s.bin + " " + strings.Join(s.args, " ") }

var (
	fence      = regexp.MustCompile("(?s)\n```[a-z]*\n(.*?)\n```")
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
	envAssign  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)
	continued  = regexp.MustCompile(` *\\\n\s*`) // a line continued on the next
)

// commandsIn finds the gate, gameday and make commands doc shows: every
// fenced line that starts one (after variable assignments, or after
// ";", "|", "&&", "$(" or "do"), and every inline code span that is one.
// A command ends at a shell operator, a comment or a run of two spaces
// (the description column of a synopsis); "[flags]"-style placeholders
// are dropped.
func commandsIn(name, doc string) []shown {
	var found []shown
	lineOf := func(off int) int { return strings.Count(doc[:off], "\n") + 1 }
	for _, m := range fence.FindAllStringSubmatchIndex(doc, -1) {
		block := continued.ReplaceAllString(doc[m[2]:m[3]], " ")
		for i, line := range strings.Split(block, "\n") {
			where := name + ":" + strconv.Itoa(lineOf(m[2])+i)
			for _, seg := range segments(line) {
				if c, ok := command(where, seg); ok {
					found = append(found, c)
				}
			}
		}
	}
	prose := fence.ReplaceAllString(doc, "\n")
	for _, m := range inlineCode.FindAllStringSubmatchIndex(prose, -1) {
		if c, ok := command(name+" (inline)", prose[m[2]:m[3]]); ok {
			c.inline = true
			found = append(found, c)
		}
	}
	return found
}

// segments cuts a shell line at its operators and comments, keeping
// what each command of it says.
func segments(line string) []string {
	if i := strings.Index(line, "  "); i >= 0 {
		line = line[:i] // a synopsis's description column, or an aligned comment
	}
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
	r := strings.NewReplacer("&&", ";", "||", ";", "|", ";", "$(", ";", "`", ";", " do ", ";", " then ", ";", ")", ";")
	return strings.Split(r.Replace(line), ";")
}

// command reads seg as a command of ours, if it is one.
func command(where, seg string) (shown, bool) {
	words := splitWords(seg)
	for len(words) > 0 && envAssign.MatchString(words[0]) {
		words = words[1:]
	}
	if len(words) < 2 {
		return shown{}, false
	}
	bin := strings.TrimPrefix(strings.TrimPrefix(words[0], "./"), "bin/")
	if bin != "gate" && bin != "gameday" && bin != "make" {
		return shown{}, false
	}
	var args []string
	for _, w := range words[1:] {
		if w == ">" || w == "2>" || w == "&" || strings.HasPrefix(w, ">") || strings.HasPrefix(w, "2>") {
			break
		}
		if strings.HasPrefix(w, "[") || w == "…" || w == "..." {
			continue
		}
		args = append(args, w)
	}
	if len(args) == 0 || !regexp.MustCompile(`^([a-z-]+|-{1,2}[a-z].*|[A-Z_]+=.*)$`).MatchString(args[0]) {
		return shown{}, false // "the gate: ...", "gate 1.2": prose, not a command
	}
	return shown{where: where, bin: bin, args: args}, true
}

// splitWords splits s into shell words, honouring single and double
// quotes.
func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// check runs c in its help form (its own line, --help before any "--"),
// which parses the whole line (commands, flag names, argument counts)
// without running it: exit 0 and a silent stderr (no error, no
// deprecation line), or why not. A make command is checked against the
// Makefile's targets.
func check(c shown, makefile string) string {
	if c.bin == "make" {
		for _, a := range c.args {
			if strings.Contains(a, "=") || strings.HasPrefix(a, "-") {
				continue
			}
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(a) + `:`).MatchString(makefile) {
				return "the Makefile has no target " + a
			}
		}
		return ""
	}
	args := append([]string(nil), c.args...)
	var named []string // an inline command's flags, checked by name in its help
	if c.inline {
		args = args[:0]
		for _, a := range c.args {
			if strings.HasPrefix(a, "-") && a != "--" {
				named = append(named, strings.SplitN(a, "=", 2)[0])
				continue
			}
			if len(named) == 0 { // the command and its arguments, before the flags
				args = append(args, a)
			}
		}
	}
	line := strings.Join(args, " ")
	at := len(args)
	for i, a := range args {
		if a == "--" {
			at = i
			break
		}
	}
	args = append(args[:at:at], append([]string{"--help"}, args[at:]...)...)
	cmd := exec.Command(filepath.Join(binDir, c.bin), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	switch {
	case err != nil:
		return err.Error() + ": " + strings.TrimSpace(stderr.String())
	case stderr.Len() > 0:
		return "stderr: " + strings.TrimSpace(stderr.String())
	case slices.Contains(args, "--help-man"):
		if !strings.HasPrefix(stdout.String(), ".TH "+c.bin+" 1") {
			return "--help-man printed no man page"
		}
	case !strings.HasPrefix(stdout.String(), "usage: "+c.bin):
		return "no usage on stdout"
	}
	for _, n := range named {
		if !inHelp(stdout.String(), n) {
			return n + ": not a flag of " + c.bin + " " + line + " (its --help does not list it)"
		}
	}
	return ""
}

// inHelp reports whether help lists the flag n ("--name", "-x", or
// "--[no-]name" for a boolean).
func inHelp(help, n string) bool {
	if !strings.HasPrefix(n, "--") {
		return regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(n) + `, --`).MatchString(help)
	}
	name := strings.TrimPrefix(n, "--")
	return regexp.MustCompile(`(?m)^\s+(-[a-zA-Z], )?--(\[no-\])?` + regexp.QuoteMeta(name) + `(=|\s|$)`).MatchString(help)
}

// TestEveryDocumentedCommandParses runs every gate, gameday and make
// command README.md, GAMEDAYS.md and docs/ show, in help form, so the
// documents cannot drift from the programs: an unknown command or flag,
// a deprecated flag, a wrong argument count or a missing make target
// fails, naming the document and line.
func TestEveryDocumentedCommandParses(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	perBin := map[string]int{}
	for _, d := range docs {
		b, err := os.ReadFile(filepath.Join("..", "..", d))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range commandsIn(d, string(b)) {
			perBin[c.bin]++
			if why := check(c, string(makefile)); why != "" {
				t.Errorf("%s\n\t%s", c, why)
			}
		}
	}
	// The Makefile's recipes run the binaries too (make smoke, make run).
	recipes := regexp.MustCompile(`\$\(([A-Z_]+)\)`).ReplaceAllString(strings.ReplaceAll(string(makefile), "$$", "$"), "$1")
	for _, c := range commandsIn("Makefile", "\n```\n"+recipes+"\n```") {
		if c.bin == "make" {
			continue
		}
		perBin["Makefile"]++
		if why := check(c, string(makefile)); why != "" {
			t.Errorf("%s\n\t%s", c, why)
		}
	}
	t.Logf("commands checked: %v", perBin)
	for _, bin := range []string{"gate", "gameday", "make", "Makefile"} {
		if perBin[bin] < 2 {
			t.Errorf("found %d %s commands in the documents: the extraction is broken", perBin[bin], bin)
		}
	}
}

// TestADriftedCommandIsCaught holds the extraction and the check to
// account: a document showing an unknown flag, a deprecated one, a
// wrong argument or a missing make target fails, and the synopsis and
// prose forms are read as commands or left alone as they should be.
func TestADriftedCommandIsCaught(t *testing.T) {
	doc := "intro `gameday list --bogus` and `the gate serve mode`, `gate verify --pubkey` and `gameday run --nope`\n" +
		"```sh\n" +
		"METRICS_TOKENS=a:b ./bin/gate serve --listen :3000 &   # old name\n" +
		"gameday slo validate config/slo.yml extra | jq .\n" +
		"make no-such-target SCENARIOS=latency\n" +
		"gate verify FILE|URL|-   check a payload\n" +
		"gate: metrics token (name:token): dev:x\n" +
		"```\n"
	cmds := commandsIn("doc.md", doc)
	var got []string
	for _, c := range cmds {
		got = append(got, c.String())
	}
	want := []string{
		"doc.md:3: gate serve --listen :3000",
		"doc.md:4: gameday slo validate config/slo.yml extra",
		"doc.md:5: make no-such-target SCENARIOS=latency",
		"doc.md:6: gate verify FILE",
		"doc.md (inline): gameday list --bogus",
		"doc.md (inline): gate verify --pubkey",
		"doc.md (inline): gameday run --nope",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("extracted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantWhy := []string{"deprecated", "unexpected argument", "no target no-such-target", "", "--bogus: not a flag of gameday list", "", "--nope: not a flag of gameday run"}
	for i, c := range cmds {
		why := check(c, "gameday:\ntest:\n")
		if wantWhy[i] == "" && why != "" || !strings.Contains(why, wantWhy[i]) {
			t.Errorf("%s: %q, want it to say %q", c, why, wantWhy[i])
		}
	}
}

// TestTheExitCodeTableHolds runs the example of every row of README.md's
// exit-code table, as written, with gate and gameday on PATH (a live gate
// at $GATE_URL, its metrics token in $GATE_TOKEN_FILE), and checks it
// exits with the row's code; every code from 0 to 5 has a row.
func TestTheExitCodeTableHolds(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n## Exit codes\n")
	if start < 0 {
		t.Fatal("README.md has no Exit codes section")
	}
	section := doc[start+1:]
	section = section[:strings.Index(section[1:], "\n## ")+1]
	rows := regexp.MustCompile("(?m)^\\| ([0-9]) \\|.*\\| `([^`]+)`[^|]*\\|$").FindAllStringSubmatch(section, -1)
	url := startSmokeGate(t)
	tokenFile := filepath.Join(t.TempDir(), "scraper.token")
	if err := os.WriteFile(tokenFile, []byte(smokeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		code, example := r[1], r[2]
		seen[code] = true
		t.Run(code, func(t *testing.T) {
			t.Parallel() // the abort's row runs a GameDay of about a minute
			cmd := exec.Command("bash", "-c", example)
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"), "GATE_URL="+url, "GATE_TOKEN_FILE="+tokenFile,
				"GATE_ADMIN_TOKEN=", "METRICS_TOKEN=")
			out, err := cmd.CombinedOutput()
			got := 0
			if ee, ok := err.(*exec.ExitError); ok {
				got = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if strconv.Itoa(got) != code {
				t.Fatalf("%s: exit %d, the README says %s\n%s", example, got, code, out)
			}
		})
	}
	for _, code := range []string{"0", "1", "2", "3", "4", "5"} {
		if !seen[code] {
			t.Errorf("the exit-code table has no row with an example for %s", code)
		}
	}
}
