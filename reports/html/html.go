// Package html renders GameDay reports as self-contained HTML pages: one
// page per run, written next to its JSON report, and an index.html that
// lists runs by scenario with their trends.
//
// A page needs nothing but itself: the styles are inline, the charts are
// inline SVG drawn with gonum.org/v1/plot, and there is no script, font or
// image to fetch, so it opens from file:// and from a CI artefact store
// alike. Every chart carries a <title> and a <desc> and a figcaption that
// says in words what it shows; series differ by colour (the Okabe–Ito
// palette), by glyph or pattern, and by name.
//
// The package reads reports; it never decides a verdict. Reports written
// before a field existed still render: the chart that needs it says the
// data is absent.
package html

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/quannex/gameday/reports"
)

// Page is what the report page shows, ready for the template.
type page struct {
	R        *reports.Report
	Spec     spec
	JSONPath string
	Score    *float64
	Charts   []*chart
	Faults   []faultRow
	Build    string
	Replay   string
}

type faultRow struct {
	reports.Fault
	Params   string
	Injected string
	Reverted string
}

// Render writes the page of r. jsonPath is where the report's JSON lives,
// for the command that replays it; empty gives a placeholder.
func Render(w io.Writer, r *reports.Report, jsonPath string) error {
	if r == nil {
		return errors.New("render report: no report")
	}
	cs, err := charts(r)
	if err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	p := page{R: r, Spec: scenarioOf(r), JSONPath: jsonPath, Charts: cs, Score: scoreOf(r)}
	if p.Spec.Name == "" {
		p.Spec.Name = "(unnamed)"
	}
	if jsonPath == "" {
		jsonPath = "REPORT.json"
	}
	p.Replay = "gameday replay " + shellQuote(jsonPath)
	keys := make([]string, 0, len(r.Target.Build))
	for k := range r.Target.Build {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var build []string
	for _, k := range keys {
		build = append(build, k+"="+r.Target.Build[k])
	}
	p.Build = strings.Join(build, ", ")
	for _, f := range r.Faults {
		fr := faultRow{Fault: f, Injected: since(r, f.InjectedAt), Reverted: "never reverted"}
		if !f.RevertedAt.IsZero() {
			fr.Reverted = since(r, f.RevertedAt)
		}
		var ps []string
		for k, v := range f.Params {
			ps = append(ps, k+"="+v)
		}
		sort.Strings(ps)
		fr.Params = strings.Join(ps, ", ")
		p.Faults = append(p.Faults, fr)
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err = b.WriteTo(w)
	return err
}

// scoreOf returns the run's score when the report carries one: a report
// written before scores existed has no breakdown.
func scoreOf(r *reports.Report) *float64 {
	if len(r.ScoreBreakdown) == 0 {
		return nil
	}
	s := r.Score
	return &s
}

// Write renders r next to its JSON report at jsonPath, as the same name
// with .html, into dir (the JSON's own directory when dir is empty), and
// returns the path. The page is written to a temporary file and renamed.
func Write(dir, jsonPath string, r *reports.Report) (string, error) {
	if dir == "" {
		dir = filepath.Dir(jsonPath)
	}
	path := filepath.Join(dir, Stem(jsonPath)+".html")
	err := writeAtomic(path, func(w io.Writer) error { return Render(w, r, jsonPath) })
	if err != nil {
		return "", fmt.Errorf("write html report: %w", err)
	}
	return path, nil
}

// Stem is a report file's name without directory and .json.
func Stem(jsonPath string) string {
	return strings.TrimSuffix(filepath.Base(jsonPath), ".json")
}

// writeAtomic writes through fill to a temporary file in path's directory
// (created when missing) and renames it over path, so a reader never sees
// half a page.
func writeAtomic(path string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename there is nothing to remove
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func since(r *reports.Report, t time.Time) string {
	return fmt.Sprintf("+%.1fs (%s)", t.Sub(r.StartedAt).Seconds(), t.UTC().Format("15:04:05Z"))
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:+=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"verdictClass": func(v string) string {
		switch v {
		case reports.Pass, reports.Aborted:
			return v
		}
		return "fail"
	},
	"ts": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"secs": func(f *float64) string {
		if f == nil {
			return "never (no recovery recorded)"
		}
		return fmt.Sprintf("%.1f s after the last revert", *f)
	},
	"f1":   func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"f2":   func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"pct":  func(f float64) string { return fmt.Sprintf("%.1f %%", f*100) },
	"join": strings.Join,
}

// style is shared by the report page and the index.
const style = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:1180px;padding:1.2em 1.5em 3em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}tr.fail td{background:#fde7dc}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.checks{table-layout:fixed;font-size:.85em}table.checks td{overflow-wrap:anywhere}
.verdict{display:inline-block;font-weight:700;padding:.15em .6em;border:2px solid;border-radius:4px}
.verdict.pass{color:#00603f;border-color:#009e73;background:#e3f5ee}.verdict.fail{color:#8a3200;border-color:#d55e00;background:#fde7dc}
.verdict.aborted{color:#5a3d00;border-color:#b08400;background:#fff4cc}.stopped{border:2px solid #b08400;padding:.5em .8em;background:#fff4cc}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.8em 0}dl.summary dt{font-weight:600}dl.summary dd{margin:0}
pre{background:#f5f5f5;border:1px solid #ddd;padding:.6em .8em;overflow-x:auto}code{font-family:ui-monospace,"Liberation Mono",monospace;font-size:.92em}
figure{margin:1.2em 0}figure svg.chart{width:100%;height:auto;display:block}figcaption{font-size:.88em;color:#333;margin-top:.2em}
.warn{color:#8a3200}.error{border:2px solid #d55e00;padding:.5em .8em;background:#fde7dc}
.muted{color:#555}a{color:#0058a3}
`

var pageTemplate = template.Must(template.New("page").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GameDay {{.Spec.Name}}: {{.R.Verdict}} ({{ts .R.StartedAt}})</title>
<style>` + style + `</style>
</head>
<body>
<header>
<h1>GameDay report: {{.Spec.Name}}</h1>
<p><span class="verdict {{verdictClass .R.Verdict}}">Verdict: {{if eq .R.Verdict "pass"}}✔ PASS{{else if eq .R.Verdict "aborted"}}■ ABORTED{{else}}✘ {{upper .R.Verdict}}{{end}}</span>
{{- with .Score}} <span class="verdict {{verdictClass $.R.Verdict}}">Score {{f1 .}} / 100</span>{{end}}</p>
{{with .Spec.Description}}<p>{{.}}</p>{{end}}
<dl class="summary">
<dt>Scenario</dt><dd>{{.Spec.Name}}, seed {{.R.Seed}}</dd>
<dt>Target</dt><dd>{{.R.Target.Kind}}{{with .R.Target.Image}}, image {{.}}{{end}}{{with .R.Target.URL}}, {{.}}{{end}}{{if .R.Target.CPULimit}}, CPU limit {{f2 .R.Target.CPULimit}}{{end}}</dd>
<dt>Build</dt><dd>{{if .Build}}{{.Build}}{{else}}not recorded{{end}}</dd>
<dt>Started</dt><dd>{{ts .R.StartedAt}}</dd>
<dt>Duration</dt><dd>{{f1 .R.WallSeconds}} s wall, {{f1 .R.ScheduleSeconds}} s scheduled, {{f1 .R.Harness.OverheadSeconds}} s harness overhead</dd>
<dt>Recovery</dt><dd>{{secs .R.RecoverySeconds}}</dd>
<dt>Load</dt><dd>{{.R.Load.Requests}} requests at {{f1 .R.Load.Rate}}/s (asked {{f1 .R.Load.RequestedRate}}/s); p50 {{f1 .R.Load.P50Ms}} ms, p95 {{f1 .R.Load.P95Ms}} ms{{with .R.Load.DuringFault}}; during the fault p95 {{f1 .P95Ms}} ms over {{.Requests}} responses{{end}}</dd>
</dl>
{{with .R.Error}}<p class="error"><strong>The run did not complete:</strong> {{.}}</p>{{end}}
{{with .R.Abort}}<div class="stopped"><p><strong>Stopped by {{if eq .Condition "operator"}}an operator{{else}}the stop condition <code>{{.Condition}}</code>{{end}}</strong> at {{ts .BreachedAt}}, in the {{.Phase}} phase: {{.Reason}}{{with .Expr}} (<code>{{.}}</code>){{end}}.
{{with .BreachToRevertSeconds}}Every fault injected then was reverted {{f2 .}} s after the breach.{{else}}<strong>A fault was still not reverted when the report was written.</strong>{{end}}
The run went on observing recovery; its checks are shown for what they saw, and the run is not comparable with a complete one.</p>
{{with .Reverts}}<ul>{{range .}}<li><code>{{.Fault}}</code>{{with .Instance}} on {{.}}{{end}}: reverted {{ts .RevertedAt}}{{with .Error}} <strong>revert error:</strong> {{.}}{{end}}</li>{{end}}</ul>{{end}}
{{with .LeftBehind}}<p><strong>Still active after the reverts:</strong> {{join . "; "}}</p>{{end}}</div>{{end}}
</header>

<h2>Checks</h2>
<table class="checks">
<colgroup><col style="width:19%"><col style="width:7%"><col style="width:22%"><col style="width:22%"><col style="width:9%"><col style="width:21%"></colgroup>
<thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Expected</th><th scope="col">Observed</th><th scope="col">Evidence</th><th scope="col">Warning</th></tr></thead>
<tbody>
{{range .R.Checks}}<tr{{if not .Pass}} class="fail"{{end}}><td><code>{{.Name}}</code></td><td>{{if .Pass}}✔ pass{{else}}<strong>✘ FAIL</strong>{{end}}</td><td>{{.Expected}}</td><td>{{.Observed}}</td><td class="num">{{.Evidence}} {{.EvidenceOf}}</td><td class="warn">{{.Warning}}</td></tr>
{{else}}<tr><td colspan="6">No checks were recorded.</td></tr>
{{end}}</tbody>
</table>

<h2>Faults and their proofs</h2>
<table>
<thead><tr><th scope="col">Fault</th><th scope="col">Params</th><th scope="col">Injected</th><th scope="col">Reverted</th><th scope="col">Proof</th></tr></thead>
<tbody>
{{range .Faults}}<tr{{if or .RevertErr (and .Proof (not .Proof.OK))}} class="fail"{{end}}><td><code>{{.Name}}</code>{{with .Instance}} on {{.}}{{end}}</td><td>{{.Params}}</td><td>{{.Injected}}</td><td>{{.Reverted}}{{with .RevertErr}} <strong>revert error:</strong> {{.}}{{end}}</td>
<td>{{with .Proof}}{{if .OK}}✔ achieved{{else}}<strong>✘ not achieved</strong>{{end}}: requested {{f2 .Requested}}{{if .Available}}, available {{f2 .Available}}{{end}}, achieved {{f2 .Achieved}} {{.Unit}} ({{.Samples}} samples). {{.Detail}}{{else}}no proof recorded{{end}}</td></tr>
{{else}}<tr><td colspan="5">No fault was injected.</td></tr>
{{end}}</tbody>
</table>

{{with .R.Fleet}}
<h2>Fleet</h2>
<p>{{len .Replicas}} replicas, scraped by Prometheus at {{.Prometheus}}; alerts routed by Alertmanager at {{.Alertmanager}} to the harness.</p>
<table>
<thead><tr><th scope="col">Fault</th><th scope="col">Selector</th><th scope="col">Replicas hit</th></tr></thead>
<tbody>
{{range .Selections}}<tr><td><code>{{.Name}}</code> (faults[{{.Fault}}])</td><td>{{.Selector}}</td><td>{{join .Instances ", "}}</td></tr>
{{end}}</tbody>
</table>
<table>
<thead><tr><th scope="col">Replica</th><th scope="col">Track</th><th scope="col">Responses</th><th scope="col">Live ratio</th></tr></thead>
<tbody>
{{range .Replicas}}<tr><td>{{.Instance}}</td><td>{{.Track}}</td><td class="num">{{.Requests}}</td><td class="num">{{pct .LiveRatio}}</td></tr>
{{end}}</tbody>
</table>
<h3>Notifications received</h3>
<table>
<thead><tr><th scope="col">Received</th><th scope="col">Alert</th><th scope="col">Instance</th><th scope="col">Status</th><th scope="col">Receiver</th></tr></thead>
<tbody>
{{range .Notifications}}<tr{{if .Malformed}} class="fail"{{end}}><td>{{.ReceivedAt.Format "15:04:05.000"}}</td>{{if .Malformed}}<td colspan="4"><strong>malformed:</strong> {{.Malformed}}</td>{{else}}<td><code>{{.Alert}}</code></td><td>{{.Instance}}</td><td>{{.Status}}</td><td>{{.Receiver}}</td>{{end}}</tr>
{{else}}<tr><td colspan="5">No notification reached the receiver.</td></tr>
{{end}}</tbody>
</table>
{{end}}

<h2>Replay</h2>
<p>Run the same scenario and seed again:</p>
<pre><code>{{.Replay}}</code></pre>

<h2>Timeline</h2>
<p class="muted">Every chart shares one time axis. Phases are shaded and named at the top; a solid line marks each injection (▶) and a dashed one its revert (■).</p>
{{range .Charts}}<figure id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}
<footer class="muted"><p>Schema version {{.R.SchemaVersion}}; harness {{.R.Harness.Version}}; scrapes {{.R.Harness.Scrapes.OK}} ok, {{.R.Harness.Scrapes.Failed}} failed.</p></footer>
</body>
</html>
`))
