package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kingpin/v2"
)

// Shells Completion writes scripts for.
var Shells = []string{"bash", "zsh", "fish"}

// AddCompletion adds the command "completion SHELL", which prints the
// completion script of the binary for bash, zsh or fish.
func (a *App) AddCompletion() {
	c := a.Cmd(nil, "completion", fmt.Sprintf(`Print the shell completion script.

Example: source <(%[1]s completion bash)

bash and zsh complete through the binary itself (it answers
--completion-bash); fish from a list of the commands and flags, and
through the binary for the values of arguments.

  bash:  source <(%[1]s completion bash)     (in ~/.bashrc)
  zsh:   source <(%[1]s completion zsh)      (in ~/.zshrc, after compinit)
  fish:  %[1]s completion fish > ~/.config/fish/completions/%[1]s.fish`, a.name))
	shell := c.Arg("shell", "bash, zsh or fish").Required().HintOptions(Shells...).Enum(Shells...)
	c.Action(func(*kingpin.ParseContext) error {
		switch *shell {
		case "bash":
			a.script(kingpin.BashCompletionTemplate)
		case "zsh":
			a.script(kingpin.ZshCompletionTemplate)
		case "fish":
			a.fish(a.stdout)
		}
		panic(shownHelp{})
	})
}

// script writes one of kingpin's templates of the whole binary (bash and
// zsh completion, the man page) to the help's writer: kingpin's own
// --completion-script-* and --help-man write to os.Stdout whatever the
// writer.
func (a *App) script(tmpl string) {
	ctx, err := a.Application.ParseContext(nil)
	if err == nil {
		err = a.UsageForContextWithTemplate(ctx, 2, tmpl)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.name, err)
	}
}

// fish writes a fish completion script: every visible command, with its
// own flags offered once it is on the line.
func (a *App) fish(w io.Writer) {
	m := a.Model()
	fmt.Fprintf(w, "# fish completion for %s (%s completion fish)\n", a.name, a.name)
	fmt.Fprintf(w, "complete -c %s -f\n", a.name)
	for _, f := range m.Flags {
		fishFlag(w, a.name, "", f)
	}
	var walk func(path []string, cmds []*kingpin.CmdModel)
	walk = func(path []string, cmds []*kingpin.CmdModel) {
		cond := "__fish_use_subcommand"
		if len(path) > 0 {
			cond = "__fish_seen_subcommand_from " + path[len(path)-1]
		}
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			fmt.Fprintf(w, "complete -c %s -n %q -a %s -d %q\n", a.name, cond, c.Name, firstLine(c.Help))
			for _, f := range c.Flags {
				fishFlag(w, a.name, c.Name, f)
			}
			if len(c.Args) > 0 && len(c.Commands) == 0 {
				// Its arguments' values (scenario names, shells) come
				// from the binary, as bash's and zsh's do.
				words := strings.Join(append(append([]string(nil), path...), c.Name), " ")
				fmt.Fprintf(w, "complete -c %s -n %q -a %q\n", a.name, "__fish_seen_subcommand_from "+c.Name,
					fmt.Sprintf("(%s --completion-bash %s 2>/dev/null | string match -v -- '-*')", a.name, words))
			}
			walk(append(path, c.Name), c.Commands)
		}
	}
	walk(nil, m.Commands)
}

func fishFlag(w io.Writer, bin, cmd string, f *kingpin.FlagModel) {
	if f.Hidden {
		return
	}
	cond := ""
	if cmd != "" {
		cond = fmt.Sprintf(" -n %q", "__fish_seen_subcommand_from "+cmd)
	}
	short := ""
	if f.Short != 0 {
		short = " -s " + string(f.Short)
	}
	fmt.Fprintf(w, "complete -c %s%s -l %s%s -d %q\n", bin, cond, f.Name, short, firstLine(f.Help))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
