package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quannex/gameday/harness/smoke"
)

const smokeUsage = `Usage: gameday smoke --url URL [--token T] [--admin-token A] [--json]
                     [--ca-file CA] [--cert-file CRT --key-file KEY]

The smoke pack: five checks against a running gate (format and golden set,
real traffic moves the counters, live source, forced snapshot, final
verification, whose selftest must answer 200 with status "ok"). Check 4
needs the admin token and a gate started with --enable-fault-injection;
without them it is skipped and says so, and the pack is incomplete: never a
pass. On a pass it records an end-to-end pass.

Tokens may come from METRICS_TOKEN and GATE_ADMIN_TOKEN instead of the flags
(flags show up in ps). The metrics token needs room for about 40 requests.
For a gate serving TLS (--web.config.file), use an https:// URL; --ca-file
trusts its CA and --cert-file/--key-file present a client certificate when
the gate requires one. Bearer tokens are sent as well.

Exit codes: 0 pass (all five checks ran and passed), 1 a check failed,
2 usage, 3 gate unreachable, 4 incomplete (nothing failed, a check was
skipped).

Flags:
`

func smokeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gameday smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, smokeUsage); fs.PrintDefaults() }
	url := fs.String("url", os.Getenv("GATE_URL"), "the gate's base URL (env GATE_URL)")
	token := fs.String("token", "", "metrics token (default: env METRICS_TOKEN)")
	admin := fs.String("admin-token", "", "admin token (default: env GATE_ADMIN_TOKEN)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	tf := addTLSFlags(fs, "the gate")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("smoke: unexpected argument %q", fs.Arg(0))
	}
	tlsCfg, err := tf.config("smoke")
	if err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("METRICS_TOKEN")
	}
	if *admin == "" {
		*admin = os.Getenv("GATE_ADMIN_TOKEN")
	}
	switch {
	case *url == "":
		return usagef("smoke: --url is required (or GATE_URL)")
	case *token == "":
		return usagef("smoke: --token is required (or METRICS_TOKEN)")
	}
	opts := smoke.Options{URL: *url, Token: *token, AdminToken: *admin}
	if tlsCfg != nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	}
	res, err := smoke.Run(ctx, opts)
	if errors.Is(err, smoke.ErrUnreachable) {
		return fmt.Errorf("smoke: %w", err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := jsonEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tCHECK\tRESULT\tMS\tDETAIL")
		for _, c := range res.Checks {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%s\n", c.N, c.Name, c.Result, c.Millis, c.Detail)
		}
		tw.Flush()
		fmt.Fprintf(stdout, "smoke %s in %.1fs against %s (%d skipped); e2e pass recorded: %v\n",
			strings.ToUpper(res.Verdict), res.Seconds, res.URL, res.Skipped, res.E2ERecorded)
	}
	switch res.Verdict {
	case smoke.Pass:
		return nil
	case smoke.Incomplete:
		return fmt.Errorf("smoke: %d check(s) skipped, so not a pass: %w", res.Skipped, errIncomplete)
	default:
		return errVerdict
	}
}
