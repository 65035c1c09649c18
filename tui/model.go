package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"cardtill/scanner"
	"cardtill/sync"
)

// Engine is what the screen needs of the redemption engine (*sync.Engine
// satisfies it).
type Engine interface {
	Redeem(ctx context.Context, r sync.Request) (sync.Outcome, error)
	Status() sync.Status
	SyncNow()
}

// Shifts opens and closes shifts; nil when the screen cannot (F2 then says so).
type Shifts interface {
	CurrentShift() (id uint64, cashier string, ok bool, err error)
	OpenShift(cashier string, at time.Time) (uint64, error)
	CloseShift(id uint64, at time.Time) error
}

// DemoCode is a sample code shown on the demo screen.
type DemoCode struct{ Code, Note string }

// Options configure the screen.
type Options struct {
	Engine  Engine
	Shifts  Shifts
	Lang    string // "zh" or "en"; "" means LangFromEnv
	Confirm bool   // [ui] confirm: show the card and wait for Enter (alone) or Esc
	// ScanGap is the longest pause between two keys of a keyboard-wedge
	// scanner's code ([ui] scan_gap; DefaultScanGap when 0): see input.go.
	ScanGap time.Duration
	// ClearAfter is how long an answer stays on the panel before it returns
	// to "ready" ([ui] clear_after; DefaultClearAfter when 0), so a missed
	// scan never leaves the previous customer's ✔ on screen.
	ClearAfter time.Duration
	// RepeatWindow is how long after an answer the same code is a double
	// read ([ui] repeat_window; DefaultRepeatWindow when 0): repeat.go.
	RepeatWindow time.Duration
	Bell         bool // [ui] bell on refusals
	// BellOut receives the bell (BEL); os.Stderr when nil. bubbletea drops
	// Printf output in the alternate screen, so the bell is written here.
	BellOut  io.Writer
	Recent   int // bounded recent list (50 when 0)
	Terminal string
	Cashier  string
	// ScannerPort is the serial port name, "" for keyboard only.
	ScannerPort string
	// Events are the serial scanner's events (nil for keyboard only).
	Events <-chan scanner.Event
	// Updates carries the engine's redemption updates
	// (sync.Engine.Subscribe: a lost answer found, a queued code consumed
	// or refused): the screen settles them in place (settle.go). May be
	// nil.
	Updates <-chan sync.Update
	// StatusC carries the engine's OnStatus notifications (may be nil).
	StatusC <-chan sync.Status
	// Outage, when set (demo), toggles a simulated WeChat outage and
	// returns whether it is now on.
	Outage func() bool
	Demo   []DemoCode
	// ShiftReport renders the report of a shift (the X report while it is
	// open) for the screen, at most width cells wide, in lang; F4 shows it,
	// and reads it again while it shows whenever the status's counts or
	// last sync change. Nil when the screen has none (F4 then says so).
	ShiftReport func(shiftID uint64, lang string, width int) (string, error)
	// Backlog reads from the journal what the queue screen (F3) lists: what
	// waits for WeChat, the conflicts and the latest consumed as confirmed
	// by a query, including those of earlier runs, newest first and at most
	// limit of each. It runs in a command when F3 opens and whenever the
	// status's counts change (again when they changed during a read).
	// Nil: F3 lists this session's items only.
	Backlog func(limit int) (Backlog, error)
	// AckConflicts marks every conflict seen by the manager (F6 on the
	// queue screen), in the journal, so the status bar counts only new
	// ones; nil when the screen cannot.
	AckConflicts func() error
	// ConflictDetail reads one conflict for its detail (F3, Tab, Enter),
	// with WeChat's refusal and the feed's news in lang; ResolveConflict
	// records who resolved it and what was done (F7 on the detail). Nil:
	// the queue screen has no detail (conflict.go).
	ConflictDetail  func(id uint64, lang string) (ConflictDetail, error)
	ResolveConflict func(id uint64, by, note string) error
	// ShiftBefore is the newest shift before shift id (0: the newest of
	// all), 0 when there is none: F4 shows the last closed shift's Z
	// report when no shift is open, and ← pages back (report_pages.go).
	ShiftBefore func(id uint64) (uint64, error)
	// Override is the manager's override of the offline limit (F7 at the
	// limit, override.go); nil when [offline] manager_pin_hash is not set.
	Override *Override
	// PrintReport prints shift id's report and PrintConflict a conflict
	// slip on the receipt printer (F9 on F4 and on a conflict's detail);
	// nil when there is no printer. They must not block for long (package
	// printer bounds them).
	PrintReport   func(shiftID uint64, lang string) error
	PrintConflict func(id uint64, lang string) error
	// Notices carries the hub's notices for the manager (stock alarms, card
	// reviews, points changes); nil when there is no hub. PastNotices are
	// those of earlier runs (oldest first), listed on F3 only.
	Notices     <-chan Notice
	PastNotices []Notice
	Now         func() time.Time
	NoColor     bool
	// ASCII: the terminal cannot draw Chinese or symbols (the Linux
	// console): the screen is drawn in ASCII and says so once (console.go);
	// the caller sets Lang to "en".
	ASCII bool
}

type screen int

const (
	screenTill screen = iota
	screenHelp
	screenQueue
	screenReport
)

// Model is the root model: it owns window size, the current screen, the
// dialogs and quit; each part updates itself.
type Model struct {
	o      Options
	tx     *Text
	st     Styles
	keys   KeyMap
	help   help.Model
	width  int
	height int
	now    time.Time
	screen screen

	input    textinput.Model
	result   resultPanel
	recent   recentList
	status   statusBar
	dialog   dialog
	inFlight int
	rep      reportScreen // F4, a sub-model (report_screen.go)
	notice   string
	mgr      mgrState // the manager's follow-up of conflicts (conflict.go)
	confirmC chan confirmReq
	gate     keyGate // times the keys: a scan is a scan (input.go)
	// superseded counts, by code, confirmations cancelled by a scan: their
	// answer goes to the recent list and leaves the panel to the new scan.
	superseded map[string]int
	repeats    repeats // double reads (repeat.go)

	queue queueScreen // F3, a sub-model (queue_screen.go)
	memo  *drawMemo   // what was drawn last (memo.go)
}

// New builds the till screen.
func New(o Options) Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Recent <= 0 {
		o.Recent = 50
	}
	if o.ScanGap <= 0 {
		o.ScanGap = DefaultScanGap
	}
	if o.ClearAfter <= 0 {
		o.ClearAfter = DefaultClearAfter
	}
	if o.RepeatWindow <= 0 {
		o.RepeatWindow = DefaultRepeatWindow
	}
	if o.Lang == "" {
		o.Lang = LangFromEnv()
	}
	tx := Catalogue(o.Lang)
	keys := DefaultKeyMap().localized(tx)
	keys.Outage.SetEnabled(o.Outage != nil)
	keys.Ack.SetEnabled(o.AckConflicts != nil && o.Backlog != nil)
	in := textinput.New()
	in.Prompt = tx.Prompt
	in.CharLimit = 512
	in.Focus()
	st := NewStyles(DefaultTheme(), o.NoColor)
	in.PromptStyle = st.Prompt
	m := Model{
		o: o, tx: tx, st: st, keys: keys, help: help.New(), width: 80, height: 24,
		now: o.Now(), input: in, recent: recentList{max: o.Recent},
		status:   statusBar{terminal: o.Terminal, cashier: o.Cashier, port: o.ScannerPort, connected: o.ScannerPort == ""},
		confirmC: make(chan confirmReq), gate: keyGate{gap: o.ScanGap}, repeats: repeats{window: o.RepeatWindow},
		memo: newDrawMemo(),
	}
	if o.Engine != nil {
		m.status.st = o.Engine.Status()
	}
	m.queue.notices = append([]Notice(nil), o.PastNotices[max(0, len(o.PastNotices)-maxNotices):]...)
	if o.ASCII {
		m.notice = ConsoleNotice
	}
	return m
}

// Messages. Every I/O result comes back as one of these.
type (
	redeemedMsg struct {
		out  sync.Outcome
		err  error
		code string
		// answered: the answer was shown already (answerMsg); this is
		// Redeem's return after its last commit.
		answered bool
	}
	// answerMsg is a redemption's answer as soon as it is final
	// (sync.Request.OnAnswer), before the engine's last commit; final
	// waits for Redeem to return.
	answerMsg struct {
		out   sync.Outcome
		code  string
		final tea.Cmd
	}
	statusMsg  sync.Status
	scannerMsg scanner.Event
	tickMsg    time.Time
	shiftMsg   struct {
		id      uint64
		cashier string
		open    bool
		closed  bool
		opened  bool
		err     error
	}
	outageMsg  bool
	confirmReq struct {
		out   sync.Outcome
		reply chan bool
	}
	confirmAskMsg confirmReq
	// scannerClosedMsg: the event channel closed.
	scannerClosedMsg struct{}
)

// Init starts listening to the scanner, the engine's status and the clock,
// and reads the open shift.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{textinput.Blink, tick(), m.waitConfirm()}
	if m.o.Events != nil {
		cmds = append(cmds, waitEvent(m.o.Events))
	}
	if m.o.StatusC != nil {
		cmds = append(cmds, waitStatus(m.o.StatusC))
	}
	if m.o.Updates != nil {
		cmds = append(cmds, waitUpdate(m.o.Updates))
	}
	if m.o.Shifts != nil {
		cmds = append(cmds, readShift(m.o.Shifts))
	}
	if m.o.Notices != nil {
		cmds = append(cmds, waitNotice(m.o.Notices))
	}
	return tea.Batch(cmds...)
}

func tick() tea.Cmd {
	return tea.Every(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func waitEvent(c <-chan scanner.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-c
		if !ok {
			return scannerClosedMsg{}
		}
		return scannerMsg(ev)
	}
}

func waitStatus(c <-chan sync.Status) tea.Cmd {
	return func() tea.Msg {
		s, ok := <-c
		if !ok {
			return nil
		}
		return statusMsg(s)
	}
}

func (m Model) waitConfirm() tea.Cmd {
	c := m.confirmC
	return func() tea.Msg { return confirmAskMsg(<-c) }
}

func readShift(s Shifts) tea.Cmd {
	return func() tea.Msg {
		id, cashier, ok, err := s.CurrentShift()
		return shiftMsg{id: id, cashier: cashier, open: ok, err: err}
	}
}

func (m Model) redeem(sc scanner.Scan) tea.Cmd {
	e := m.o.Engine
	req := sync.Request{
		Code: sc.Payload.Code, CardID: sc.Payload.CardID, EncryptCode: sc.Payload.EncryptCode,
		Source: sc.Source, RawScan: sc.Raw, Cashier: m.status.cashier,
	}
	if m.o.Confirm {
		c := m.confirmC
		req.Confirm = func(ctx context.Context, o sync.Outcome) bool {
			// ctx ends when the engine stops waiting (Shutdown): the
			// dialog's answer, if it still comes, is not waited for.
			r := confirmReq{out: o, reply: make(chan bool, 1)}
			select {
			case c <- r:
			case <-ctx.Done():
				return false
			}
			select {
			case ok := <-r.reply:
				return ok
			case <-ctx.Done():
				return false
			}
		}
	}
	// The answer shows as soon as it is final (after WeChat confirmed the
	// consume), not after the engine's last commit.
	answers := make(chan sync.Outcome, 1) // OnAnswer is called at most once
	req.OnAnswer = func(o sync.Outcome) { answers <- o }
	code := sc.Payload.Code
	return func() tea.Msg {
		done := make(chan redeemedMsg, 1)
		go func() {
			out, err := e.Redeem(context.Background(), req)
			done <- redeemedMsg{out: out, err: err, code: code}
		}()
		select {
		case o := <-answers:
			return answerMsg{out: o, code: code, final: func() tea.Msg {
				r := <-done
				r.answered = true
				return r
			}}
		case r := <-done:
			return r
		}
	}
}

func (m Model) refreshStatus() tea.Cmd {
	e := m.o.Engine
	if e == nil {
		return nil
	}
	return func() tea.Msg { return statusMsg(e.Status()) }
}

// Update routes messages: global ones here, keys to the dialog or the
// current screen.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		resized := msg.Width != m.width
		m.width, m.height = msg.Width, msg.Height
		m.input.Width = max(10, msg.Width-len([]rune(m.tx.Prompt))-4)
		if resized && m.screen == screenReport {
			return m.toReport(msg)
		}
		return m, nil
	case tickMsg:
		// the engine's notifications may not cover every change (the end
		// of a drain): re-read the status with the clock
		m.now = time.Time(msg)
		return m, tea.Batch(tick(), m.refreshStatus())
	case statusMsg:
		m.status.st = sync.Status(msg)
		var cmd tea.Cmd
		if m.o.StatusC != nil {
			cmd = waitStatus(m.o.StatusC)
		}
		var load tea.Cmd // the status bar counts new conflicts from the backlog: read it again when stale
		m, load = m.toQueue(msg)
		cmd = tea.Batch(cmd, load)
		if m.screen == screenReport { // F4 follows the drain, in the same place
			var read tea.Cmd
			m, read = m.toReport(msg)
			cmd = tea.Batch(cmd, read)
		}
		return m, cmd
	case backlogMsg, ackMsg:
		return m.toQueue(msg)
	case noticeMsg:
		return m.onNotice(Notice(msg))
	case scannerMsg:
		return m.onScanner(scanner.Event(msg))
	case scannerClosedMsg:
		return m, nil
	case answerMsg:
		mm, cmd := m.onRedeemed(redeemedMsg{out: msg.out, code: msg.code})
		return mm, tea.Batch(cmd, msg.final)
	case redeemedMsg:
		if msg.answered { // the answer was shown; the engine finished
			if msg.err != nil {
				m.notice = fmt.Sprintf("%s: %v", m.tx.Error, msg.err)
			}
			return m, m.refreshStatus()
		}
		return m.onRedeemed(msg)
	case confirmAskMsg:
		m.dialog = dialog{kind: dialogConfirm, confirm: confirmReq(msg)}
		// WeChat has answered: the panel says the coupon waits for the
		// cashier, not that it is being checked
		m.result = resultPanel{confirming: true, out: msg.out, code: msg.out.Code, at: m.o.Now(), shown: true}
		return m, m.waitConfirm()
	case updateMsg:
		return m.onUpdate(sync.Outcome(msg))
	case inputFlushMsg:
		return m.onInputFlush(msg)
	case conflictMsg:
		return m.onConflict(msg)
	case resolvedMsg:
		return m.onResolved(msg)
	case pageMsg:
		if m.screen != screenReport {
			return m, nil // an answer for a report no longer shown
		}
		return m.toReport(msg)
	case printedMsg:
		return m.onPrinted(msg)
	case pinMsg:
		return m.onPIN(msg)
	case overrideMsg:
		return m.onOverride(msg)
	case shiftMsg:
		return m.onShift(msg)
	case reportMsg:
		return m.toReport(msg)
	case outageMsg:
		m.notice = m.tx.OutageOff
		if msg {
			m.notice = m.tx.OutageOn
		}
		return m, m.refreshStatus()
	case tea.KeyMsg:
		return m.onKeyMsg(msg)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m Model) onKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if mm, cmd, ok := m.managerKey(k); ok {
		return mm, cmd
	}
	if key.Matches(k, keyOverride) && m.overrideOffered() {
		return m.startOverride()
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		if m.inFlight > 0 || m.status.st.QueueDepth > 0 {
			m.dialog = dialog{kind: dialogQuit}
			return m, nil
		}
		return m, tea.Quit
	case key.Matches(k, m.keys.Help):
		m.screen = toggle(m.screen, screenHelp)
		return m, nil
	case key.Matches(k, m.keys.Queue):
		m.screen = toggle(m.screen, screenQueue)
		if m.screen == screenQueue {
			var load tea.Cmd
			m.queue, load = m.queue.open(m.queueEnv())
			return m, tea.Batch(m.refreshStatus(), load)
		}
		return m, nil
	case key.Matches(k, m.keys.Report):
		return m.showReport()
	case key.Matches(k, m.keys.Cancel) && m.screen != screenTill:
		m.screen = screenTill
		return m, nil
	case key.Matches(k, m.keys.SyncNow):
		if m.o.Engine != nil {
			m.o.Engine.SyncNow()
		}
		if !m.status.st.Online && !m.status.st.OfflineSince.IsZero() {
			m.notice = m.tx.SyncOffline // the sync cannot reach WeChat: say so, not nothing
		}
		return m, m.refreshStatus()
	case key.Matches(k, m.keys.Outage):
		f := m.o.Outage
		return m, func() tea.Msg { return outageMsg(f()) }
	case key.Matches(k, m.keys.Shift):
		return m.startShiftDialog()
	case key.Matches(k, m.keys.Submit):
		line := m.input.Value()
		m.input.Reset()
		m.screen = screenTill
		return m.submit(scanner.KeyboardScan(line))
	}
	if m.screen != screenTill {
		m.screen = screenTill // typing (a wedge scanner) always lands on the till
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return m, cmd
}

func toggle(cur, s screen) screen {
	if cur == s {
		return screenTill
	}
	return s
}

func (m Model) onScanner(ev scanner.Event) (tea.Model, tea.Cmd) {
	next := waitEvent(m.o.Events)
	switch ev.Kind {
	case scanner.EventConnected:
		m.status.connected = true
		if ev.Port != "" {
			m.status.port = ev.Port
		}
	case scanner.EventDisconnected:
		m.status.connected = false
	case scanner.EventScan, scanner.EventBadScan:
		// a scan is never an answer: an open dialog closes unanswered
		var dismiss tea.Cmd
		if m.dialog.kind != dialogNone {
			m, dismiss = m.dismissDialog()
		}
		mm, cmd := m.submit(ev.Scan)
		return mm, tea.Batch(dismiss, cmd, next)
	}
	return m, next
}

// submit sends a scan to the engine. Any scan, from the keyboard or the
// serial scanner, brings the till forward: the answer is the biggest
// thing on screen, whatever the manager was looking at.
func (m Model) submit(sc scanner.Scan) (Model, tea.Cmd) {
	m.screen = screenTill
	if sc.Err != nil {
		var re *scanner.RejectError
		if errors.As(sc.Err, &re) && re.Kind == scanner.RejectEmpty {
			return m, nil
		}
		m.result = resultPanel{rejected: sc, at: m.o.Now(), shown: true}
		return m, m.bell()
	}
	if code := sc.Payload.Code; code != "" {
		if mm, ok := m.repeatRead(code); ok {
			return mm, nil
		}
	}
	if m.o.Engine == nil {
		return m, nil
	}
	if code := sc.Payload.Code; code != "" {
		m.repeats.start(code)
	}
	m.inFlight++
	m.result = resultPanel{working: true, code: firstNonEmpty(sc.Payload.Code, sc.Payload.EncryptCode), at: m.o.Now(), shown: true}
	return m, m.redeem(sc)
}

func (m Model) onRedeemed(r redeemedMsg) (tea.Model, tea.Cmd) {
	m.inFlight--
	code := firstNonEmpty(r.out.Code, r.code)
	cancelled := r.err == nil && r.out.Reason == sync.ReasonCancelled
	if r.code != "" {
		m.repeats.done(r.code)
	}
	if r.err == nil && !cancelled && r.out.Kind != sync.Duplicate && code != "" {
		m.repeats.answer(code, r.out, m.o.Now())
		if r.code != "" && r.code != code {
			m.repeats.answer(r.code, r.out, m.o.Now())
		}
	}
	if cancelled && m.superseded[code] > 0 {
		// cancelled by the scan that followed: the panel is that scan's
		if m.superseded[code]--; m.superseded[code] == 0 {
			delete(m.superseded, code)
		}
		m.recent.add(r.out)
		return m, m.refreshStatus()
	}
	if m.dialog.kind == dialogConfirm && m.dialog.confirm.out.Code == code {
		m.dialog = dialog{}
	}
	m.result = resultPanel{out: r.out, err: r.err, code: code, at: m.o.Now(), shown: true}
	if r.err == nil {
		m.recent.add(r.out)
	}
	cmds := []tea.Cmd{m.refreshStatus()}
	if r.err != nil || !r.out.Kind.Honoured() && r.out.Kind != sync.Duplicate && !cancelled {
		cmds = append(cmds, m.bell())
	}
	if r.err == nil && r.out.Reason == sync.ReasonOfflineShiftLimit && m.o.Override != nil {
		m.notice = m.mtx().OverrideHint // a manager can allow more (override.go)
	}
	if r.err == nil && r.out.ShiftID != 0 && r.out.ShiftID != m.status.shiftID {
		m.status.shiftID = r.out.ShiftID
	}
	return m, tea.Batch(cmds...)
}

func (m Model) bell() tea.Cmd {
	if !m.o.Bell {
		return nil
	}
	w := m.o.BellOut
	if w == nil {
		w = os.Stderr
	}
	return func() tea.Msg {
		_, _ = w.Write([]byte{'\a'})
		return nil
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (m Model) onShift(s shiftMsg) (tea.Model, tea.Cmd) {
	if s.err != nil {
		m.notice = fmt.Sprintf("%s: %v", m.tx.Error, s.err)
		return m, nil
	}
	switch {
	case s.closed:
		m.notice = fmt.Sprintf(m.tx.ShiftClosedFmt, s.id)
		m.status.shiftID = 0
		m.recent.resetCounts()
	case s.open:
		if s.cashier != "" {
			m.status.cashier = s.cashier
		}
		if s.opened {
			m.notice = fmt.Sprintf(m.tx.ShiftOpenedFmt, s.id, m.status.cashier)
		}
		m.status.shiftID = s.id
	}
	return m, m.refreshStatus()
}

// showReport opens (or closes) the shift report (report_screen.go).
func (m Model) showReport() (tea.Model, tea.Cmd) {
	if m.screen == screenReport {
		m.screen = screenTill
		return m, nil
	}
	e := m.reportEnv()
	if !e.available() {
		m.notice = m.tx.NoReport
		return m, nil
	}
	m.screen = screenReport
	var cmd tea.Cmd
	m.rep, cmd = m.rep.open(e)
	return m, cmd
}

// reportEnv is what the report screen reads of the root.
func (m Model) reportEnv() reportEnv {
	return reportEnv{show: m.o.ShiftReport, before: m.o.ShiftBefore, print: m.o.PrintReport, tx: m.tx, mtx: m.mtx(), keys: m.keys,
		open: m.status.shiftID, status: m.status.st, width: m.width, rows: m.bodyRows()}
}

// queueEnv is what the queue screen reads of the root.
func (m Model) queueEnv() queueEnv {
	return queueEnv{read: m.o.Backlog, ack: m.o.AckConflicts, detail: m.o.ConflictDetail != nil, tx: m.tx, keys: m.keys,
		status: m.status.st, recent: m.recent.items, typed: m.input.Value() != "", rows: m.bodyRows(),
		lines: func() int { return len(m.queueContent()) }}
}

// toQueue routes msg to the queue screen and does what it asks.
func (m Model) toQueue(msg tea.Msg) (Model, tea.Cmd) {
	mm, cmd, _ := m.toQueueOK(msg)
	return mm, cmd
}

func (m Model) toQueueOK(msg tea.Msg) (Model, tea.Cmd, bool) {
	q, cmd, out, ok := m.queue.Update(msg, m.queueEnv())
	m.queue = q
	if out.notice != "" {
		m.notice = out.notice
	}
	if out.open != 0 {
		return m.openConflict(out.open)
	}
	return m, cmd, ok
}

// toReport routes msg to the report screen and does what it asks.
func (m Model) toReport(msg tea.Msg) (Model, tea.Cmd) {
	mm, cmd, _ := m.toReportOK(msg)
	return mm, cmd
}

func (m Model) toReportOK(msg tea.Msg) (Model, tea.Cmd, bool) {
	rep, cmd, out, ok := m.rep.Update(msg, m.reportEnv())
	m.rep = rep
	if out.notice != "" {
		m.notice = out.notice
	}
	if out.leave {
		m.screen = screenTill
	}
	return m, cmd, ok
}
