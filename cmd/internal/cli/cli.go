// Package cli is the command line of the project's binaries (gate and
// gameday): kingpin's parser, the one Prometheus, Alertmanager, promtool
// and node_exporter use, so that flags read as in the tools their users
// already run (--web.listen-address, --web.config.file, --log.level,
// --version, flags anywhere on the line, "--" to end them), with what
// kingpin leaves to its callers:
//
//   - help on standard output, an error on standard error with one line
//     saying where help is, never the whole usage after a mistake;
//   - environment variables bound to flags that name themselves when their
//     value is wrong (Env, Named), and refuse nothing silently;
//   - an old flag name kept working for one release with a deprecation
//     line (Deprecated);
//   - completion scripts for bash, zsh and fish and a man page, from the
//     same definitions (Completion, Man);
//   - the exit status of a usage error (UsageError), the same in both.
//
// Each binary keeps its own commands and the rest of its exit codes. TLS
// is the one group of flags both share: the client side of TLS towards a
// gate or a Prometheus.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/quannex/gameday/gate/build"
)

// UsageError is a bad command, flag, argument or variable: exit 2, before
// anything happens.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef is a UsageError.
func Usagef(format string, a ...any) error { return UsageError{fmt.Sprintf(format, a...)} }

// ErrHelp is returned by Parse when help, the version, a completion
// script or the man page was printed: exit 0.
var ErrHelp = errors.New("help shown")

// App is one binary's command line.
type App struct {
	*kingpin.Application
	name     string
	stdout   io.Writer
	stderr   io.Writer
	bindings []*binding
	warnings []string
	wrapped  bool // every flag's value names its flag in errors
}

// binding is a flag an environment variable sets when the command line
// does not.
type binding struct {
	flag    *kingpin.FlagClause
	name    string // the flag's name
	env     string
	given   bool // set on the command line (kingpin's IsSetByUser)
	fromEnv bool // set from env by Parse
}

// New returns the command line of the binary name, help on stdout, errors
// on stderr; version is what --version prints.
func New(name, help, version string, stdout, stderr io.Writer) *App {
	a := &App{Application: kingpin.New(name, help), name: name, stdout: stdout, stderr: stderr}
	a.UsageWriter(stdout)
	a.ErrorWriter(stderr)
	a.UsageTemplate(usageTemplate)
	// kingpin "exits" after help, the version or a script; a panic the
	// deferred recover in Parse turns into ErrHelp ends the parse there,
	// without killing a test's process.
	a.Terminate(func(int) { panic(shownHelp{}) })
	a.HelpFlag.Short('h')
	a.Version(version)
	a.VersionFlag.Help("Show the version, commit and Go version, and exit.")
	return a
}

// Cmd declares a command of parent (nil: of the binary). help's first
// line is what lists of commands show; the whole of it, an example first
// after that line, is the command's own --help.
func (a *App) Cmd(parent *kingpin.CmdClause, name, help string) *kingpin.CmdClause {
	short, _, _ := strings.Cut(help, "\n")
	var c *kingpin.CmdClause
	if parent == nil {
		c = a.Application.Command(name, short)
	} else {
		c = parent.Command(name, short)
	}
	if short != help {
		c.HelpLong(help)
	}
	return c
}

// Flag declares a flag of cmd (nil: of the whole binary) bound to the
// environment variable env ("" for none), which its help names.
func (a *App) Flag(cmd *kingpin.CmdClause, name, env, help string) *kingpin.FlagClause {
	var f *kingpin.FlagClause
	if env != "" {
		help += " (env " + env + ")"
	}
	if cmd == nil {
		f = a.Application.Flag(name, help)
	} else {
		f = cmd.Flag(name, help)
	}
	if env != "" {
		b := &binding{flag: f, name: name, env: env}
		f.IsSetByUser(&b.given)
		a.bindings = append(a.bindings, b)
	}
	return f
}

// Deprecated keeps the flag old of cmd working as an alias of the flag
// now (declared and typed before), hidden from help; using it prints a
// deprecation line on stderr. For one release.
func (a *App) Deprecated(cmd *kingpin.CmdClause, old, now string) {
	var target *kingpin.FlagClause
	if cmd == nil {
		target = a.GetFlag(now)
	} else {
		target = cmd.GetFlag(now)
	}
	if target == nil {
		panic("cli: Deprecated: no flag --" + now)
	}
	var f *kingpin.FlagClause
	if cmd == nil {
		f = a.Application.Flag(old, "deprecated: --"+now).Hidden()
	} else {
		f = cmd.Flag(old, "deprecated: --"+now).Hidden()
	}
	fwd := &alias{inner: target.Model().Value, warn: func() {
		a.warnings = append(a.warnings, fmt.Sprintf("%s: --%s is deprecated and goes in the next release: use --%s", a.name, old, now))
		for _, b := range a.bindings {
			if b.flag == target {
				b.given = true // the command line set it: its variable does not
			}
		}
	}}
	f.SetValue(fwd)
}

// DeprecatedShort keeps the one-letter flag -short of cmd working as an
// alias of --now for a release (-o FILE before -o meant the output
// format), with a deprecation line.
func (a *App) DeprecatedShort(cmd *kingpin.CmdClause, short rune, now string) {
	target := cmd.GetFlag(now)
	if target == nil {
		panic("cli: DeprecatedShort: no flag --" + now)
	}
	f := cmd.Flag("deprecated-"+string(short), "deprecated: --"+now).Short(short).Hidden()
	f.SetValue(&alias{inner: target.Model().Value, warn: func() {
		a.warnings = append(a.warnings, fmt.Sprintf("%s: -%c is deprecated and goes in the next release: use --%s", a.name, short, now))
	}})
}

// alias forwards to the flag it stands for.
type alias struct {
	inner kingpin.Value
	warn  func()
}

func (v *alias) Set(s string) error { v.warn(); return v.inner.Set(s) }
func (v *alias) String() string     { return v.inner.String() }

// IsBoolFlag lets a deprecated boolean stand without a value.
func (v *alias) IsBoolFlag() bool {
	b, ok := v.inner.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Parse parses args and returns the selected command ("audit verify").
// Help, the version or a script printed: ErrHelp. A mistake on the line
// is a UsageError naming it and where help is; a bound variable whose
// value does not parse is one naming the variable. Deprecation lines go
// to stderr.
func (a *App) Parse(args []string) (cmd string, err error) {
	if !a.wrapped {
		a.nameFlags()
		a.wrapped = true
	}
	defer func() {
		for _, w := range a.warnings {
			fmt.Fprintln(a.stderr, w)
		}
		a.warnings = nil
	}()
	if slices.Contains(args, "--help-man") {
		a.script(kingpin.ManPageTemplate)
		return "", ErrHelp
	}
	if len(args) == 0 && len(a.Model().Commands) > 0 {
		return "", Usagef("no command given (see %s --help)", a.name)
	}
	cmd, err, shown := a.parse(args)
	switch {
	case shown:
		return cmd, ErrHelp
	case err != nil:
		return cmd, UsageError{a.explain(err, args)}
	}
	for _, b := range a.bindings {
		v, ok := os.LookupEnv(b.env)
		if b.given || !ok || !a.inCommand(b, cmd) {
			continue
		}
		val := b.flag.Model().Value
		if nv, ok := val.(*namedValue); ok {
			val = nv.Value
		}
		if err := val.Set(v); err != nil {
			return cmd, Usagef("%s (--%s): %v", b.env, b.name, err)
		}
		b.fromEnv = true
	}
	return cmd, nil
}

// nameFlags wraps the value of every flag so that a value it refuses is
// an error naming the flag (kingpin returns the value's error bare).
func (a *App) nameFlags() {
	wrap := func(get func(string) *kingpin.FlagClause, flags []*kingpin.FlagModel) {
		for _, m := range flags {
			f := get(m.Name)
			if f == nil || m.Value == nil {
				continue
			}
			f.SetValue(&namedValue{Value: m.Value, name: m.Name})
		}
	}
	wrap(a.Application.GetFlag, a.Model().Flags)
	var walk func(get func(string) *kingpin.CmdClause, cmds []*kingpin.CmdModel)
	walk = func(get func(string) *kingpin.CmdClause, cmds []*kingpin.CmdModel) {
		for _, m := range cmds {
			c := get(m.Name)
			if c == nil {
				continue
			}
			wrap(c.GetFlag, m.Flags)
			walk(c.GetCommand, m.Commands)
		}
	}
	walk(a.GetCommand, a.Model().Commands)
}

// namedValue is a flag's value whose errors name the flag.
type namedValue struct {
	kingpin.Value
	name string
}

func (v *namedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return fmt.Errorf("--%s: %w", v.name, err)
	}
	return nil
}

func (v *namedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func (v *namedValue) IsCumulative() bool {
	c, ok := v.Value.(interface{ IsCumulative() bool })
	return ok && c.IsCumulative()
}

// shownHelp is the panic of kingpin's terminate.
type shownHelp struct{}

// parse runs kingpin's parse, reporting whether it ended by showing help.
func (a *App) parse(args []string) (cmd string, err error, shown bool) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(shownHelp); !ok {
				panic(p)
			}
			shown = true
		}
	}()
	cmd, err = a.Application.Parse(args)
	return cmd, err, false
}

// inCommand reports whether b is a flag of the selected command (or of
// the binary).
func (a *App) inCommand(b *binding, cmd string) bool {
	if a.Application.GetFlag(b.name) == b.flag {
		return true
	}
	c := a.command(cmd)
	return c != nil && c.GetFlag(b.name) == b.flag
}

// command finds the selected command's clause.
func (a *App) command(full string) *kingpin.CmdClause {
	parts := strings.Fields(full)
	if len(parts) == 0 {
		return nil
	}
	c := a.GetCommand(parts[0])
	for _, p := range parts[1:] {
		if c == nil {
			return nil
		}
		c = c.GetCommand(p)
	}
	return c
}

// Named is how an error names the flag name: "--name", or its variable
// when the variable set it ("GATE_BREAKER_COOLDOWN (--breaker-cooldown)").
func (a *App) Named(name string) string {
	for _, b := range a.bindings {
		if b.name == name && b.fromEnv {
			return b.env + " (--" + name + ")"
		}
	}
	return "--" + name
}

// explain turns kingpin's parse error into one line: what is wrong, the
// nearest known command or flag when one is close, and where help is.
func (a *App) explain(err error, args []string) string {
	msg := err.Error()
	var known []string
	for _, c := range a.Model().Commands {
		if !c.Hidden {
			known = append(known, c.Name)
		}
	}
	unquote := func(s string) string { return strings.Trim(s, `"'`) }
	if rest, ok := strings.CutPrefix(msg, "unexpected "); ok {
		msg = fmt.Sprintf("unexpected argument %q", unquote(strings.TrimPrefix(rest, "argument ")))
	}
	if got, ok := strings.CutPrefix(msg, "expected command but got "); ok {
		got = unquote(got)
		msg = fmt.Sprintf("unknown command %q", got)
		if s := Suggest(got, known); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
	}
	for _, kind := range []string{"unknown long flag ", "unknown short flag "} {
		if flag, ok := strings.CutPrefix(msg, kind); ok {
			flag = unquote(flag)
			msg = "unknown flag " + flag
			if s := Suggest(strings.TrimLeft(flag, "-"), a.flagNames(args)); s != "" && strings.HasPrefix(flag, "--") {
				msg += fmt.Sprintf("; did you mean --%s?", s)
			}
		}
	}
	if flag, ok := strings.CutPrefix(msg, "expected argument for flag "); ok {
		flag = unquote(flag)
		msg = flag + ": needs a value"
		if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) && strings.HasPrefix(args[i+1], "-") {
			msg += fmt.Sprintf(" (one that starts with \"-\" goes as %s=%s)", flag, args[i+1])
		}
	}
	if arg, ok := strings.CutPrefix(msg, "required argument "); ok {
		msg = fmt.Sprintf("%s: required", strings.ToUpper(unquote(strings.TrimSuffix(arg, " not provided"))))
	}
	if flags, ok := strings.CutPrefix(msg, "required flag(s) "); ok {
		msg = strings.TrimSuffix(flags, " not provided") + ": required"
	}
	if flag, ok := strings.CutPrefix(msg, "flag "); ok && strings.HasSuffix(flag, " cannot be repeated") {
		msg = "--" + unquote(strings.TrimSuffix(flag, " cannot be repeated")) + ": given twice"
	}
	return fmt.Sprintf("%s (see %s --help)", msg, a.helpFor(args))
}

// flagNames lists the visible flags of the command args select, and the
// binary's.
func (a *App) flagNames(args []string) []string {
	var out []string
	add := func(fs []*kingpin.FlagModel) {
		for _, f := range fs {
			if !f.Hidden {
				out = append(out, f.Name)
			}
		}
	}
	m := a.Model()
	add(m.Flags)
	cmds := m.Commands
	for _, arg := range args {
		for _, c := range cmds {
			if c.Name == arg {
				add(c.Flags)
				cmds = c.Commands
				break
			}
		}
	}
	return out
}

// helpFor names the help of the command args select: "gameday run".
func (a *App) helpFor(args []string) string {
	words := []string{a.name}
	cmds := a.Model().Commands
	for _, arg := range args {
		for _, c := range cmds {
			if c.Name == arg {
				words = append(words, arg)
				cmds = c.Commands
				break
			}
		}
	}
	return strings.Join(words, " ")
}

// Suggest returns the name of known nearest to got, when it is close
// enough to be a typo (an edit distance of at most a third of its length,
// at least 1); "" otherwise. Ties go to the first in sorted order.
func Suggest(got string, known []string) string {
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	limit := max(1, len(got)/3)
	best, bestD := "", limit+1
	for _, k := range sorted {
		if d := distance(got, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the edit distance of a and b, a swap of two neighbours
// counting as one edit (optimal string alignment): "rnu" is one from "run".
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// VersionLine is what a binary's --version prints: its name, version,
// commit and Go version, on one line (the man page's title line takes it).
func VersionLine(binary string) string {
	b := build.Current()
	return fmt.Sprintf("%s, version %s (revision: %s, %s)", binary, b.Version, b.Commit, b.GoVersion)
}
