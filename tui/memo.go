package tui

import (
	"strconv"
	"strings"
	gosync "sync"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// drawMemo keeps what the screen drew last, so that a redraw with nothing
// changed costs a map lookup instead of lipgloss measuring every line: the
// answer panel's frame (the same until the answer changes) and the recent
// rows (one new row per scan, the others unchanged). Measuring widths is
// most of a frame's work at 160x45 (docs/ARCHITECTURE.md, "The till
// screen"). The Model is a value copied on every update; the memo is
// shared by its copies, and its entries are keyed by everything they are
// drawn from, so a stale entry is never used, only dropped when the memo
// is full.
type drawMemo struct {
	mu     gosync.Mutex
	panel  map[panelKey]string
	rows   map[rowKey]string
	fits   map[fitKey]string
	blocks map[fitKey]blockRows
}

// memoMax bounds each map; past it the map starts again empty (a till
// draws the same few dozen rows and one panel at a time).
const memoMax = 256

type panelKey struct {
	lines  string // the panel's text lines, styled, joined, before clipping
	inner  int    // the cells each line is clipped to
	width  int
	border string // the frame's colour
}

type fitKey struct {
	s string
	w int
}

type blockRows struct {
	rows [5]string
	ok   bool
}

type rowKey struct {
	tx                    *Text
	at, code, title, mark string
	word                  string
	width                 int
}

func newDrawMemo() *drawMemo {
	return &drawMemo{panel: map[panelKey]string{}, rows: map[rowKey]string{}, fits: map[fitKey]string{}, blocks: map[fitKey]blockRows{}}
}

// drawPanel clips each line to inner cells and renders them in the panel
// style at width, or returns the frame drawn before from the same lines,
// sizes and border.
func (d *drawMemo) drawPanel(style lipgloss.Style, inner, width int, lines []string) string {
	draw := func() string {
		clipped := make([]string, len(lines))
		for i, l := range lines {
			clipped[i] = clip(l, inner)
		}
		return style.Width(width).Render(strings.Join(clipped, "\n"))
	}
	border, ok := colorKey(style.GetBorderTopForeground())
	if d == nil || !ok {
		return draw()
	}
	k := panelKey{lines: strings.Join(lines, "\n"), inner: inner, width: width, border: border}
	d.mu.Lock()
	s, ok := d.panel[k]
	d.mu.Unlock()
	if ok {
		return s
	}
	s = draw()
	d.mu.Lock()
	if len(d.panel) >= memoMax {
		clear(d.panel)
	}
	d.panel[k] = s
	d.mu.Unlock()
	return s
}

// row returns the recent row drawn for k, drawing it with draw once.
func (d *drawMemo) row(k rowKey, draw func() string) string {
	if d == nil {
		return draw()
	}
	d.mu.Lock()
	s, ok := d.rows[k]
	d.mu.Unlock()
	if ok {
		return s
	}
	s = draw()
	d.mu.Lock()
	if len(d.rows) >= memoMax {
		clear(d.rows)
	}
	d.rows[k] = s
	d.mu.Unlock()
	return s
}

// fit cuts a screen line to w cells (the frame's last clip, which every
// line of every frame goes through).
func (d *drawMemo) fit(line string, w int) string {
	if d == nil {
		return ansi.Truncate(line, w, "")
	}
	k := fitKey{line, w}
	d.mu.Lock()
	s, ok := d.fits[k]
	d.mu.Unlock()
	if ok {
		return s
	}
	s = ansi.Truncate(line, w, "")
	d.mu.Lock()
	if len(d.fits) >= 4*memoMax {
		clear(d.fits)
	}
	d.fits[k] = s
	d.mu.Unlock()
	return s
}

// blockLetters is the package's blockLetters, remembered by word and width.
func (d *drawMemo) blockLetters(word string, w int) ([5]string, bool) {
	if d == nil {
		return blockLetters(word, w)
	}
	k := fitKey{word, w}
	d.mu.Lock()
	b, ok := d.blocks[k]
	d.mu.Unlock()
	if ok {
		return b.rows, b.ok
	}
	b.rows, b.ok = blockLetters(word, w)
	d.mu.Lock()
	if len(d.blocks) >= memoMax {
		clear(d.blocks)
	}
	d.blocks[k] = b
	d.mu.Unlock()
	return b.rows, b.ok
}

// colorKey names a terminal colour for the memo's key, or reports false
// for a kind of colour it does not know (the frame is then drawn afresh).
func colorKey(c lipgloss.TerminalColor) (string, bool) {
	switch v := c.(type) {
	case nil:
		return "", true
	case lipgloss.NoColor:
		return "none", true
	case lipgloss.Color:
		return "c" + string(v), true
	case lipgloss.AdaptiveColor:
		return "a" + v.Light + "/" + v.Dark, true
	case lipgloss.ANSIColor:
		return "n" + strconv.Itoa(int(v)), true
	}
	return "", false
}
