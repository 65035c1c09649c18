package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// F4 shows the open shift's X report; with no shift open, the last closed
// shift's Z report. ← pages back through earlier shifts (Options.
// ShiftBefore), → forward again. F9 prints what is shown, and on a
// conflict's detail a slip of it (Options.PrintReport, PrintConflict).

var (
	keyEarlier = key.NewBinding(key.WithKeys("left"), key.WithHelp("←/→", "shifts"))
	keyLater   = key.NewBinding(key.WithKeys("right"))
	keyPrint   = key.NewBinding(key.WithKeys("f9"), key.WithHelp("F9", "print"))
)

type (
	// pageMsg: the shift before from (0: none), or why not.
	pageMsg struct {
		from, id uint64
		err      error
	}
	printedMsg struct{ err error }
)

// shownShift is the shift F4 shows.
func (m Model) shownShift() uint64 {
	if m.mgr.shown != 0 {
		return m.mgr.shown
	}
	return m.status.shiftID
}

// pageBack asks for the shift before the one shown.
func (m Model) pageBack() (Model, tea.Cmd) {
	f := m.o.ShiftBefore
	if f == nil {
		return m, nil
	}
	from := m.shownShift()
	return m, func() tea.Msg {
		id, err := f(from)
		return pageMsg{from: from, id: id, err: err}
	}
}

func (m Model) onPage(msg pageMsg) (Model, tea.Cmd) {
	if m.screen != screenReport || msg.from != m.shownShift() {
		return m, nil // an answer for a page no longer shown
	}
	switch {
	case msg.err != nil:
		m.notice = fmt.Sprintf("%s: %v", m.tx.Error, msg.err)
		if m.report == nil {
			m.screen = screenTill
		}
		return m, nil
	case msg.id == 0 && msg.from == 0:
		m.notice, m.screen = m.mtx().ReportNoShift, screenTill
		return m, nil
	case msg.id == 0:
		m.notice = m.mtx().ReportNoEarlier
		m.mgr.note = m.notice
		return m, nil
	}
	if msg.from != 0 {
		m.mgr.pages = append(m.mgr.pages, msg.from)
	}
	m.mgr.shown, m.reportScroll, m.mgr.note = msg.id, scroller{}, ""
	return m.readReport()
}

// pageForward goes back to the shift paged back from.
func (m Model) pageForward() (Model, tea.Cmd) {
	n := len(m.mgr.pages)
	if n == 0 {
		return m, nil
	}
	m.mgr.shown, m.mgr.pages = m.mgr.pages[n-1], m.mgr.pages[:n-1]
	if m.mgr.shown == m.status.shiftID {
		m.mgr.shown = 0
	}
	m.reportScroll, m.mgr.note = scroller{}, ""
	return m.readReport()
}

func (m Model) printReport() (Model, tea.Cmd, bool) {
	f, id, lang := m.o.PrintReport, m.shownShift(), m.tx.Lang
	if f == nil {
		m.notice = m.mtx().PrintUnavailable
		return m, nil, true
	}
	if id == 0 {
		return m, nil, true
	}
	m.notice = m.mtx().Printing
	m.mgr.note = m.notice
	return m, func() tea.Msg { return printedMsg{err: f(id, lang)} }, true
}

func (m Model) printConflict() (Model, tea.Cmd, bool) {
	f, lang := m.o.PrintConflict, m.tx.Lang
	if f == nil {
		m.notice = m.mtx().PrintUnavailable
		return m, nil, true
	}
	if m.mgr.detail == nil {
		return m, nil, true
	}
	id := m.mgr.detail.ID
	m.notice = m.mtx().Printing
	m.mgr.note = m.notice
	return m, func() tea.Msg { return printedMsg{err: f(id, lang)} }, true
}

func (m Model) onPrinted(msg printedMsg) (Model, tea.Cmd) {
	if msg.err != nil {
		m.notice = fmt.Sprintf("%s: %v", m.tx.Error, msg.err)
	} else {
		m.notice = m.mtx().Printed
	}
	m.mgr.note = m.notice // the report and detail screens show it too
	return m, nil
}
