package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/harness/smoke"
	"github.com/quannex/gameday/harness/target"
)

const smokeHelp = `The 5-check smoke pack against a running gate.

Example: gameday smoke --url https://gate.example:3000 --token-file scraper.token --admin-token-file admin.token

The smoke pack: five checks against a running gate (format and golden set,
real traffic moves the counters, live source, forced snapshot, final
verification, whose selftest must answer 200 with status "ok"). Check 4
needs the admin token and a gate started with --enable-fault-injection;
without them it is skipped and says so, and the pack is incomplete: never a
pass. On a pass it records an end-to-end pass.

The tokens come from files (--token-file, --admin-token-file), as for
gameday run --target url= and gate verify: never from a flag, which shows
up in ps. The metrics token needs room for about 40 requests. For a gate
serving TLS (--web.config.file), use an https:// URL; --ca-file trusts its
CA and --cert-file/--key-file present a client certificate when the gate
requires one. Bearer tokens are sent as well.

Exit codes: 0 pass (all five checks ran and passed), 1 a check failed,
2 usage (a malformed --url too), 3 gate unreachable, 4 incomplete (nothing
failed, a check was skipped).`

// smokeCmd is gameday smoke's flags.
type smokeCmd struct {
	url, tokenFile, adminFile, token, admin string
	out                                     *string
	tls                                     *cli.TLS
}

// addSmoke declares gameday smoke.
func addSmoke(ctx context.Context, app *cli.App, stdout, stderr io.Writer) func() error {
	c := &smokeCmd{}
	cmd := app.Cmd(nil, "smoke", smokeHelp)
	app.Flag(cmd, "url", "GATE_URL", "the gate's base URL").StringVar(&c.url)
	cmd.Flag("token-file", "file holding the metrics token").PlaceHolder("FILE").StringVar(&c.tokenFile)
	cmd.Flag("admin-token-file", "file holding the gate's admin token (check 4 and the e2e pass)").PlaceHolder("FILE").StringVar(&c.adminFile)
	cmd.Flag("token", "deprecated: --token-file").Hidden().StringVar(&c.token)
	cmd.Flag("admin-token", "deprecated: --admin-token-file").Hidden().StringVar(&c.admin)
	c.out = app.Output(cmd, "json", smoke.Result{})
	c.tls = cli.AddTLS(cmd, "the gate")
	return func() error { return c.run(ctx, stdout, stderr) }
}

func (c *smokeCmd) run(ctx context.Context, stdout, stderr io.Writer) error {
	tlsCfg, err := tlsConfig(c.tls, "smoke")
	if err != nil {
		return err
	}
	if c.url == "" {
		return usagef("smoke: --url is required (or GATE_URL)")
	}
	if _, err := target.ParseRemoteURL(c.url); err != nil {
		return usagef("smoke: --url: %v", err)
	}
	token, err := secret(stderr, "--token-file", c.tokenFile, "--token", c.token, "METRICS_TOKEN")
	if err != nil {
		return err
	}
	admin, err := secret(stderr, "--admin-token-file", c.adminFile, "--admin-token", c.admin, "GATE_ADMIN_TOKEN")
	if err != nil {
		return err
	}
	if token == "" {
		return usagef("smoke: --token-file is required")
	}
	opts := smoke.Options{URL: c.url, Token: token, AdminToken: admin}
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
	if err := cli.Write(stdout, *c.out, res, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tCHECK\tRESULT\tMS\tDETAIL")
		for _, c := range res.Checks {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%s\n", c.N, c.Name, c.Result, c.Millis, c.Detail)
		}
		tw.Flush()
		_, err := fmt.Fprintf(w, "smoke %s in %.1fs against %s (%d skipped); e2e pass recorded: %v\n",
			strings.ToUpper(res.Verdict), res.Seconds, res.URL, res.Skipped, res.E2ERecorded)
		return err
	}); err != nil {
		return err
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

// secret is a token from its file flag; for a release, also from the
// deprecated flag or variable it replaced, with a deprecation line. Errors
// name the flag, never the token.
func secret(stderr io.Writer, fileFlag, file, oldFlag, old, oldEnv string) (string, error) {
	switch {
	case file != "":
		return readToken(fileFlag, file)
	case old != "":
		fmt.Fprintf(stderr, "gameday: %s is deprecated and goes in the next release (a flag shows up in ps): use %s\n", oldFlag, fileFlag)
		return old, nil
	case os.Getenv(oldEnv) != "":
		fmt.Fprintf(stderr, "gameday: %s for the client is deprecated and goes in the next release: use %s\n", oldEnv, fileFlag)
		return os.Getenv(oldEnv), nil
	}
	return "", nil
}
