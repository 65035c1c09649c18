package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"cardtill/sync"
)

// reportScreen is F4 as a sub-model: the shift shown (the open one, or one
// paged back to), the report read for it, by line, whether a read runs and
// why the last one failed, the scroll, and the last word of a page or a
// print. It has its own update (its messages and keys), view, key map and
// size; the root routes to it while F4 shows and acts on what it asks for
// (reportOut).
//
// F4 shows the open shift's X report; with no shift open, the last closed
// shift's Z report. ← pages back through earlier shifts (Options.
// ShiftBefore), → forward again. F9 prints what is shown (Options.
// PrintReport). The report is read again, in the same place, whenever the
// status's counts or last sync change or the width does.
type reportScreen struct {
	lines   []string // nil until the first read came back
	read    reportKey
	loading bool
	err     error // the last read failed (the report shown is older)
	scroll  scroller
	// shown is the shift shown when not the open one (0: the open one);
	// pages the shifts paged back from, newest last.
	shown uint64
	pages []uint64
	// note is the last word of a page or print, shown in the title.
	note string
}

// reportEnv is what the report screen reads of the root: the hooks, the
// words, the open shift and the engine's status, and its size.
type reportEnv struct {
	show   func(shiftID uint64, lang string, width int) (string, error) // Options.ShiftReport
	before func(id uint64) (uint64, error)                              // Options.ShiftBefore
	print  func(shiftID uint64, lang string) error                      // Options.PrintReport
	tx     *Text
	mtx    *mgrText
	keys   KeyMap
	open   uint64 // the open shift, 0: none
	status sync.Status
	width  int
	rows   int // the body's lines (scrolling pages by them)
}

// reportOut is what the report screen asks of the root after an update.
type reportOut struct {
	notice string // a word for the status line ("": none)
	leave  bool   // back to the till
}

// reportKeys is the report screen's own key map: paging through shifts
// and printing; the scroll keys and Esc are the root's.
var reportKeys = struct{ Earlier, Later, Print key.Binding }{
	Earlier: key.NewBinding(key.WithKeys("left"), key.WithHelp("←/→", "shifts")),
	Later:   key.NewBinding(key.WithKeys("right")),
	Print:   key.NewBinding(key.WithKeys("f9"), key.WithHelp("F9", "print")),
}

type (
	// reportMsg is a report read for shift (the text, or why not).
	reportMsg struct {
		text string
		err  error
	}
	// pageMsg: the shift before from (0: none), or why not.
	pageMsg struct {
		from, id uint64
		err      error
	}
)

// reportKey is what the shown report depends on beyond the journal's
// redemptions: the shift, the width, and the status counts that change
// as the drain settles redemptions (a scan brings the till forward, so
// while F4 shows, the report changes only with the drain).
type reportKey struct {
	shift                              uint64
	width                              int
	queue, inDoubt, conflicts, offline int
	lastSync                           time.Time
}

// available says whether there is a report to show at all.
func (e reportEnv) available() bool {
	return e.show != nil && (e.open != 0 || e.before != nil)
}

// shift is the shift shown.
func (r reportScreen) shift(e reportEnv) uint64 {
	if r.shown != 0 {
		return r.shown
	}
	return e.open
}

func (r reportScreen) key(e reportEnv) reportKey {
	st := e.status
	return reportKey{shift: r.shift(e), width: e.width, queue: st.QueueDepth, inDoubt: st.InDoubt, conflicts: st.Conflicts,
		offline: st.OfflineAcceptedInShift, lastSync: st.LastSync}
}

// stale reports whether the report shown was read for another status or
// width (and no read runs).
func (r reportScreen) stale(e reportEnv) bool {
	return e.show != nil && r.shift(e) != 0 && !r.loading && r.key(e) != r.read
}

// open is F4 pressed: a fresh screen on the open shift's report, or with
// no shift open on the last closed one's.
func (r reportScreen) open(e reportEnv) (reportScreen, tea.Cmd) {
	r = reportScreen{}
	if e.open == 0 {
		return r.pageBack(e)
	}
	return r.reread(e)
}

// reread reads the shown shift's report for the screen's width in a
// command.
func (r reportScreen) reread(e reportEnv) (reportScreen, tea.Cmd) {
	f, id, lang, w := e.show, r.shift(e), e.tx.Lang, e.width-2
	r.loading, r.read = true, r.key(e)
	return r, func() tea.Msg {
		text, err := f(id, lang, w)
		return reportMsg{text: text, err: err}
	}
}

// Update answers the report screen's messages and keys: a report read, a
// page found, the status or the size changed, a key. ok is false for a
// key that is not the report screen's.
func (r reportScreen) Update(msg tea.Msg, e reportEnv) (_ reportScreen, cmd tea.Cmd, out reportOut, ok bool) {
	switch msg := msg.(type) {
	case reportMsg:
		r, cmd, out = r.onRead(msg, e)
		return r, cmd, out, true
	case pageMsg:
		r, cmd, out = r.onPage(msg, e)
		return r, cmd, out, true
	case tea.WindowSizeMsg, statusMsg:
		if r.stale(e) { // laid out again for the new width, or following the drain: same place
			r, cmd = r.reread(e)
		}
		return r, cmd, out, true
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, reportKeys.Earlier):
			r, cmd = r.pageBack(e)
			return r, cmd, out, true
		case key.Matches(msg, reportKeys.Later):
			r, cmd = r.pageForward(e)
			return r, cmd, out, true
		case key.Matches(msg, reportKeys.Print):
			r, cmd, out = r.printShown(e)
			return r, cmd, out, true
		}
		var moved bool
		r.scroll, moved = r.scroll.update(msg, e.keys, len(r.lines), max(1, e.rows-2))
		return r, nil, out, moved
	}
	return r, nil, out, false
}

// onRead shows a read report, keeping the scroll position (the scroller
// clamps it to the new length). A failed first read goes back to the
// till; a failed later one keeps the last report and says why. A status
// that changed while it was read reads it again.
func (r reportScreen) onRead(msg reportMsg, e reportEnv) (reportScreen, tea.Cmd, reportOut) {
	r.loading = false
	var out reportOut
	if msg.err != nil {
		out.notice = fmt.Sprintf("%s: %v", e.tx.Error, msg.err)
		if r.lines == nil {
			out.leave = true
			return r, nil, out
		}
		r.err = msg.err
	} else {
		r.lines, r.err = strings.Split(strings.TrimRight(msg.text, "\n"), "\n"), nil
	}
	if r.stale(e) {
		var cmd tea.Cmd
		r, cmd = r.reread(e)
		return r, cmd, out
	}
	return r, nil, out
}

// pageBack asks for the shift before the one shown.
func (r reportScreen) pageBack(e reportEnv) (reportScreen, tea.Cmd) {
	f := e.before
	if f == nil {
		return r, nil
	}
	from := r.shift(e)
	return r, func() tea.Msg {
		id, err := f(from)
		return pageMsg{from: from, id: id, err: err}
	}
}

func (r reportScreen) onPage(msg pageMsg, e reportEnv) (reportScreen, tea.Cmd, reportOut) {
	var out reportOut
	if msg.from != r.shift(e) {
		return r, nil, out // an answer for a page no longer shown
	}
	switch {
	case msg.err != nil:
		out.notice = fmt.Sprintf("%s: %v", e.tx.Error, msg.err)
		out.leave = r.lines == nil
		return r, nil, out
	case msg.id == 0 && msg.from == 0:
		out.notice, out.leave = e.mtx.ReportNoShift, true
		return r, nil, out
	case msg.id == 0:
		out.notice = e.mtx.ReportNoEarlier
		r.note = out.notice
		return r, nil, out
	}
	if msg.from != 0 {
		r.pages = append(r.pages, msg.from)
	}
	r.shown, r.scroll, r.note = msg.id, scroller{}, ""
	var cmd tea.Cmd
	r, cmd = r.reread(e)
	return r, cmd, out
}

// pageForward goes back to the shift paged back from.
func (r reportScreen) pageForward(e reportEnv) (reportScreen, tea.Cmd) {
	n := len(r.pages)
	if n == 0 {
		return r, nil
	}
	r.shown, r.pages = r.pages[n-1], r.pages[:n-1]
	if r.shown == e.open {
		r.shown = 0
	}
	r.scroll, r.note = scroller{}, ""
	return r.reread(e)
}

// printShown prints the shift shown; the answer is a printedMsg, which
// the root shows (a conflict's slip answers the same way).
func (r reportScreen) printShown(e reportEnv) (reportScreen, tea.Cmd, reportOut) {
	f, id, lang := e.print, r.shift(e), e.tx.Lang
	if f == nil {
		return r, nil, reportOut{notice: e.mtx.PrintUnavailable}
	}
	if id == 0 {
		return r, nil, reportOut{}
	}
	r.note = e.mtx.Printing
	return r, func() tea.Msg { return printedMsg{err: f(id, lang)} }, reportOut{notice: r.note}
}

// View draws the report screen in w columns and rows lines: the report's
// own title (a receipt's, without its rule) with the last word of a page
// or print and why the report is not newer, then the report, scrolled.
func (r reportScreen) View(m Model, w, rows int) []string {
	head, body := m.tx.ReportTitle, r.lines
	if len(body) > 0 {
		head, body = strings.TrimSpace(body[0]), body[1:]
		if len(body) > 0 && strings.Trim(body[0], "=") == "" {
			body = body[1:] // the rule under a receipt's title
		}
	}
	title := " " + m.st.SectionTitle.Render(head)
	if r.note != "" { // paged past the first shift, printed, or why not
		title = clip(title+"  "+m.st.Warn.Render(r.note), w)
	}
	if r.err != nil { // the last report stays, with why it is not newer
		title = clip(title+"  "+m.st.Bad.Render(fmt.Sprintf("%s: %v", m.tx.Error, r.err)), w)
	}
	if r.lines == nil {
		return []string{title, " " + m.st.Muted.Render("…")}
	}
	return m.scrolled(title, len(body), func(i int) string { return " " + clip(body[i], w-1) }, r.scroll, rows)
}

// help is the report screen's keys for the footer.
func (r reportScreen) help(e reportEnv) []key.Binding {
	pg, pr := reportKeys.Earlier, reportKeys.Print
	pg.SetHelp("←/→", e.mtx.KeyShifts)
	pr.SetHelp("F9", e.mtx.KeyPrint)
	return []key.Binding{e.keys.Scroll, pg, pr, e.keys.Cancel, e.keys.Quit}
}
