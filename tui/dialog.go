package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

type dialogKind int

const (
	dialogNone dialogKind = iota
	dialogQuit
	dialogConfirm
	dialogShiftOpen
	dialogShiftClose
	dialogResolve  // a conflict's resolution: who, then what (conflict.go)
	dialogOverride // the manager's override of the offline limit (override.go)
)

// dialog is the modal on top of the till: quit, confirm-before-consume,
// shift open/close. It has its own update.
type dialog struct {
	kind    dialogKind
	confirm confirmReq
	name    textinput.Model
	// pending is how many codes waited for WeChat when the close dialog
	// opened; with any, y asks for F2 again (again), as the CLI's --force.
	pending int
	again   bool
	// note and onNote: the resolve dialog's second field, and whether it
	// has the keys.
	note   textinput.Model
	onNote bool
	// ov is the override dialog's state.
	ov overrideDialog
}

func (m Model) startShiftDialog() (tea.Model, tea.Cmd) {
	if m.o.Shifts == nil {
		m.notice = m.tx.ShiftsUnavailable
		return m, nil
	}
	if m.status.shiftID != 0 {
		if m.dialog.kind == dialogShiftClose && m.dialog.again { // F2 again: close with pending
			return m.closeShift()
		}
		m.dialog = dialog{kind: dialogShiftClose, pending: m.status.st.QueueDepth}
		return m, nil
	}
	in := textinput.New()
	in.CharLimit = 40
	in.SetValue(m.status.cashier)
	in.Focus()
	m.input.Blur()
	m.dialog = dialog{kind: dialogShiftOpen, name: in}
	return m, textinput.Blink
}

func (m Model) closeDialog() Model {
	m.dialog = dialog{}
	m.input.Focus()
	return m
}

// updateDialog handles a person's keys while a dialog is open (a scan
// never reaches it: input.go). Enter is never a yes to quit or to close
// the shift; in the confirm dialog only Enter pressed on its own consumes.
func (m Model) updateDialog(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	d := m.dialog
	switch d.kind {
	case dialogQuit:
		switch {
		case key.Matches(k, m.keys.Yes), key.Matches(k, m.keys.Quit):
			return m, tea.Quit
		case key.Matches(k, m.keys.No):
			return m.closeDialog(), nil
		case k.Type == tea.KeyRunes:
			// typing a code by hand: stay, and the key goes to the line
			return m.closeDialog().onKey(k)
		}
	case dialogConfirm:
		switch {
		case key.Matches(k, m.keys.Submit):
			d.confirm.reply <- true
			return m.closeDialog(), nil
		case key.Matches(k, m.keys.Cancel):
			d.confirm.reply <- false
			return m.closeDialog(), nil
		}
	case dialogShiftClose:
		switch {
		case key.Matches(k, m.keys.Shift) && d.again:
			return m.closeShift()
		case key.Matches(k, m.keys.Yes):
			if d.pending > 0 { // the explicit second key is F2
				m.dialog.again = true
				return m, nil
			}
			return m.closeShift()
		case key.Matches(k, m.keys.No):
			return m.closeDialog(), nil
		case k.Type == tea.KeyRunes:
			return m.closeDialog().onKey(k) // keep it open; typing goes to the line
		}
	case dialogResolve:
		return m.updateResolve(k)
	case dialogOverride:
		return m.updateOverride(k)
	case dialogShiftOpen:
		switch {
		case key.Matches(k, m.keys.Submit):
			name := strings.TrimSpace(d.name.Value())
			if name == "" {
				return m, nil
			}
			s, now := m.o.Shifts, m.o.Now()
			return m.closeDialog(), openShift(s, name, now)
		case key.Matches(k, m.keys.Cancel):
			return m.closeDialog(), nil
		}
		var cmd tea.Cmd
		m.dialog.name, cmd = d.name.Update(k)
		return m, cmd
	}
	return m, nil
}

// closeShift closes the open shift in a command.
func (m Model) closeShift() (tea.Model, tea.Cmd) {
	s, id, now := m.o.Shifts, m.status.shiftID, m.o.Now()
	return m.closeDialog(), func() tea.Msg {
		err := s.CloseShift(id, now)
		return shiftMsg{id: id, closed: err == nil, err: err}
	}
}

func openShift(s Shifts, name string, now time.Time) tea.Cmd {
	return func() tea.Msg {
		id, err := s.OpenShift(name, now)
		return shiftMsg{id: id, cashier: name, open: err == nil, opened: err == nil, err: err}
	}
}
