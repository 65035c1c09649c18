package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"cardtill/pin"
	"cardtill/sync"
)

// testPIN is the manager's PIN in these tests; no code or text on the
// screen contains it, so finding it on screen means the PIN leaked.
const testPIN = "7395"

// limitEngine accepts codes offline up to its limit plus what managers
// allowed, then refuses them at the limit, as the engine does.
type limitEngine struct {
	mu       stdsync.Mutex
	limit    int
	extra    int
	accepted int
	scanned  []string
	allowed  []int
}

func (e *limitEngine) Redeem(_ context.Context, r sync.Request) (sync.Outcome, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scanned = append(e.scanned, r.Code)
	o := outcome(sync.AcceptedOffline, sync.ReasonAcceptedOffline, r.Code, "¥20 off any drink")
	o.State = sync.StateQueued
	if e.accepted >= e.limit+e.extra {
		o.Kind, o.Reason, o.State = sync.Refused, sync.ReasonOfflineShiftLimit, sync.StateRejected
	} else {
		e.accepted++
	}
	o.OfflineInShift, o.MaxPerShift = e.accepted, e.limit+e.extra
	return o, nil
}

func (e *limitEngine) Status() sync.Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return sync.Status{OfflineSince: t0.Add(-time.Hour), ShiftID: 31, MaxPerShift: e.limit + e.extra, OfflineAcceptedInShift: e.accepted, OfflineOverride: e.extra}
}

func (e *limitEngine) SyncNow() {}

func (e *limitEngine) allow(n int) (sync.Override, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := sync.Override{ShiftID: 31, By: "manager", Extra: n, Limit: e.limit + e.extra, At: t0}
	e.extra += n
	e.allowed = append(e.allowed, n)
	return o, nil
}

func (e *limitEngine) lists() (scanned []string, allowed []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.scanned...), append([]int(nil), e.allowed...)
}

// countingGuard is a real pin.Guard on the test clock that counts the PINs
// it was asked to check.
type countingGuard struct {
	g  *pin.Guard
	mu stdsync.Mutex
	n  int
}

func (c *countingGuard) try(p string) (bool, time.Duration) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.g.Try(p)
}

func (c *countingGuard) tries() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func overrideRig(t *testing.T, lang string, limit int) (*rig, *limitEngine, *countingGuard) {
	t.Helper()
	h, err := pin.HashWith(testPIN, pin.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := &limitEngine{limit: limit}
	r := newRig(t, Options{Engine: e})
	if lang != "en" {
		r.m = newTestModel(lang, 80, 24, Options{Engine: e})
		r.m.o.Now = r.clock.now
	}
	g, err := pin.NewGuard(h, r.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	cg := &countingGuard{g: g}
	r.m.o.Override = &Override{CheckPIN: cg.try, Allow: e.allow, Default: 10}
	r.m.status.st = e.Status()
	return r, e, cg
}

// noPIN fails when the screen shows the PIN.
func noPIN(t *testing.T, m Model) {
	t.Helper()
	if s := shown(m); strings.Contains(s, testPIN) {
		t.Fatalf("the PIN is on screen:\n%s", s)
	}
}

// TestOverrideFlow: at the limit the refusal says F7; F7 asks for the
// PIN, shown masked; the right PIN asks how many (the default offered),
// then to confirm; Enter journals it, and the next code is accepted up to
// the raised limit, then refused again. The PIN is never on screen.
func TestOverrideFlow(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		mt := mgrTexts[lang]
		r, e, g := overrideRig(t, lang, 1)
		r.typeAt(scannerSpeed, "100000000001")
		r.until("accepted the first", func(m Model) bool { return m.inFlight == 0 && m.result.out.Kind == sync.AcceptedOffline })
		r.typeAt(scannerSpeed, "100000000002")
		r.until("refused at the limit", showing(mt.OverrideHint))
		r.until("read the status", func(m Model) bool { return m.status.st.OfflineAcceptedInShift == 1 })
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyF7})
		r.until("opened the override", showing(mt.OverrideTitle, mt.OverridePINAsk))
		r.human(testPIN, false)
		if s := shown(r.m); !strings.Contains(s, "> ****") {
			t.Fatalf("%s: the PIN is not shown masked:\n%s", lang, s)
		}
		noPIN(t, r.m)
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyEnter})
		noPIN(t, r.m)
		r.until("asked how many", showing(mt.OverrideCountAsk, "> 10"))
		if r.m.dialog.ov.pin.Value() != "" {
			t.Fatal("the model kept the PIN after checking it")
		}
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyBackspace})
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyBackspace})
		r.human("2", true)
		r.until("asked to confirm", showing(mt.OverrideConfirmKeys))
		mustShow(t, r.m, "1 -> 3")
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyEnter})
		r.until("allowed", func(m Model) bool { return m.dialog.kind == dialogNone && m.status.st.MaxPerShift == 3 })
		if _, allowed := e.lists(); len(allowed) != 1 || allowed[0] != 2 {
			t.Fatalf("%s: allowed %v, want [2]", lang, allowed)
		}
		for i, code := range []string{"100000000003", "100000000004", "100000000005"} {
			r.typeAt(scannerSpeed, code)
			want := sync.AcceptedOffline
			if i == 2 {
				want = sync.Refused
			}
			r.until("answered "+code, func(m Model) bool { return m.inFlight == 0 && m.result.code == code })
			if r.m.result.out.Kind != want {
				t.Fatalf("%s: %s after the override: %+v, want %s", lang, code, r.m.result.out, want)
			}
		}
		if g.tries() != 1 {
			t.Fatalf("%s: %d PINs checked, want 1", lang, g.tries())
		}
		noPIN(t, r.m)
	}
}

// TestOverrideWrongPIN: a wrong PIN says so and stays; after three the
// dialog says to wait, and no PIN is checked until the pause is over;
// then the right PIN goes on. Esc cancels, allowing nothing.
func TestOverrideWrongPIN(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) { // settle needs a bubble
		r, e, g := overrideRig(t, "en", 0)
		mt := mgrTexts["en"]
		r.typeAt(scannerSpeed, "100000000001")
		r.until("refused at the limit", showing(mt.OverrideHint))
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyF7})
		for i := 1; i <= pin.FreeTries; i++ {
			r.human("1111", true)
			if i < pin.FreeTries {
				r.until("said wrong", showing(mt.OverrideWrongPIN))
				continue
			}
			r.until("paused", showing("try again in 30 s"))
		}
		r.human(testPIN, true)
		r.settle()
		if g.tries() != pin.FreeTries || r.m.dialog.ov.step != ovPIN {
			t.Fatalf("a PIN was checked during the pause (%d checks) or went on (step %d)", g.tries(), r.m.dialog.ov.step)
		}
		r.clock.advance(pin.FirstPause)
		r.human(testPIN, true)
		r.until("asked how many", showing(mt.OverrideCountAsk))
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyEsc})
		r.until("cancelled", func(m Model) bool { return m.dialog.kind == dialogNone })
		r.settle()
		if _, allowed := e.lists(); len(allowed) != 0 {
			t.Fatalf("Esc allowed %v", allowed)
		}
	})
}

// TestScanDuringOverridePIN: a scan while the PIN is being typed is a
// scan: the dialog closes unanswered (no PIN checked, nothing allowed),
// the code alone is served, and the digits typed are dropped.
func TestScanDuringOverridePIN(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) { // settle needs a bubble
		r, e, g := overrideRig(t, "en", 0)
		mt := mgrTexts["en"]
		r.typeAt(scannerSpeed, "100000000001")
		r.until("refused at the limit", showing(mt.OverrideHint))
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyF7})
		r.until("opened the override", showing(mt.OverridePINAsk))
		r.human("73", false)
		r.typeAt(scannerSpeed, "100000000002")
		r.until("served the scan", func(m Model) bool { return m.inFlight == 0 && m.result.code == "100000000002" })
		r.settle()
		scanned, allowed := e.lists()
		if r.m.dialog.kind != dialogNone || g.tries() != 0 || len(allowed) != 0 {
			t.Fatalf("dialog %d, %d PINs checked, allowed %v", r.m.dialog.kind, g.tries(), allowed)
		}
		if len(scanned) != 2 || scanned[1] != "100000000002" {
			t.Fatalf("scanned %q", scanned)
		}
		if r.m.input.Value() != "" || r.m.dialog.ov.pin.Value() != "" {
			t.Fatalf("typed digits kept: line %q", r.m.input.Value())
		}
	})
}

// TestOverrideInHelp: F1 lists F7 when an override is configured, and
// not otherwise.
func TestOverrideInHelp(t *testing.T) {
	t.Parallel()
	r, _, _ := overrideRig(t, "zh", 5)
	r.key(time.Second, tea.KeyMsg{Type: tea.KeyF1})
	mustShow(t, r.m, "F7", mgrTexts["zh"].OverrideKeyHelp)
	r.m.o.Override = nil
	if strings.Contains(shown(r.m), mgrTexts["zh"].OverrideKeyHelp) {
		t.Fatal("help lists the override without one configured")
	}
}

// TestOverrideOnlyAtTheLimit: F7 opens nothing without an override
// configured, or below the limit.
func TestOverrideOnlyAtTheLimit(t *testing.T) {
	t.Parallel()
	r, _, _ := overrideRig(t, "en", 5)
	r.key(time.Second, tea.KeyMsg{Type: tea.KeyF7})
	if r.m.dialog.kind != dialogNone {
		t.Fatal("F7 below the limit opened a dialog")
	}
	r2, e2, _ := overrideRig(t, "en", 0)
	r2.m.o.Override = nil
	r2.typeAt(scannerSpeed, "100000000001")
	r2.until("refused", func(m Model) bool { return m.inFlight == 0 && m.result.shown && m.result.out.Kind == sync.Refused })
	r2.key(time.Second, tea.KeyMsg{Type: tea.KeyF7})
	if r2.m.dialog.kind != dialogNone || strings.Contains(shown(r2.m), "F7") {
		t.Fatalf("no override configured, yet F7 is offered:\n%s", shown(r2.m))
	}
	_ = e2
}

// TestTeatestOverridePINNeverShown runs the program: a refusal at the
// limit, F7, the PIN typed, the override allowed; nothing the program
// ever drew contains the PIN.
func TestTeatestOverridePINNeverShown(t *testing.T) {
	t.Parallel()
	h, err := pin.HashWith(testPIN, pin.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: t0}
	g, _ := pin.NewGuard(h, clk.now)
	e := &limitEngine{limit: 0}
	m := New(Options{Engine: e, Lang: "en", Terminal: "till-2", Cashier: "Wang Fang", Now: clk.now,
		Override: &Override{CheckPIN: g.Try, Allow: e.allow, Default: 4}})
	m.status.shiftID = 31
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	var drawn bytes.Buffer // everything the program drew
	output := io.TeeReader(tm.Output(), &drawn)
	waitFor := func(cond func(string) bool) {
		t.Helper()
		teatest.WaitFor(t, output, func(b []byte) bool { return cond(ansi.Strip(string(b))) },
			teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	wait := func(want ...string) {
		t.Helper()
		waitFor(func(s string) bool {
			for _, w := range want {
				if !strings.Contains(s, w) {
					return false
				}
			}
			return true
		})
	}
	mt := mgrTexts["en"]
	tm.Type("100000000001") // one key a message, at once: a scan
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait(mt.OverrideHint)
	clk.advance(time.Second)
	tm.Send(tea.KeyMsg{Type: tea.KeyF7})
	wait(mt.OverridePINAsk)
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(testPIN)}) // one message: a person's (an input method's)
	// The digits are held until a pause of the scan gap on the screen's
	// clock (input.go): the clock moves on while the screen is awaited.
	waitFor(func(s string) bool {
		clk.advance(time.Second)
		return strings.Contains(s, "> ****")
	})
	clk.advance(time.Second)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait(mt.OverrideCountAsk, "> 4")
	clk.advance(time.Second)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait(mt.OverrideConfirmKeys)
	clk.advance(time.Second)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait("Manager allowed 4 more offline")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	rest, err := io.ReadAll(tm.FinalOutput(t, teatest.WithFinalTimeout(5*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	drawn.Write(rest)
	if !strings.Contains(drawn.String(), "Manager allowed") || strings.Contains(drawn.String(), testPIN) {
		t.Fatalf("the program drew the PIN, or the check saw nothing:\n%s", ansi.Strip(drawn.String()))
	}
	if _, allowed := e.lists(); len(allowed) != 1 || allowed[0] != 4 {
		t.Fatalf("allowed %v", allowed)
	}
}
