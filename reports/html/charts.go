package html

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/quannex/gameday/reports"
)

// spec is the part of the recorded scenario the page reads.
type spec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Expect      struct {
		Alerts []struct {
			Name          string   `json:"name"`
			FireWithin    duration `json:"fire_within"`
			ResolveWithin duration `json:"resolve_within"`
		} `json:"alerts"`
		Recovery *struct {
			MinLiveRatio float64  `json:"min_live_ratio"`
			Within       duration `json:"within"`
		} `json:"recovery"`
	} `json:"expect"`
}

// duration reads "30s" as the scenario writes it, or nanoseconds.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		*d = duration(v)
		return err
	}
	var n int64
	err := json.Unmarshal(b, &n)
	*d = duration(n)
	return err
}

func scenarioOf(r *reports.Report) spec {
	var s spec
	_ = json.Unmarshal(r.Scenario, &s) // Read made sure it is there; the page copes with less
	return s
}

// timeline holds what every time chart shares: the origin (the run's
// start) and the axis range, in seconds since the start.
type timeline struct {
	start    time.Time
	max      float64
	end      float64 // the run's end, where open alert states stop
	backdrop backdrop
	inject   time.Time // the first injection; zero without faults
	revert   time.Time // the last revert
}

func newTimeline(r *reports.Report) timeline {
	tl := timeline{start: r.StartedAt, max: r.WallSeconds}
	at := func(t time.Time) float64 { return t.Sub(r.StartedAt).Seconds() }
	for _, p := range r.Phases {
		tl.backdrop.phases = append(tl.backdrop.phases, span{at(p.Start), at(p.End), p.Name})
		tl.max = max(tl.max, at(p.End))
	}
	for _, f := range r.Faults {
		end := 0.0
		if !f.RevertedAt.IsZero() {
			end = at(f.RevertedAt)
			if f.RevertedAt.After(tl.revert) {
				tl.revert = f.RevertedAt
			}
		}
		if tl.inject.IsZero() || f.InjectedAt.Before(tl.inject) {
			tl.inject = f.InjectedAt
		}
		tl.backdrop.faults = append(tl.backdrop.faults, span{at(f.InjectedAt), end, f.Name})
	}
	if n := len(r.LiveRatio); n > 0 {
		tl.max = max(tl.max, at(r.LiveRatio[n-1].At.Add(reports.BucketWidth)))
	}
	tl.end = tl.max
	if !r.FinishedAt.IsZero() {
		tl.end = min(tl.end, at(r.FinishedAt))
	}
	// The axis reaches the alert deadlines, so a late one is drawn too.
	for _, e := range scenarioOf(r).Expect.Alerts {
		if !tl.inject.IsZero() {
			tl.max = max(tl.max, at(tl.inject.Add(time.Duration(e.FireWithin)))*1.04)
		}
		if !tl.revert.IsZero() {
			tl.max = max(tl.max, at(tl.revert.Add(time.Duration(e.ResolveWithin)))*1.04)
		}
	}
	if tl.max <= 0 {
		tl.max = 1
	}
	return tl
}

func (tl timeline) at(t time.Time) float64 { return t.Sub(tl.start).Seconds() }

// timeChart is a chart on the shared time axis with the backdrop drawn.
func (tl timeline) timeChart(id, title, ylabel string, height vg.Length) *chart {
	c := newChart(id, title, height)
	c.plot.X.Min, c.plot.X.Max = 0, tl.max
	c.plot.X.Label.Text = "seconds since the start (" + tl.start.UTC().Format("2006-01-02 15:04:05Z") + ")"
	c.plot.Y.Label.Text = ylabel
	c.plot.Add(tl.backdrop)
	c.fixX, c.xmin, c.xmax = true, 0, tl.max
	return c
}

// charts builds every chart of a report's page, in page order.
func charts(r *reports.Report) ([]*chart, error) {
	tl := newTimeline(r)
	sp := scenarioOf(r)
	cs := []*chart{sourcesChart(r, tl), ratioChart(r, tl, sp), latencyChart(r, tl), codesChart(r, tl), alertsChart(r, tl, sp)}
	if c := cpuChart(r, tl); c != nil {
		cs = append(cs, c)
	}
	for _, c := range cs {
		if err := c.err(); err != nil {
			return nil, err
		}
	}
	return cs, render(cs)
}

// err is where a plotter constructor's failure (bad values) surfaces.
func (c *chart) err() error { return c.buildErr }

func bucketSpan(tl timeline, p reports.RatioPoint) (float64, float64) {
	x := tl.at(p.At)
	return x, x + reports.BucketWidth.Seconds()
}

// sourcesChart stacks the responses per second of each bucket by source.
func sourcesChart(r *reports.Report, tl timeline) *chart {
	c := tl.timeChart("sources", "Responses per second by source (stacked, 5 s buckets)", "responses/s", vg.Points(210))
	per := reports.BucketWidth.Seconds()
	layers := []struct {
		name string
		n    func(reports.RatioPoint) int
		b    *boxes
	}{
		{"live", func(p reports.RatioPoint) int { return p.Live }, &boxes{fill: color.RGBA{0x9c, 0xcb, 0xe6, 0xff}, line: blue, pattern: solid}},
		{"snapshot", func(p reports.RatioPoint) int { return p.Snapshot }, &boxes{fill: color.RGBA{0xf5, 0xd3, 0x80, 0xff}, line: orange, pattern: diagonal}},
		{"error / no source", func(p reports.RatioPoint) int { return p.Other }, &boxes{fill: color.RGBA{0xee, 0xb0, 0x80, 0xff}, line: vermilion, pattern: vlines}},
	}
	var live, snap, other int
	peak := 0.0
	for _, p := range r.LiveRatio {
		x0, x1 := bucketSpan(tl, p)
		y := 0.0
		for _, l := range layers {
			h := float64(l.n(p)) / per
			if h > 0 {
				l.b.bs = append(l.b.bs, box{x0: x0, x1: x1, y0: y, y1: y + h})
			}
			y += h
		}
		peak = max(peak, y)
		live, snap, other = live+p.Live, snap+p.Snapshot, other+p.Other
	}
	for _, l := range layers {
		if len(l.b.bs) > 0 {
			c.plot.Add(l.b)
		}
		c.addLegend(l.name, l.b)
	}
	c.plot.Y.Min, c.plot.Y.Max = 0, math.Max(peak*1.3, 1) // room for the phase names
	if len(r.LiveRatio) == 0 {
		c.plot.Add(note("no responses were recorded"))
	}
	c.Caption = fmt.Sprintf("Responses per second in %d five-second buckets, stacked by X-Metrics-Source: %d live, %d snapshot, %d with an error or no source; peak %.1f/s. %s",
		len(r.LiveRatio), live, snap, other, peak, describeSpan(r, tl, func(p reports.RatioPoint) bool { return p.Snapshot > 0 }, "snapshots served"))
	return c
}

// describeSpan names the first and last bucket where cond holds.
func describeSpan(r *reports.Report, tl timeline, cond func(reports.RatioPoint) bool, what string) string {
	first, last := -1.0, -1.0
	for _, p := range r.LiveRatio {
		if cond(p) {
			x0, x1 := bucketSpan(tl, p)
			if first < 0 {
				first = x0
			}
			last = x1
		}
	}
	if first < 0 {
		return "No " + what + "."
	}
	return fmt.Sprintf("%s from %+.0fs to %+.0fs.", upper(what), first, last)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ratioChart draws the live ratio per bucket against the recovery floor.
func ratioChart(r *reports.Report, tl timeline, sp spec) *chart {
	c := tl.timeChart("ratio", "Live ratio per 5 s bucket, with the recovery floor", "live ratio", vg.Points(190))
	c.plot.Y.Min, c.plot.Y.Max = 0, 1.3
	var xys plotter.XYs
	low, lowAt := 2.0, 0.0
	for _, p := range r.LiveRatio {
		if p.Live+p.Snapshot+p.Other == 0 {
			continue
		}
		x0, _ := bucketSpan(tl, p)
		xys = append(xys, plotter.XY{X: x0 + reports.BucketWidth.Seconds()/2, Y: p.Ratio})
		if p.Ratio < low {
			low, lowAt = p.Ratio, x0
		}
	}
	floor := 0.0
	if sp.Expect.Recovery != nil {
		floor = sp.Expect.Recovery.MinLiveRatio
	}
	if floor > 0 {
		fr := rule{at: floor, label: fmt.Sprintf("recovery floor %.0f%%", floor*100), style: draw.LineStyle{Color: vermilion, Width: vg.Points(1), Dashes: dashes[1]}}
		c.plot.Add(fr)
		c.addLegend("recovery floor", fr)
	}
	if len(xys) > 0 {
		c.addLine("live ratio", xys, 0)
	} else {
		c.plot.Add(note("no responses were recorded"))
	}
	caption := "Live responses over all responses in each five-second bucket."
	if len(xys) > 0 {
		caption += fmt.Sprintf(" Lowest %.0f%% in the bucket at %+.0fs.", low*100, lowAt)
	}
	if floor > 0 {
		caption += fmt.Sprintf(" Recovery floor %.0f%%.", floor*100)
	}
	if r.RecoverySeconds != nil {
		caption += fmt.Sprintf(" Recovered %.0fs after the last revert.", *r.RecoverySeconds)
	} else if len(r.Faults) > 0 {
		caption += " No recovery was recorded."
	}
	c.Caption = caption
	return c
}

// addLine adds a series with the i-th colour, glyph and dash, and names it
// in the legend.
func (c *chart) addLine(name string, xys plotter.XYs, i int) {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		c.buildErr = fmt.Errorf("chart %s: %s: %w", c.ID, name, err)
		return
	}
	col := palette[i%len(palette)]
	l.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.4), Dashes: dashes[i%len(dashes)]}
	s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.2), Shape: glyphs[i%len(glyphs)]}
	c.plot.Add(l, s)
	c.addLegend(name, l, s)
}

// latencyChart draws p50 and p95 per bucket against the 200 ms line.
func latencyChart(r *reports.Report, tl timeline) *chart {
	c := tl.timeChart("latency", "Latency per 5 s bucket: p50 and p95, with the 200 ms line", "milliseconds", vg.Points(200))
	slo := float64(reports.LatencySLO / time.Millisecond)
	sl := rule{at: slo, label: "200 ms", style: draw.LineStyle{Color: vermilion, Width: vg.Points(1), Dashes: dashes[1]}}
	var p50, p95 plotter.XYs
	top, topAt := 0.0, 0.0
	for _, p := range r.LiveRatio {
		if p.P50Ms == nil || p.P95Ms == nil {
			continue
		}
		x0, _ := bucketSpan(tl, p)
		x := x0 + reports.BucketWidth.Seconds()/2
		p50 = append(p50, plotter.XY{X: x, Y: *p.P50Ms})
		p95 = append(p95, plotter.XY{X: x, Y: *p.P95Ms})
		if *p.P95Ms > top {
			top, topAt = *p.P95Ms, x0
		}
	}
	c.plot.Y.Min, c.plot.Y.Max = 0, math.Max(top, slo)*1.3
	c.plot.Add(sl)
	c.addLegend("200 ms line", sl)
	whole := fmt.Sprintf("Whole run: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, %d responses over 200 ms.", r.Load.P50Ms, r.Load.P95Ms, r.Load.P99Ms, r.Load.Over200ms)
	if len(p95) == 0 {
		c.plot.Add(note("per-bucket latency is absent: this report predates it"))
		c.Caption = "Per-bucket latency is absent from this report (written before the report recorded it). " + whole
		return c
	}
	c.addLine("p50", p50, 2)
	c.addLine("p95", p95, 0)
	c.Caption = fmt.Sprintf("The median and 95th percentile latency of each five-second bucket; p95 peaked at %.0f ms in the bucket at %+.0fs. %s", top, topAt, whole)
	if d := r.Load.DuringFault; d != nil {
		c.Caption += fmt.Sprintf(" During the fault p95 was %.0f ms.", d.P95Ms)
	}
	return c
}

// codesChart draws the responses per second of each status code and the
// requests that got no status.
func codesChart(r *reports.Report, tl timeline) *chart {
	c := tl.timeChart("codes", "Status codes and transport errors per second", "per second", vg.Points(190))
	per := reports.BucketWidth.Seconds()
	present := false
	codes := map[string]bool{}
	for _, p := range r.LiveRatio {
		if p.Codes != nil {
			present = true
		}
		for k := range p.Codes {
			codes[k] = true
		}
	}
	totals := make([]string, 0, len(r.Load.Codes))
	for k, n := range r.Load.Codes {
		totals = append(totals, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(totals)
	errs := 0
	for _, n := range r.Load.Errors {
		errs += n
	}
	whole := fmt.Sprintf("Whole run: codes %s; %d transport errors.", strings.Join(totals, ", "), errs)
	if !present {
		c.plot.Y.Min, c.plot.Y.Max = 0, 1
		c.plot.Add(note("per-bucket status codes are absent: this report predates them"))
		c.Caption = "Per-bucket status codes are absent from this report (written before the report recorded them). " + whole
		return c
	}
	names := make([]string, 0, len(codes))
	for k := range codes {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { a, _ := strconv.Atoi(names[i]); b, _ := strconv.Atoi(names[j]); return a < b })
	top := 0.0
	series := func(n func(reports.RatioPoint) int) plotter.XYs {
		var xys plotter.XYs
		for _, p := range r.LiveRatio {
			x0, _ := bucketSpan(tl, p)
			v := float64(n(p)) / per
			top = max(top, v)
			xys = append(xys, plotter.XY{X: x0 + per/2, Y: v})
		}
		return xys
	}
	for i, k := range names {
		c.addLine("HTTP "+k, series(func(p reports.RatioPoint) int { return p.Codes[k] }), i)
	}
	c.addLine("transport error", series(func(p reports.RatioPoint) int { return p.TransportErrors }), 3)
	c.plot.Y.Min, c.plot.Y.Max = 0, math.Max(top*1.3, 1)
	c.Caption = "Responses per second of each HTTP status, and requests that got no status (refused, reset, timed out), per five-second bucket. " + whole
	return c
}

// alertRow is one alert and label set of the alert chart.
type alertRow struct {
	name, label string
	a           reports.Alert
}

// alertsChart draws one row per alert and label set: pending and firing
// bands from the transitions, and the deadlines the scenario expects.
func alertsChart(r *reports.Report, tl timeline, sp spec) *chart {
	rows := make([]alertRow, 0, len(r.Alerts))
	for _, a := range r.Alerts {
		rows = append(rows, alertRow{name: a.Name, label: alertLabel(a), a: a})
	}
	expected := map[string]bool{}
	for _, e := range sp.Expect.Alerts {
		expected[e.Name] = true
		found := false
		for _, row := range rows {
			found = found || row.name == e.Name
		}
		if !found { // an expected alert that never left inactive still gets a row
			rows = append(rows, alertRow{name: e.Name, label: e.Name + " (never pending)", a: reports.Alert{Name: e.Name}})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if expected[rows[i].name] != expected[rows[j].name] {
			return expected[rows[i].name]
		}
		return rows[i].label < rows[j].label
	})
	h := vg.Points(80 + 26*float64(max(len(rows), 1)))
	c := tl.timeChart("alerts", "Alert states per alert and label set, with the expected deadlines", "", h)
	pending := &boxes{fill: color.RGBA{0xfc, 0xe9, 0xb8, 0xff}, line: orange, pattern: hlines}
	firing := &boxes{fill: color.RGBA{0xe8, 0x9a, 0x66, 0xff}, line: vermilion, pattern: solid}
	var ticks plot.ConstantTicks
	var words []string
	n := len(rows)
	for i, row := range rows {
		y := float64(n - 1 - i) // the first row on top
		ticks = append(ticks, plot.Tick{Value: y, Label: row.label})
		state, from := "inactive", 0.0
		flush := func(to float64) {
			switch state {
			case "pending":
				pending.bs = append(pending.bs, box{x0: from, x1: to, y0: y - 0.35, y1: y + 0.15, label: "pending"})
			case "firing":
				firing.bs = append(firing.bs, box{x0: from, x1: to, y0: y - 0.35, y1: y + 0.15, label: "firing"})
			}
		}
		for _, t := range row.a.Transitions {
			x := tl.at(t.At)
			flush(x)
			state, from = t.To, x
		}
		flush(tl.end)
		words = append(words, fmt.Sprintf("%s: pending %s, firing %s, resolved %s, fired %d times", row.label,
			rel(tl, row.a.PendingAt), rel(tl, row.a.FiringAt), rel(tl, row.a.ResolvedAt), row.a.Firings))
	}
	if len(pending.bs) > 0 {
		c.plot.Add(pending)
	}
	if len(firing.bs) > 0 {
		c.plot.Add(firing)
	}
	c.addLegend("pending", pending)
	c.addLegend("firing", firing)
	fireBy := draw.LineStyle{Color: black, Width: vg.Points(2)}
	resolveBy := draw.LineStyle{Color: black, Width: vg.Points(2), Dashes: dashes[2]}
	for _, e := range sp.Expect.Alerts {
		for i, row := range rows {
			if row.name != e.Name {
				continue
			}
			y := float64(n - 1 - i)
			if !tl.inject.IsZero() && e.FireWithin > 0 {
				at := tl.at(tl.inject.Add(time.Duration(e.FireWithin)))
				c.plot.Add(rule{at: at, vertical: true, y0: y - 0.42, y1: y + 0.18, label: "fire by", style: fireBy})
				words = append(words, fmt.Sprintf("%s expected to fire by +%.0fs (%s after the first injection)", e.Name, at, time.Duration(e.FireWithin)))
			}
			if !tl.revert.IsZero() && e.ResolveWithin > 0 {
				at := tl.at(tl.revert.Add(time.Duration(e.ResolveWithin)))
				c.plot.Add(rule{at: at, vertical: true, y0: y - 0.42, y1: y + 0.18, label: "resolve by", style: resolveBy})
				words = append(words, fmt.Sprintf("%s expected to resolve by +%.0fs (%s after the last revert)", e.Name, at, time.Duration(e.ResolveWithin)))
			}
		}
	}
	if len(sp.Expect.Alerts) > 0 {
		c.addLegend("fire deadline", rule{style: fireBy})
		c.addLegend("resolve deadline", rule{style: resolveBy})
	}
	c.plot.Y.Min, c.plot.Y.Max = -0.5, float64(max(n, 1))+0.3 // room for the phase names
	c.plot.Y.Tick.Marker = plot.ConstantTicks{}
	c.plot.Add(rowLabels(ticks))
	c.plot.Y.Label.Text = "alert and label set"
	if n == 0 {
		c.plot.Add(note("no alert left inactive during the run"))
		c.Caption = "No alert left the inactive state during the run, and the scenario expects none."
		return c
	}
	c.Caption = "One row per alert and label set; bands show pending and firing. " + strings.Join(words, ". ") + "."
	return c
}

// alertLabel names an alert with the labels that tell its rows apart.
func alertLabel(a reports.Alert) string {
	var parts []string
	for _, k := range []string{"window", "slo", "severity"} {
		if v, ok := a.Labels[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return a.Name
	}
	return a.Name + "{" + strings.Join(parts, ",") + "}"
}

func rel(tl timeline, t *time.Time) string {
	if t == nil {
		return "never"
	}
	return fmt.Sprintf("%+.0fs", tl.at(*t))
}

// cpuChart draws requested against achieved CPU when a fault measured
// cores (cpu-spike); nil otherwise.
func cpuChart(r *reports.Report, tl timeline) *chart {
	var proofs []reports.Fault
	for _, f := range r.Faults {
		if f.Proof != nil && f.Proof.Unit == "cores" {
			proofs = append(proofs, f)
		}
	}
	var samples []reports.Resource
	for _, s := range r.Resources {
		if s.Source != "fault-summary" {
			samples = append(samples, s)
		}
	}
	requested := len(proofs) > 0
	for _, s := range samples {
		requested = requested || s.RequestedCores > 0
	}
	if !requested { // no CPU fault: the gate's own CPU alone is not this chart's story
		return nil
	}
	c := tl.timeChart("cpu", "CPU: requested against achieved cores", "cores", vg.Points(190))
	top := 0.0
	var req, ach, gate plotter.XYs
	for _, s := range samples {
		x := tl.at(s.At)
		req = append(req, plotter.XY{X: x, Y: s.RequestedCores})
		ach = append(ach, plotter.XY{X: x, Y: s.AchievedCores})
		gate = append(gate, plotter.XY{X: x, Y: s.TargetCores})
		top = max(top, s.RequestedCores, s.AchievedCores, s.TargetCores)
	}
	var words []string
	if len(samples) > 0 {
		c.addLine("requested", req, 3)
		measured := false
		for _, p := range ach {
			measured = measured || p.Y > 0
		}
		if measured { // some samplers measure only the target; a line of zeros would read as "nothing achieved"
			c.addLine("achieved (sample)", ach, 1)
		} else {
			words = append(words, "The samples carry no achieved cores of their own; the proof has them")
		}
		c.addLine("gate's own CPU", gate, 2)
	}
	for _, f := range proofs {
		p := f.Proof
		x0, x1 := tl.at(f.InjectedAt), tl.max
		if !f.RevertedAt.IsZero() {
			x1 = tl.at(f.RevertedAt)
		}
		ach := &boxes{bs: []box{{x0: x0, x1: x1, y0: 0, y1: p.Achieved, label: fmt.Sprintf("achieved %.2f of %.2f requested", p.Achieved, p.Requested)}},
			fill: color.RGBA{0xb3, 0xe2, 0xd5, 0xff}, line: green, pattern: diagonal}
		c.plot.Add(ach)
		c.addLegend("achieved (proof)", ach)
		rq := rule{at: p.Requested, label: fmt.Sprintf("requested %.2f", p.Requested), style: draw.LineStyle{Color: black, Width: vg.Points(1), Dashes: dashes[1]}}
		c.plot.Add(rq)
		top = max(top, p.Requested, p.Achieved)
		if p.Available > 0 {
			av := rule{at: p.Available, label: fmt.Sprintf("available %.2f", p.Available), style: draw.LineStyle{Color: blue, Width: vg.Points(1), Dashes: dashes[2]}}
			c.plot.Add(av)
			c.addLegend("available", av)
		}
		c.addLegend("requested (proof)", rq)
		words = append(words, fmt.Sprintf("%s: %s", f.Name, p.Detail))
	}
	c.plot.Y.Min, c.plot.Y.Max = 0, math.Max(top*1.35, 0.5)
	c.Caption = fmt.Sprintf("Cores requested by the CPU fault against what it achieved, from %d samples and the fault's proof. %s", len(samples), strings.Join(words, ". "))
	return c
}
