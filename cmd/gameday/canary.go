package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/canary"
)

const canaryHelp = `The canary gate: pass, abort or inconclusive.

Example: gameday canary --prometheus http://prometheus:9090 --stable 'job="quannex-gate-self",track="stable"' --canary 'job="quannex-gate-self",track="canary"'

The canary gate: compares the snapshot ratio of the canary pods with the
stable ones over the window, from the Prometheus HTTP API (which must scrape
the gates' /metrics/self). Selectors are label matchers, e.g.
job="quannex-gate-self",track="canary". --ca-file, --cert-file and --key-file
are for a Prometheus served over TLS (an https:// URL), with a client
certificate when it requires one.

Exit codes: 0 pass; 1 abort (canary ratio above stable by more than
--max-delta); 4 inconclusive (missing data, NaN, or fewer than --min-requests
on a side: never a pass); 2 usage; 3 Prometheus unreachable or the query failed.`

var errInconclusive = errors.New("inconclusive")

// addCanary declares gameday canary.
func addCanary(ctx context.Context, app *cli.App, stdout io.Writer) func() error {
	cmd := app.Cmd(nil, "canary", canaryHelp)
	var o canary.Options
	cmd.Flag("prometheus", "base URL of the Prometheus HTTP API").StringVar(&o.Prometheus)
	cmd.Flag("stable", "label matchers of the stable pods").StringVar(&o.Stable)
	cmd.Flag("canary", "label matchers of the canary pods").StringVar(&o.Canary)
	cmd.Flag("window", "comparison window").Default("15m").DurationVar(&o.Window)
	cmd.Flag("max-delta", "abort when the canary's snapshot ratio exceeds stable's by more than this").Default("0.02").Float64Var(&o.MaxDelta)
	cmd.Flag("min-requests", "requests each side needs in the window for a decision").Default("100").Float64Var(&o.MinRequests)
	out := app.Output(cmd, "json", canary.Result{})
	tf := cli.AddTLS(cmd, "Prometheus")
	return func() error {
		var err error
		if o.TLS, err = tlsConfig(tf, "canary"); err != nil {
			return err
		}
		return canaryRun(ctx, stdout, o, *out)
	}
}

func canaryRun(ctx context.Context, stdout io.Writer, o canary.Options, out string) error {
	if err := o.Validate(); err != nil {
		return usagef("canary: %v", err)
	}
	res, err := canary.Evaluate(ctx, o)
	if err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	if err := cli.Write(stdout, out, res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "canary %s: %s\n  stable %s: %.0f requests, snapshot ratio %.4f\n  canary %s: %.0f requests, snapshot ratio %.4f\n",
			res.Decision, res.Reason, res.Stable.Selector, res.Stable.Requests, res.Stable.SnapshotRatio,
			res.Canary.Selector, res.Canary.Requests, res.Canary.SnapshotRatio)
		return err
	}); err != nil {
		return err
	}
	switch res.Decision {
	case canary.Pass:
		return nil
	case canary.Abort:
		return errVerdict
	default:
		return errInconclusive
	}
}
