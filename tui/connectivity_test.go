package tui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"cardtill/tui/demo"
)

// With no scan, the status bar knows WeChat answers within 5 s of the
// start; WeChat going down while the till is idle shows the outage banner
// within one probe interval, and its end clears it.
func TestTeatestConnectivityWithoutScans(t *testing.T) {
	t.Parallel()
	const every = 300 * time.Millisecond
	till, err := demo.Start(demo.Options{Interval: time.Hour, ProbeInterval: every})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(till.Close)
	m := New(Options{Engine: till.Engine, Shifts: till.Journal, Lang: "en", StatusC: till.StatusC, Terminal: "till-2", Cashier: "Wang Fang"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitFor := func(within time.Duration, want ...string) {
		t.Helper()
		waitScreen(t, tm, within, want...)
	}
	waitFor(5*time.Second, "● WeChat online")
	till.WeChat.SetOutage(true)
	// one interval, plus the cashier's timeout of the failing probe and
	// the screen's one-second status read as slack
	waitFor(every+3*time.Second, "WeChat OFFLINE for 0 min", "can be accepted offline this shift")
	till.WeChat.SetOutage(false)
	waitFor(every+3*time.Second, "● WeChat online")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
