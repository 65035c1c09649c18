package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"cardtill/sync"
)

// TestStatusBarWeChatBusy: WeChat answering busy or over quota is said as
// busy since its first such answer, not online and not unreachable, in
// both languages in the header; it goes when WeChat answers again.
func TestStatusBarWeChatBusy(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := newTestModel(lang, 80, 24, Options{})
		m.status.st = sync.Status{Online: true, LastContact: t0, QueueDepth: 4, WeChatBusy: true, BusySince: t0}
		tx := Catalogue(lang)
		line := m.wechat()
		if w := ansi.StringWidth(line); w > 40 || !strings.Contains(line, tx.WeChatBusy) || strings.Contains(line, tx.WeChatOnline) || strings.Contains(line, tx.WeChatOffline) {
			t.Errorf("%s: %d cells (at most 40), want busy: %q", lang, w, line)
		}
		m.status.st.WeChatBusy = false
		if line := m.wechat(); strings.Contains(line, tx.WeChatBusy) {
			t.Errorf("%s: busy stayed: %q", lang, line)
		}
	}
}
