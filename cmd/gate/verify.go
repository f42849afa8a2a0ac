package main

import (
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/quannex/gameday/gate/integrity"
)

const verifyUsage = `Usage: gate verify [flags] [FILE|URL|-]

Verifies a /metrics payload and fails unless something proves it unaltered:

  text 0.0.4   its "# LIVESHA:" line must be present and match
  OpenMetrics  (no LIVESHA line by format) its Repr-Digest must be present
               and match: the response header when fetched from a URL, or
               --digest 'sha-256=:BASE64:' for a FILE or standard input

A Repr-Digest, when there is one, must match in both formats, and the
payload must parse. --allow-unsigned accepts a payload with no signature
(it is then only parsed: nothing proves it unaltered).

With a URL the token is read from the variable named by --token-env
(default METRICS_TOKEN), never from a flag; --accept asks for a format, e.g.
--accept 'application/openmetrics-text; version=1.0.0'. "-" or no argument
reads standard input. Flags may come before or after the argument.

Exit 0: verified; 1: the signature is missing, a digest did not match, or
it does not parse; 2: usage (a malformed --digest names the flag); 3: could
not read or fetch it.

Flags:
`

func verify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gate verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, verifyUsage); fs.PrintDefaults() }
	tokenEnv := fs.String("token-env", "METRICS_TOKEN", "variable holding the bearer token for a URL")
	ctype := fs.String("content-type", "", "content type of a file or stdin payload (default: text 0.0.4, or OpenMetrics if it ends with # EOF)")
	accept := fs.String("accept", "", "Accept header sent to a URL (default: the gate's default, text 0.0.4)")
	digestFlag := fs.String("digest", "", "Repr-Digest of a file or stdin payload, 'sha-256=:BASE64:' (a URL's comes from its response)")
	allowUnsigned := fs.Bool("allow-unsigned", false, "accept a payload with no LIVESHA line (text) or no Repr-Digest (OpenMetrics); it is then only parsed")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("verify: want one FILE, URL or -")
	}
	src := fs.Arg(0)
	isURL := strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
	if *digestFlag != "" {
		if isURL {
			return usagef("--digest: only for a FILE or standard input; a URL's Repr-Digest comes from its response")
		}
		if err := checkDigestValue(*digestFlag); err != nil {
			return usagef("--digest: %v", err)
		}
	}
	if *accept != "" && !isURL {
		return usagef("--accept: only for a URL; give a file's format with --content-type")
	}
	var (
		body   []byte
		digest = *digestFlag
		err    error
		ct     = *ctype
	)
	switch {
	case isURL:
		body, ct, digest, err = fetch(src, os.Getenv(*tokenEnv), *accept)
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
	// CheckPayload takes an absent signature as no failure; here it is one
	// unless --allow-unsigned, or an edited payload whose signature was cut
	// off would verify.
	unsigned := ""
	if strings.Contains(ct, "openmetrics") {
		if c.ReprDigest == "absent" {
			unsigned = "OpenMetrics payload has no Repr-Digest (a URL's response header, or --digest for a file)"
			if !*allowUnsigned {
				c.ReprDigest = "missing: " + unsigned
			}
		}
	} else if c.LiveSHA == "absent" {
		unsigned = `text payload has no "# LIVESHA:" line`
		if !*allowUnsigned {
			c.LiveSHA = "missing: " + unsigned
		}
	}
	if *asJSON {
		if err := writeJSONTo(stdout, c); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "LIVESHA:     %s\nRepr-Digest: %s\nparse:       %s (%d metric families)\n", c.LiveSHA, c.ReprDigest, c.Parse, c.Families)
	}
	if unsigned != "" && *allowUnsigned && c.OK() {
		fmt.Fprintf(stderr, "gate: unsigned payload accepted (--allow-unsigned): %s; it parses, nothing proves it unaltered\n", unsigned)
	}
	if !c.OK() {
		if unsigned != "" && !*allowUnsigned {
			return problemError{"payload failed verification: " + unsigned + " (--allow-unsigned only parses it)"}
		}
		return problemError{"payload failed verification"}
	}
	return nil
}

// checkDigestValue reports why v is not a Repr-Digest value holding a
// sha-256 member of 32 bytes ("sha-256=:BASE64:"). Other members are
// ignored, as RFC 9530 allows.
func checkDigestValue(v string) error {
	for _, member := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok || !strings.EqualFold(k, "sha-256") {
			continue
		}
		if len(val) < 2 || !strings.HasPrefix(val, ":") || !strings.HasSuffix(val, ":") {
			return fmt.Errorf("sha-256 value %q is not a byte sequence; want 'sha-256=:BASE64:'", val)
		}
		sum, err := base64.StdEncoding.DecodeString(val[1 : len(val)-1])
		if err != nil {
			return fmt.Errorf("sha-256 value is not base64: %v", err)
		}
		if len(sum) != sha256.Size {
			return fmt.Errorf("sha-256 value holds %d bytes, want %d", len(sum), sha256.Size)
		}
		return nil
	}
	return fmt.Errorf("%q has no sha-256 member; want 'sha-256=:BASE64:'", v)
}

func fetch(url, token, accept string) (body []byte, contentType, digest string, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, "", "", fmt.Errorf("bad URL")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
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
