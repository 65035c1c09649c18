package tui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"cardtill/sync"
)

// On a console that cannot draw Chinese the screen is ASCII only, every
// line as wide as before, in English, and it says why once.
func TestASCIIConsole(t *testing.T) {
	t.Parallel()
	m := newTestModel("en", 80, 24, Options{ASCII: true})
	m = send(withRecent(m), redeemedMsg{out: outcome(sync.Consumed, sync.ReasonOK, "452998530302", "¥20 off any drink 任意饮品立减20元")})
	v := m.View()
	plain := ansi.Strip(v)
	for i, r := range plain {
		if r >= utf8.RuneSelf {
			t.Fatalf("non-ASCII %q at %d:\n%s", r, i, plain)
		}
	}
	checkFits(t, plain, 80, 24)
	u := newTestModel("en", 80, 24, Options{})
	u.notice = ConsoleNotice
	u = send(withRecent(u), redeemedMsg{out: outcome(sync.Consumed, sync.ReasonOK, "452998530302", "¥20 off any drink 任意饮品立减20元")})
	ul, al := strings.Split(ansi.Strip(u.View()), "\n"), strings.Split(plain, "\n")
	for i := range ul {
		if ansi.StringWidth(ul[i]) != ansi.StringWidth(al[i]) {
			t.Errorf("line %d changed width: %q -> %q", i+1, ul[i], al[i])
		}
	}
	fresh := newTestModel("en", 80, 24, Options{ASCII: true})
	if !strings.Contains(ansi.Strip(fresh.View()), "cannot draw Chinese") {
		t.Errorf("no notice:\n%s", ansi.Strip(fresh.View()))
	}
	if got := asciiOnly("\x1b[1m✔ 满\x1b[0m"); got != "\x1b[1mv ??\x1b[0m" {
		t.Errorf("asciiOnly kept escapes wrong: %q", got)
	}
}
