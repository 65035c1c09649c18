package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"cardtill/sync"
)

// The manager's override of the offline limit (issue 16). At the shift's
// limit ([offline] max_per_shift) the refusal says F7 lets a manager allow
// more: F7 opens a dialog that asks for the manager's PIN (masked: the
// field shows one * per digit and the model keeps the PIN only until
// Enter sends it to Override.CheckPIN, never in the view), then how many
// more (Override.Default unless the manager types another number), then
// asks to confirm; Enter confirms and Override.Allow journals it. Esc
// cancels at any step. A scan while the dialog is open is a scan (input.go):
// the dialog closes unanswered, whatever was typed is dropped, and the
// scan is served. Wrong PINs: CheckPIN (pin.Guard) pauses after three.

// Override is the manager's override of the offline limit; nil in
// Options when none is configured (F7 then does nothing on the till).
type Override struct {
	// CheckPIN checks a manager PIN: ok, or, when not, how long the next
	// try must wait (0: try again now). It may take some 50 ms (argon2id)
	// and runs in a command.
	CheckPIN func(pin string) (ok bool, wait time.Duration)
	// Allow journals that the manager allows extra more offline
	// acceptances in the open shift (sync.Engine.OverrideOfflineLimit).
	Allow func(extra int) (sync.Override, error)
	// Default is how many more the dialog offers.
	Default int
}

var keyOverride = key.NewBinding(key.WithKeys("f7"), key.WithHelp("F7", "override"))

// overrideStep is where the override dialog is.
type overrideStep int

const (
	ovPIN overrideStep = iota
	ovCount
	ovConfirm
)

// overrideDialog is the override dialog's state, in dialog.
type overrideDialog struct {
	step     overrideStep
	pin      textinput.Model
	count    textinput.Model
	extra    int
	checking bool      // the PIN is being checked
	wrong    bool      // the last PIN was wrong
	until    time.Time // no PIN is checked before this (pause after wrong PINs)
	wait     time.Duration
	problem  string // a bad number
}

type (
	pinMsg struct {
		ok   bool
		wait time.Duration
	}
	overrideMsg struct {
		o   sync.Override
		err error
	}
)

// overrideOffered reports whether F7 opens the override on the till: one
// is configured, a shift is open, and the panel shows the refusal at the
// limit or the status says the shift is at it.
func (m Model) overrideOffered() bool {
	if m.o.Override == nil || m.screen != screenTill || m.status.shiftID == 0 {
		return false
	}
	if r := m.result; r.shown && r.err == nil && r.out.Kind == sync.Refused && r.out.Reason == sync.ReasonOfflineShiftLimit {
		return true
	}
	st := m.status.st
	return st.MaxPerShift >= 0 && st.OfflineAcceptedInShift >= st.MaxPerShift && !st.Online
}

func (m Model) startOverride() (tea.Model, tea.Cmd) {
	in := textinput.New()
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '*'
	in.CharLimit = 12
	in.Prompt = "> "
	in.Focus()
	m.input.Blur()
	m.dialog = dialog{kind: dialogOverride, ov: overrideDialog{pin: in}}
	return m, textinput.Blink
}

// updateOverride is the override dialog's keys (a person's: a scan never
// reaches it).
func (m Model) updateOverride(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	d := &m.dialog.ov
	if key.Matches(k, m.keys.Cancel) {
		return m.closeDialog(), nil
	}
	switch d.step {
	case ovPIN:
		if key.Matches(k, m.keys.Submit) {
			p := strings.TrimSpace(d.pin.Value())
			d.pin.Reset() // the PIN leaves the model here
			if p == "" || d.checking {
				return m, nil
			}
			if w := d.until.Sub(m.o.Now()); w > 0 {
				d.wait = w // paused: the dialog says how long
				return m, nil
			}
			d.checking, d.wrong, d.wait = true, false, 0
			check := m.o.Override.CheckPIN
			return m, func() tea.Msg { ok, wait := check(p); return pinMsg{ok: ok, wait: wait} }
		}
		if k.Type == tea.KeyRunes && strings.ContainsFunc(string(k.Runes), func(r rune) bool { return r < '0' || r > '9' }) {
			return m, nil // a PIN is digits
		}
		var cmd tea.Cmd
		d.pin, cmd = d.pin.Update(k)
		return m, cmd
	case ovCount:
		if key.Matches(k, m.keys.Submit) {
			n, err := strconv.Atoi(strings.TrimSpace(d.count.Value()))
			if err != nil || n < 1 || n > sync.MaxOverrideExtra {
				d.problem = fmt.Sprintf(m.mtx().OverrideBadCountFmt, sync.MaxOverrideExtra)
				return m, nil
			}
			d.extra, d.step, d.problem = n, ovConfirm, ""
			d.count.Blur()
			return m, nil
		}
		var cmd tea.Cmd
		d.count, cmd = d.count.Update(k)
		return m, cmd
	case ovConfirm:
		if key.Matches(k, m.keys.Submit) {
			allow, n := m.o.Override.Allow, d.extra
			return m.closeDialog(), func() tea.Msg { o, err := allow(n); return overrideMsg{o: o, err: err} }
		}
	}
	return m, nil
}

func (m Model) onPIN(msg pinMsg) (tea.Model, tea.Cmd) {
	if m.dialog.kind != dialogOverride || m.dialog.ov.step != ovPIN {
		return m, nil // the dialog was closed meanwhile (Esc, a scan)
	}
	d := &m.dialog.ov
	d.checking = false
	if !msg.ok {
		d.wrong = true
		if msg.wait > 0 {
			d.until, d.wait = m.o.Now().Add(msg.wait), msg.wait
		}
		return m, nil
	}
	in := textinput.New()
	in.CharLimit = 4
	in.Prompt = "> "
	in.SetValue(strconv.Itoa(max(1, m.o.Override.Default)))
	in.Focus()
	d.pin.Blur()
	d.step, d.count, d.wrong, d.until, d.wait = ovCount, in, false, time.Time{}, 0
	return m, textinput.Blink
}

func (m Model) onOverride(msg overrideMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		m.notice = fmt.Sprintf("%s: %v", m.tx.Error, msg.err)
		return m, nil
	}
	m.notice = fmt.Sprintf(m.mtx().OverrideDoneFmt, msg.o.Extra, msg.o.Limit+msg.o.Extra)
	return m, m.refreshStatus()
}

func (m Model) overrideDialogLines() []string {
	mt, d := m.mtx(), m.dialog.ov
	st := m.status.st
	lines := []string{m.st.Warn.Render(mt.OverrideTitle), fmt.Sprintf(mt.OverrideAtFmt, st.OfflineAcceptedInShift, st.MaxPerShift)}
	switch d.step {
	case ovPIN:
		lines = append(lines, mt.OverridePINAsk, d.pin.View())
		switch {
		case d.checking:
			lines = append(lines, m.st.Muted.Render(mt.OverrideChecking))
		case d.wait > 0:
			lines = append(lines, m.st.Bad.Render(fmt.Sprintf(mt.OverridePausedFmt, int((d.wait+time.Second-1)/time.Second))))
		case d.wrong:
			lines = append(lines, m.st.Bad.Render(mt.OverrideWrongPIN))
		}
	case ovCount:
		lines = append(lines, mt.OverrideCountAsk, d.count.View())
		if d.problem != "" {
			lines = append(lines, m.st.Bad.Render(d.problem))
		}
	case ovConfirm:
		lines = append(lines, m.st.Bold.Render(fmt.Sprintf(mt.OverrideConfirmFmt, d.extra, st.MaxPerShift, st.MaxPerShift+d.extra)), mt.OverrideConfirmKeys)
	}
	return lines
}
