package html

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/quannex/gameday/reports"
)

// Run is one report of the history: the report, where its JSON was read
// and the page rendered for it, relative to the index.
type Run struct {
	Report   *reports.Report
	JSONPath string
	Page     string // the report page's file name, linked from the index
}

// historyRow is one run as the index shows it.
type historyRow struct {
	Run
	Start    string
	Score    string
	Recovery string
	Alerts   string
	P95      string
	Pass     bool
}

type scenarioGroup struct {
	Name   string
	ID     string
	Rows   []historyRow
	Trends []*chart
	Passed int
}

// WriteIndex renders the history of runs as DIR/index.html, atomically,
// and returns its path.
func WriteIndex(dir string, runs []Run) (string, error) {
	path := filepath.Join(dir, "index.html")
	if err := writeAtomic(path, func(w io.Writer) error { return Index(w, runs) }); err != nil {
		return "", fmt.Errorf("write history: %w", err)
	}
	return path, nil
}

// Index writes the history page: the runs grouped by scenario, newest
// first, with a trend chart per scenario and a link to each run's page.
func Index(w io.Writer, runs []Run) error {
	by := map[string][]Run{}
	for _, r := range runs {
		name := scenarioOf(r.Report).Name
		by[name] = append(by[name], r)
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	var groups []scenarioGroup
	for i, n := range names {
		rs := by[n]
		sort.SliceStable(rs, func(a, b int) bool { return rs[a].Report.StartedAt.After(rs[b].Report.StartedAt) })
		g := scenarioGroup{Name: n, ID: fmt.Sprintf("s%d", i)}
		for _, r := range rs {
			row := rowOf(r)
			if row.Pass {
				g.Passed++
			}
			g.Rows = append(g.Rows, row)
		}
		trends, err := trendCharts(g.ID, n, rs)
		if err != nil {
			return fmt.Errorf("history: %s: %w", n, err)
		}
		g.Trends = trends
		groups = append(groups, g)
	}
	var b bytes.Buffer
	err := indexTemplate.Execute(&b, struct {
		Groups []scenarioGroup
		Runs   int
		Now    string
	}{groups, len(runs), time.Now().UTC().Format("2006-01-02 15:04:05Z")})
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	_, err = b.WriteTo(w)
	return err
}

func rowOf(r Run) historyRow {
	rep := r.Report
	row := historyRow{Run: r, Start: rep.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), Score: "—", Recovery: "—", P95: "—", Alerts: "—", Pass: rep.Verdict == reports.Pass}
	if s := scoreOf(rep); s != nil {
		row.Score = fmt.Sprintf("%.1f", *s)
	}
	if rep.RecoverySeconds != nil {
		row.Recovery = fmt.Sprintf("%.1f", *rep.RecoverySeconds)
	} else if len(rep.Faults) > 0 {
		row.Recovery = "never"
	}
	if d := rep.Load.DuringFault; d != nil {
		row.P95 = fmt.Sprintf("%.0f", d.P95Ms)
	}
	if a := alertDelays(rep); a != "" {
		row.Alerts = a
	}
	return row
}

// alertDelays says, for each alert the scenario expects, how long after
// the first injection it first fired and how long after the last revert
// it last resolved.
func alertDelays(r *reports.Report) string {
	tl := newTimeline(r)
	var out []string
	for _, e := range scenarioOf(r).Expect.Alerts {
		var fired, resolved *time.Time
		for _, a := range r.Alerts {
			if a.Name != e.Name {
				continue
			}
			for _, t := range a.Transitions {
				if t.To == "firing" && !tl.inject.IsZero() && !t.At.Before(tl.inject) && (fired == nil || t.At.Before(*fired)) {
					at := t.At
					fired = &at
				}
				if t.From == "firing" && !tl.revert.IsZero() && !t.At.Before(tl.revert) && (resolved == nil || t.At.After(*resolved)) {
					at := t.At
					resolved = &at
				}
			}
		}
		s := e.Name + ": fired "
		if fired != nil {
			s += fmt.Sprintf("%.0fs", fired.Sub(tl.inject).Seconds())
		} else {
			s += "never"
		}
		s += ", resolved "
		if resolved != nil {
			s += fmt.Sprintf("%.0fs", resolved.Sub(tl.revert).Seconds())
		} else {
			s += "never"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// trendCharts draws recovery seconds and p95 during the fault over a
// scenario's runs, oldest on the left. newestFirst is the index order.
func trendCharts(id, name string, newestFirst []Run) ([]*chart, error) {
	n := len(newestFirst)
	var ticks plot.ConstantTicks
	var rec, p95 plotter.XYs
	every := max(1, n/6)
	for i := range n {
		r := newestFirst[n-1-i].Report
		x := float64(i + 1)
		lbl := ""
		if i%every == 0 || i == n-1 {
			lbl = r.StartedAt.UTC().Format("01-02 15:04")
		}
		ticks = append(ticks, plot.Tick{Value: x, Label: lbl})
		if r.RecoverySeconds != nil {
			rec = append(rec, plotter.XY{X: x, Y: *r.RecoverySeconds})
		}
		if d := r.Load.DuringFault; d != nil {
			p95 = append(p95, plotter.XY{X: x, Y: d.P95Ms})
		}
	}
	mk := func(cid, title, ylabel, series string, xys plotter.XYs, style int) *chart {
		c := newChart(cid, title, vg.Points(150))
		c.Width, c.Gutter = vg.Points(380), vg.Points(10)
		c.plot.X.Min, c.plot.X.Max = 0.5, float64(n)+0.5
		c.plot.X.Tick.Marker = ticks
		c.plot.X.Label.Text = "run (UTC start)"
		c.plot.Y.Label.Text = ylabel
		c.plot.Y.Min = 0
		if len(xys) == 0 {
			c.plot.Y.Max = 1
			c.plot.Add(note("not recorded in these runs"))
			c.Caption = fmt.Sprintf("%s of %s over %d runs: not recorded.", series, name, n)
			return c
		}
		c.addLine(series, xys, style)
		c.hasLeg = false // one series: the title names it
		hi, lo := xys[0].Y, xys[0].Y
		for _, p := range xys {
			hi, lo = max(hi, p.Y), min(lo, p.Y)
		}
		c.plot.Y.Max = max(hi*1.2, 1)
		c.Caption = fmt.Sprintf("%s of %s over %d runs, oldest first: latest %.1f, lowest %.1f, highest %.1f.", series, name, len(xys), xys[len(xys)-1].Y, lo, hi)
		return c
	}
	cs := []*chart{
		mk(id+"-recovery", "Recovery after the revert (s)", "seconds", "Recovery seconds", rec, 0),
		mk(id+"-p95", "p95 latency during the fault (ms)", "milliseconds", "p95 during the fault", p95, 1),
	}
	if err := render(cs); err != nil {
		return nil, err
	}
	return cs, nil
}

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GameDay history</title>
<style>` + style + `
.trends{display:grid;grid-template-columns:1fr 1fr;gap:1em}
</style>
</head>
<body>
<h1>GameDay history</h1>
<p class="muted">{{.Runs}} runs, grouped by scenario, newest first. Written {{.Now}}.</p>
{{range .Groups}}<section aria-labelledby="{{.ID}}">
<h2 id="{{.ID}}">{{.Name}} <span class="muted">({{.Passed}} of {{len .Rows}} passed)</span></h2>
<div class="trends">{{range .Trends}}<figure id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>{{end}}</div>
<table>
<thead><tr><th scope="col">Start (UTC)</th><th scope="col">Verdict</th><th scope="col">Score</th><th scope="col">Recovery (s)</th><th scope="col">Alert fire / resolve delay</th><th scope="col">p95 during fault (ms)</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if not .Pass}} class="fail"{{end}}><td><a href="{{.Page}}">{{.Start}}</a></td><td>{{if .Pass}}✔ pass{{else if eq .Report.Verdict "aborted"}}<strong>■ aborted</strong>{{with .Report.Abort}} ({{.Condition}}){{end}}{{else}}<strong>✘ {{.Report.Verdict}}</strong>{{end}}</td><td class="num">{{.Score}}</td><td class="num">{{.Recovery}}</td><td>{{.Alerts}}</td><td class="num">{{.P95}}</td></tr>
{{end}}</tbody>
</table>
</section>
{{else}}<p>No runs.</p>
{{end}}
</body>
</html>
`))
