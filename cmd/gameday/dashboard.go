package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/quannex/gameday/harness/dashboard"
)

func dashboardCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write to this file instead of standard output (config/grafana-operator-dashboard.json)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: gameday dashboard [-o FILE]\n\nPrints the operator dashboard (Grafana JSON) generated from the gate's metric names.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := dashboard.JSON()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return usagef("-o: %v", err)
	}
	return nil
}
