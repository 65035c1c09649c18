package tui

import (
	"strings"
	"testing"
)

// The status bar warns when the journal is nearly full, in both languages,
// and says nothing otherwise.
func TestStatusJournalNearlyFull(t *testing.T) {
	t.Parallel()
	for lang, want := range map[string]string{"en": "journal 85% full", "zh": "本地存储已用 85%"} {
		m := newTestModel(lang, 200, 24, Options{})
		m.status.st.JournalUse = 0.85
		if s := m.statusLine(200); strings.Contains(s, want) {
			t.Fatalf("%s: warns below the threshold: %q", lang, s)
		}
		m.status.st.JournalNearlyFull = true
		if s := m.statusLine(200); !strings.Contains(s, want) {
			t.Fatalf("%s: nearly full journal, status says %q", lang, s)
		}
	}
}
