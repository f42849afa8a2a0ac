package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/slo"
	"github.com/quannex/gameday/reports"
)

const sloHelp = `SLO budgets, burn-rate rules and remediation policies.

Example: gameday slo validate

The SLO file defaults to config/slo-error-budget.yml. Errors name the field.
Exit codes: 0 ok (policies: none applies), 1 a policy applies (freeze or
post-mortem due), 2 invalid file or usage, 3 unreadable input or Prometheus
unreachable.`

// addSLO declares gameday slo validate, generate, budget and policies.
func addSLO(ctx context.Context, app *cli.App, stdout io.Writer) map[string]func() error {
	group := app.Cmd(nil, "slo", sloHelp)
	file := func(c *kingpin.CmdClause) *string {
		return c.Flag("file", "the SLO file").Default("config/slo-error-budget.yml").String()
	}
	v := app.Cmd(group, "validate", "Check the SLO file and print the budgets.\n\nExample: gameday slo validate -o json")
	vFile, vOut := file(v), app.Output(v, "", sloValidated{})
	g := app.Cmd(group, "generate", "Print the recording rules and burn-rate alerts, or rewrite the generated part of a rules file.\n\nExample: gameday slo generate --out config/alerts.yml")
	gFile := file(g)
	gOut := g.Flag("out", "rewrite the generated part of this rules file (config/alerts.yml) instead of printing the rules").PlaceHolder("FILE").String()
	app.Deprecated(g, "into", "out")
	bud := app.Cmd(group, "budget", "The error budget a GameDay run consumed.\n\nExample: gameday slo budget reports/out/io-glitch-20261204T100000Z.json")
	bFile, bOut := file(bud), app.Output(bud, "", sloBudgeted{})
	bReport := bud.Arg("report", "REPORT.json").Required().String()
	pol := app.Cmd(group, "policies", "Evaluate the remediation policies against Prometheus: deployment freeze, post-mortem due.\n\nExample: gameday slo policies --prometheus http://prometheus:9090")
	pFile := file(pol)
	pProm := pol.Flag("prometheus", "base URL of the Prometheus HTTP API").Required().String()
	return map[string]func() error{
		"slo validate": func() error {
			return withSLO(*vFile, func(f *slo.File) error { return sloValidate(stdout, *vFile, f, *vOut) })
		},
		"slo generate": func() error { return withSLO(*gFile, func(f *slo.File) error { return sloGenerate(stdout, f, *gOut) }) },
		"slo budget": func() error {
			return withSLO(*bFile, func(f *slo.File) error { return sloBudget(stdout, f, *bReport, *bOut) })
		},
		"slo policies": func() error {
			return withSLO(*pFile, func(f *slo.File) error { return sloPolicies(ctx, stdout, f, *pProm) })
		},
	}
}

// withSLO parses the SLO file and calls f with it.
func withSLO(path string, f func(*slo.File) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return usagef("--file: %v", err)
	}
	file, err := slo.Parse(fh)
	fh.Close()
	if err != nil {
		return usagef("%s: %v", path, err)
	}
	return f(file)
}

// sloRow is one SLO of slo validate's result.
type sloRow struct {
	Name          string  `json:"name"`
	Objective     float64 `json:"objective"`
	Window        string  `json:"window"`
	BudgetMinutes float64 `json:"budget_minutes"`
	Kind          string  `json:"kind"`
}

// sloValidated is gameday slo validate's result.
type sloValidated struct {
	File     string   `json:"file"`
	SLOs     []sloRow `json:"slos"`
	Policies int      `json:"policies"`
}

func sloValidate(stdout io.Writer, path string, f *slo.File, out string) error {
	res := sloValidated{File: path, Policies: len(f.Policies)}
	for _, s := range f.SLOs {
		kind := "ratio (burn-rate alerts)"
		if !s.Ratio() {
			kind = "freshness " + s.Freshness
		}
		res.SLOs = append(res.SLOs, sloRow{s.Name, s.Objective, s.Window, s.Budget().Minutes(), kind})
	}
	return cli.Write(stdout, out, res, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SLO\tOBJECTIVE\tWINDOW\tBUDGET\tKIND")
		for _, s := range res.SLOs {
			fmt.Fprintf(tw, "%s\t%g\t%s\t%.1f min\t%s\n", s.Name, s.Objective, s.Window, s.BudgetMinutes, s.Kind)
		}
		tw.Flush()
		_, err := fmt.Fprintf(w, "%s: valid, %d SLOs, %d policies\n", path, len(res.SLOs), res.Policies)
		return err
	})
}

func sloGenerate(stdout io.Writer, f *slo.File, into string) error {
	if into == "" {
		b, err := f.Generate()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	rules, err := os.ReadFile(into)
	if err != nil {
		return usagef("--out: %v", err)
	}
	b, err := f.Into(rules)
	if err != nil {
		return usagef("--out: %v", err)
	}
	return os.WriteFile(into, b, 0o644)
}

// burnRow is one SLO of slo budget's result.
type burnRow struct {
	SLO             string  `json:"slo"`
	Bad             int     `json:"bad"`
	Total           int     `json:"total"`
	ConsumedSeconds float64 `json:"consumed_seconds"`
	BudgetSeconds   float64 `json:"budget_seconds"`
	Percent         float64 `json:"percent"`
}

// sloBudgeted is gameday slo budget's result.
type sloBudgeted struct {
	Report   string    `json:"report"`
	Verdict  string    `json:"verdict"`
	Requests int       `json:"requests"`
	Seconds  float64   `json:"seconds"`
	SLOs     []burnRow `json:"slos"`
}

func sloBudget(stdout io.Writer, f *slo.File, path, out string) error {
	rep, err := reports.Read(path)
	if err != nil {
		return usagef("%v", err)
	}
	dur := time.Duration(rep.ScheduleSeconds * float64(time.Second))
	res := sloBudgeted{path, rep.Verdict, rep.Load.Requests, dur.Seconds(), nil}
	for _, b := range f.Burned(rep.Load.Requests, rep.Load.Codes, rep.Load.Sources["snapshot"], rep.Load.Over200ms, dur) {
		res.SLOs = append(res.SLOs, burnRow{b.SLO, b.Bad, b.Total, b.Consumed.Seconds(), b.Budget.Seconds(), b.Percent})
	}
	return cli.Write(stdout, out, res, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "%s (%s, %d requests over %s):\n", path, rep.Verdict, rep.Load.Requests, dur.Round(time.Second))
		fmt.Fprintln(tw, "SLO\tBAD\tCONSUMED\tBUDGET\tOF BUDGET")
		for _, b := range res.SLOs {
			fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%.2f%%\n", b.SLO, b.Bad, b.Total, (time.Duration(b.ConsumedSeconds * float64(time.Second))).Round(100*time.Millisecond),
				budget(time.Duration(b.BudgetSeconds*float64(time.Second))), b.Percent)
		}
		return tw.Flush()
	})
}

func sloPolicies(ctx context.Context, stdout io.Writer, f *slo.File, prom string) error {
	res, err := f.EvaluatePolicies(ctx, canary.Count(prom, 30*time.Second))
	if err != nil {
		return err
	}
	applies := false
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, r := range res {
		state := "no"
		switch {
		case !r.Evaluated:
			state = "n/a"
		case r.Applies:
			state, applies = "YES", true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (%s)\n", r.Name, state, r.Description, r.Detail)
	}
	tw.Flush()
	if applies {
		return errVerdict
	}
	return nil
}

func budget(d time.Duration) string { return fmt.Sprintf("%.1f min", d.Minutes()) }
