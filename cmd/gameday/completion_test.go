package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCompletionInRealShells sources gameday's completion scripts in
// bash, zsh and fish (Debian's; CI installs zsh and fish) and asks each
// for the completions of a partial line, as the shell does at a Tab:
// commands, a command's flags and its arguments' values (the built-in
// scenarios, the shells).
func TestCompletionInRealShells(t *testing.T) {
	env := append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"))
	for _, c := range []struct {
		line string // the words typed, the last one partial
		want []string
	}{
		{"gameday ru", []string{"run"}},
		{"gameday run --tar", []string{"--target"}},
		{"gameday run io", []string{"io-glitch"}},
		{"gameday run ", []string{"cpu-spike", "io-glitch", "latency", "fleet-canary"}},
		{"gameday completion ", []string{"bash", "zsh", "fish"}},
		{"gameday slo bu", []string{"budget"}},
	} {
		words := strings.Fields(c.line)
		if strings.HasSuffix(c.line, " ") {
			words = append(words, "")
		}
		for _, sh := range []struct{ name, script string }{
			{"bash", `source <(gameday completion bash)
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
_gameday_bash_autocomplete
printf '%s\n' "${COMPREPLY[@]}"`},
			// compadd, compdef and _files exist only with the completion
			// system loaded, in a widget: here compadd prints what it is
			// given that starts with the word being completed (what the
			// widget would offer), and _files (the fallback to file
			// names) and compdef nothing.
			{"zsh", `compadd() { [[ $1 == -a ]] || return; local m; for m in ${(P)2}; do [[ $m == ${words[CURRENT]}* ]] && print -- $m; done; true; }
_files() { :; }
compdef() { :; }
source <(gameday completion zsh)
words=("$@"); CURRENT=$#
_gameday`},
			{"fish", `gameday completion fish | source
complete -C "$argv" | string replace -r '\t.*' ''
true`},
		} {
			t.Run(sh.name+"/"+c.line, func(t *testing.T) {
				bin := needBinary(t, sh.name)
				args := []string{"-c", sh.script}
				switch sh.name {
				case "bash", "zsh":
					args = append(args, "completion-test")
					args = append(args, words...)
				case "fish":
					args = append(args, c.line)
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = env
				cmd.Dir = t.TempDir() // no files to complete instead
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				got := strings.Fields(string(out))
				for _, w := range c.want {
					if !slices.Contains(got, w) {
						t.Errorf("%q completes to %q, want %q among them", c.line, got, w)
					}
				}
				for _, g := range got {
					if last := words[len(words)-1]; !strings.HasPrefix(g, last) {
						t.Errorf("%q offers %q, which does not start with %q", c.line, g, last)
					}
				}
			})
		}
	}
}
