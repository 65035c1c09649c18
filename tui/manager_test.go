package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// closeRec records closes.
type closeRec struct{ closed *[]uint64 }

func (closeRec) CurrentShift() (uint64, string, bool, error) { return 31, "Wang Fang", true, nil }
func (closeRec) OpenShift(string, time.Time) (uint64, error) { return 32, nil }
func (r closeRec) CloseShift(id uint64, _ time.Time) error  { *r.closed = append(*r.closed, id); return nil }

// drainCmd runs cmd and its batch, returning the messages.
func drainCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, drainCmd(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// personKey is k typed by a person: letters are let through the scan
// gate (input.go) as its pause would.
func personKey(m Model, k tea.KeyMsg) (Model, tea.Cmd) {
	clk := &testClock{t: m.o.Now().Add(time.Second)}
	m.o.Now = clk.now
	mm, cmd := m.Update(k)
	clk.advance(time.Second)
	if k.Type == tea.KeyRunes {
		mm, cmd = mm.(Model).Update(inputFlushMsg{seq: mm.(Model).gate.seq})
	}
	return mm.(Model), cmd
}

// F2 with codes still waiting for WeChat says how many, and y alone does
// not close: F2 again does (the CLI's --force). With none waiting, y closes.
func TestCloseShiftWithPendingNeedsSecondKey(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		var closed []uint64
		m := newTestModel(lang, 80, 24, Options{})
		m.o.Shifts = closeRec{&closed}
		m.status.st.QueueDepth = 3
		m = send(m, press(tea.KeyF2))
		if !strings.Contains(shown(m), "3") || m.dialog.kind != dialogShiftClose {
			t.Fatalf("%s: close dialog does not say 3 pending:\n%s", lang, shown(m))
		}
		m, cmd := personKey(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
		for _, msg := range drainCmd(cmd) {
			m = send(m, msg)
		}
		if len(closed) != 0 || m.dialog.kind != dialogShiftClose || !m.dialog.again {
			t.Fatalf("%s: y closed a shift with pending codes (closed %v, dialog %+v)", lang, closed, m.dialog)
		}
		mustShow(t, m, m.mtx().CloseAgain)
		mm, cmd := m.Update(press(tea.KeyF2))
		m = mm.(Model)
		for _, msg := range drainCmd(cmd) {
			m = send(m, msg)
		}
		if len(closed) != 1 || closed[0] != 31 || m.dialog.kind != dialogNone {
			t.Fatalf("%s: F2 again did not close: %v %+v", lang, closed, m.dialog)
		}
	}
	var closed []uint64
	m := newTestModel("en", 80, 24, Options{})
	m.o.Shifts = closeRec{&closed}
	m = send(m, press(tea.KeyF2))
	_, cmd := personKey(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
	drainCmd(cmd)
	if len(closed) != 1 {
		t.Fatalf("y with nothing pending did not close: %v", closed)
	}
}
