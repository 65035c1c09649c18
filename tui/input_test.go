package tui

import (
	"context"
	"strings"
	stdsync "sync"
	"testing"
	"testing/synctest"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"cardtill/scanner"
	"cardtill/sync"
)

// testClock is the screen's clock in the input tests: keys are timed by
// it, so a test types at scanner or human speed without waiting.
type testClock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stubEngine consumes every code (asking Confirm first when set) and
// records what it consumed and what was cancelled.
type stubEngine struct {
	mu        stdsync.Mutex
	consumed  []string
	cancelled []string
	status    sync.Status
}

func (e *stubEngine) Redeem(ctx context.Context, r sync.Request) (sync.Outcome, error) {
	o := outcome(sync.Consumed, sync.ReasonOK, r.Code, "¥20 off any drink")
	if r.Confirm != nil {
		probe := o
		probe.Kind, probe.State = sync.Refused, sync.StateChecked
		if !r.Confirm(ctx, probe) {
			e.mu.Lock()
			e.cancelled = append(e.cancelled, r.Code)
			e.mu.Unlock()
			o.Kind, o.Reason = sync.Refused, sync.ReasonCancelled
			return o, nil
		}
	}
	e.mu.Lock()
	e.consumed = append(e.consumed, r.Code)
	e.mu.Unlock()
	return o, nil
}

func (e *stubEngine) Status() sync.Status { e.mu.Lock(); defer e.mu.Unlock(); return e.status }
func (e *stubEngine) SyncNow()            {}

func (e *stubEngine) lists() (consumed, cancelled []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.consumed...), append([]string(nil), e.cancelled...)
}

// recShifts records the shifts opened and closed from the screen.
type recShifts struct {
	mu     stdsync.Mutex
	open   bool
	opened []string
	closed int
}

func (s *recShifts) CurrentShift() (uint64, string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return 31, "Wang Fang", s.open, nil
}
func (s *recShifts) OpenShift(name string, _ time.Time) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened = append(s.opened, name)
	return 32, nil
}
func (s *recShifts) CloseShift(uint64, time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	return nil
}

// rig drives the model by Update as bubbletea would: every command runs
// in its own goroutine and its message comes back through the inbox, so a
// redemption waiting for the confirm dialog does not hold the test. The
// flush timer's messages are dropped: pause stands in for it, with the
// clock.
type rig struct {
	t     *testing.T
	m     Model
	clock *testClock
	inbox chan tea.Msg
	quit  bool
}

func newRig(t *testing.T, o Options) *rig {
	t.Helper()
	c := &testClock{t: t0}
	m := newTestModel("en", 80, 24, o)
	m.o.Now = c.now
	r := &rig{t: t, m: m, clock: c, inbox: make(chan tea.Msg, 256)}
	r.do(m.waitConfirm())
	// The command waiting for a confirmation returns when the test ends
	// (synctest.Test waits for every goroutine of its bubble).
	t.Cleanup(func() { close(m.confirmC) })
	return r
}

func (r *rig) do(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				r.do(c)
			}
			return
		}
		if msg != nil {
			r.inbox <- msg
		}
	}()
}

func (r *rig) update(msg tea.Msg) {
	mm, cmd := r.m.Update(msg)
	r.m = mm.(Model)
	r.do(cmd)
}

// key sends k after d on the clock.
func (r *rig) key(d time.Duration, k tea.KeyMsg) {
	r.clock.advance(d)
	r.update(k)
}

// typeAt types s one key every step, then Enter one step later.
func (r *rig) typeAt(step time.Duration, s string) {
	for _, c := range s {
		r.key(step, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
	}
	r.key(step, tea.KeyMsg{Type: tea.KeyEnter})
}

// human types s at a person's speed (120 ms a key, the held keys
// delivered after each pause as the timer would), then Enter.
func (r *rig) human(s string, enter bool) {
	for _, c := range s {
		r.key(120*time.Millisecond, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
		r.pause()
	}
	if enter {
		r.key(120*time.Millisecond, tea.KeyMsg{Type: tea.KeyEnter})
	}
}

// pause lets the scan gap pass with no key and delivers what the flush
// timer would.
func (r *rig) pause() {
	r.clock.advance(r.m.gate.gap + time.Millisecond)
	r.update(inputFlushMsg{seq: r.m.gate.seq})
}

// until applies the commands' messages until ok holds (5 s deadline).
func (r *rig) until(what string, ok func(m Model) bool) {
	r.t.Helper()
	deadline := time.After(5 * time.Second)
	for !ok(r.m) {
		select {
		case msg := <-r.inbox:
			switch msg.(type) {
			case inputFlushMsg:
				continue // pause stands in for the timer
			case tea.QuitMsg:
				r.quit = true
				continue
			}
			r.update(msg)
		case <-deadline:
			r.t.Fatalf("never %s; screen:\n%s", what, shown(r.m))
		}
	}
}

// settle applies what the commands sent until nothing more comes: until
// every goroutine of the test's bubble (synctest.Test; the commands run
// in them) is blocked and the inbox is empty. Only used where nothing else
// can be waited for (a quit that must not happen). Messages a timer would
// send later do not come: the bubble's clock stands still meanwhile.
func (r *rig) settle() {
	for {
		synctest.Wait()
		select {
		case msg := <-r.inbox:
			switch msg.(type) {
			case inputFlushMsg:
				continue
			case tea.QuitMsg:
				r.quit = true
				continue
			}
			r.update(msg)
		default:
			return
		}
	}
}

// inBubble runs f in a synctest bubble, which settle needs. When f ends,
// the bubble's clock is moved past the timers that commands still wait on
// (a flush, a tick: their goroutines then end, as synctest.Test requires);
// a bubble's clock jumps, so this waits for nothing in real time.
func inBubble(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		t.Cleanup(func() { <-time.After(time.Hour) }) // runs after the rigs' cleanups
		f(t)
	})
}

func showing(want ...string) func(Model) bool {
	return func(m Model) bool {
		s := shown(m)
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}
}

const (
	scannerSpeed = 3 * time.Millisecond
	humanSpeed   = 120 * time.Millisecond
)

// On the entry line, a code typed at scanner speed and the same code
// typed by hand are both submitted whole; a short run with a quick Enter
// is a person's line.
func TestScanRuleOnTheLine(t *testing.T) {
	t.Parallel()
	e := &stubEngine{status: sync.Status{Online: true}}
	r := newRig(t, Options{Engine: e})
	r.typeAt(scannerSpeed, "452998530302")
	r.until("served the scan", showing("REDEEMED", "4529 9853 0302"))
	r.human("452998530399", true)
	r.until("served the typed code", func(Model) bool { c, _ := e.lists(); return len(c) == 2 })
	r.until("showed it", func(m Model) bool { return m.result.out.Code == "452998530399" })
	// the last letter and Enter pressed together: the line is submitted
	r.human("Li Lan", false)
	r.key(5*time.Millisecond, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("g")})
	r.key(5*time.Millisecond, tea.KeyMsg{Type: tea.KeyEnter})
	r.until("answered the typed line", showing("That is not a coupon code", "Li Lang"))
	if c, _ := e.lists(); len(c) != 2 {
		t.Fatalf("consumed %v", c)
	}
}

// A scan while the confirm dialog waits cancels the waiting coupon
// (nothing consumed, neutral, no bell, not a refusal) and is served; the
// same keys typed by hand leave the dialog waiting, and Enter alone
// confirms.
func TestScanDuringConfirm(t *testing.T) {
	t.Parallel()
	for _, speed := range []time.Duration{scannerSpeed, humanSpeed} {
		e := &stubEngine{status: sync.Status{Online: true}}
		bell := &bellCount{}
		r := newRig(t, Options{Engine: e, Confirm: true, Bell: true, BellOut: bell})
		r.typeAt(scannerSpeed, "100000000001")
		r.until("asked to confirm", showing("Redeem this coupon?", "Waiting for you to confirm"))
		if speed == scannerSpeed {
			r.typeAt(speed, "Y7N8Y9N0")
			r.until("asked to confirm the scan", func(m Model) bool {
				return m.dialog.kind == dialogConfirm && m.dialog.confirm.out.Code == "Y7N8Y9N0"
			})
			r.until("listed the cancel", showing("– Cancelled by the cashier", "0 ✔  0 ✖"))
			r.key(time.Second, tea.KeyMsg{Type: tea.KeyEnter}) // the cashier confirms the new one
			r.until("consumed the scan", showing("REDEEMED", "Y7N8Y9N0", "1 ✔  0 ✖"))
			consumed, cancelled := e.lists()
			if len(consumed) != 1 || consumed[0] != "Y7N8Y9N0" || len(cancelled) != 1 || cancelled[0] != "100000000001" {
				t.Fatalf("consumed %v cancelled %v", consumed, cancelled)
			}
			if bell.n != 0 {
				t.Fatalf("%d bells for a cancel", bell.n)
			}
			continue
		}
		// by hand: the digits do not answer; Enter alone consumes
		r.human("Y7N8", false)
		if r.m.dialog.kind != dialogConfirm {
			t.Fatal("keys typed by hand closed the confirm dialog")
		}
		r.key(humanSpeed, tea.KeyMsg{Type: tea.KeyEnter})
		r.until("consumed the waiting coupon", showing("REDEEMED", "1000 0000 0001"))
		if c, x := e.lists(); len(c) != 1 || c[0] != "100000000001" || len(x) != 0 {
			t.Fatalf("consumed %v cancelled %v", c, x)
		}
	}
}

// An Esc cancel in confirm mode is neutral: no bell, not counted refused.
func TestConfirmCancelIsNeutral(t *testing.T) {
	t.Parallel()
	e := &stubEngine{status: sync.Status{Online: true}}
	bell := &bellCount{}
	r := newRig(t, Options{Engine: e, Confirm: true, Bell: true, BellOut: bell})
	r.typeAt(scannerSpeed, "100000000001")
	r.until("asked to confirm", showing("Redeem this coupon?"))
	r.key(time.Second, tea.KeyMsg{Type: tea.KeyEsc})
	r.until("showed the cancel", showing("CANCELLED", "0 ✔  0 ✖"))
	if bell.n != 0 {
		t.Fatalf("%d bells", bell.n)
	}
}

// A scan during the quit prompt never quits: codes with y and n in them at
// scanner speed are served; y typed by hand quits, n stays.
func TestScanDuringQuit(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) { // settle needs a bubble
		for _, c := range []struct {
			code  string
			speed time.Duration
			quit  bool
		}{
			{"Y7N8Y9N0", scannerSpeed, false},
			{"yes-1234", scannerSpeed, false},
			{"n0y1n2y3", scannerSpeed, false},
			{"y", humanSpeed, true},
			{"n", humanSpeed, false},
		} {
			e := &stubEngine{status: sync.Status{Online: true, QueueDepth: 2}}
			r := newRig(t, Options{Engine: e})
			r.m.status.st = e.Status()
			r.key(time.Second, tea.KeyMsg{Type: tea.KeyCtrlC})
			if r.m.dialog.kind != dialogQuit {
				t.Fatal("no quit prompt")
			}
			if c.speed == scannerSpeed {
				r.typeAt(c.speed, c.code)
				r.until("served "+c.code, showing("REDEEMED", c.code))
			} else {
				r.human(c.code, false)
			}
			r.settle()
			if r.quit != c.quit {
				t.Errorf("%q at %v: quit %v, want %v", c.code, c.speed, r.quit, c.quit)
			}
			if !c.quit && r.m.dialog.kind != dialogNone {
				t.Errorf("%q at %v: the quit prompt is still open", c.code, c.speed)
			}
		}
	})
}

// A scan at the close-shift prompt does not close the shift and is
// served; y by hand closes it.
func TestScanDuringCloseShift(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) { // settle needs a bubble
		for _, speed := range []time.Duration{scannerSpeed, humanSpeed} {
			e := &stubEngine{status: sync.Status{Online: true}}
			sh := &recShifts{open: true}
			r := newRig(t, Options{Engine: e, Shifts: sh})
			r.key(time.Second, tea.KeyMsg{Type: tea.KeyF2})
			r.until("asked to close", showing("Close shift #31"))
			if speed == scannerSpeed {
				r.typeAt(speed, "y1n2y3n4")
				r.until("served the scan", showing("REDEEMED", "y1n2y3n4"))
				r.settle()
				if sh.closed != 0 {
					t.Fatal("a scan closed the shift")
				}
				continue
			}
			r.human("y", false)
			r.until("closed the shift", showing("Shift #31 closed"))
			if sh.closed != 1 {
				t.Fatalf("closed %d", sh.closed)
			}
		}
	})
}

// A scan into the open-shift name field does not become the cashier's
// name: the dialog closes and the scan is served; a name typed by hand
// opens the shift.
func TestScanDuringOpenShift(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) { // settle needs a bubble
		for _, speed := range []time.Duration{scannerSpeed, humanSpeed} {
			e := &stubEngine{status: sync.Status{Online: true}}
			sh := &recShifts{}
			r := newRig(t, Options{Engine: e, Shifts: sh})
			r.m.status.shiftID = 0
			r.key(time.Second, tea.KeyMsg{Type: tea.KeyF2})
			r.until("asked for a name", showing("Open a shift"))
			r.key(time.Second, tea.KeyMsg{Type: tea.KeyCtrlU})
			if speed == scannerSpeed {
				r.typeAt(speed, "100000000002")
				r.until("served the scan", showing("REDEEMED", "1000 0000 0002"))
				r.settle()
				if len(sh.opened) != 0 || r.m.dialog.kind != dialogNone {
					t.Fatalf("opened %v, dialog %d", sh.opened, r.m.dialog.kind)
				}
				continue
			}
			r.human("Li Lei", true)
			r.until("opened the shift", showing("Shift #32 opened for Li Lei"))
			if len(sh.opened) != 1 || sh.opened[0] != "Li Lei" {
				t.Fatalf("opened %v", sh.opened)
			}
			if c, _ := e.lists(); len(c) != 0 {
				t.Fatalf("the name was redeemed: %v", c)
			}
		}
	})
}

// A frame from the serial scanner closes each dialog unanswered and is
// served.
func TestSerialFrameDuringDialogs(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) { // settle needs a bubble
		frame := scannerMsg(scanner.Event{Kind: scanner.EventScan, Port: "/dev/ttyACM0",
			Scan: scanner.Scan{Raw: "100000000003", Payload: scanner.Payload{Code: "100000000003"}, Source: "serial"}})
		for name, open := range map[string]func(r *rig){
			"quit":  func(r *rig) { r.m.status.st.QueueDepth = 1; r.key(time.Second, tea.KeyMsg{Type: tea.KeyCtrlC}) },
			"close": func(r *rig) { r.key(time.Second, tea.KeyMsg{Type: tea.KeyF2}) },
			"open": func(r *rig) {
				r.m.status.shiftID = 0
				r.key(time.Second, tea.KeyMsg{Type: tea.KeyF2})
			},
		} {
			events := make(chan scanner.Event)
			close(events)
			e := &stubEngine{status: sync.Status{Online: true, QueueDepth: 1}}
			sh := &recShifts{open: name == "close"}
			r := newRig(t, Options{Engine: e, Shifts: sh, ScannerPort: "/dev/ttyACM0", Events: events})
			open(r)
			if r.m.dialog.kind == dialogNone {
				t.Fatalf("%s: no dialog", name)
			}
			r.update(frame)
			r.until(name+": served the frame", showing("REDEEMED", "1000 0000 0003"))
			r.settle()
			if r.quit || sh.closed != 0 || len(sh.opened) != 0 || r.m.dialog.kind != dialogNone {
				t.Fatalf("%s: quit %v closed %d opened %v dialog %d", name, r.quit, sh.closed, sh.opened, r.m.dialog.kind)
			}
		}
	})
}

// A scanner set up without an Enter suffix: a run typed at scanner speed
// in a dialog is a scan once the keys pause.
func TestScanWithoutEnterInADialog(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) { // settle needs a bubble
		e := &stubEngine{status: sync.Status{Online: true, QueueDepth: 1}}
		r := newRig(t, Options{Engine: e})
		r.m.status.st = e.Status()
		r.key(time.Second, tea.KeyMsg{Type: tea.KeyCtrlC})
		for _, c := range "y1n2y3n4" {
			r.key(scannerSpeed, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
		}
		r.pause()
		r.until("served the scan", showing("REDEEMED", "y1n2y3n4"))
		r.settle()
		if r.quit {
			t.Fatal("quit")
		}
	})
}

// The answer returns to "ready" ClearAfter after it was given, by the
// screen's clock; a double read shows it again for another ClearAfter; a
// redemption being checked never clears.
func TestPanelClearsAfter(t *testing.T) {
	t.Parallel()
	e := &stubEngine{status: sync.Status{Online: true}}
	r := newRig(t, Options{Engine: e, ClearAfter: 20 * time.Second})
	r.typeAt(scannerSpeed, "452998530302")
	r.until("answered", showing("REDEEMED"))
	at := r.clock.now()
	r.update(tickMsg(at.Add(19 * time.Second)))
	if !strings.Contains(shown(r.m), "REDEEMED") {
		t.Fatal("cleared before clear_after")
	}
	r.update(tickMsg(at.Add(20 * time.Second)))
	if s := shown(r.m); strings.Contains(s, "REDEEMED") || !strings.Contains(s, "Ready — scan a coupon") {
		t.Fatalf("not cleared after clear_after:\n%s", s)
	}
	if !strings.Contains(shown(r.m), "redeemed") {
		t.Fatal("the recent list lost the answer")
	}
	r.m.result = resultPanel{working: true, code: "1", at: at, shown: true}
	r.update(tickMsg(at.Add(time.Hour)))
	if strings.Contains(shown(r.m), "Ready") {
		t.Fatal("a redemption being checked was cleared")
	}
}
