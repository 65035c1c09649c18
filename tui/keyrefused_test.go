package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"cardtill/scanner"
	"cardtill/sync"
)

// TestStatusBarKeyRefused: when the hub refuses this till's terminal key the
// status bar says so in full at 80 columns, in both languages, even with
// the queue, checks and conflicts shown; it goes once a token is had again.
func TestStatusBarKeyRefused(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := newTestModel(lang, 80, 24, Options{ScannerPort: "/dev/ttyACM0"})
		m = send(m, scannerMsg{Kind: scanner.EventConnected, Port: "/dev/ttyACM0"})
		m.status.st = sync.Status{Online: true, LastContact: t0, LastSync: t0, QueueDepth: 12, InDoubt: 2, Conflicts: 3, TerminalKeyRefused: true}
		tx := Catalogue(lang)
		line := m.statusLine(80)
		if w := ansi.StringWidth(line); w > 80 || !strings.Contains(line, tx.KeyRefused) || !strings.Contains(line, tx.Queue+" 12") {
			t.Errorf("%s: %d cells, want the key warning and the queue: %q", lang, w, line)
		}
		m.status.st.TerminalKeyRefused = false
		if line := m.statusLine(80); strings.Contains(line, tx.KeyRefused) {
			t.Errorf("%s: the key warning stayed: %q", lang, line)
		}
	}
}
