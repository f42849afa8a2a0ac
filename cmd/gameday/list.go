package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
)

const listHelp = `List the built-in scenarios and the faults.

Example: gameday list -o json`

// listed is gameday list's result.
type listed struct {
	Scenarios []listedScenario `json:"scenarios"`
	Faults    []string         `json:"faults"`
}

type listedScenario struct {
	Name        string         `json:"name"`
	Labels      []string       `json:"labels"`
	Target      string         `json:"target"` // "" for one gate, or fleet
	Faults      []listedFault  `json:"faults"`
	MaxSchedule float64        `json:"max_schedule_seconds"`
	Description string         `json:"description"`
	spec        *scenario.Spec // for the table
}

type listedFault struct {
	Name     string `json:"name"`
	Duration string `json:"duration"`
}

// addList declares gameday list.
func addList(app *cli.App, stdout io.Writer) func() error {
	cmd := app.Cmd(nil, "list", listHelp)
	out := app.Output(cmd, "", listed{})
	return func() error { return list(stdout, *out) }
}

func list(stdout io.Writer, out string) error {
	b, err := scenario.Builtins(fault.Known)
	if err != nil {
		return err
	}
	res := listed{Faults: fault.Names()}
	for _, name := range scenario.Names(b) {
		s := b[name]
		ls := listedScenario{Name: name, Labels: s.Labels, Target: s.Target.Kind, MaxSchedule: s.MaxSchedule().Seconds(),
			Description: strings.Join(strings.Fields(s.Description), " "), spec: s}
		for _, f := range s.Faults {
			ls.Faults = append(ls.Faults, listedFault{Name: f.Name, Duration: f.Duration.D().String()})
		}
		res.Scenarios = append(res.Scenarios, ls)
	}
	return cli.Write(stdout, out, res, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tFAULTS\tAT MOST\tDESCRIPTION")
		for _, s := range res.Scenarios {
			var faults []string
			for _, f := range s.Faults {
				faults = append(faults, f.Name+" for "+f.Duration)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, strings.Join(faults, ", "), s.spec.MaxSchedule().Round(1e9), firstSentence(s.Description, 70))
		}
		tw.Flush()
		_, err := fmt.Fprintf(w, "\nfaults: %s\n", strings.Join(res.Faults, ", "))
		return err
	})
}

// firstSentence is d's first sentence, cut at about n characters.
func firstSentence(d string, n int) string {
	if i := strings.Index(d, ". "); i >= 0 {
		d = d[:i+1]
	}
	if len(d) > n {
		if i := strings.LastIndex(d[:n], " "); i > 0 {
			d = d[:i]
		}
		d += " …"
	}
	return d
}
