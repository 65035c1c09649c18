package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// closeRec records closes.
type closeRec struct{ closed *[]uint64 }

func (closeRec) CurrentShift() (uint64, string, bool, error) { return 31, "Wang Fang", true, nil }
func (closeRec) OpenShift(string, time.Time) (uint64, error) { return 32, nil }
func (r closeRec) CloseShift(id uint64, _ time.Time) error {
	*r.closed = append(*r.closed, id)
	return nil
}

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
	t.Parallel()
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

// fakeConflicts is a journal's conflicts for the detail and resolve hooks.
type fakeConflicts struct {
	resolved map[uint64]*ConflictResolution
	langs    []string
}

func (f *fakeConflicts) detail(id uint64, lang string) (ConflictDetail, error) {
	f.langs = append(f.langs, lang)
	words := map[string]string{"en": "Already used elsewhere", "zh": "已在别处使用"}[lang]
	return ConflictDetail{ID: id, Code: "226009850801", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuXYZ", CardTitle: "Member card 会员卡", Cashier: "Wang Fang", ShiftID: 31,
		ScannedAt: t0.Add(-7 * time.Hour), AcceptedAt: t0.Add(-7 * time.Hour), At: t0.Add(-6 * time.Hour), Refusal: words,
		Feed: map[string]string{"en": "used", "zh": "已核销"}[lang], FeedAt: t0.Add(-5 * time.Hour), Resolution: f.resolved[id]}, nil
}

func (f *fakeConflicts) resolve(id uint64, by, note string) error {
	if f.resolved == nil {
		f.resolved = map[uint64]*ConflictResolution{}
	}
	f.resolved[id] = &ConflictResolution{By: by, At: t0, Note: note}
	return nil
}

// conflictDetailModel is the queue screen on the journal's backlog with
// the second conflict picked (Tab) and opened (Enter).
func conflictDetailModel(m Model) Model {
	f := &fakeConflicts{}
	m.o.Backlog = func(limit int) (Backlog, error) { return journalBacklog(), nil }
	m.o.ConflictDetail, m.o.ResolveConflict = f.detail, f.resolve
	m.status.st.Conflicts = 42
	mm, cmd := m.Update(press(tea.KeyF3))
	m = send(mm.(Model), findMsg[backlogMsg](cmd), press(tea.KeyTab))
	mm, cmd = m.Update(press(tea.KeyEnter))
	return send(mm.(Model), findMsg[conflictMsg](cmd))
}

// On F3 a conflict's row fits 80 columns with its reason in words; Tab
// picks one, Enter shows its detail (code, card, cashier, shift, times,
// what the customer got, WeChat's refusal and the feed), F7 asks who and
// what was done, and the resolution shows at once.
func TestConflictDetailAndResolve(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := newTestModel(lang, 80, 24, Options{})
		f := &fakeConflicts{}
		m.o.Backlog = func(limit int) (Backlog, error) {
			b := journalBacklog()
			for id := range f.resolved {
				if b.Resolved == nil {
					b.Resolved = map[uint64]bool{}
				}
				b.Resolved[id] = true
			}
			return b, nil
		}
		m.o.ConflictDetail, m.o.ResolveConflict = f.detail, f.resolve
		mm, cmd := m.Update(press(tea.KeyF3))
		m = send(mm.(Model), findMsg[backlogMsg](cmd))
		word := map[string]string{"en": "used elsewhere", "zh": "已在别处使用"}[lang]
		for _, l := range strings.Split(shown(m), "\n") {
			if strings.Contains(l, "226009850800") && (!strings.Contains(l, word) || strings.Contains(l, "…")) {
				t.Errorf("%s: conflict row cut or without its reason at 80 columns: %q", lang, l)
			}
		}
		m = send(m, press(tea.KeyTab))
		if m.queue.sel != 1 {
			t.Fatalf("Tab picked %d", m.queue.sel)
		}
		mm, cmd = m.Update(press(tea.KeyEnter))
		m = send(mm.(Model), findMsg[conflictMsg](cmd))
		if m.screen != screenConflict {
			t.Fatalf("%s: Enter did not open the detail", lang)
		}
		mt := m.mtx()
		mustShow(t, m, mt.DetailTitle, "2260 0985 0801", "Member card", "Wang Fang", "#31", mt.DetailGivenText, map[string]string{"en": "Already used elsewhere", "zh": "已在别处使用"}[lang], mt.DetailOpen)
		m = send(m, press(tea.KeyF7))
		if m.dialog.kind != dialogResolve {
			t.Fatalf("%s: F7 did not ask", lang)
		}
		m = send(m, tea.KeyMsg{Type: tea.KeyCtrlU})
		m, _ = personKey(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("店长李")})
		m = send(m, press(tea.KeyEnter))
		m, _ = personKey(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("customer paid 20")})
		mm, cmd = m.Update(press(tea.KeyEnter))
		m = mm.(Model)
		for _, msg := range drainCmd(cmd) {
			m = send(m, msg)
		}
		m = send(m, findMsg[conflictMsg](m.openConflictCmd()))
		if r := f.resolved[999]; r == nil || r.By != "店长李" || r.Note != "customer paid 20" {
			t.Fatalf("%s: resolution %+v", lang, f.resolved)
		}
		mustShow(t, m, "店长李", "customer paid 20", mt.ResolveSaved)
		m = send(m, press(tea.KeyEsc))
		if m.screen != screenQueue {
			t.Fatalf("%s: Esc did not go back to the queue", lang)
		}
		mm, cmd = m.Update(backlogMsg{b: func() Backlog { b, _ := m.o.Backlog(100); return b }()})
		m = mm.(Model)
		_ = cmd
		mustShow(t, m, "✓")
	}
}

// drive sends msgs and runs the commands they return until none is left
// (bounded: a tick would run for ever, and none is asked here).
func drive(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		mm, cmd := m.Update(msg)
		m = mm.(Model)
		for _, next := range drainCmd(cmd) {
			if next != nil {
				m = drive(m, next)
			}
		}
	}
	return m
}

// F4 shows the open shift's X report, ← pages back through the closed
// shifts' Z reports and → forward again; with no shift open it shows the
// last closed one; F9 prints the shown one.
func TestReportPagesAndPrint(t *testing.T) {
	t.Parallel()
	shifts := []uint64{29, 30, 31}
	before := func(id uint64) (uint64, error) {
		for i := len(shifts) - 1; i >= 0; i-- {
			if id == 0 || shifts[i] < id {
				return shifts[i], nil
			}
		}
		return 0, nil
	}
	var printed []uint64
	o := Options{
		ShiftReport: func(id uint64, lang string, width int) (string, error) {
			return fmt.Sprintf("REPORT OF #%d\nbody", id), nil
		},
		ShiftBefore: before,
		PrintReport: func(id uint64, lang string) error { printed = append(printed, id); return nil },
	}
	m := newTestModel("en", 80, 24, o)
	m.status.shiftID = 31
	m = drive(m, press(tea.KeyF4))
	mustShow(t, m, "REPORT OF #31")
	m = drive(m, press(tea.KeyLeft))
	mustShow(t, m, "REPORT OF #30")
	m = drive(m, press(tea.KeyLeft))
	mustShow(t, m, "REPORT OF #29")
	m = drive(m, press(tea.KeyF9))
	if len(printed) != 1 || printed[0] != 29 {
		t.Fatalf("F9 printed %v, want shift 29", printed)
	}
	mustShow(t, m, m.mtx().Printed)
	m = drive(m, press(tea.KeyLeft))
	mustShow(t, m, "REPORT OF #29", m.mtx().ReportNoEarlier)
	m = drive(m, press(tea.KeyRight), press(tea.KeyRight))
	mustShow(t, m, "REPORT OF #31")
	if m.rep.shown != 0 {
		t.Fatalf("back on the open shift, shown %d", m.rep.shown)
	}
	// F2 closed it: F4 shows the last closed shift's report
	m = drive(m, press(tea.KeyEsc))
	m.status.shiftID = 0
	m = drive(m, press(tea.KeyF4))
	mustShow(t, m, "REPORT OF #31")
	m = drive(m, press(tea.KeyLeft))
	mustShow(t, m, "REPORT OF #30")
	// no shift at all
	shifts = nil
	m = drive(m, press(tea.KeyEsc), press(tea.KeyF4))
	if m.screen != screenTill || !strings.Contains(shown(m), m.mtx().ReportNoShift) {
		t.Fatalf("no shift: screen %d\n%s", m.screen, shown(m))
	}
	// a printer that fails says why, and the till goes on
	m.o.PrintReport = func(uint64, string) error { return errors.New("printer /dev/usb/lp0: printer not found") }
	m.status.shiftID = 31
	m = drive(m, press(tea.KeyF4), press(tea.KeyF9))
	mustShow(t, m, "printer not found")
}
