package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/quannex/gameday/harness/canary"
	"github.com/quannex/gameday/harness/slo"
	"github.com/quannex/gameday/reports"
)

const sloUsage = `Usage:
  gameday slo validate [--file F]              check the SLO file and print the budgets
  gameday slo generate [--file F] [--into R]   print the recording rules and burn-rate alerts, or
                                               rewrite the generated part of rules file R
                                               (config/alerts.yml)
  gameday slo budget [--file F] REPORT.json    the error budget a GameDay run consumed
  gameday slo policies [--file F] --prometheus URL
                                               evaluate the remediation policies: deployment
                                               freeze, post-mortem due

The SLO file defaults to config/slo-error-budget.yml. Errors name the field.
Exit codes: 0 ok (policies: none applies), 1 a policy applies (freeze or
post-mortem due), 2 invalid file or usage, 3 unreadable input or Prometheus
unreachable.
`

func sloCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, sloUsage)
		if len(args) == 0 {
			return usagef("slo: missing subcommand (validate, generate or budget)")
		}
		return errHelp
	}
	fs := flag.NewFlagSet("gameday slo "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, sloUsage) }
	file := fs.String("file", "config/slo-error-budget.yml", "the SLO file")
	into := fs.String("into", "", "generate: rewrite the generated part of this rules file (config/alerts.yml)")
	prom := fs.String("prometheus", "", "policies: base URL of the Prometheus HTTP API")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	fh, err := os.Open(*file)
	if err != nil {
		return usagef("--file: %v", err)
	}
	f, err := slo.Parse(fh)
	fh.Close()
	if err != nil {
		return usagef("%s: %v", *file, err)
	}
	switch args[0] {
	case "validate":
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SLO\tOBJECTIVE\tWINDOW\tBUDGET\tKIND")
		for _, s := range f.SLOs {
			kind := "ratio (burn-rate alerts)"
			if !s.Ratio() {
				kind = "freshness " + s.Freshness
			}
			fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\n", s.Name, s.Objective, s.Window, budget(s.Budget()), kind)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%s: valid, %d SLOs, %d policies\n", *file, len(f.SLOs), len(f.Policies))
		return nil
	case "generate":
		if *into == "" {
			b, err := f.Generate()
			if err != nil {
				return err
			}
			_, err = stdout.Write(b)
			return err
		}
		rules, err := os.ReadFile(*into)
		if err != nil {
			return usagef("--into: %v", err)
		}
		b, err := f.Into(rules)
		if err != nil {
			return usagef("--into: %v", err)
		}
		return os.WriteFile(*into, b, 0o644)
	case "budget":
		if fs.NArg() != 1 {
			return usagef("slo budget: want one REPORT.json")
		}
		rep, err := reports.Read(fs.Arg(0))
		if err != nil {
			return usagef("%v", err)
		}
		dur := time.Duration(rep.ScheduleSeconds * float64(time.Second))
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(stdout, "%s (%s, %d requests over %s):\n", fs.Arg(0), rep.Verdict, rep.Load.Requests, dur.Round(time.Second))
		fmt.Fprintln(tw, "SLO\tBAD\tCONSUMED\tBUDGET\tOF BUDGET")
		for _, b := range f.Burned(rep.Load.Requests, rep.Load.Codes, rep.Load.Sources["snapshot"], rep.Load.Over200ms, dur) {
			fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%.2f%%\n", b.SLO, b.Bad, b.Total, b.Consumed.Round(100*time.Millisecond), budget(b.Budget), b.Percent)
		}
		return tw.Flush()
	case "policies":
		if *prom == "" {
			return usagef("slo policies: --prometheus is required")
		}
		res, err := f.EvaluatePolicies(ctx, canary.Count(*prom, 30*time.Second))
		if err != nil {
			return err
		}
		applies := false
		for _, r := range res {
			state := "no"
			switch {
			case !r.Evaluated:
				state = "n/a"
			case r.Applies:
				state, applies = "YES", true
			}
			fmt.Fprintf(stdout, "%-22s %-4s %s (%s)\n", r.Name, state, r.Description, r.Detail)
		}
		if applies {
			return errVerdict
		}
		return nil
	}
	return usagef("slo: unknown subcommand %q (validate, generate, budget or policies)", args[0])
}

func budget(d time.Duration) string { return fmt.Sprintf("%.1f min", d.Minutes()) }
