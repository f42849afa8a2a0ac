package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/integrity"
)

const verifyUsage = `Usage: gate verify [--token-env NAME] [--content-type T] [--json] [FILE|URL|-]

Verifies a /metrics payload: its "# LIVESHA:" line (text format), its
Repr-Digest header (when fetched from a URL) and that it parses. With a
URL the token is read from the variable named by --token-env (default
METRICS_TOKEN), never from a flag. "-" or no argument reads standard input.

Exit 0: verified; 1: a digest did not match or it does not parse; 2: usage;
3: could not read or fetch it.

Flags:
`

func verify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gate verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, verifyUsage); fs.PrintDefaults() }
	tokenEnv := fs.String("token-env", "METRICS_TOKEN", "variable holding the bearer token for a URL")
	ctype := fs.String("content-type", "", "content type of a file or stdin payload (default: text 0.0.4, or OpenMetrics if it ends with # EOF)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("verify: want one FILE, URL or -")
	}
	src := fs.Arg(0)
	var (
		body   []byte
		digest string
		err    error
		ct     = *ctype
	)
	switch {
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		body, ct, digest, err = fetch(src, os.Getenv(*tokenEnv))
	case src == "" || src == "-":
		body, err = io.ReadAll(os.Stdin)
	default:
		body, err = os.ReadFile(src)
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if ct == "" && strings.HasSuffix(strings.TrimSpace(string(body)), "# EOF") {
		ct = "application/openmetrics-text; version=1.0.0"
	}
	c := integrity.CheckPayload(body, ct, digest)
	if *asJSON {
		if err := writeJSONTo(stdout, c); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "LIVESHA:     %s\nRepr-Digest: %s\nparse:       %s (%d metric families)\n", c.LiveSHA, c.ReprDigest, c.Parse, c.Families)
	}
	if !c.OK() {
		return problemError{"payload failed verification"}
	}
	return nil
}

func fetch(url, token string) (body []byte, contentType, digest string, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, "", "", fmt.Errorf("bad URL")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", "", err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, "", "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", "", fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	return body, resp.Header.Get("Content-Type"), resp.Header.Get("Repr-Digest"), nil
}
