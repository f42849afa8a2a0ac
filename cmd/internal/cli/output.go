package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"
	"go.yaml.in/yaml/v3"
)

// Output formats of -o.
const (
	Table = "table"
	JSON  = "json"
	YAML  = "yaml"
)

// Output declares -o/--output table|json|yaml on cmd, table by default,
// and ends the command's help with the shape of result, the value it
// writes (so that the help cannot drift from what is written). A command
// that had --json keeps it for a release as a deprecated switch for
// -o json (old "json").
func (a *App) Output(cmd *kingpin.CmdClause, old string, result any) *string {
	help := cmd.Model().HelpLong
	if help == "" {
		help = cmd.Model().Help
	}
	cmd.HelpLong(help + "\n\nWith -o json or yaml (each field in GAMEDAYS.md, Output for scripts): " + Shape(result))
	out := new(string)
	cmd.Flag("output", "output format: table (for people), json or yaml (for scripts: the same fields, documented in GAMEDAYS.md)").
		Short('o').Default(Table).EnumVar(out, Table, JSON, YAML)
	if old != "" {
		f := cmd.Flag(old, "deprecated: -o json").Hidden()
		f.SetValue(&switchValue{set: func() {
			a.warnings = append(a.warnings, fmt.Sprintf("%s: --%s is deprecated and goes in the next release: use -o json", a.name, old))
			*out = JSON
		}})
	}
	return out
}

// switchValue is a boolean flag that does something when given.
type switchValue struct {
	set func()
	on  bool
}

func (v *switchValue) Set(s string) error {
	if s == "true" {
		v.on = true
		v.set()
	}
	return nil
}
func (v *switchValue) String() string   { return fmt.Sprint(v.on) }
func (v *switchValue) IsBoolFlag() bool { return true }

// Write writes v to w in format: JSON (indented) and YAML carry the same
// fields and names, the JSON ones; table calls table.
func Write(w io.Writer, format string, v any, table func(io.Writer) error) error {
	switch format {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case YAML:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(generic); err != nil {
			return err
		}
		return enc.Close()
	}
	return table(w)
}
