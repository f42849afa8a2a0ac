package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quannex/gameday/gate/integrity"
)

const openMetrics = "application/openmetrics-text; version=1.0.0"

// scrape fetches path from the gate with accept and returns the body and
// its Repr-Digest header.
func (p *proc) scrape(t *testing.T, path, accept string) ([]byte, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return b, resp.Header.Get("Repr-Digest")
}

// editValue adds 1 to the first sample with a plain numeric value.
func editValue(t *testing.T, payload []byte) []byte {
	t.Helper()
	lines := strings.Split(string(payload), "\n")
	for i, l := range lines {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		sp := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[sp+1:], 64)
		if err != nil || strings.ContainsAny(l[sp+1:], "eEnN") {
			continue
		}
		lines[i] = l[:sp+1] + strconv.FormatFloat(v+1, 'f', -1, 64)
		return []byte(strings.Join(lines, "\n"))
	}
	t.Fatal("no sample with a plain value to edit")
	return nil
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// A text payload whose LIVESHA line was cut off and a value edited must
// not verify; --allow-unsigned only parses it.
func TestVerifyRequiresLiveSHAOnText(t *testing.T) {
	p := startProcess(t)
	body, _ := p.scrape(t, "/metrics", "")
	if err := integrity.VerifyLiveSHA(body); err != nil {
		t.Fatalf("the gate's payload: %v", err)
	}
	trimmed := bytes.TrimSuffix(body, []byte("\n"))
	stripped := editValue(t, trimmed[:bytes.LastIndexByte(trimmed, '\n')+1])
	if bytes.Contains(stripped, []byte(integrity.LiveSHAPrefix)) || bytes.Equal(stripped, trimmed[:bytes.LastIndexByte(trimmed, '\n')+1]) {
		t.Fatal("the tampered payload still holds a LIVESHA line or was not edited")
	}
	f := writeFile(t, t.TempDir(), "stripped.prom", stripped)

	code, out, errOut := runCLI(t, "verify", f)
	if code != exitProblem || !strings.Contains(out, "LIVESHA:     missing") || !strings.Contains(errOut, `no "# LIVESHA:" line`) {
		t.Fatalf("stripped and edited: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "verify", f, "--allow-unsigned")
	if code != exitOK || !strings.Contains(out, "parse:       ok") || !strings.Contains(errOut, "unsigned payload accepted") {
		t.Fatalf("--allow-unsigned: exit %d\n%s%s", code, out, errOut)
	}
}

// An OpenMetrics payload carries no LIVESHA line: its Repr-Digest proves it,
// from the response or from --digest.
func TestVerifyOpenMetricsNeedsReprDigest(t *testing.T) {
	p := startProcess(t)
	t.Setenv("METRICS_TOKEN", testToken)
	code, out, errOut := runCLI(t, "verify", "--accept", openMetrics, p.url+"/metrics")
	if code != exitOK || !strings.Contains(out, "Repr-Digest: ok") || !strings.Contains(out, "LIVESHA:     absent") {
		t.Fatalf("OpenMetrics URL: exit %d\n%s%s", code, out, errOut)
	}

	body, digest := p.scrape(t, "/metrics", openMetrics)
	if !bytes.HasSuffix(bytes.TrimSpace(body), []byte("# EOF")) || digest == "" {
		t.Fatalf("not an OpenMetrics payload with a Repr-Digest: %q\n%s", digest, body)
	}
	dir := t.TempDir()
	f := writeFile(t, dir, "payload.om", body)
	wrong := integrity.ReprDigest(append([]byte("x"), body...))

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--digest", digest, f}, exitOK, "Repr-Digest: ok"},
		{[]string{f, "--digest", digest}, exitOK, "Repr-Digest: ok"},
		{[]string{f, "--digest", wrong}, exitProblem, "does not match"},
		{[]string{f}, exitProblem, "has no Repr-Digest"},
		{[]string{f, "--allow-unsigned"}, exitOK, "unsigned payload accepted"},
		{[]string{f, "--digest", "sha-256=:nope:"}, exitUsage, "--digest"},
		{[]string{f, "--digest", "sha-256=:" + "AAAA" + ":"}, exitUsage, "--digest: sha-256 value holds 3 bytes"},
		{[]string{f, "--digest", "md5=:AAAA:"}, exitUsage, "--digest"},
		{[]string{p.url + "/metrics", "--digest", digest}, exitUsage, "--digest: only for a FILE"},
		{[]string{f, "--accept", openMetrics}, exitUsage, "--accept"},
	} {
		code, out, errOut := runCLI(t, append([]string{"verify"}, c.args...)...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("verify %v: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, out, errOut)
		}
	}

	// A payload edited after its digest was taken does not verify.
	edited := writeFile(t, dir, "edited.om", editValue(t, body))
	if code, out, _ := runCLI(t, "verify", edited, "--digest", digest); code != exitProblem || !strings.Contains(out, "does not match") {
		t.Errorf("edited OpenMetrics with the original digest: exit %d\n%s", code, out)
	}
}

// Flags may come before or after the positional argument; an unknown flag
// after it is still a usage error naming the flag.
func TestVerifyFlagsAroundTheArgument(t *testing.T) {
	p := startProcess(t)
	body, _ := p.scrape(t, "/metrics", "")
	f := writeFile(t, t.TempDir(), "payload.prom", body)
	for _, args := range [][]string{{"verify", "--json", f}, {"verify", f, "--json"}, {"verify", "--", f}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		var c integrity.Check
		if args[1] != "--" {
			if err := json.Unmarshal([]byte(out), &c); err != nil || c.LiveSHA != "ok" {
				t.Fatalf("%v: not the JSON result (%v):\n%s", args, err, out)
			}
		}
	}
	if code, _, errOut := runCLI(t, "verify", f, "--bogus"); code != exitUsage || !strings.Contains(errOut, "-bogus") {
		t.Fatalf("unknown flag after the argument: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "verify", f, f); code != exitUsage || !strings.Contains(errOut, `unexpected argument "`+f+`"`) {
		t.Fatalf("two arguments: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "verify", "--", "--json"); code != exitRuntime || !strings.Contains(errOut, "--json") {
		t.Fatalf("after --, --json is a file name: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "serve", "extra", "--web.listen-address", "127.0.0.1:0"); code != exitUsage || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Fatalf("serve with an argument before a flag: exit %d %s", code, errOut)
	}
}
