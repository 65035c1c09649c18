package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// scroller is the position in a screen longer than the terminal (the
// shift report, the queue and conflicts). It has its own update; View
// shows the window it selects and a "more ↓" line.
type scroller struct{ off int }

// update moves the offset for a scroll key over total lines of which page
// show at once; ok is false when k is not a scroll key.
func (s scroller) update(k tea.KeyMsg, keys KeyMap, total, page int) (scroller, bool) {
	step := max(1, page-1) // a page keeps one line of context
	switch {
	case key.Matches(k, keys.LineUp):
		s.off--
	case key.Matches(k, keys.LineDown):
		s.off++
	case key.Matches(k, keys.PageUp):
		s.off -= step
	case key.Matches(k, keys.PageDown):
		s.off += step
	case key.Matches(k, keys.Top):
		s.off = 0
	case key.Matches(k, keys.Bottom):
		s.off = total
	default:
		return s, false
	}
	s.off = s.clamp(total, page)
	return s, true
}

// clamp is the offset kept inside [0, total-page].
func (s scroller) clamp(total, page int) int {
	return max(0, min(s.off, total-page))
}

// scrolled lays n lines of content out in rows lines under a fixed title:
// all of them when they fit, else a window at s and a last line saying
// what is above and below, so a long report is never cut without saying
// so. line draws the content's line i; only those in view are drawn.
func (m Model) scrolled(title string, n int, line func(i int) string, s scroller, rows int) []string {
	out := []string{title}
	page := n
	off := 0
	if n > rows-1 {
		page = max(1, rows-2)
		off = s.clamp(n, page)
	}
	for i := off; i < off+page && i < n; i++ {
		out = append(out, line(i))
	}
	if page < n {
		out = append(out, m.moreLine(off, page, n))
	}
	return out
}

// moreLine is the last line of a scrolled screen showing page lines from
// off: "more ↓" with how many lines are below (or that the end is
// reached), what is above, and where the window is.
func (m Model) moreLine(off, page, total int) string {
	tx := m.tx
	left := tx.ScrollEnd
	if below := total - off - page; below > 0 {
		left = fmt.Sprintf(tx.MoreBelowFmt, below)
	}
	if off > 0 {
		left += "  " + fmt.Sprintf(tx.MoreAboveFmt, off)
	}
	pos := fmt.Sprintf(tx.ScrollPosFmt, off+1, off+page, total)
	return spread(" "+m.st.Warn.Render(left), m.st.Muted.Render(pos)+" ", max(m.width, 40))
}

// bodyRows is how many lines the screen has between the header (title
// and rule) and the footer (status and keys).
func (m Model) bodyRows() int {
	if m.outage() { // the banner takes a line
		return max(0, m.height-5)
	}
	return max(0, m.height-4)
}
