package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/cmd/internal/cliflags"
	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/httpsig"
	"github.com/quannex/gameday/gate/integrity"
)

const verifyUsage = `Usage: gate verify [flags] [FILE|URL|-]

Verifies a /metrics payload's digests and, with --pubkey, its signature.
Digests alone show a payload undamaged, not authentic: whoever edits it can
recompute them. Without --pubkey it fails unless a digest matches:

  text 0.0.4   its "# LIVESHA:" line must be present and match
  OpenMetrics  (no LIVESHA line by format) its Repr-Digest must be present
               and match: the response header when fetched from a URL, or
               --digest 'sha-256=:BASE64:' for a FILE or standard input

A Repr-Digest, when there is one, must match in both formats, and the
payload must parse. --allow-unsigned accepts a payload with no digest (it
is then only parsed: nothing shows it unaltered).

With --pubkey FILE (the gate's public key, PKIX PEM, from gate keygen) the
response must also carry the gate's RFC 9421 signature (Signature-Input and
Signature, label sig1, alg ed25519) covering repr-digest, content-type and
@status, and it must verify with that key; its Repr-Digest must match the
body. A URL's signature comes from its response. For a FILE or standard
input, give the response's header block with --headers FILE, as
"curl -D FILE" writes it (the status line, then one "Name: value" per line;
with several blocks, as after a redirect, the last counts); it supplies
Content-Type and Repr-Digest too, so --digest and --content-type do not go
with it:

  curl -sS -D h.txt -o m.prom -H "Authorization: Bearer $T" https://gate/metrics
  gate verify --pubkey gate.pub --headers h.txt m.prom

The signature's created and expires (RFC 9421 parameters, covered by the
signature) are checked against this machine's clock, allowing 30 s of
skew: an expired signature fails, and --max-age D fails one created more
than D ago, so a recorded response cannot pass for a fresh one.

With a URL the token is read from the variable named by --token-env
(default METRICS_TOKEN), never from a flag; --accept asks for a format, e.g.
--accept 'application/openmetrics-text; version=1.0.0'. "-" or no argument
reads standard input. Flags may come before or after the argument.

For a gate serving TLS (--web.config.file), use an https:// URL; --ca-file
trusts the gate's CA instead of the system roots, --cert-file and
--key-file present a client certificate where the gate requires one
(client_auth_type: RequireAndVerifyClientCert), and --server-name checks
the gate's certificate against that name when the URL's host is not in it:

  gate verify --pubkey gate.pub --ca-file ca.crt --cert-file client.crt \
    --key-file client.key https://gate.example:9100/metrics

Exit 0: verified; 1: a digest or (with --pubkey) the signature is missing
or does not match, or it does not parse; 2: usage (a malformed --digest,
--headers or --pubkey file, or a missing or unreadable --ca-file,
--cert-file or --key-file, or one of the last two without the other, names
the flag); 3: could not read or fetch it (a refused TLS handshake too).

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
	pubkeyFlag := fs.String("pubkey", "", "the gate's ed25519 public key (PKIX PEM, from gate keygen): require its RFC 9421 signature")
	headersFlag := fs.String("headers", "", "response header block of a FILE or stdin payload (curl -D): status, Content-Type, Repr-Digest, signature")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	maxAge := fs.Duration("max-age", 0, "with --pubkey: fail a signature created longer ago than this (0: only its expires counts)")
	tlsFlags := cliflags.AddTLS(fs, "the gate")
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
	if tlsFlags.Set() && !strings.HasPrefix(src, "https://") {
		return usagef("--ca-file, --cert-file, --key-file, --server-name: only for an https:// URL")
	}
	tlsCfg, err := tlsFlags.Config()
	if err != nil {
		return usagef("verify: %v", err)
	}
	var (
		pub    ed25519.PublicKey
		hdr    http.Header
		status = http.StatusOK
	)
	switch {
	case *headersFlag != "" && isURL:
		return usagef("--headers: only for a FILE or standard input; a URL's headers come from its response")
	case *headersFlag != "" && (*digestFlag != "" || *ctype != ""):
		return usagef("--headers: it supplies Repr-Digest and Content-Type; give it or --digest/--content-type, not both")
	case *pubkeyFlag != "" && *allowUnsigned:
		return usagef("--allow-unsigned: not with --pubkey, which requires a signature")
	case *pubkeyFlag != "" && !isURL && *headersFlag == "":
		return usagef("--pubkey: a FILE or standard input needs --headers FILE, the response's header block (curl -D FILE)")
	case *maxAge < 0:
		return usagef("--max-age: must not be negative")
	case *maxAge > 0 && *pubkeyFlag == "":
		return usagef("--max-age: only with --pubkey (the age is the signature's created)")
	}
	if *pubkeyFlag != "" {
		if pub, err = loadPublicKey(*pubkeyFlag); err != nil {
			return usagef("--pubkey: %v", err)
		}
	}
	if *headersFlag != "" {
		if hdr, status, err = readHeaders(*headersFlag); err != nil {
			return usagef("--headers: %v", err)
		}
	}
	var (
		body   []byte
		digest = *digestFlag
		ct     = *ctype
	)
	if hdr != nil {
		digest, ct = hdr.Get("Repr-Digest"), hdr.Get("Content-Type")
	}
	switch {
	case isURL:
		body, hdr, err = fetch(src, os.Getenv(*tokenEnv), *accept, tlsCfg)
		if err == nil {
			ct, digest = hdr.Get("Content-Type"), hdr.Get("Repr-Digest")
		}
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
	c := verifyResult{Check: integrity.CheckPayload(body, ct, digest)}
	if pub != nil {
		c.Signature = checkSignature(status, hdr, pub, *maxAge)
	}
	// CheckPayload takes an absent digest as no failure; here it is one
	// unless --allow-unsigned, or an edited payload whose digest was cut
	// off would verify. With --pubkey the signature requires Repr-Digest
	// and CheckPayload matched it, so a missing LIVESHA line (as on
	// /metrics/self) is no failure there.
	unsigned := ""
	switch {
	case pub != nil:
	case strings.Contains(ct, "openmetrics"):
		if c.ReprDigest == "absent" {
			unsigned = "OpenMetrics payload has no Repr-Digest (a URL's response header, or --digest for a file)"
			if !*allowUnsigned {
				c.ReprDigest = "missing: " + unsigned
			}
		}
	case c.LiveSHA == "absent":
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
		if pub != nil {
			fmt.Fprintf(stdout, "Signature:   %s\n", c.Signature)
		}
	}
	if unsigned != "" && *allowUnsigned && c.OK() {
		fmt.Fprintf(stderr, "gate: unsigned payload accepted (--allow-unsigned): %s; it parses, nothing proves it unaltered\n", unsigned)
	}
	if pub != nil && !strings.HasPrefix(c.Signature, "ok") {
		return problemError{"payload failed verification: signature: " + c.Signature}
	}
	if !c.OK() {
		if unsigned != "" && !*allowUnsigned {
			return problemError{"payload failed verification: " + unsigned + " (--allow-unsigned only parses it)"}
		}
		return problemError{"payload failed verification: " + c.failures()}
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

// fetch GETs url; tlsCfg, when not nil, is the client side of TLS.
func fetch(url, token, accept string, tlsCfg *tls.Config) (body []byte, header http.Header, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("bad URL")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if tlsCfg != nil {
		// HTTP/1.1 only: over HTTP/2 a refused handshake surfaces as
		// "client conn could not be established", hiding the TLS alert.
		client.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsCfg}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	return body, resp.Header, nil
}

// verifyResult is what gate verify prints: the digest checks and, with
// --pubkey, the signature's.
type verifyResult struct {
	integrity.Check
	Signature string `json:"signature,omitempty"` // "ok (...)" or what failed
}

// failures names the digest checks that failed.
func (r verifyResult) failures() string {
	var out []string
	for _, c := range []struct{ name, v string }{{"LIVESHA", r.LiveSHA}, {"Repr-Digest", r.ReprDigest}, {"parse", r.Parse}} {
		if c.v != "ok" && c.v != "absent" {
			out = append(out, c.name+": "+c.v)
		}
	}
	return strings.Join(out, "; ")
}

// checkSignature verifies the gate's signature on a response with status
// and hdr, and describes the outcome: "ok (label, keyid, created)" or what
// failed. The Repr-Digest it covers is checked against the body apart.
func checkSignature(status int, hdr http.Header, pub ed25519.PublicKey, maxAge time.Duration) string {
	v, err := httpsig.Verify(httpsig.Response(status, hdr), pub,
		httpsig.VerifyOptions{Label: gate.SignatureLabel, Required: gate.SignedComponents, MaxAge: maxAge})
	switch {
	case err == nil:
		expires := "no expires"
		if !v.Expires.IsZero() {
			expires = "expires " + v.Expires.Format(time.RFC3339)
		}
		return fmt.Sprintf("ok (%s, keyid %q, created %s, %s)", v.Label, v.KeyID, v.Created.Format(time.RFC3339), expires)
	case errors.Is(err, httpsig.ErrNoSignature):
		return "missing: the response is not signed (" + err.Error() + ")"
	case errors.Is(err, httpsig.ErrBadSignature):
		return fmt.Sprintf("forged or altered: %v; the key in --pubkey has keyid %q", err, httpsig.KeyID(pub))
	case errors.Is(err, httpsig.ErrExpired), errors.Is(err, httpsig.ErrTooOld), errors.Is(err, httpsig.ErrNotYetValid):
		return "stale: " + err.Error() + " (a recorded response replayed, or clocks apart)"
	default:
		return "invalid: " + err.Error()
	}
}

// readHeaders reads a response header block as curl -D writes it: a status
// line ("HTTP/1.1 200 OK"), then "Name: value" lines. With several blocks
// (a redirect, 100 Continue) the last one counts.
func readHeaders(path string) (http.Header, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	var (
		h      http.Header
		status int
	)
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "HTTP/"):
			fields := strings.Fields(line)
			if len(fields) < 2 {
				return nil, 0, fmt.Errorf("%s line %d: status line without a status code", path, i+1)
			}
			n, err := strconv.Atoi(fields[1])
			if err != nil || n < 100 || n > 999 {
				return nil, 0, fmt.Errorf("%s line %d: status line without a status code", path, i+1)
			}
			h, status = http.Header{}, n
		case h == nil:
			return nil, 0, fmt.Errorf("%s line %d: want a status line (HTTP/1.1 200 OK) first", path, i+1)
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, 0, fmt.Errorf("%s line %d: not a \"Name: value\" header line", path, i+1)
			}
			h.Add(name, strings.TrimSpace(value))
		}
	}
	if h == nil {
		return nil, 0, fmt.Errorf("%s: no status line (HTTP/1.1 200 OK): not a header block", path)
	}
	return h, status, nil
}
