package tui

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"cardtill/scanner"
	"cardtill/tui/demo"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// startTill runs the real engine against the fake WeChat over loopback
// with a real bbolt journal in a temporary directory.
func startTill(t *testing.T) *demo.Till {
	t.Helper()
	till, err := demo.Start(demo.Options{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(till.Close)
	return till
}

func tillModel(t *testing.T, till *demo.Till, lang string, o Options) Model {
	t.Helper()
	o.Engine, o.Shifts, o.Lang, o.Outage = till.Engine, till.Journal, lang, till.ToggleOutage
	o.Terminal, o.Cashier = "till-2", "Wang Fang"
	m := New(o)
	mm, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return mm.(Model)
}

// typeCode types a line and presses Enter, returning the command Enter
// produced (the redemption, or nil).
func typeCode(m Model, code string) (Model, tea.Cmd) {
	mm, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(code)})
	mm, cmd := mm.(Model).Update(tea.KeyMsg{Type: tea.KeyEnter})
	return mm.(Model), cmd
}

// redeem types code and runs the redemption to its answer.
func redeem(t *testing.T, m Model, code string) Model {
	t.Helper()
	m, cmd := typeCode(m, code)
	if cmd == nil {
		t.Fatalf("typing %s started no redemption", code)
	}
	msg := cmd()
	if a, ok := msg.(answerMsg); ok { // the answer before the engine's last commit
		m = send(m, a)
		msg = a.final()
		if r, ok := msg.(redeemedMsg); !ok || !r.answered {
			t.Fatalf("after the answer the redemption ended with %T %+v", msg, msg)
		}
	}
	r, ok := msg.(redeemedMsg)
	if !ok {
		t.Fatalf("redemption answered %T", msg)
	}
	if r.err != nil {
		t.Fatalf("redeem %s: %v", code, r.err)
	}
	return send(m, r, statusMsg(m.o.Engine.Status()))
}

func shown(m Model) string { return ansi.Strip(m.View()) }

func mustShow(t *testing.T, m Model, want ...string) {
	t.Helper()
	s := shown(m)
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

func TestFlowValidConsumedUnknownBarcode(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	clock := &testClock{t: time.Now()}
	m := tillModel(t, till, "en", Options{Now: clock.now})
	mustShow(t, m, "no shift open", "Scan or type a code")

	m = redeem(t, m, wechattest.DemoNormal)
	mustShow(t, m, "REDEEMED", "1000 0000 0001", "¥20 off any drink", "shift #1", "1 ✔  0 ✖")
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal); n != 1 {
		t.Fatalf("WeChat consumed %d times", n)
	}

	m = redeem(t, m, wechattest.DemoConsumed)
	mustShow(t, m, "REFUSED", "Already used")

	m = redeem(t, m, wechattest.DemoUnknown)
	mustShow(t, m, "REFUSED", "Not a coupon of this store", "1 ✔  2 ✖")

	// the same valid code again after the repeat window: this till used it
	clock.advance(DefaultRepeatWindow + time.Second)
	m = redeem(t, m, wechattest.DemoNormal)
	mustShow(t, m, "REFUSED", "at this till", "1 ✔  3 ✖")

	// a product barcode never reaches the engine
	m, cmd := typeCode(m, "6901234567892")
	if cmd != nil {
		if _, ok := cmd().(redeemedMsg); ok {
			t.Fatal("a product barcode was sent to the engine")
		}
	}
	mustShow(t, m, "product barcode, not a coupon")
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal); n != 1 {
		t.Fatalf("WeChat consumed %d times after the second scan", n)
	}
}

// A double read while the first read is still with WeChat stays on its
// panel, marked read twice, and never reaches the engine.
func TestFlowDuplicateRead(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	m := tillModel(t, till, "zh", Options{})
	// the first redemption hangs on WeChat's query while the second read arrives
	till.WeChat.Inject(wechattest.EndpointGetCode, wechattest.Fault{Latency: 300 * time.Millisecond})
	m, first := typeCode(m, wechattest.DemoNormal2)
	firstDone := make(chan tea.Msg, 1)
	go func() { firstDone <- first() }()
	m, second := typeCode(m, wechattest.DemoNormal2)
	if second != nil {
		t.Fatal("the second read of a code being checked went to the engine")
	}
	mustShow(t, m, "正在向微信核对", "重复扫码")
	msg := <-firstDone
	if a, ok := msg.(answerMsg); ok {
		m = send(m, a)
		msg = a.final()
	}
	m = send(m, msg)
	mustShow(t, m, "核销成功")
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal2); n != 1 {
		t.Fatalf("WeChat consumed %d times", n)
	}
}

// A double read 150 ms after the answer shows the same answer again,
// marked read twice: no bell, no refusal counted, nothing sent to the
// engine (nothing journaled), WeChat asked nothing.
func TestFlowDoubleReadShowsTheAnswerAgain(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	clock := &testClock{t: time.Now()}
	m := tillModel(t, till, "en", Options{Now: clock.now, Bell: true})
	for _, code := range []string{wechattest.DemoNormal, wechattest.DemoConsumed} {
		m = redeem(t, m, code)
		before := shown(m)
		calls := till.WeChat.Calls(wechattest.EndpointGetCode)
		clock.advance(150 * time.Millisecond)
		var cmd tea.Cmd
		m, cmd = typeCode(m, code)
		if cmd != nil {
			t.Fatalf("%s: the double read went to the engine", code)
		}
		mustShow(t, m, "read twice", formatCode(code))
		squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
		if got := strings.Replace(shown(m), "↻ read twice", "", 1); squeeze(got) != squeeze(before) {
			t.Errorf("%s: the double read shows something else than the answer:\n%s\nwas:\n%s", code, got, before)
		}
		if n := till.WeChat.Calls(wechattest.EndpointGetCode); n != calls {
			t.Fatalf("%s: WeChat asked again", code)
		}
	}
	mustShow(t, m, "1 ✔  1 ✖") // no refusal counted; the nil command above rang no bell
}

func TestFlowOutageOfflineThenDrained(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	m := tillModel(t, till, "en", Options{})
	m = redeem(t, m, wechattest.DemoNormal) // WeChat reached once
	if !till.ToggleOutage() {
		t.Fatal("outage not on")
	}
	m = redeem(t, m, wechattest.DemoNormal3)
	mustShow(t, m, "ACCEPTED OFFLINE", "will be checked with WeChat later", "WeChat OFFLINE since", "queue 1", "offline this shift 1 / 20")
	if s := shown(m); strings.Contains(s, "WeChat online") {
		t.Fatalf("online shown during the outage:\n%s", s)
	}
	// quitting now asks and says what happens to the queued code
	mm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	if cmd != nil {
		t.Fatal("Ctrl+C quit at once with a code queued")
	}
	mustShow(t, mm.(Model), "1 code(s) wait for WeChat", "are sent when")
	mm, _ = mm.(Model).Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("n")})
	m = mm.(Model)

	if till.ToggleOutage() {
		t.Fatal("outage still on")
	}
	if _, err := till.Engine.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	m = send(m, statusMsg(till.Engine.Status()))
	mustShow(t, m, "● WeChat online", "queue 0")
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal3); n != 1 {
		t.Fatalf("queued code consumed %d times after the drain", n)
	}
}

func TestFlowScannerUnplugged(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	ev := make(chan scanner.Event, 4)
	m := tillModel(t, till, "en", Options{ScannerPort: "/dev/ttyACM0", Events: ev})
	m = send(m, scannerMsg(scanner.Event{Kind: scanner.EventConnected, Port: "/dev/ttyACM0"}))
	mustShow(t, m, "scanner ● /dev/ttyACM0 connected")
	m = send(m, scannerMsg(scanner.Event{Kind: scanner.EventDisconnected, Port: "/dev/ttyACM0"}))
	mustShow(t, m, "/dev/ttyACM0 UNPLUGGED")
}

func TestFlowConfirmBeforeConsume(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	m := tillModel(t, till, "en", Options{Confirm: true})
	m, cmd := typeCode(m, wechattest.DemoNormal)
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	m = send(m, m.waitConfirm()())
	mustShow(t, m, "Redeem this coupon?", "1000 0000 0001")
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal); n != 0 {
		t.Fatal("consumed before the cashier confirmed")
	}
	m = send(m, tea.KeyMsg{Type: tea.KeyEsc})
	m = send(m, <-done)
	mustShow(t, m, "CANCELLED", "Cancelled by the cashier", "0 ✔  0 ✖") // the cashier's choice: neutral
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal); n != 0 {
		t.Fatal("consumed although the cashier cancelled")
	}
}

func TestShiftOpenCloseFromScreen(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	clock := &testClock{t: time.Now()}
	m := tillModel(t, till, "en", Options{Now: clock.now})
	// a person types: a pause after each key lets the dialog have it
	byHand := func(m Model, k tea.KeyMsg) (Model, tea.Cmd) {
		clock.advance(200 * time.Millisecond)
		mm, cmd := m.Update(k)
		clock.advance(200 * time.Millisecond)
		if k.Type == tea.KeyRunes {
			mm, cmd = mm.(Model).Update(inputFlushMsg{seq: mm.(Model).gate.seq})
		}
		return mm.(Model), cmd
	}
	m = send(m, readShift(till.Journal)())
	mustShow(t, m, "no shift open")
	mm, _ := m.Update(tea.KeyMsg{Type: tea.KeyF2})
	m = mm.(Model)
	mustShow(t, m, "Open a shift")
	m = send(m, tea.KeyMsg{Type: tea.KeyCtrlU})
	m, _ = byHand(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("Li Lei")}) // one message: an input method's commit
	m, cmd := byHand(m, tea.KeyMsg{Type: tea.KeyEnter})
	m = send(m, cmd())
	mustShow(t, m, "shift #1", "Li Lei", "Shift #1 opened for Li Lei")
	mm, _ = m.Update(tea.KeyMsg{Type: tea.KeyF2})
	mustShow(t, mm.(Model), "Close shift #1 of Li Lei?")
	m, cmd = byHand(mm.(Model), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
	m = send(m, cmd())
	mustShow(t, m, "no shift open", "Shift #1 closed")
	if _, _, ok, _ := till.Journal.CurrentShift(); ok {
		t.Fatal("journal still has the shift open")
	}
}

// TestTeatestOutageAndBack drives the whole program: scan, outage,
// offline acceptance, back online, queue drained.
func TestTeatestOutageAndBack(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	m := New(Options{Engine: till.Engine, Shifts: till.Journal, Lang: "en", Outage: till.ToggleOutage,
		StatusC: till.StatusC, Terminal: "till-2", Cashier: "Wang Fang"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	waitFor := screenWaiter(t, tm, 10*time.Second)
	tm.Type(wechattest.DemoNormal)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("REDEEMED")
	tm.Send(tea.KeyMsg{Type: tea.KeyF8})
	waitFor("outage ON")
	tm.Type(wechattest.DemoNormal3)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("ACCEPTED OFFLINE", "queue 1")
	tm.Send(tea.KeyMsg{Type: tea.KeyF8}) // back online: the demo asks for a sync at once
	waitFor("queue 0")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal3); n != 1 {
		t.Fatalf("queued code consumed %d times", n)
	}
	_, _ = io.Copy(io.Discard, tm.FinalOutput(t))
}

// bellCount counts the bells written.
type bellCount struct{ n int }

func (b *bellCount) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == '\a' {
			b.n++
		}
	}
	return len(p), nil
}

// run executes cmd and what it batches, skipping the long-lived listeners.
func runCmd(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	if b, ok := cmd().(tea.BatchMsg); ok {
		for _, c := range b {
			runCmd(c)
		}
	}
}

func TestBellOnRefusalOnly(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	for _, c := range []struct {
		bell  bool
		code  string
		rings int
	}{
		{true, wechattest.DemoNormal, 0},
		{true, wechattest.DemoConsumed, 1},
		{false, wechattest.DemoUnknown, 0},
	} {
		b := &bellCount{}
		m := tillModel(t, till, "en", Options{Bell: c.bell, BellOut: b})
		m, cmd := typeCode(m, c.code)
		mm, after := m.Update(cmd())
		_ = mm
		runCmd(after)
		if b.n != c.rings {
			t.Errorf("bell=%v code %s: %d bells, want %d", c.bell, c.code, b.n, c.rings)
		}
	}
}

// TestTeatestScannerAndRefusals drives the program with a serial scanner's
// events: scans arrive from the port, then the scanner is unplugged.
func TestTeatestScannerAndRefusals(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	ev := make(chan scanner.Event, 8)
	m := New(Options{Engine: till.Engine, Shifts: till.Journal, Lang: "zh", StatusC: till.StatusC,
		Terminal: "till-2", Cashier: "Wang Fang", ScannerPort: "/dev/ttyACM0", Events: ev})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitFor := screenWaiter(t, tm, 10*time.Second)
	scan := func(code string) scanner.Event {
		return scanner.Event{Kind: scanner.EventScan, Port: "/dev/ttyACM0", Scan: scanner.Scan{Raw: code, Payload: scanner.Payload{Code: code}, Source: "serial:/dev/ttyACM0"}}
	}
	ev <- scanner.Event{Kind: scanner.EventConnected, Port: "/dev/ttyACM0"}
	waitFor("已连接")
	ev <- scan(wechattest.DemoConsumed)
	waitFor("不可核销", "已核销")
	ev <- scan(wechattest.DemoUnknown)
	waitFor("非本店卡券")
	ev <- scanner.Event{Kind: scanner.EventDisconnected, Port: "/dev/ttyACM0"}
	waitFor("已断开")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// A code accepted offline, scanned again after the repeat window, is
// "accepted offline here at HH:MM", never "redeemed"; within the window it
// is the same answer again, marked read twice.
func TestFlowQueuedCodeAgain(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		till := startTill(t)
		clock := &testClock{t: time.Now()}
		m := tillModel(t, till, lang, Options{Now: clock.now})
		m = redeem(t, m, wechattest.DemoNormal)
		till.ToggleOutage()
		m = redeem(t, m, wechattest.DemoNormal3)
		at := shown(m)
		clock.advance(time.Second)
		m, cmd := typeCode(m, wechattest.DemoNormal3)
		if cmd != nil {
			t.Fatal("a double read went to the engine")
		}
		if !strings.Contains(shown(m), Catalogue(lang).ReadTwice) || !strings.Contains(at, Catalogue(lang).AcceptedOffline) {
			t.Fatalf("double read of a queued code:\n%s", shown(m))
		}
		clock.advance(DefaultRepeatWindow)
		m = redeem(t, m, wechattest.DemoNormal3)
		want := map[string]string{"en": "Accepted offline here at ", "zh": "本机离线已受理（"}[lang]
		mustShow(t, m, want)
		if s := shown(m); strings.Contains(s, Catalogue(lang).Reasons["used_here"]) || strings.Contains(s, "redeemed at this till") {
			t.Fatalf("a queued code said redeemed:\n%s", s)
		}
	}
}

// TestTeatestSettleInPlaceFromTheEngine drives the whole program on the
// real engine and journal with the engine's update stream wired as the
// till wires it (cmd/cardtill: Engine.Subscribe): two codes accepted
// offline, one deleted by its customer meanwhile; when WeChat is back the
// drain settles both, and the recent list, the counts and the panel
// change in place without a rescan.
func TestTeatestSettleInPlaceFromTheEngine(t *testing.T) {
	t.Parallel()
	till := startTill(t)
	sub := till.Engine.Subscribe()
	defer sub.Close()
	m := New(Options{Engine: till.Engine, Shifts: till.Journal, Lang: "en", Outage: till.ToggleOutage,
		StatusC: till.StatusC, Updates: sub.C(), Terminal: "till-2", Cashier: "Wang Fang"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	waitFor := screenWaiter(t, tm, 10*time.Second)
	tm.Send(tea.KeyMsg{Type: tea.KeyF8})
	waitFor("outage ON")
	tm.Type(wechattest.DemoNormal3)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("ACCEPTED OFFLINE", "queue 1")
	tm.Type(wechattest.DemoNormal)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("ACCEPTED OFFLINE", "queue 2", "2 ✔  0 ✖")
	if !till.WeChat.SetStatus(wechattest.DemoNormal, wechat.StatusDelete) { // the customer deleted it meanwhile
		t.Fatal("no such demo code")
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyF8}) // back online: the demo asks for a sync at once
	waitFor("CONFLICT", "(settled by WeChat)", "queue 0", "1 ✔  1 ✖")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal3); n != 1 {
		t.Fatalf("queued code consumed %d times", n)
	}
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal); n != 0 {
		t.Fatalf("deleted code consumed %d times", n)
	}
}

// TestTeatestInDoubtSettlesOnScreen: WeChat applies the consume and the
// answer is lost; the panel says to wait (in doubt, no bell, nothing to
// rescan); once the quiet period has passed on the engine's clock the
// query finds the code consumed, and the panel and the counts settle to
// redeemed in place, through the engine's update stream.
func TestTeatestInDoubtSettlesOnScreen(t *testing.T) {
	t.Parallel()
	clock := &engineClock{now: time.Now()}
	till, err := demo.Start(demo.Options{Interval: time.Hour, ProbeInterval: time.Hour, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(till.Close)
	sub := till.Engine.Subscribe()
	defer sub.Close()
	m := New(Options{Engine: till.Engine, Shifts: till.Journal, Lang: "en", StatusC: till.StatusC, Updates: sub.C(),
		Terminal: "till-2", Cashier: "Wang Fang"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	waitFor := screenWaiter(t, tm, 10*time.Second)
	till.WeChat.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
	tm.Type(wechattest.DemoNormal)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor("CHECKING", "ask the customer to wait")
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal); n != 1 {
		t.Fatalf("WeChat applied %d consumes", n)
	}
	clock.advance(time.Minute) // past the quiet period: the in-doubt consume is due
	till.Engine.SyncNow()
	waitFor("REDEEMED", "(settled by WeChat)", "1 ✔  0 ✖")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if n := till.WeChat.ConsumeCount(wechattest.DemoNormal); n != 1 {
		t.Fatalf("code consumed %d times", n)
	}
}
