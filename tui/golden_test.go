package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
			m.status.st = sync.Status{OfflineSince: t0.Add(-6 * time.Minute), LastContact: t0.Add(-6 * time.Minute), LastSync: t0.Add(-9 * time.Minute), QueueDepth: 3}
			return m
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
	sizes := []struct{ w, h int }{{80, 24}, {120, 32}}
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
