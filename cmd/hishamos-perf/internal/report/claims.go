package report

// The demo's claims drawn: each claim's measured improvement per statement
// or per request against its promised band, as an SVG for the HTML report
// and as a bar per statement in text; across scales, a line per statement
// of its improvement against the rows loaded, and the trend as a table.

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/hishamos/hishamos-perf/bench"
	"github.com/hishamos/hishamos-perf/demo"
)

// ClaimBar is one bar of the claims chart: an improvement in percent and
// the band it was promised (nil for none).
type ClaimBar struct {
	// Group is the claim the bar belongs to, Name what it measures.
	Group, Name string
	Pct         float64
	Band        *bench.ExpectRange
	// Targeted marks a statement the seed's indexes serve.
	Targeted bool
}

// claimBars are the bars of rep's claims: each targeted statement's
// improvement with the seed's set in the verdict's metric against the
// indexes' band, the seed's net typical improvement (the verdict), then
// each request pair's drops in
// time, queries and bytes (bytes against the memory band).
func claimBars(rep *demo.Report) []ClaimBar {
	group := claimShort[demo.ClaimIndexes]
	var out []ClaimBar
	for _, s := range rep.Statements {
		if s.Targeted {
			out = append(out, ClaimBar{Group: group, Name: s.Name, Pct: s.Seed.ClaimPct, Band: rep.Expect, Targeted: true})
		}
	}
	if len(out) > 0 {
		out = append(out, ClaimBar{Group: group, Name: "net typical (the verdict)", Pct: rep.Verdict.SeedNetPct, Band: rep.Expect})
	}
	if rep.Requests == nil {
		return out
	}
	memory := demo.MemoryPromise
	for _, p := range rep.Requests.Pairs {
		out = append(out,
			ClaimBar{Group: claimShort[demo.ClaimQueries], Name: p.Name + ": queries", Pct: p.QueriesReductionPct},
			ClaimBar{Group: claimShort[demo.ClaimQueries], Name: p.Name + ": time", Pct: p.LatencyImprovementPct})
		if p.BytesReductionPct != nil {
			out = append(out, ClaimBar{Group: claimShort[demo.ClaimMemory], Name: p.Name + ": bytes", Pct: *p.BytesReductionPct, Band: &memory})
		}
	}
	return out
}

// textBarCells is the width of a text bar: 0 to 100% in 5% steps.
const textBarCells = 20

// textBar draws pct as a bar of textBarCells cells from 0 to 100%: █ for
// the improvement (▌ for a half cell), ░ for the promised band it does
// not reach, · elsewhere; a drop below 0 is ◂ in the first cell.
func textBar(pct float64, band *bench.ExpectRange) string {
	var b strings.Builder
	step := 100.0 / textBarCells
	for i := range textBarCells {
		lo := float64(i) * step
		switch {
		case i == 0 && pct < 0:
			b.WriteString("◂")
		case pct >= lo+step:
			b.WriteString("█")
		case pct >= lo+step/2:
			b.WriteString("▌")
		case band != nil && lo+step > band.MinPct && lo < band.MaxPct:
			b.WriteString("░")
		default:
			b.WriteString("·")
		}
	}
	return b.String()
}

// claimBarsTable is the terminal's picture of the claims: one bar per
// statement or request figure.
func claimBarsTable(bars []ClaimBar) *Table {
	t := &Table{Title: "The claims at a glance: each improvement (█) from 0 to 100%, against the promised band (░)",
		Columns: []Column{{Name: "claim", DataOnly: true}, {Name: "statement or request"}, {Name: "better", Right: true, CSV: "better %"},
			{Name: "0 ······· 100%", TextOnly: true, Whole: true}, {Name: "vs promise", Whole: true}}}
	for _, b := range bars {
		name := b.Name
		if b.Targeted {
			name += " *"
		}
		tone := Plain
		switch b.Band.Place(b.Pct) {
		case demo.Below:
			tone = Warn
		case demo.Within, demo.Above:
			tone = Good
		}
		t.Rows = append(t.Rows, Row{Tone: tone, Cells: []Cell{Str(b.Group), Full(name, b.Name), Num(b.Pct, fmt.Sprintf("%.1f%%", b.Pct)),
			Str(textBar(b.Pct, b.Band)), orDash(b.Band.Place(b.Pct))}})
	}
	t.Note = "* targeted by the seed's indexes (its improvement in the verdict's metric); queries, time and bytes: the request's drop per request, before → after the rewrite; ◂: slower"
	return t
}

// Claims chart geometry, in SVG user units.
const (
	claimsWidth    = 820
	claimsLabel    = 300
	claimsRow      = 20
	claimsGroupGap = 22
	claimsRight    = 60
)

// claimsChart draws each bar from 0 on a scale of −100% to 100% (a drop
// below −100% is cut there, its figure written beside it), with its
// promised band shaded behind it and the claim's name above its group.
func claimsChart(bars []ClaimBar) template.HTML {
	if len(bars) == 0 {
		return ""
	}
	groups := 0
	for i, b := range bars {
		if i == 0 || b.Group != bars[i-1].Group {
			groups++
		}
	}
	h := topPad + groups*claimsGroupGap + len(bars)*claimsRow + axisHeight
	x := func(v float64) float64 {
		v = math.Max(-100, math.Min(100, v))
		return claimsLabel + (v+100)/200*float64(claimsWidth-claimsLabel-claimsRight)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="claims-chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="each claim's measured improvement against its promised band">`,
		claimsWidth, h, claimsWidth, h)
	y := float64(topPad)
	for i, bar := range bars {
		if i == 0 || bar.Group != bars[i-1].Group {
			y += claimsGroupGap
			fmt.Fprintf(&b, `<text x="4" y="%.1f" font-size="13" font-weight="bold">%s</text>`, y-6, template.HTMLEscapeString(bar.Group))
		}
		mid := y + claimsRow/2
		if bar.Band != nil {
			fmt.Fprintf(&b, `<rect class="band" x="%.1f" y="%.1f" width="%.1f" height="%d" fill="#3a9d5d" fill-opacity="0.18"><title>promised %g–%g%%</title></rect>`,
				x(bar.Band.MinPct), y, x(bar.Band.MaxPct)-x(bar.Band.MinPct), claimsRow, bar.Band.MinPct, bar.Band.MaxPct)
		}
		name := bar.Name
		if bar.Targeted {
			name += " *"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="12" text-anchor="end" dominant-baseline="middle">%s</text>`, claimsLabel-6, mid, template.HTMLEscapeString(name))
		color := "#2b7bd9"
		switch bar.Band.Place(bar.Pct) {
		case demo.Below:
			color = "#d9822b"
		case demo.Within, demo.Above:
			color = "#3a9d5d"
		}
		x0, x1 := x(0), x(bar.Pct)
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s: %.1f%%</title></rect>`,
			math.Min(x0, x1), mid-6, math.Max(math.Abs(x1-x0), 1), 12, color, template.HTMLEscapeString(bar.Name), bar.Pct)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" dominant-baseline="middle">%.1f%%</text>`, math.Max(x0, x1)+4, mid, bar.Pct)
		y += claimsRow
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" stroke="#444"/>`, x(0), x(0), topPad, y)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#444"/>`, x(-100), x(100), y, y)
	for v := -100; v <= 100; v += 50 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%d%%</text>`, x(float64(v)), y+16, v)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">improvement</text>`, claimsLabel-24, y+16)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Trend chart geometry, in SVG user units.
const (
	trendWidth  = 820
	trendHeight = 340
	trendLeft   = 56
	trendRight  = 290
	trendTop    = 16
	trendBottom = 40
)

// trendColors tell the lines apart.
var trendColors = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
	"#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"}

// trendChart draws one line per trend line: its improvement (y, −100% to
// 100%, a lower one cut there) against the rows each scale loaded (x, on a
// log scale), over the promised band of the first line that has one, with
// a legend naming each line.
func trendChart(title string, lines []demo.TrendLine) template.HTML {
	if len(lines) == 0 || len(lines[0].Points) < 2 {
		return ""
	}
	pts := lines[0].Points
	lo, hi := math.Log10(float64(max(pts[0].Rows, 1))), math.Log10(float64(max(pts[len(pts)-1].Rows, 1)))
	if hi <= lo {
		hi = lo + 1
	}
	plotW, plotH := float64(trendWidth-trendLeft-trendRight), float64(trendHeight-trendTop-trendBottom)
	x := func(rows int64) float64 {
		return trendLeft + (math.Log10(float64(max(rows, 1)))-lo)/(hi-lo)*plotW
	}
	y := func(v float64) float64 {
		v = math.Max(-100, math.Min(100, v))
		return trendTop + (100-v)/200*plotH
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend-chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		trendWidth, trendHeight, trendWidth, trendHeight, template.HTMLEscapeString(title))
	for _, l := range lines {
		if l.Expect != nil {
			fmt.Fprintf(&b, `<rect class="band" x="%d" y="%.1f" width="%.1f" height="%.1f" fill="#3a9d5d" fill-opacity="0.15"><title>promised %g–%g%%</title></rect>`,
				trendLeft, y(l.Expect.MaxPct), plotW, y(l.Expect.MinPct)-y(l.Expect.MaxPct), l.Expect.MinPct, l.Expect.MaxPct)
			break
		}
	}
	for v := -100; v <= 100; v += 50 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" font-size="11" text-anchor="end" dominant-baseline="middle">%d%%</text>`,
			trendLeft, trendLeft+plotW, y(float64(v)), y(float64(v)), trendLeft-6, y(float64(v)), v)
	}
	for _, p := range pts {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s (%s rows)</text>`,
			x(p.Rows), x(p.Rows), trendTop, trendTop+plotH, x(p.Rows), trendTop+plotH+16, template.HTMLEscapeString(p.Scale), rowsWords(p.Rows))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">rows loaded (log scale)</text>`, trendLeft+plotW/2, float64(trendHeight)-4)
	for i, l := range lines {
		color := trendColors[i%len(trendColors)]
		var path []string
		for _, p := range l.Points {
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(p.Rows), y(p.ImprovementPct)))
		}
		width := "1.6"
		if l.Kind == demo.TrendVerdict {
			width = "3.5"
		}
		fmt.Fprintf(&b, `<polyline class="trend" points="%s" fill="none" stroke="%s" stroke-width="%s"><title>%s</title></polyline>`,
			strings.Join(path, " "), color, width, template.HTMLEscapeString(trendName(l)))
		for _, p := range l.Points {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s at %s: %.1f%%</title></circle>`,
				x(p.Rows), y(p.ImprovementPct), color, template.HTMLEscapeString(trendName(l)), template.HTMLEscapeString(p.Scale), p.ImprovementPct)
		}
		ly := float64(trendTop + 4 + i*15)
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="14" height="4" fill="%s"/><text x="%d" y="%.1f" font-size="11" dominant-baseline="middle">%s %+.1f pts</text>`,
			trendWidth-trendRight+12, ly, color, trendWidth-trendRight+30, ly+2, template.HTMLEscapeString(trendName(l)), l.ChangePts)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// trendName names a trend line in a legend or a table.
func trendName(l demo.TrendLine) string {
	switch l.Kind {
	case demo.TrendRequestTime:
		return l.Name + ": time"
	case demo.TrendRequestQueries:
		return l.Name + ": queries"
	case demo.TrendRequestBytes:
		return l.Name + ": bytes"
	}
	if l.Targeted {
		return l.Name + " *"
	}
	return l.Name
}

// rowsWords writes a row count short: 1.0M, 104k.
func rowsWords(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
