package html

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quannex/gameday/reports"
)

// The testdata reports are real runs: io-glitch.json carries the
// per-bucket latency and codes; the -old ones were written before them.

func mustRead(t *testing.T, path string) *reports.Report {
	t.Helper()
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func renderPage(t *testing.T, r *reports.Report, jsonPath string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, jsonPath); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var svgRe = regexp.MustCompile(`(?s)<svg [^>]*role="img" aria-labelledby="([a-z0-9-]+)-title [a-z0-9-]+-desc" class="chart">\s*<title id="[a-z0-9-]+-title">([^<]+)</title>\s*<desc id="[a-z0-9-]+-desc">([^<]+)</desc>(.*?)</svg>`)

// charts returns the id → body of every inline chart, after checking each
// has a title and a description.
func chartsOf(t *testing.T, page string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range svgRe.FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(m[2]) == "" || strings.TrimSpace(m[3]) == "" {
			t.Errorf("chart %s: empty title or desc", m[1])
		}
		out[m[1]] = m[4]
	}
	if n := strings.Count(page, "<svg"); n != len(out) {
		t.Errorf("%d <svg> elements, %d with role, title and desc", n, len(out))
	}
	return out
}

func TestRenderCurrentReport(t *testing.T) {
	page := renderPage(t, mustRead(t, "testdata/io-glitch.json"), "testdata/io-glitch.json")
	cs := chartsOf(t, page)
	for _, id := range []string{"sources", "ratio", "latency", "codes", "alerts"} {
		if strings.Count(cs[id], "<path") < 5 {
			t.Errorf("chart %s: %d paths, want a drawn chart", id, strings.Count(cs[id], "<path"))
		}
	}
	if _, ok := cs["cpu"]; ok {
		t.Error("a cache-readonly run got a CPU chart")
	}
	for _, want := range []string{
		"Verdict: ✔ PASS", "Score 100.0 / 100", "io-glitch-short, seed 2", "gameday replay testdata/io-glitch.json",
		"alert_fires:CircuitBreakerActive", "fired 15s after the fault began", "a write as the gate&#39;s user was refused",
		"CircuitBreakerActive expected to fire by", "p95 peaked at", "HTTP 200",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "absent") {
		t.Error("a current report says some data is absent")
	}
	for _, bad := range []string{"<script", "http://www.w3.org/1999/xlink\" href", "src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page is not self-contained: has %q", bad)
		}
	}
}

// Reports written before the per-bucket fields still render; the charts
// that need them say the data is absent.
func TestRenderOldReports(t *testing.T) {
	for _, f := range []string{"testdata/io-glitch-old.json", "testdata/cpu-spike-old.json"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := mustRead(t, f)
			page := renderPage(t, r, f)
			cs := chartsOf(t, page)
			for _, id := range []string{"latency", "codes"} {
				if !strings.Contains(cs[id], "absent") {
					t.Errorf("chart %s does not say its data is absent", id)
				}
			}
			if !strings.Contains(page, "Per-bucket latency is absent from this report") {
				t.Error("the latency caption does not say the data is absent")
			}
			if strings.Contains(page, "Score ") {
				t.Error("a report without a score shows one")
			}
		})
	}
	page := renderPage(t, mustRead(t, "testdata/cpu-spike-old.json"), "")
	cs := chartsOf(t, page)
	if !strings.Contains(cs["cpu"], "achieved 1.05 of 2.00 requested") {
		t.Error("the cpu-spike chart lacks the fault's proof")
	}
	if !strings.Contains(page, "gameday replay REPORT.json") {
		t.Error("no placeholder replay command without a path")
	}
}

func TestReadNamesFileAndField(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile("testdata/io-glitch.json")
	cases := []struct {
		name, body, field string
	}{
		{"not-json.json", "<html>", ""},
		{"v2.json", `{"schema_version": 2, "scenario": {"name": "x"}}`, "schema_version"},
		{"noversion.json", `{"scenario": {"name": "x"}}`, "schema_version"},
		{"noscenario.json", `{"schema_version": 1, "verdict": "pass", "started_at": "2026-01-01T00:00:00Z"}`, "scenario"},
		{"noname.json", `{"schema_version": 1, "scenario": {}, "verdict": "pass", "started_at": "2026-01-01T00:00:00Z"}`, "scenario.name"},
		{"nostart.json", `{"schema_version": 1, "scenario": {"name": "x"}, "verdict": "pass"}`, "started_at"},
		{"noverdict.json", strings.Replace(string(good), `"verdict": "pass"`, `"verdict": ""`, 1), "verdict"},
		{"badtype.json", `{"schema_version": 1, "scenario": {"name": "x"}, "checks": "many"}`, "checks"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(p)
		var fe *FieldError
		if !errors.As(err, &fe) || !errors.Is(err, ErrBadReport) {
			t.Errorf("%s: got %v, want a FieldError", c.name, err)
			continue
		}
		if fe.File != p || fe.Field != c.field || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: got file %q field %q (%v), want field %q", c.name, fe.File, fe.Field, err, c.field)
		}
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	r := mustRead(t, "testdata/io-glitch.json")
	jp := "/somewhere/io-glitch-short-20261128T190624Z.json"
	for range 2 {
		p, err := Write(dir, jp, r)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "io-glitch-short-20261128T190624Z.html"); p != want {
			t.Fatalf("wrote %s, want %s", p, want)
		}
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 {
		t.Errorf("directory holds %d files, want the page alone (no temporary left)", len(es))
	}
	// Empty dir: beside the JSON.
	jp = filepath.Join(t.TempDir(), "x-1.json")
	if p, err := Write("", jp, r); err != nil || p != strings.TrimSuffix(jp, ".json")+".html" {
		t.Errorf("Write beside the JSON: %s, %v", p, err)
	}
}

func TestIndexGroupsNewestFirst(t *testing.T) {
	cur := mustRead(t, "testdata/io-glitch.json")
	old := mustRead(t, "testdata/io-glitch-old.json")
	cpu := mustRead(t, "testdata/cpu-spike-old.json")
	later := *cur
	later.StartedAt = cur.StartedAt.Add(time.Hour)
	later.Verdict = reports.Fail
	runs := []Run{{Report: old, Page: "old.html"}, {Report: cpu, Page: "cpu.html"}, {Report: &later, Page: "later.html"}, {Report: cur, Page: "cur.html"}}
	var b bytes.Buffer
	if err := Index(&b, runs); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	cpuAt, ioAt := strings.Index(page, "<h2 id=\"s0\">cpu-spike-short"), strings.Index(page, "<h2 id=\"s1\">io-glitch-short")
	if cpuAt < 0 || ioAt < cpuAt {
		t.Fatalf("scenarios not grouped by name:\n%s", page)
	}
	l, c, o := strings.Index(page, `href="later.html"`), strings.Index(page, `href="cur.html"`), strings.Index(page, `href="old.html"`)
	if !(ioAt < l && l < c && c < o) {
		t.Errorf("io-glitch runs not newest first: later %d, cur %d, old %d", l, c, o)
	}
	for _, want := range []string{"(2 of 3 passed)", "CircuitBreakerActive: fired 15s, resolved 5s", "✘ fail", ">100.0<"} {
		if !strings.Contains(page, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	cs := chartsOf(t, page)
	if _, ok := cs["s1-recovery"]; !ok {
		t.Error("no recovery trend for io-glitch-short")
	}
}

// A fleet run's page shows its blast radius, every replica and every
// notification the receiver got; a single gate's page has no fleet section.
func TestRenderFleetReport(t *testing.T) {
	page := renderPage(t, mustRead(t, "testdata/fleet-canary.json"), "testdata/fleet-canary.json")
	for _, want := range []string{
		"<h2>Fleet</h2>", "10 replicas", "names: replica-1", "<code>cache-readonly</code> on replica-1",
		"<td>replica-10</td><td>stable</td>", "<td>replica-1</td><td>canary</td>",
		"<td><code>CircuitBreakerActive</code></td><td>replica-1</td><td>firing</td>",
		"<td><code>CircuitBreakerActive</code></td><td>replica-1</td><td>resolved</td>",
		"canary_decision", "abort: canary 100.0% snapshots",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	single := renderPage(t, mustRead(t, "testdata/io-glitch.json"), "testdata/io-glitch.json")
	if strings.Contains(single, "<h2>Fleet</h2>") {
		t.Error("a single gate's page has a fleet section")
	}
}

// TestRenderAbortedReport: a run a stop condition stopped reads as
// aborted, not failed: the verdict, what stopped it and when, each revert
// and breach→revert, and the index row says so too.
func TestRenderAbortedReport(t *testing.T) {
	r := mustRead(t, "testdata/io-glitch.json")
	breach := r.StartedAt.Add(40 * time.Second)
	rev, secs := breach.Add(1500*time.Millisecond), 1.5
	r.Verdict = reports.Aborted
	r.Abort = &reports.Abort{Condition: "breaker-open", Expr: `ALERTS{alertname="CircuitBreakerActive"}`, Reason: "it had a result (1) for 0s",
		Value: 1, BreachedAt: breach, Phase: "fault", Reverts: []reports.Revert{{Fault: "cache-readonly", RevertedAt: rev}},
		RevertedAt: &rev, BreachToRevertSeconds: &secs}
	page := renderPage(t, r, "testdata/io-glitch.json")
	for _, want := range []string{`class="verdict aborted"`, "■ ABORTED", "Stopped by the stop condition <code>breaker-open</code>",
		"in the fault phase", "reverted 1.50 s after the breach", "<code>cache-readonly</code>: reverted", "not comparable"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "✘ ABORTED") || strings.Contains(page, `class="verdict fail"`) {
		t.Error("the aborted run is shown as failed")
	}
	r.Abort.Condition, r.Abort.BreachToRevertSeconds = "operator", nil
	page = renderPage(t, r, "testdata/io-glitch.json")
	for _, want := range []string{"Stopped by an operator", "still not reverted when the report was written"} {
		if !strings.Contains(page, want) {
			t.Errorf("operator's stop: page lacks %q", want)
		}
	}
}
