package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"

	"encoding/json"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
	"go.yaml.in/yaml/v3"
)

const replayUsage = `Usage: gameday replay [flags] REPORT.json

Runs again the scenario recorded in a report, with the same spec and seed,
and writes a new report. The target defaults to auto; pass --target to pin it
to the report's target kind.

Flags:
`

func replay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	f := addRunFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("replay: want exactly one REPORT.json")
	}
	rep, err := reports.Read(fs.Arg(0))
	if err != nil {
		return usagef("%v", err)
	}
	// The spec is stored as JSON; YAML is a superset, so the strict
	// scenario parser reads it as is.
	var v any
	if err := json.Unmarshal(rep.Scenario, &v); err != nil {
		return usagef("replay: scenario in report: %v", err)
	}
	y, _ := yaml.Marshal(v)
	spec, err := scenario.Parse(bytes.NewReader(y), fault.Known)
	if err != nil {
		return usagef("replay: scenario in report: %v", err)
	}
	fmt.Fprintf(stdout, "gameday: replaying %s (seed %d) from %s, first run %s on %s\n", spec.Name, spec.Seed, fs.Arg(0), rep.StartedAt.Format("2006-01-02 15:04:05Z"), rep.Target.Kind)
	return execute(ctx, []*scenario.Spec{spec}, f, stdout)
}
