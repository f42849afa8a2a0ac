package html

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The Okabe–Ito palette: told apart by readers with any common colour
// vision deficiency. Every series also differs by glyph, dash or pattern
// and is named in a legend, so colour is never the only cue.
var (
	black     = color.RGBA{0x00, 0x00, 0x00, 0xff}
	orange    = color.RGBA{0xe6, 0x9f, 0x00, 0xff}
	skyBlue   = color.RGBA{0x56, 0xb4, 0xe9, 0xff}
	green     = color.RGBA{0x00, 0x9e, 0x73, 0xff}
	yellow    = color.RGBA{0xf0, 0xe4, 0x42, 0xff}
	blue      = color.RGBA{0x00, 0x72, 0xb2, 0xff}
	vermilion = color.RGBA{0xd5, 0x5e, 0x00, 0xff}
	purple    = color.RGBA{0xcc, 0x79, 0xa7, 0xff}

	palette = []color.Color{blue, orange, green, vermilion, purple, skyBlue, yellow, black}
	glyphs  = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}, draw.PyramidGlyph{}, draw.BoxGlyph{}}
	dashes  = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}
)

// Chart sizes, in points. Every time chart has the same width, the same
// left edge of its data area and the same legend gutter, so the time axes
// line up down the page.
const (
	chartWidth  = 780
	legendWidth = 150
)

func init() {
	// Sans-serif reads better at small sizes; the SVG names the family
	// and the browser picks a local font, so nothing is fetched.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
}

// chart is one figure of a page: a plot, its legend (drawn in a gutter
// right of the data) and the text alternative that goes with it.
type chart struct {
	ID      string
	Title   string
	Caption string // summarises the data in words: the figcaption and <desc>
	Height  vg.Length
	Width   vg.Length // chartWidth unless set
	Gutter  vg.Length // the legend's, legendWidth unless set
	plot    *plot.Plot
	legend  plot.Legend
	hasLeg  bool
	SVG     template.HTML

	buildErr error
	// fixX pins the x axis to [xmin, xmax]: the shared time axis.
	fixX       bool
	xmin, xmax float64
}

func newChart(id, title string, height vg.Length) *chart {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 11
	p.Title.Padding = vg.Points(4)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = 9
		a.Tick.Label.Font.Size = 8
	}
	l := plot.NewLegend()
	l.Left, l.Top = true, true
	l.TextStyle.Font.Size = 8
	l.ThumbnailWidth = vg.Points(18)
	l.Padding = vg.Points(2.5)
	return &chart{ID: id, Title: title, Height: height, Width: vg.Points(chartWidth), Gutter: vg.Points(legendWidth), plot: p, legend: l}
}

func (c *chart) addLegend(name string, t ...plot.Thumbnailer) {
	c.legend.Add(name, t...)
	c.hasLeg = true
}

// render draws every chart into its own SVG with the data areas aligned
// on the left edge of the widest y axis.
func render(cs []*chart) error {
	canvases := make([]*vgsvg.Canvas, len(cs))
	for _, c := range cs {
		if c.fixX {
			c.plot.X.Min, c.plot.X.Max = c.xmin, c.xmax
		}
	}
	var left, right vg.Length
	lefts, rights := make([]vg.Length, len(cs)), make([]vg.Length, len(cs))
	for i, c := range cs {
		canvases[i] = vgsvg.New(c.Width, c.Height)
		dc := draw.Crop(draw.New(canvases[i]), 0, -c.Gutter, 0, 0)
		da := c.plot.DataCanvas(dc)
		lefts[i], rights[i] = da.Min.X-dc.Min.X, dc.Max.X-da.Max.X
		left, right = max(left, lefts[i]), max(right, rights[i])
	}
	for i, c := range cs {
		if c.fixX { // plotters widen the range to their data; the axis is shared
			c.plot.X.Min, c.plot.X.Max = c.xmin, c.xmax
		}
		dc := draw.New(canvases[i])
		c.plot.Draw(draw.Crop(dc, left-lefts[i], -c.Gutter-(right-rights[i]), 0, 0))
		if c.hasLeg {
			gutter := draw.Crop(dc, c.Width-c.Gutter+8, 0, 0, -vg.Points(22))
			c.legend.Draw(gutter)
		}
		var b bytes.Buffer
		if _, err := canvases[i].WriteTo(&b); err != nil {
			return fmt.Errorf("chart %s: %w", c.ID, err)
		}
		c.SVG = template.HTML(accessible(b.String(), c.ID, c.Title, c.Caption))
	}
	return nil
}

// accessible turns a standalone SVG document into an inline <svg> that
// names itself: the XML prologue goes, role="img" and aria-labelledby
// point at a <title> and a <desc>, and the fixed size in points gives way
// to the viewBox so the page can scale it.
func accessible(svg, id, title, desc string) string {
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	end := strings.Index(svg, ">")
	open := svg[:end]
	for _, attr := range []string{"width", "height"} {
		if i := strings.Index(open, " "+attr+`="`); i >= 0 {
			j := strings.Index(open[i+len(attr)+3:], `"`)
			open = open[:i] + open[i+len(attr)+3+j+1:]
		}
	}
	esc := template.HTMLEscapeString
	return open + fmt.Sprintf(` role="img" aria-labelledby="%[1]s-title %[1]s-desc" class="chart">`, id) +
		fmt.Sprintf("\n<title id=\"%s-title\">%s</title>\n<desc id=\"%s-desc\">%s</desc>", id, esc(title), id, esc(desc)) +
		svg[end+1:]
}

// textStyle is a plain text style of the given size.
func textStyle(size vg.Length, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler}
}

// pattern fills a rectangle: solid, or a light fill crossed by lines so a
// band reads without its colour.
type pattern int

const (
	solid pattern = iota
	hlines
	diagonal
	vlines
)

// box is a rectangle in data coordinates.
type box struct {
	x0, x1, y0, y1 float64
	label          string // drawn inside when it fits
}

// boxes is a plotter of rectangles sharing a fill and a pattern; it is
// also its own legend thumbnail.
type boxes struct {
	bs      []box
	fill    color.Color
	pattern pattern
	line    color.Color
}

func (b *boxes) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, r := range b.bs {
		x0, x1 := max(trX(r.x0), c.Min.X), min(trX(r.x1), c.Max.X)
		y0, y1 := max(trY(r.y0), c.Min.Y), min(trY(r.y1), c.Max.Y)
		if x1 <= x0 || y1 <= y0 {
			continue
		}
		b.draw(&c, vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x1, Y: y1}})
		if r.label != "" {
			sty := textStyle(7, black)
			sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
			if sty.Width(r.label)+4 < x1-x0 && y1-y0 > 9 {
				c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, r.label)
			}
		}
	}
}

func (b *boxes) draw(c *draw.Canvas, r vg.Rectangle) {
	pts := []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
	c.FillPolygon(b.fill, pts)
	if b.line == nil {
		return
	}
	ls := draw.LineStyle{Color: b.line, Width: vg.Points(0.7)}
	step := vg.Points(4)
	switch b.pattern {
	case hlines:
		for y := r.Min.Y + step/2; y < r.Max.Y; y += step {
			c.StrokeLine2(ls, r.Min.X, y, r.Max.X, y)
		}
	case vlines:
		for x := r.Min.X + step/2; x < r.Max.X; x += step {
			c.StrokeLine2(ls, x, r.Min.Y, x, r.Max.Y)
		}
	case diagonal:
		// lines of slope 1, clipped to the rectangle by hand
		w, h := r.Max.X-r.Min.X, r.Max.Y-r.Min.Y
		for d := -h + step; d < w; d += 2 * step {
			x0, y0 := r.Min.X+max(d, 0), r.Min.Y+max(-d, 0)
			n := min(r.Max.X-x0, r.Max.Y-y0)
			c.StrokeLine2(ls, x0, y0, x0+n, y0+n)
		}
	}
	if b.pattern == solid {
		c.StrokeLines(ls, []vg.Point{pts[0], pts[1], pts[2], pts[3], pts[0]})
	}
}

func (b *boxes) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = 1e300, 1e300
	xmax, ymax = -1e300, -1e300
	for _, r := range b.bs {
		xmin, xmax = min(xmin, r.x0), max(xmax, r.x1)
		ymin, ymax = min(ymin, r.y0), max(ymax, r.y1)
	}
	return
}

func (b *boxes) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	r.Min.Y += vg.Points(1)
	r.Max.Y -= vg.Points(1)
	b.draw(c, r)
}

// span is an interval of the time axis.
type span struct {
	from, to float64
	name     string
}

// backdrop shades the phases (named at the top of the data area) and
// marks each fault's injection and revert with a labelled line, behind
// the data of every time chart.
type backdrop struct {
	phases []span
	faults []span
}

func (b backdrop) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := textStyle(7, color.Gray{0x40})
	sty.YAlign = draw.YTop
	for i, ph := range b.phases {
		x0, x1 := max(trX(ph.from), c.Min.X), min(trX(ph.to), c.Max.X)
		if x1 <= x0 {
			continue
		}
		var shade color.Color = color.Gray{0xf2}
		if i%2 == 1 {
			shade = color.Gray{0xe6}
		}
		if ph.name == "fault" {
			shade = color.RGBA{0xf4, 0xe4, 0xee, 0xff} // a light reddish purple, named in text too
		}
		c.FillPolygon(shade, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		if sty.Width(ph.name)+4 < x1-x0 {
			c.FillText(sty, vg.Point{X: x0 + 2, Y: c.Max.Y - 1}, ph.name)
		}
	}
	line := draw.LineStyle{Color: vermilion, Width: vg.Points(1.2)}
	rev := draw.LineStyle{Color: vermilion, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}
	fs := textStyle(7, vermilion)
	fs.YAlign, fs.XAlign = draw.YTop, draw.XLeft
	below := c.Max.Y - 1 - sty.Rectangle("M").Size().Y - 1 // under the phase names
	for _, f := range b.faults {
		x := trX(f.from)
		if c.ContainsX(x) {
			c.StrokeLine2(line, x, c.Min.Y, x, c.Max.Y)
			c.FillText(fs, vg.Point{X: x + 2, Y: below}, "▶ "+f.name)
		}
		if f.to > f.from {
			if x := trX(f.to); c.ContainsX(x) {
				c.StrokeLine2(rev, x, c.Min.Y, x, c.Max.Y)
				c.FillText(fs, vg.Point{X: x + 2, Y: below}, "■ revert")
			}
		}
	}
}

// rule is a labelled horizontal line across the data area (a threshold)
// or, with vertical set, a vertical one over the rows [y0, y1].
type rule struct {
	at       float64
	label    string
	style    draw.LineStyle
	vertical bool
	y0, y1   float64
}

func (r rule) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := textStyle(7, r.style.Color)
	if r.vertical {
		x := trX(r.at)
		if !c.ContainsX(x) {
			return
		}
		y0, y1 := max(trY(r.y0), c.Min.Y), min(trY(r.y1), c.Max.Y)
		c.StrokeLine2(r.style, x, y0, x, y1)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom // above the line, clear of the band's own label
		c.FillText(sty, vg.Point{X: x, Y: y1 + 1}, r.label)
		return
	}
	y := trY(r.at)
	if !c.ContainsY(y) {
		return
	}
	c.StrokeLine2(r.style, c.Min.X, y, c.Max.X, y)
	sty.XAlign, sty.YAlign = draw.XRight, draw.YBottom
	c.FillText(sty, vg.Point{X: c.Max.X - 2, Y: y + 1}, r.label)
}

func (r rule) DataRange() (xmin, xmax, ymin, ymax float64) {
	if r.vertical {
		return r.at, r.at, r.y0, r.y1
	}
	return 1e300, -1e300, r.at, r.at
}

func (r rule) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(r.style, c.Min.X, y, c.Max.X, y)
}

// note writes a sentence in the middle of the data area: what a chart
// would show and why it cannot.
type note string

func (n note) Plot(c draw.Canvas, _ *plot.Plot) {
	sty := textStyle(10, color.Gray{0x30})
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	c.FillText(sty, c.Center(), string(n))
}

// rowLabels names the rows of a chart inside its data area, above each
// row's band, so long names do not widen the y axis of one chart and push
// the shared time axis out of line.
type rowLabels []plot.Tick

func (rl rowLabels) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	sty := textStyle(8, black)
	sty.YAlign = draw.YBottom
	for _, t := range rl {
		c.FillText(sty, vg.Point{X: c.Min.X + 3, Y: trY(t.Value + 0.22)}, t.Label)
	}
}
