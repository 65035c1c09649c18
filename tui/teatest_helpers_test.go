package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
)

// waitScreen waits, at most within, until the program's output shows
// every one of want (colours stripped); teatest fails the test otherwise.
func waitScreen(t *testing.T, tm *teatest.TestModel, within time.Duration, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		s := ansi.Strip(string(b))
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(within), teatest.WithCheckInterval(10*time.Millisecond))
}

// screenWaiter is waitScreen with its deadline fixed.
func screenWaiter(t *testing.T, tm *teatest.TestModel, within time.Duration) func(want ...string) {
	return func(want ...string) {
		t.Helper()
		waitScreen(t, tm, within, want...)
	}
}
