package dashboard

import "strconv"

// The chart of scans by hour, drawn on the server as SVG (no script): the
// template writes the rectangles and labels computed here.

type bar struct {
	X, Y, W, H int
	Hour       string
	Count      int
	LabelY     int
}

type chart struct {
	Width, Height int
	Base          int // the x axis's y
	Bars          []bar
	Max           int
	Empty         bool
}

const (
	chartW    = 720
	chartH    = 220
	chartTop  = 20
	chartBase = 190
	barSlot   = 30
)

// hourChart draws hours[0..23].
func hourChart(hours [24]int) chart {
	c := chart{Width: chartW, Height: chartH, Base: chartBase}
	for _, n := range hours {
		c.Max = max(c.Max, n)
	}
	c.Empty = c.Max == 0
	for h, n := range hours {
		bh := 0
		if c.Max > 0 {
			bh = n * (chartBase - chartTop) / c.Max
		}
		if n > 0 && bh == 0 {
			bh = 1
		}
		c.Bars = append(c.Bars, bar{X: h*barSlot + 4, Y: chartBase - bh, W: barSlot - 8, H: bh, Hour: strconv.Itoa(h), Count: n, LabelY: chartBase - bh - 4})
	}
	return c
}
