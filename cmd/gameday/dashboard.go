package main

import (
	"io"
	"os"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/dashboard"
)

// addDashboard declares gameday dashboard.
func addDashboard(app *cli.App, stdout io.Writer) func() error {
	cmd := app.Cmd(nil, "dashboard", `Print the operator dashboard (Grafana JSON).

Example: gameday dashboard --out config/grafana-operator-dashboard.json

The dashboard is generated from the gate's metric names.`)
	out := cmd.Flag("out", "write to this file instead of standard output").PlaceHolder("FILE").String()
	app.DeprecatedShort(cmd, 'o', "out")
	return func() error {
		b, err := dashboard.JSON()
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = stdout.Write(b)
			return err
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return usagef("--out: %v", err)
		}
		return nil
	}
}
