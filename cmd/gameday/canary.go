package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/quannex/gameday/harness/canary"
)

const canaryUsage = `Usage: gameday canary --prometheus URL --stable SELECTOR --canary SELECTOR
                      [--window 15m] [--max-delta 0.02] [--min-requests N] [--json]
                      [--ca-file CA] [--cert-file CRT --key-file KEY]

The canary gate: compares the snapshot ratio of the canary pods with the
stable ones over the window, from the Prometheus HTTP API (which must scrape
the gates' /metrics/self). Selectors are label matchers, e.g.
job="quannex-gate",track="canary". --ca-file, --cert-file and --key-file
are for a Prometheus served over TLS (an https:// URL), with a client
certificate when it requires one.

Exit codes: 0 pass; 1 abort (canary ratio above stable by more than
--max-delta); 4 inconclusive (missing data, NaN, or fewer than --min-requests
on a side: never a pass); 2 usage; 3 Prometheus unreachable or the query failed.

Flags:
`

var errInconclusive = errors.New("inconclusive")

func canaryCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday canary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, canaryUsage); fs.PrintDefaults() }
	var o canary.Options
	fs.StringVar(&o.Prometheus, "prometheus", "", "base URL of the Prometheus HTTP API")
	fs.StringVar(&o.Stable, "stable", "", "label matchers of the stable pods")
	fs.StringVar(&o.Canary, "canary", "", "label matchers of the canary pods")
	fs.DurationVar(&o.Window, "window", 15*time.Minute, "comparison window")
	fs.Float64Var(&o.MaxDelta, "max-delta", 0.02, "abort when the canary's snapshot ratio exceeds stable's by more than this")
	fs.Float64Var(&o.MinRequests, "min-requests", 100, "requests each side needs in the window for a decision")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	tf := addTLSFlags(fs, "Prometheus")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("canary: unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.TLS, err = tf.config("canary"); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return usagef("canary: %v", err)
	}
	res, err := canary.Evaluate(ctx, o)
	if err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	if *asJSON {
		if err := jsonEncoder(stdout).Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "canary %s: %s\n  stable %s: %.0f requests, snapshot ratio %.4f\n  canary %s: %.0f requests, snapshot ratio %.4f\n",
			res.Decision, res.Reason, res.Stable.Selector, res.Stable.Requests, res.Stable.SnapshotRatio,
			res.Canary.Selector, res.Canary.Requests, res.Canary.SnapshotRatio)
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
