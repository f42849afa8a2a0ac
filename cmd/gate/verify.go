package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/httpsig"
	"github.com/quannex/gameday/gate/integrity"
)

const verifyHelp = `Verify a /metrics payload's digests and, with --pubkey, its signature.

Example: gate verify --token-file scraper.token https://gate.example:3000/metrics

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

With a URL the bearer token is read from --token-file (a file holding it,
as Prometheus's credentials_file), never from a flag; --accept asks for a format, e.g.
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
the flag); 3: could not read or fetch it (a refused TLS handshake too).`

// verifyCmd is gate verify's flags.
type verifyCmd struct {
	app                                     *cli.App
	stdout, stderr                          io.Writer
	src, tokenFile, tokenEnv, ctype, accept string
	digest, pubkey, headers                 string
	out                                     *string
	allowUnsigned                           bool
	maxAge                                  time.Duration
	tls                                     *cli.TLS
}

// addVerify declares gate verify.
func addVerify(app *cli.App, stdout, stderr io.Writer) func() error {
	v := &verifyCmd{app: app, stdout: stdout, stderr: stderr}
	cmd := app.Cmd(nil, "verify", verifyHelp)
	cmd.Arg("payload", "FILE, URL or - (standard input, the default)").StringVar(&v.src)
	cmd.Flag("token-file", "file holding the bearer token for a URL").StringVar(&v.tokenFile)
	cmd.Flag("token-env", "deprecated: --token-file; the variable holding the bearer token").Hidden().StringVar(&v.tokenEnv)
	cmd.Flag("content-type", "content type of a file or stdin payload (default: text 0.0.4, or OpenMetrics if it ends with # EOF)").StringVar(&v.ctype)
	cmd.Flag("accept", "Accept header sent to a URL (default: the gate's default, text 0.0.4)").StringVar(&v.accept)
	cmd.Flag("digest", "Repr-Digest of a file or stdin payload, 'sha-256=:BASE64:' (a URL's comes from its response)").StringVar(&v.digest)
	cmd.Flag("allow-unsigned", "accept a payload with no LIVESHA line (text) or no Repr-Digest (OpenMetrics); it is then only parsed").BoolVar(&v.allowUnsigned)
	cmd.Flag("pubkey", "the gate's ed25519 public key (PKIX PEM, from gate keygen): require its RFC 9421 signature").StringVar(&v.pubkey)
	cmd.Flag("headers", "response header block of a FILE or stdin payload (curl -D): status, Content-Type, Repr-Digest, signature").StringVar(&v.headers)
	cmd.Flag("max-age", "with --pubkey: fail a signature created longer ago than this (0: only its expires counts)").Default("0s").DurationVar(&v.maxAge)
	v.out = app.Output(cmd, "json", verifyResult{})
	v.tls = cli.AddTLS(cmd, "the gate")
	return v.run
}

// run checks the flags together, then reads and verifies the payload.
func (v *verifyCmd) run() error {
	stdout, stderr, src := v.stdout, v.stderr, v.src
	token, err := v.token()
	if err != nil {
		return err
	}
	isURL := strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
	if v.digest != "" {
		if isURL {
			return usagef("--digest: only for a FILE or standard input; a URL's Repr-Digest comes from its response")
		}
		if err := checkDigestValue(v.digest); err != nil {
			return usagef("--digest: %v", err)
		}
	}
	if v.accept != "" && !isURL {
		return usagef("--accept: only for a URL; give a file's format with --content-type")
	}
	if v.tls.Set() && !strings.HasPrefix(src, "https://") {
		return usagef("--ca-file, --cert-file, --key-file, --server-name: only for an https:// URL")
	}
	tlsCfg, err := v.tls.Config()
	if err != nil {
		return usagef("verify: %v", err)
	}
	var (
		pub    ed25519.PublicKey
		hdr    http.Header
		status = http.StatusOK
	)
	switch {
	case v.headers != "" && isURL:
		return usagef("--headers: only for a FILE or standard input; a URL's headers come from its response")
	case v.headers != "" && (v.digest != "" || v.ctype != ""):
		return usagef("--headers: it supplies Repr-Digest and Content-Type; give it or --digest/--content-type, not both")
	case v.pubkey != "" && v.allowUnsigned:
		return usagef("--allow-unsigned: not with --pubkey, which requires a signature")
	case v.pubkey != "" && !isURL && v.headers == "":
		return usagef("--pubkey: a FILE or standard input needs --headers FILE, the response's header block (curl -D FILE)")
	case v.maxAge < 0:
		return usagef("--max-age: must not be negative")
	case v.maxAge > 0 && v.pubkey == "":
		return usagef("--max-age: only with --pubkey (the age is the signature's created)")
	}
	if v.pubkey != "" {
		if pub, err = loadPublicKey(v.pubkey); err != nil {
			return usagef("--pubkey: %v", err)
		}
	}
	if v.headers != "" {
		if hdr, status, err = readHeaders(v.headers); err != nil {
			return usagef("--headers: %v", err)
		}
	}
	var (
		body   []byte
		digest = v.digest
		ct     = v.ctype
	)
	if hdr != nil {
		digest, ct = hdr.Get("Repr-Digest"), hdr.Get("Content-Type")
	}
	switch {
	case isURL:
		body, hdr, err = fetch(src, token, v.accept, tlsCfg)
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
		c.Signature = checkSignature(status, hdr, pub, v.maxAge)
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
			if !v.allowUnsigned {
				c.ReprDigest = "missing: " + unsigned
			}
		}
	case c.LiveSHA == "absent":
		unsigned = `text payload has no "# LIVESHA:" line`
		if !v.allowUnsigned {
			c.LiveSHA = "missing: " + unsigned
		}
	}
	if err := cli.Write(stdout, *v.out, c, func(w io.Writer) error {
		fmt.Fprintf(w, "LIVESHA:     %s\nRepr-Digest: %s\nparse:       %s (%d metric families)\n", c.LiveSHA, c.ReprDigest, c.Parse, c.Families)
		if pub != nil {
			fmt.Fprintf(w, "Signature:   %s\n", c.Signature)
		}
		return nil
	}); err != nil {
		return err
	}
	if unsigned != "" && v.allowUnsigned && c.OK() {
		fmt.Fprintf(stderr, "gate: unsigned payload accepted (--allow-unsigned): %s; it parses, nothing proves it unaltered\n", unsigned)
	}
	if pub != nil && !strings.HasPrefix(c.Signature, "ok") {
		return problemError{"payload failed verification: signature: " + c.Signature}
	}
	if !c.OK() {
		if unsigned != "" && !v.allowUnsigned {
			return problemError{"payload failed verification: " + unsigned + " (--allow-unsigned only parses it)"}
		}
		return problemError{"payload failed verification: " + c.failures()}
	}
	return nil
}

// token is the bearer token for a URL: --token-file's, or, for a release,
// the variable --token-env names (METRICS_TOKEN by default, as before).
func (v *verifyCmd) token() (string, error) {
	switch {
	case v.tokenFile != "" && v.tokenEnv != "":
		return "", usagef("--token-env: deprecated, and not with --token-file")
	case v.tokenFile != "":
		b, err := os.ReadFile(v.tokenFile)
		if err != nil {
			return "", usagef("--token-file: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	case v.tokenEnv != "":
		fmt.Fprintf(v.stderr, "gate: --token-env is deprecated and goes in the next release: use --token-file\n")
		return os.Getenv(v.tokenEnv), nil
	case os.Getenv("METRICS_TOKEN") != "":
		fmt.Fprintf(v.stderr, "gate: METRICS_TOKEN for gate verify is deprecated and goes in the next release: use --token-file\n")
		return os.Getenv("METRICS_TOKEN"), nil
	}
	return "", nil
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
