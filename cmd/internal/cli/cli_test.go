package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// testApp is a small binary: "t run [--target T] [--wait D] [--json]
// NAMES..." with --target bound to T_TARGET and an old --tgt name.
type testApp struct {
	*App
	stdout, stderr *bytes.Buffer
	target, out    *string
	wait           *time.Duration
	names          *[]string
}

func newTestApp() *testApp {
	var so, se bytes.Buffer
	a := New("t", "A test binary.\n\nExample: t run a", "t, version test", &so, &se)
	run := a.Cmd(nil, "run", "Run things.\n\nExample: t run a b --target x\n\nRuns them.")
	ta := &testApp{App: a, stdout: &so, stderr: &se}
	ta.target = a.Flag(run, "target", "T_TARGET", "where").Default("auto").String()
	a.Deprecated(run, "tgt", "target")
	ta.wait = a.Flag(run, "wait", "T_WAIT", "how long").Default("1s").Duration()
	ta.out = a.Output(run, "json", struct {
		Name string `json:"name"`
	}{})
	ta.names = run.Arg("names", "what").Strings()
	a.AddCompletion()
	return ta
}

func TestFlagsAnywhereAndDashDash(t *testing.T) {
	for _, c := range []struct {
		args   []string
		target string
		names  string
	}{
		{[]string{"run", "a", "--target", "process", "b"}, "process", "a b"},
		{[]string{"run", "--target=x", "a"}, "x", "a"},
		{[]string{"run", "a", "--", "--target", "y"}, "auto", "a --target y"},
	} {
		a := newTestApp()
		cmd, err := a.Parse(c.args)
		if err != nil || cmd != "run" || *a.target != c.target || strings.Join(*a.names, " ") != c.names {
			t.Errorf("%q: cmd %q err %v target %q names %q; want target %q names %q", c.args, cmd, err, *a.target, *a.names, c.target, c.names)
		}
	}
}

func TestVariablesNameThemselves(t *testing.T) {
	t.Setenv("T_TARGET", "from-env")
	t.Setenv("T_WAIT", "2s")
	a := newTestApp()
	if _, err := a.Parse([]string{"run", "--wait", "3s"}); err != nil {
		t.Fatal(err)
	}
	if *a.target != "from-env" || *a.wait != 3*time.Second {
		t.Errorf("target %q wait %s: want the variable's target and the flag's wait", *a.target, *a.wait)
	}
	if got := a.Named("target"); got != "T_TARGET (--target)" {
		t.Errorf("Named(target) = %q, want the variable that set it", got)
	}
	if got := a.Named("wait"); got != "--wait" {
		t.Errorf("Named(wait) = %q, want the flag that set it", got)
	}
	t.Setenv("T_WAIT", "soon")
	_, err := newTestApp().Parse([]string{"run"})
	var ue UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `T_WAIT (--wait): time: invalid duration "soon"`) {
		t.Errorf("a bad variable: %v, want a usage error naming T_WAIT", err)
	}
	if !strings.Contains(newTestApp().Flag(nil, "x", "X_ENV", "help").Model().Help, "(env X_ENV)") {
		t.Error("a bound flag's help does not name its variable")
	}
}

func TestMistakesAreOneLineWithASuggestion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rnu"}, `unknown command "rnu"; did you mean "run"?`},
		{[]string{"run", "--taget", "x"}, "unknown flag --taget; did you mean --target?"},
		{[]string{"run", "-z"}, "unknown flag -z (see t run --help)"},
		{[]string{"run", "--target"}, "--target: needs a value (see t run --help)"},
		{[]string{"run", "--wait", "-5s"}, `--wait: needs a value (one that starts with "-" goes as --wait=-5s)`},
		{[]string{"run", "--wait", "1s", "--wait", "2s"}, "--wait: given twice"},
		{[]string{"run", "--output", "json", "extra", "--", "x"}, ""},
		{[]string{"run", "--wait", "x"}, `--wait: time: invalid duration "x" (see t run --help)`},
		{nil, "no command given (see t --help)"},
	} {
		a := newTestApp()
		_, err := a.Parse(c.args)
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v, want no error", c.args, err)
			}
			continue
		}
		var ue UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", c.args, err, c.want)
		}
		if a.stdout.Len() > 0 {
			t.Errorf("%q: a mistake printed the usage:\n%s", c.args, a.stdout)
		}
	}
}

func TestHelpVersionAndScriptsGoToStdout(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"usage: t", "Example: t run a", "run", "Run things."}},
		{[]string{"run", "--help"}, []string{"usage: t run", "Example: t run a b --target x", "--target", "T_TARGET", "--output"}},
		{[]string{"--version"}, []string{"t, version test"}},
		{[]string{"completion", "bash"}, []string{"complete -F", "--completion-bash"}},
		{[]string{"completion", "zsh"}, []string{"compdef"}},
		{[]string{"completion", "fish"}, []string{"complete -c t", "-a run", "-l target"}},
		{[]string{"--help-man"}, []string{".TH t 1", "run"}},
	} {
		a := newTestApp()
		_, err := a.Parse(c.args)
		if !errors.Is(err, ErrHelp) {
			t.Errorf("%q: %v, want ErrHelp", c.args, err)
		}
		for _, w := range c.want {
			if !strings.Contains(a.stdout.String(), w) {
				t.Errorf("%q: stdout lacks %q:\n%s", c.args, w, a.stdout)
			}
		}
		if a.stderr.Len() > 0 {
			t.Errorf("%q: wrote to stderr: %s", c.args, a.stderr)
		}
	}
	if strings.Contains(newHelp(t), "Runs them.") {
		t.Error("the binary's help shows a command's long help; want its one line")
	}
}

func newHelp(t *testing.T) string {
	a := newTestApp()
	a.Parse([]string{"--help"})
	return a.stdout.String()
}

func TestDeprecatedNamesStillWorkAndSaySo(t *testing.T) {
	a := newTestApp()
	if _, err := a.Parse([]string{"run", "--tgt", "old", "--json"}); err != nil {
		t.Fatal(err)
	}
	if *a.target != "old" || *a.out != JSON {
		t.Errorf("target %q output %q: the old names did not set the new flags", *a.target, *a.out)
	}
	for _, w := range []string{"--tgt is deprecated", "use --target", "--json is deprecated", "use -o json"} {
		if !strings.Contains(a.stderr.String(), w) {
			t.Errorf("no deprecation line with %q: %s", w, a.stderr)
		}
	}
	t.Setenv("T_TARGET", "env")
	a = newTestApp()
	a.Parse([]string{"run", "--tgt", "old"})
	if *a.target != "old" {
		t.Errorf("the variable overrode the old flag given on the line: %q", *a.target)
	}
}

func TestOutputFormats(t *testing.T) {
	v := struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}{"a", 2}
	for format, want := range map[string]string{JSON: "{\n  \"name\": \"a\",\n  \"count\": 2\n}\n", YAML: "count: 2\nname: a\n", Table: "a has 2\n"} {
		var b bytes.Buffer
		err := Write(&b, format, v, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s has %d\n", v.Name, v.Count)
			return err
		})
		if err != nil || b.String() != want {
			t.Errorf("%s: %q (%v), want %q", format, b.String(), err, want)
		}
	}
	a := newTestApp()
	if _, err := a.Parse([]string{"run", "-o", "xml"}); err == nil || !strings.Contains(err.Error(), "--output") {
		t.Errorf("-o xml: %v, want an error naming --output", err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"duration", "offset", "params", "name", "select"}
	for got, want := range map[string]string{"durtion": "duration", "ofset": "offset", "nme": "name", "zzzzzz": "", "selct": "select"} {
		if s := Suggest(got, known); s != want {
			t.Errorf("Suggest(%q) = %q, want %q", got, s, want)
		}
	}
}

func TestAMissingArgumentIsNamed(t *testing.T) {
	a := newTestApp()
	show := a.Cmd(nil, "show", "Show a report.")
	show.Arg("report", "REPORT.json").Required().String()
	_, err := a.Parse([]string{"show"})
	if err == nil || err.Error() != "REPORT: required (see t show --help)" {
		t.Errorf("show without its argument: %v, want it named", err)
	}
}

func TestFieldsAndShape(t *testing.T) {
	type inner struct {
		Name string        `json:"name"`
		When time.Time     `json:"when"`
		Took time.Duration `json:"took"`
	}
	type Embedded struct {
		Scenario string `json:"scenario"`
	}
	v := struct {
		*Embedded
		Items   []inner           `json:"items"`
		Names   []string          `json:"names"`
		Codes   map[string]int    `json:"codes"`
		ByName  map[string]*inner `json:"by_name,omitempty"`
		Skipped string            `json:"-"`
		hidden  string
		Plain   int
	}{}
	want := []string{"scenario", "items", "items[].name", "items[].when", "items[].took", "names", "names[]", "codes", "codes{}",
		"by_name", "by_name{}.name", "by_name{}.when", "by_name{}.took", "Plain"}
	if got := Fields(v); !slices.Equal(got, want) {
		t.Errorf("Fields:\n got %q\nwant %q", got, want)
	}
	wantShape := `{"scenario", "items": [{"name", "when", "took"}], "names": […], "codes": {…: …}, "by_name": {…: {"name", "when", "took"}}, "Plain"}`
	if got := Shape(v); got != wantShape {
		t.Errorf("Shape:\n got %s\nwant %s", got, wantShape)
	}
	// What encoding/json writes has exactly those top-level fields.
	v.Embedded, v.ByName, v.hidden = &Embedded{}, map[string]*inner{"a": {}}, "x"
	b, _ := json.Marshal(v)
	var top map[string]any
	json.Unmarshal(b, &top)
	var keys, tops []string
	for k := range top {
		keys = append(keys, k)
	}
	for _, f := range want {
		if !strings.ContainsAny(f, ".[{") {
			tops = append(tops, f)
		}
	}
	slices.Sort(keys)
	slices.Sort(tops)
	if !slices.Equal(keys, tops) {
		t.Errorf("encoding/json writes %q, Fields says %q", keys, tops)
	}
}
