package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
)

// F9 prints what is shown: on F4 the shift's report (report_screen.go), on
// a conflict's detail a slip of it (Options.PrintConflict). Both answer with
// a printedMsg.

type printedMsg struct{ err error }

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
	m.mgr.note, m.rep.note = m.notice, m.notice // the report and detail screens show it too
	return m, nil
}
