package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"encoding/json"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/fault"
	"github.com/quannex/gameday/harness/scenario"
	"github.com/quannex/gameday/reports"
	"go.yaml.in/yaml/v3"
)

const replayHelp = `Run again the scenario (and seed) a report recorded.

Example: gameday replay reports/out/io-glitch-20261204T100000Z.json

Runs again the scenario recorded in a report, with the same spec and seed,
and writes a new report. The target defaults to auto; pass --target to pin it
to the report's target kind.`

// addReplay declares gameday replay.
func addReplay(ctx context.Context, app *cli.App, stdout, stderr io.Writer) func() error {
	cmd := app.Cmd(nil, "replay", replayHelp)
	f := addRunFlags(app, cmd, stderr)
	path := cmd.Arg("report", "REPORT.json").Required().String()
	return func() error { return replay(ctx, stdout, f, *path) }
}

func replay(ctx context.Context, stdout io.Writer, f *runFlags, path string) error {
	if err := f.checkFlags(); err != nil {
		return err
	}
	rep, err := reports.Read(path)
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
		return usagef("replay: scenario in report: %s", withSuggestion(err))
	}
	if err := f.addStops([]*scenario.Spec{spec}); err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprintf(stdout, "gameday: replaying %s (seed %d) from %s, first run %s on %s\n", spec.Name, spec.Seed, path, rep.StartedAt.Format("2006-01-02 15:04:05Z"), rep.Target.Kind)
	}
	return execute(ctx, []*scenario.Spec{spec}, f, stdout)
}
