package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"cardtill/scanner"
	"cardtill/sync"
)

// updating reports -update (the flag is defined by x/exp/golden, which
// teatest imports; it rewrites the golden files in testdata/).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 11, 22, 14, 32, 7, 0, time.UTC)

func newTestModel(lang string, w, h int, o Options) Model {
	o.Lang, o.Now = lang, func() time.Time { return t0 }
	if o.Terminal == "" {
		o.Terminal, o.Cashier = "Store 12 / till-2", "Wang Fang"
	}
	m := New(o)
	m.status.st = sync.Status{Online: true, LastContact: t0, LastSync: t0.Add(-2 * time.Minute)}
	m.status.shiftID = 31
	mm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return mm.(Model)
}

func send(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		mm, _ := m.Update(msg)
		m = mm.(Model)
	}
	return m
}

func outcome(kind sync.OutcomeKind, reason sync.Reason, code, title string) sync.Outcome {
	return sync.Outcome{Kind: kind, Reason: reason, Code: code, CardTitle: title, OpenID: "oZI8fj0PQTQ7mN2", At: t0, ShiftID: 31}
}

func withRecent(m Model) Model {
	for i, o := range []sync.Outcome{
		outcome(sync.Consumed, sync.ReasonOK, "110201201245", "¥5 coupon 满20减5券"),
		outcome(sync.Refused, sync.ReasonAlreadyUsed, "226009850808", "Member card 会员卡"),
	} {
		o.At = t0.Add(time.Duration(i-3) * time.Minute)
		m = send(m, redeemedMsg{out: o})
	}
	return m
}

// goldenStates are every screen and state of the till.
func goldenStates() map[string]func(m Model) Model {
	used := outcome(sync.Refused, sync.ReasonAlreadyUsed, "226009850808", "Member card 会员卡")
	used.Previous = &sync.PreviousUse{At: t0.Add(-87 * time.Minute), Terminal: "till-1"}
	off := outcome(sync.AcceptedOffline, sync.ReasonAcceptedOffline, "110201201246", "满20减5券")
	off.OfflineInShift, off.MaxPerShift = 3, 20
	return map[string]func(m Model) Model{
		"idle": func(m Model) Model { return m },
		"consumed": func(m Model) Model {
			return send(withRecent(m), redeemedMsg{out: outcome(sync.Consumed, sync.ReasonOK, "452998530302", "¥20 off any drink 任意饮品立减20元")})
		},
		"refused-used": func(m Model) Model { return send(withRecent(m), redeemedMsg{out: used}) },
		"offline-accepted": func(m Model) Model {
			m = send(withRecent(m), redeemedMsg{out: off})
			m.status.st = sync.Status{OfflineSince: t0.Add(-6 * time.Minute), LastContact: t0.Add(-6 * time.Minute), LastSync: t0.Add(-9 * time.Minute), QueueDepth: 3,
				OfflineAcceptedInShift: 3, MaxPerShift: 20}
			return m
		},
		"offline-not-a-code": func(m Model) Model {
			bad := outcome(sync.Refused, sync.ReasonOfflineNotACode, "abc", "")
			m = send(withRecent(m), redeemedMsg{out: bad})
			m.status.st = sync.Status{OfflineSince: t0.Add(-2 * time.Minute), LastContact: t0.Add(-2 * time.Minute), LastSync: t0.Add(-9 * time.Minute), MaxPerShift: 20}
			return m
		},
		"offline-limit-reached": func(m Model) Model {
			lim := outcome(sync.Refused, sync.ReasonOfflineShiftLimit, "110201201249", "满20减5券")
			lim.OfflineInShift, lim.MaxPerShift = 20, 20
			m = send(withRecent(m), redeemedMsg{out: lim})
			m.status.st = sync.Status{OfflineSince: t0.Add(-75 * time.Minute), LastContact: t0.Add(-75 * time.Minute), LastSync: t0.Add(-80 * time.Minute), QueueDepth: 20,
				OfflineAcceptedInShift: 20, MaxPerShift: 20}
			return m
		},
		"override-pin": func(m Model) Model {
			m = goldenStates()["offline-limit-reached"](m)
			m.o.Override = &Override{CheckPIN: func(string) (bool, time.Duration) { return false, 0 }, Allow: func(int) (sync.Override, error) { return sync.Override{}, nil }, Default: 10}
			m = send(m, press(tea.KeyF7))
			m.dialog.ov.pin.SetValue("7395") // shown masked
			m.dialog.ov.wrong = true
			return m
		},
		"override-confirm": func(m Model) Model {
			m = goldenStates()["override-pin"](m)
			m = send(m, pinMsg{ok: true})
			return send(m, press(tea.KeyEnter))
		},
		"online-queue-waiting": func(m Model) Model {
			m.status.st.QueueDepth = 2
			return m
		},
		"duplicate": func(m Model) Model {
			return send(withRecent(m), redeemedMsg{out: outcome(sync.Duplicate, sync.ReasonDuplicateRead, "452998530302", "¥20 off any drink")})
		},
		"product-barcode": func(m Model) Model {
			return send(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("6901234567892")}, tea.KeyMsg{Type: tea.KeyEnter})
		},
		"scanner-unplugged": func(m Model) Model {
			m.status.port = "/dev/ttyACM0"
			return send(m, scannerMsg(scanner.Event{Kind: scanner.EventDisconnected, Port: "/dev/ttyACM0"}))
		},
		"help": func(m Model) Model { return send(m, tea.KeyMsg{Type: tea.KeyF1}) },
		"queue": func(m Model) Model {
			m = send(withRecent(m), redeemedMsg{out: off})
			m.status.st.QueueDepth = 1
			return send(m, tea.KeyMsg{Type: tea.KeyF3})
		},
		"quit-queued": func(m Model) Model {
			m.status.st.QueueDepth = 3
			return send(m, tea.KeyMsg{Type: tea.KeyCtrlC})
		},
		"confirm": func(m Model) Model {
			return send(m, confirmAskMsg{out: outcome(sync.Consumed, sync.ReasonOK, "452998530302", "¥20 off any drink 任意饮品立减20元"), reply: make(chan bool, 1)})
		},
		"read-twice": func(m Model) Model {
			m = goldenStates()["consumed"](m)
			return send(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("452998530302")}, tea.KeyMsg{Type: tea.KeyEnter})
		},
		"queued-again": func(m Model) Model {
			again := outcome(sync.Refused, sync.ReasonUsedHere, "110201201246", "满20减5券")
			again.Previous = &sync.PreviousUse{State: sync.StateQueued, At: t0.Add(-12 * time.Minute), Terminal: "till-2"}
			return send(withRecent(m), redeemedMsg{out: again})
		},
		"cleared": func(m Model) Model {
			m = goldenStates()["consumed"](m)
			m.now = t0.Add(DefaultClearAfter) // the answer is 20 s old: back to ready
			return m
		},
		"in-doubt": func(m Model) Model {
			return send(withRecent(m), redeemedMsg{out: outcome(sync.Checking, sync.ReasonInDoubt, "452998530311", "¥20 off any drink")})
		},
		"conflict": func(m Model) Model {
			c := outcome(sync.Conflict, sync.ReasonAlreadyUsed, "110201201246", "满20减5券")
			c.Errcode = 40099
			return send(withRecent(m), redeemedMsg{out: c})
		},
		"header-long-store": func(m Model) Model {
			m.status.terminal = "Store 12 Nanjing West Road 南京西路旗舰店 / till-2"
			m.status.cashier = "Wang Fang 王芳"
			m.status.st = sync.Status{OfflineSince: t0.Add(-12 * time.Minute), LastContact: t0.Add(-12 * time.Minute), MaxPerShift: 20, OfflineAcceptedInShift: 3}
			return m
		},
		"settled-in-doubt": func(m Model) Model {
			d := outcome(sync.Checking, sync.ReasonInDoubt, "452998530311", "¥20 off any drink")
			d.ID = 7
			m = send(withRecent(m), redeemedMsg{out: d})
			d.Kind, d.State, d.Reason = sync.Consumed, sync.StateConsumed, sync.ReasonConfirmedByQuery
			return send(m, updateMsg(d))
		},
		"settled-conflict": func(m Model) Model {
			o := outcome(sync.AcceptedOffline, sync.ReasonAcceptedOffline, "110201201246", "满20减5券")
			o.ID = 8
			m = send(withRecent(m), redeemedMsg{out: o})
			o.Kind, o.State, o.Reason, o.Errcode = sync.Conflict, sync.StateConflict, sync.ReasonAlreadyUsed, 40099
			return send(m, updateMsg(o))
		},
		"settled-queue": func(m Model) Model {
			m = goldenStates()["settled-conflict"](m)
			return send(m, press(tea.KeyF3))
		},
		"confirm-cancelled": func(m Model) Model {
			c := outcome(sync.Refused, sync.ReasonCancelled, "452998530302", "¥20 off any drink 任意饮品立减20元")
			return send(withRecent(m), redeemedMsg{out: c})
		},
		"shift-close": func(m Model) Model {
			m.o.Shifts = fakeShifts{}
			return send(m, tea.KeyMsg{Type: tea.KeyF2})
		},
		"shift-report": func(m Model) Model {
			m.o.ShiftReport = func(id uint64, lang string, width int) (string, error) {
				return fmt.Sprintf("X %d %s\nConsumed online 41 / 在线核销 41\n14 ████████ 12\n15 ██ 3", id, lang), nil
			}
			mm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyF4})
			return send(mm.(Model), cmd())
		},
		"shift-report-long":          func(m Model) Model { return longReport(m) },
		"shift-report-long-scrolled": func(m Model) Model { return send(longReport(m), press(tea.KeyPgDown), press(tea.KeyDown)) },
		"shift-report-long-end":      func(m Model) Model { return send(longReport(m), press(tea.KeyEnd)) },
		"conflict-detail":            func(m Model) Model { return conflictDetailModel(m) },
		"conflict-resolve": func(m Model) Model {
			m = conflictDetailModel(m)
			mm, _ := m.Update(press(tea.KeyF7))
			return mm.(Model)
		},
		"queue-journal": func(m Model) Model {
			m.o.Backlog = func(limit int) (Backlog, error) { return journalBacklog(), nil }
			m.o.AckConflicts = func() error { return nil }
			m.keys.Ack.SetEnabled(true)
			m.status.st.QueueDepth, m.status.st.InDoubt, m.status.st.Conflicts = 3, 1, 42
			mm, cmd := m.Update(press(tea.KeyF3))
			return send(mm.(Model), findMsg[backlogMsg](cmd))
		},
		"queue-journal-scrolled": func(m Model) Model {
			m = goldenStates()["queue-journal"](m)
			return send(m, press(tea.KeyPgDown))
		},
		"queue-journal-end": func(m Model) Model {
			m = goldenStates()["queue-journal"](m)
			return send(m, press(tea.KeyEnd))
		},
		"status-crowded": func(m Model) Model {
			m.status.port = "/dev/ttyACM0"
			m = send(withRecent(m), scannerMsg(scanner.Event{Kind: scanner.EventConnected, Port: "/dev/ttyACM0"}))
			m.status.st = sync.Status{Online: true, LastContact: t0, LastSync: t0.Add(-time.Minute), QueueDepth: 12, InDoubt: 2,
				Conflicts: 3, Syncing: true, JournalUse: 0.92, JournalNearlyFull: true}
			return m
		},
		"notice": func(m Model) Model {
			return send(withRecent(m), noticeMsg{Event: "card_sku_remind", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", Detail: "the card's stock is below 100", At: t0.Add(-time.Minute)})
		},
		"demo": func(m Model) Model {
			m.o.Demo = []DemoCode{{"100000000001", "NORMAL"}, {"100000000010", "CONSUMED"}, {"199999999999", "unknown 40056"}}
			return withRecent(m)
		},
	}
}

type fakeShifts struct{}

func (fakeShifts) CurrentShift() (uint64, string, bool, error) { return 31, "Wang Fang", true, nil }
func (fakeShifts) OpenShift(string, time.Time) (uint64, error) { return 32, nil }
func (fakeShifts) CloseShift(uint64, time.Time) error          { return nil }

func TestGolden(t *testing.T) {
	t.Parallel()
	sizes := []struct{ w, h int }{{80, 24}, {120, 32}, {160, 45}}
	for name, build := range goldenStates() {
		for _, lang := range []string{"en", "zh"} {
			for _, sz := range sizes {
				file := fmt.Sprintf("%s-%s-%dx%d.golden", name, lang, sz.w, sz.h)
				t.Run(file, func(t *testing.T) {
					view := build(newTestModel(lang, sz.w, sz.h, Options{})).View()
					got := ansi.Strip(view)
					checkFits(t, got, sz.w, sz.h)
					path := filepath.Join("testdata", file)
					if updating() {
						if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (run go test ./tui -run TestGolden -update)", err)
					}
					if got != string(want) {
						t.Errorf("view differs from %s (-update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
					}
				})
			}
		}
	}
}

// checkFits fails when the screen is taller or wider than the terminal,
// measuring cells (wide characters count two), never bytes.
func checkFits(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := splitLines(s)
	if len(lines) != h {
		t.Errorf("%d lines, want exactly %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d cells wide (> %d): %q", i+1, lw, w, l)
		}
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func press(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }

// findMsg runs cmd (and what it batches) until one gives a T.
func findMsg[T tea.Msg](cmd tea.Cmd) T {
	t, _ := lookFor[T](cmd)
	return t
}

func lookFor[T tea.Msg](cmd tea.Cmd) (T, bool) {
	var zero T
	if cmd == nil {
		return zero, false
	}
	switch msg := cmd().(type) {
	case T:
		return msg, true
	case tea.BatchMsg:
		for _, c := range msg {
			if t, ok := lookFor[T](c); ok {
				return t, true
			}
		}
	}
	return zero, false
}

// longReportText is a shift report longer than any terminal: counts, 24
// hours of bars, cards and a long conflicts list, as report.Text lays one
// out.
func longReportText(id uint64, lang string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "X report · shift #%d · %s · Wang Fang 王芳\n", id, lang)
	b.WriteString("Consumed online 在线核销            412\nAccepted offline 离线受理           37\nConflicts 冲突                      12\nRefused 拒绝                        25\n")
	for h := range 24 {
		fmt.Fprintf(&b, "%02d %s %d\n", h, strings.Repeat("█", (h*7)%30), (h*7)%30)
	}
	for i := range 12 {
		fmt.Fprintf(&b, "conflict 冲突 %02d  4529 9853 %04d  13:%02d  40099 already used 已核销\n", i+1, 300+i, 10+i)
	}
	b.WriteString("end of report 报表结束\n")
	return b.String()
}

func longReport(m Model) Model {
	m.o.ShiftReport = func(id uint64, lang string, width int) (string, error) { return longReportText(id, lang), nil }
	mm, cmd := m.Update(press(tea.KeyF4))
	return send(mm.(Model), cmd())
}

// journalBacklog is a journal's backlog with items of earlier days (before
// a restart) and more conflicts than fit.
func journalBacklog() Backlog {
	var b Backlog
	q := outcome(sync.AcceptedOffline, sync.ReasonAcceptedOffline, "110201201246", "满20减5券 ¥5 off")
	q.At = t0.Add(-26 * time.Hour)
	c := outcome(sync.Checking, sync.ReasonInDoubt, "452998530311", "¥20 off any drink")
	c.At = t0.Add(-3 * time.Minute)
	q2 := q
	q2.Code, q2.At = "110201201247", t0.Add(-2*time.Minute)
	b.Waiting = []sync.Outcome{q2, c, q}
	b.WaitingTotal = 3
	for i := range 30 { // the latest 30 of 42
		o := outcome(sync.Conflict, sync.ReasonAlreadyUsed, fmt.Sprintf("2260098508%02d", i), "Member card 会员卡")
		o.ID, o.Errcode, o.At = uint64(1000-i), 40099, t0.Add(-time.Duration(i)*7*time.Hour)
		if i%3 == 1 {
			o.Reason, o.Errcode = sync.ReasonExpired, 0
			o.ValidUntil = o.At.Add(-time.Hour)
		}
		b.Conflicts = append(b.Conflicts, o)
	}
	b.ConflictsTotal = 42
	b.Unseen, b.New = 2, map[uint64]bool{1000: true, 999: true}
	for i := range 3 { // the latest 3 of 5 consumed as confirmed by a query
		o := outcome(sync.Consumed, sync.ReasonConfirmedByQuery, fmt.Sprintf("4529985303%02d", 20-i), "¥20 off any drink")
		o.ID, o.At = uint64(2000-i), t0.Add(-time.Duration(i*5+1)*time.Minute)
		b.Queried = append(b.Queried, o)
	}
	b.QueriedTotal = 5
	return b
}
