package tui

import (
	"slices"
	"time"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"

	"cardtill/scanner"
)

// Input routing: a scan is a scan wherever the focus is.
//
// A keyboard-wedge scanner types a code as keys a few milliseconds apart
// and ends it with Enter; a person types a key every 50 ms or more. The
// rule: a run of at least scanMinLen characters, each within the scan gap
// ([ui] scan_gap, DefaultScanGap) of the one before, ended by Enter within
// the gap, is a scan. Characters that arrive in one read (several runes in
// one key message) count as arriving together. A scan is never an answer
// to a dialog: the dialog closes unanswered and the scan is served.
//
// Outside a dialog, keys are typed into the entry line as they come, and
// Enter submits the whole line, scanned or typed: both are redeemed the
// same way, and a line is never split at a pause.
//
// Inside a dialog, characters are held back until they cannot be the start
// of a scan: a pause of the gap with no key (inputFlushMsg), or a key a
// scanner does not send (an F-key, Esc, an arrow). Then they reach the
// dialog as typed. A held run of scanMinLen characters or more typed at
// scanner speed is a scan even when its Enter comes late or never (a
// scanner set up without an Enter suffix), since no person types that fast.
// So a custom code that contains y or n never answers "y quit · n stay".

// DefaultScanGap is the longest pause between two keys of a wedge
// scanner's code: scanners type a character every 1–10 ms, people every
// 50 ms or more.
const DefaultScanGap = 30 * time.Millisecond

// scanMinLen is the shortest run of characters taken as a scan: shorter
// runs ended quickly by Enter are a person's (the last letter of a name and
// Enter pressed together).
const scanMinLen = 4

// keyGate times the keys to tell a scanner from a person.
type keyGate struct {
	gap time.Duration
	// last is when the last character came; run are the characters since
	// the last pause longer than gap (the scan being typed, if any).
	last time.Time
	run  []rune
	keys int // key messages in run (an input method commits many runes in one)
	// held are the keys kept from an open dialog until they cannot be
	// part of a scan; seq numbers the keys so a flush knows it is current.
	held []tea.KeyMsg
	seq  int
}

func (g *keyGate) reset() { g.run, g.keys = g.run[:0], 0 }

// inputFlushMsg asks to deliver the keys held from a dialog, if no key came
// since key seq.
type inputFlushMsg struct{ seq int }

// scanning reports whether the run is a scan: long enough, and now within
// the gap of its last character.
func (g keyGate) scanning(now time.Time) bool {
	return g.codeLike() && !g.last.IsZero() && now.Sub(g.last) <= g.gap
}

// codeLike reports whether the run can be a code: long enough and without
// spaces (no coupon code has one; a name does).
func (g keyGate) codeLike() bool {
	return len(g.run) >= scanMinLen && !slices.ContainsFunc(g.run, unicode.IsSpace)
}

func (m Model) flushAfter(seq int) tea.Cmd {
	return tea.Tick(m.gate.gap, func(time.Time) tea.Msg { return inputFlushMsg{seq: seq} })
}

// onKeyMsg is every key: it times the key, serves a scan, and hands the
// rest to the dialog or the screen.
func (m Model) onKeyMsg(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	now := m.o.Now()
	g := &m.gate
	switch {
	case k.Type == tea.KeyRunes && !k.Paste:
		if g.last.IsZero() || now.Sub(g.last) > g.gap {
			g.reset()
		}
		g.run = append(g.run, k.Runes...)
		g.keys++
		g.last = now
		if m.dialog.kind != dialogNone {
			g.held = append(g.held, k)
			g.seq++
			return m, m.flushAfter(g.seq)
		}
		return m.onKey(k)
	case k.Type == tea.KeyEnter && !k.Alt:
		if g.scanning(now) && m.dialog.kind != dialogNone {
			return m.keyboardScan()
		}
		mm, cmd := m.flushHeld()
		if mm.dialog.kind == dialogConfirm && len(g.run) > 0 && now.Sub(g.last) <= g.gap {
			// Enter at scanner speed after a few characters: not the
			// cashier's Enter alone, so never a yes to the consume.
			mm.gate.reset()
			return mm, cmd
		}
		mm.gate.reset()
		next, cmd2 := mm.routeKey(k)
		return next, tea.Batch(cmd, cmd2)
	}
	// A key no scanner sends (F-keys, Esc, arrows, Backspace, Ctrl+…),
	// or a paste: what was held is a person's typing.
	mm, cmd := m.flushHeld()
	mm.gate.reset()
	next, cmd2 := mm.routeKey(k)
	return next, tea.Batch(cmd, cmd2)
}

// routeKey hands a key to the open dialog or to the screen.
func (m Model) routeKey(k tea.KeyMsg) (Model, tea.Cmd) {
	var mm tea.Model
	var cmd tea.Cmd
	if m.dialog.kind != dialogNone {
		mm, cmd = m.updateDialog(k)
	} else {
		mm, cmd = m.onKey(k)
	}
	return mm.(Model), cmd
}

// onInputFlush delivers the keys held from a dialog after a pause: a
// person's keys go to the dialog; a run typed at scanner speed is a scan.
func (m Model) onInputFlush(msg inputFlushMsg) (tea.Model, tea.Cmd) {
	g := &m.gate
	if msg.seq != g.seq || len(g.held) == 0 {
		return m, nil
	}
	if m.o.Now().Sub(g.last) <= g.gap {
		// the clock says a key came less than the gap ago: look again
		return m, m.flushAfter(g.seq)
	}
	if g.codeLike() && g.keys > 1 && m.dialog.kind != dialogNone {
		// typed key by key at scanner speed, with no Enter (a scanner
		// without the suffix); one message of many runes is an input
		// method's commit, a person's
		return m.keyboardScan()
	}
	return m.flushHeld()
}

// flushHeld delivers the held keys, in order, as typed by a person.
func (m Model) flushHeld() (Model, tea.Cmd) {
	held := m.gate.held
	m.gate.held = nil
	var cmds []tea.Cmd
	for _, k := range held {
		var cmd tea.Cmd
		m, cmd = m.routeKey(k)
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

// keyboardScan serves the run typed while a dialog was open as a scan:
// the dialog closes without an answer and the code goes to the engine.
func (m Model) keyboardScan() (tea.Model, tea.Cmd) {
	code := string(m.gate.run)
	m.gate.reset()
	m.gate.held = nil
	m, cmd := m.dismissDialog()
	mm, scan := m.submit(scanner.KeyboardScan(code))
	return mm, tea.Batch(cmd, scan)
}

// dismissDialog closes the open dialog without answering it, for a scan:
// a waiting confirmation is cancelled (nothing consumed, and its answer
// does not take the panel from the new scan), quit and the shift dialogs
// close as if the cashier said no.
func (m Model) dismissDialog() (Model, tea.Cmd) {
	if m.dialog.kind == dialogConfirm {
		m.dialog.confirm.reply <- false
		if m.superseded == nil {
			m.superseded = map[string]int{}
		}
		m.superseded[m.dialog.confirm.out.Code]++
	}
	return m.closeDialog(), nil
}
