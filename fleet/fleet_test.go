package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"cardtill/fleet"
	"cardtill/hub"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// handClock is moved by hand: the engine, the journal and the reporter
// read it; the reporter's timers fire when it passes them.
type handClock struct {
	mu     stdsync.Mutex
	t      time.Time
	timers []*handTimer
	// started, when set, gets the duration of every timer started.
	started chan time.Duration
}

type handTimer struct {
	c       chan time.Time
	at      time.Time
	stopped bool
}

func (t *handTimer) C() <-chan time.Time { return t.c }
func (t *handTimer) Stop() bool          { was := !t.stopped; t.stopped = true; return was }

func (c *handClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Mono is the time moved by hand since the start.
func (c *handClock) Mono() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.t.Sub(handStart) }

func (c *handClock) NewTimer(d time.Duration) sync.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &handTimer{c: make(chan time.Time, 1), at: c.t.Add(d)}
	c.timers = append(c.timers, t)
	started := c.started
	c.mu.Unlock()
	if started != nil {
		started <- d
	}
	c.mu.Lock()
	return t
}

func (c *handClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.t) {
			t.stopped = true
			t.c <- c.t
			continue
		}
		if !t.stopped {
			kept = append(kept, t)
		}
	}
	c.timers = kept
}

var handStart = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// The hub in front of the real one: up, down (503, nothing reaches the
// hub), answer lost (the hub stores, the till hears 502), older (422 with
// the format code, as a hub that does not know the format answers), or
// hanging until released. Every batch that reached the hub is recorded.
const (
	hubUp = iota
	hubDown
	hubLoseAnswer
	hubOlder
	hubHang
	hubRefuseItems // 400 for any batch with more than a heartbeat
)

type testHub struct {
	srv     *httptest.Server
	store   *hub.BoltStore
	mode    atomic.Int32
	release chan struct{}
	hung    chan struct{} // a request is hanging (hubHang)

	mu      stdsync.Mutex
	arrived []string // report ids, as they reached the hub
}

func startHub(t *testing.T) (*testHub, string) {
	t.Helper()
	st, err := hub.OpenStore(filepath.Join(t.TempDir(), "hub.db"), hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	codec, err := wechat.NewPushCodec(wechat.PushConfig{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := hub.NewServer(hub.Options{Push: codec, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	key := hub.NewTerminalKey()
	if err := st.AddTerminal("shop1-till1", key); err != nil {
		t.Fatal(err)
	}
	h := &testHub{store: st, release: make(chan struct{}), hung: make(chan struct{}, 1)}
	real := s.Handler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch h.mode.Load() {
		case hubDown:
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case hubOlder:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprintf(w, `{"error":"report format 1 is newer than this hub reads (0)","code":%q}`, hub.HubCodeFleetFormat)
			return
		case hubHang:
			select {
			case h.hung <- struct{}{}:
			default:
			}
			select {
			case <-h.release:
			case <-r.Context().Done():
			}
			http.Error(w, "slow", http.StatusGatewayTimeout)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var b hub.FleetBatch
		if json.Unmarshal(body, &b) == nil {
			h.mu.Lock()
			for _, rep := range b.Reports {
				h.arrived = append(h.arrived, rep.ID)
			}
			h.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if h.mode.Load() == hubRefuseItems && len(b.Reports) > 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"report 0: a bug the hub refuses"}`)
			return
		}
		if h.mode.Load() == hubLoseAnswer {
			real.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(w, "lost", http.StatusBadGateway)
			return
		}
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h, key
}

func (h *testHub) arrivedIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.arrived...)
}

// till is a real journal and engine on the fake WeChat, and its reporter.
type till struct {
	t    *testing.T
	clk  *handClock
	db   *store.DB
	e    *sync.Engine
	wx   *wechattest.Server
	rep  *fleet.Reporter
	logs *bytes.Buffer
	lmu  *stdsync.Mutex
}

type lockedWriter struct {
	mu *stdsync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newTill(t *testing.T, h *testHub, key string) *till {
	t.Helper()
	return newTillInterval(t, h, key, 0)
}

func newTillInterval(t *testing.T, h *testHub, key string, interval time.Duration) *till {
	t.Helper()
	clk := &handClock{t: handStart}
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{Now: clk.Now, Terminal: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	wx := wechattest.New()
	t.Cleanup(wx.Close)
	wx.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off"})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	client, err := wechat.New(wechat.Options{BaseURL: wx.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: wx.URL, AppID: wx.AppID, Secret: wx.Secret, HTTPClient: hc})})
	if err != nil {
		t.Fatal(err)
	}
	e, err := sync.New(sync.Options{
		Journal: sync.NewJournal(db, "T1"), WeChat: sync.NewWeChat(client), Terminal: "T1", OpenShiftOnScan: true, DefaultCashier: "Li",
		Policy:  sync.Policy{Mode: "accept", MaxPerShift: 20, MaxAge: 4 * time.Hour},
		Timeout: 2 * time.Second, SyncTimeout: 2 * time.Second, QuietPeriod: 20 * time.Second, MaxBackoff: 10 * time.Second, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	tl := &till{t: t, clk: clk, db: db, e: e, wx: wx, logs: &bytes.Buffer{}, lmu: &stdsync.Mutex{}}
	tl.rep, err = fleet.New(fleet.Options{
		DB: db, Hub: hub.NewClient(hub.ClientOptions{URL: h.srv.URL, TerminalKey: key, HTTPClient: h.srv.Client()}), Clock: clk,
		State: func() fleet.State {
			return fleet.State{Version: "test", Store: "Shop 1", Terminal: "T1", Status: e.Status(), Scanner: "connected"}
		},
		Logger:  slog.New(slog.NewTextHandler(lockedWriter{tl.lmu, tl.logs}, nil)),
		Timeout: 5 * time.Second, Batch: 3, Interval: interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func (tl *till) log() string { tl.lmu.Lock(); defer tl.lmu.Unlock(); return tl.logs.String() }

func (tl *till) redeem(code string) sync.Outcome {
	tl.t.Helper()
	out, err := tl.e.Redeem(context.Background(), sync.Request{Code: code, Source: "test"})
	if err != nil {
		tl.t.Fatalf("redeem %s: %v", code, err)
	}
	return out
}

func (tl *till) drain() {
	tl.t.Helper()
	for range 10 {
		tl.clk.Advance(time.Minute)
		if _, err := tl.e.DrainOnce(context.Background()); err != nil {
			tl.t.Fatal(err)
		}
		if n, _ := tl.db.Count(store.Query{Index: store.Outbox}); n == 0 {
			return
		}
	}
	tl.t.Fatal("the queue did not drain")
}

func (tl *till) closeShift() store.Shift {
	tl.t.Helper()
	sh, ok, err := tl.db.CurrentShift("T1")
	if err != nil || !ok {
		tl.t.Fatalf("no open shift: %v", err)
	}
	closed, err := tl.db.CloseShift(sh.ID)
	if err != nil {
		tl.t.Fatal(err)
	}
	return closed
}

func (tl *till) pending() int {
	tl.t.Helper()
	_, n, err := tl.db.FleetPending(0)
	if err != nil {
		tl.t.Fatal(err)
	}
	return n
}

func code(i int) string { return fmt.Sprintf("8000%08d", i) }

// A real till reports to a real hub; the hub goes away for a day while
// the till works on (shifts closed, codes accepted offline, one of them a
// conflict, resolved by the manager), and when it is back the till catches
// up: everything arrives, oldest first, and is stored once, even with the
// answer to one batch lost on the way (the till sends it again).
func TestTillOfflineForADayCatchesUpInOrder(t *testing.T) {
	t.Parallel()
	h, key := startHub(t)
	tl := newTill(t, h, key)
	for i := range 30 {
		tl.wx.AddCode(wechattest.Code{Code: code(i), CardID: "pCard"})
	}
	if out := tl.redeem(code(0)); out.Kind != sync.Consumed {
		t.Fatalf("online scan: %+v", out)
	}
	if err := tl.rep.Exchange(context.Background()); err != nil {
		t.Fatal(err)
	}
	tills, _ := h.store.FleetTills()
	if len(tills) != 1 || tills[0].Till != "shop1-till1" || tills[0].Heartbeat.Shift == nil || tills[0].Heartbeat.Shift.Total != 1 ||
		tills[0].Heartbeat.Shift.Cashier != "Li" || !tills[0].Heartbeat.Online || tills[0].Heartbeat.Scanner != "connected" {
		t.Fatalf("first heartbeat: %+v", tills)
	}

	// The hub is gone for a day.
	h.mode.Store(hubDown)
	tl.wx.SetOutage(true)
	for _, i := range []int{1, 2} {
		if out := tl.redeem(code(i)); out.Kind != sync.AcceptedOffline {
			t.Fatalf("offline scan: %+v", out)
		}
	}
	tl.wx.SetStatus(code(2), wechat.StatusConsumed) // used elsewhere meanwhile: a conflict when drained
	var closed []store.Shift
	for hour := range 24 {
		tl.clk.Advance(time.Hour)
		if err := tl.rep.Exchange(context.Background()); err == nil {
			t.Fatal("an exchange with the hub down succeeded")
		}
		switch hour {
		case 2:
			tl.wx.SetOutage(false)
			tl.drain()
		case 3:
			cs, _ := tl.db.Find(store.Query{Index: store.ByState, State: store.Conflict})
			if len(cs) != 1 {
				t.Fatalf("conflicts: %+v", cs)
			}
			if _, err := tl.db.ResolveConflict(cs[0].ID, "Wang", "customer paid cash"); err != nil {
				t.Fatal(err)
			}
		case 4, 12, 20:
			closed = append(closed, tl.closeShift())
			if out := tl.redeem(code(10 + hour/4)); out.Kind != sync.Consumed {
				t.Fatalf("scan in the new shift: %+v", out)
			}
		}
	}
	if n := tl.pending(); n != 4 { // three Z reports and the conflict; heartbeats are not queued
		t.Fatalf("%d reports wait after the day, want 4", n)
	}
	if got := strings.Count(tl.log(), "fleet reports not sent"); got != 1 {
		t.Fatalf("the failure was logged %d times over the day, want once:\n%s", got, tl.log())
	}

	// Back, but the answer to the first batch is lost: sent again, stored once.
	h.mode.Store(hubLoseAnswer)
	if err := tl.rep.Exchange(context.Background()); err == nil {
		t.Fatal("a lost answer counted as confirmed")
	}
	if n := tl.pending(); n != 4 {
		t.Fatalf("%d wait after the lost answer, want 4", n)
	}
	h.mode.Store(hubUp)
	if err := tl.rep.Exchange(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tl.pending(); n != 0 {
		t.Fatalf("%d still wait", n)
	}
	if err := tl.rep.Exchange(context.Background()); err != nil {
		t.Fatal(err)
	}
	shifts, err := h.store.FleetShifts(hub.ShiftQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(shifts) != 3 {
		t.Fatalf("hub has %d shifts, want 3: %+v", len(shifts), shifts)
	}
	for i, s := range shifts {
		if s.ShiftID != closed[i].ID || !s.ClosedAt.Equal(closed[i].ClosedAt) || s.Till != "shop1-till1" || s.Store != "Shop 1" {
			t.Fatalf("shift %d: %+v, want #%d", i, s, closed[i].ID)
		}
	}
	if shifts[0].Z.Total != 3 || shifts[0].Z.ByOutcome[store.OutcomeConflict] != 1 || shifts[0].Z.OfflineAccepted != 2 {
		t.Fatalf("first Z: %+v", shifts[0].Z)
	}
	cs, _ := h.store.FleetConflicts(false)
	if len(cs) != 1 || cs[0].Code != code(2) || cs[0].Resolution == nil || cs[0].Resolution.Note != "customer paid cash" {
		t.Fatalf("hub conflicts: %+v", cs)
	}
	// In order: the batches after the day carried the reports by the time
	// they happened (the first batch twice: its answer was lost).
	ids := h.arrivedIDs()
	var order []string
	for _, id := range ids[1:] { // after the first heartbeat
		if !strings.HasPrefix(id, "heartbeat/") {
			order = append(order, id)
		}
	}
	conflictID := fmt.Sprintf("conflict/%d/resolved", cs[0].ID)
	// Two reports a batch (Batch 3, the heartbeat with the last): the
	// conflict (drained at hour 2) before the first close (hour 4); the
	// first batch twice, its answer lost the first time.
	z := func(i int) string { return fmt.Sprintf("z/%d", closed[i].ID) }
	want := []string{conflictID, z(0), conflictID, z(0), z(1), z(2)}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("arrival order\n got %v\nwant %v", order, want)
	}
	tills, _ = h.store.FleetTills()
	if hb := tills[0].Heartbeat; hb.QueueDepth != 0 || hb.OpenConflicts != 0 || !tills[0].At.Equal(tl.clk.Now()) {
		t.Fatalf("latest heartbeat: %+v at %s", hb, tills[0].At)
	}
}

// A hub older than the till's report format (422 with its code): the till
// logs it once, however many exchanges fail, keeps every report, and sends
// them once the hub is upgraded. A revoked key likewise.
func TestRefusedReportsWaitAndAreLoggedOnce(t *testing.T) {
	t.Parallel()
	h, key := startHub(t)
	tl := newTill(t, h, key)
	tl.wx.AddCode(wechattest.Code{Code: code(1), CardID: "pCard"})
	tl.redeem(code(1))
	tl.closeShift()
	h.mode.Store(hubOlder)
	for range 3 {
		tl.clk.Advance(time.Minute)
		var se *hub.StatusError
		if err := tl.rep.Exchange(context.Background()); !errorsAs(err, &se) || se.Code != hub.HubCodeFleetFormat {
			t.Fatalf("exchange with an older hub: %v", err)
		}
	}
	if got := strings.Count(tl.log(), "older than this till's report format"); got != 1 {
		t.Fatalf("logged %d times, want once:\n%s", got, tl.log())
	}
	if n := tl.pending(); n != 1 {
		t.Fatalf("%d wait, want the Z report", n)
	}
	h.mode.Store(hubUp)
	if err := h.store.RemoveTerminal("shop1-till1"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := tl.rep.Exchange(context.Background()); !errorsIs(err, hub.ErrUnauthorized) {
			t.Fatalf("revoked key: %v", err)
		}
	}
	if got := strings.Count(tl.log(), "refused this till's terminal key"); got != 1 {
		t.Fatalf("key refusal logged %d times:\n%s", got, tl.log())
	}
	if tills, _ := h.store.FleetTills(); len(tills) != 0 {
		t.Fatalf("stored from a refused key: %+v", tills)
	}
	if n := tl.pending(); n != 1 {
		t.Fatalf("%d wait, want the Z report", n)
	}
	if err := h.store.AddTerminal("shop1-till1", key); err != nil {
		t.Fatal(err)
	}
	if err := tl.rep.Exchange(context.Background()); err != nil {
		t.Fatal(err)
	}
	if shifts, _ := h.store.FleetShifts(hub.ShiftQuery{}); len(shifts) != 1 || tl.pending() != 0 {
		t.Fatalf("after the upgrade: %+v, %d waiting", shifts, tl.pending())
	}
	if !strings.Contains(tl.log(), "the hub takes them again") {
		t.Fatalf("no line for the recovery:\n%s", tl.log())
	}
}

// Run sends a heartbeat at once, then every interval of the injected
// clock (no sleeping) and when kicked; a hub that hangs does not hold a scan: the scan is
// answered while the reporter's request hangs.
func TestRunOnTheClockAndAHangingHubNeverDelaysAScan(t *testing.T) {
	t.Parallel()
	h, key := startHub(t)
	tl := newTillInterval(t, h, key, 30*time.Second)
	tl.clk.started = make(chan time.Duration)
	tl.wx.AddCode(wechattest.Code{Code: code(1), CardID: "pCard"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.rep.Run(ctx) }()
	heartbeats := func() int {
		n := 0
		for _, id := range h.arrivedIDs() {
			if strings.HasPrefix(id, "heartbeat/") {
				n++
			}
		}
		return n
	}
	if d := <-tl.clk.started; d != 30*time.Second {
		t.Fatalf("timer of %s, want the interval", d)
	}
	if n := heartbeats(); n != 1 {
		t.Fatalf("%d heartbeats at start", n)
	}
	tl.clk.Advance(29 * time.Second)
	tl.clk.Advance(time.Second)
	<-tl.clk.started
	if n := heartbeats(); n != 2 {
		t.Fatalf("%d heartbeats after one interval", n)
	}
	tl.rep.Kick() // a shift closed: now, not at the next interval
	<-tl.clk.started
	if n := heartbeats(); n != 3 {
		t.Fatalf("%d heartbeats after a kick", n)
	}
	h.mode.Store(hubHang)
	tl.clk.Advance(30 * time.Second)
	<-h.hung // the reporter waits on the hub
	if out := tl.redeem(code(1)); out.Kind != sync.Consumed {
		t.Fatalf("scan while the hub hangs: %+v", out)
	}
	stopped := make(chan struct{})
	go func() { // the timer Run may start before it sees ctx end
		for {
			select {
			case <-tl.clk.started:
			case <-stopped:
				return
			}
		}
	}()
	cancel()
	err := <-done
	close(stopped)
	if err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	close(h.release)
}

// A conflict resolved at HQ is recorded in the till's journal after its
// next exchange, and the hub hears in the same exchange that the till has
// it.
func TestResolutionAtHQReachesTheTill(t *testing.T) {
	t.Parallel()
	h, key := startHub(t)
	tl := newTill(t, h, key)
	tl.wx.AddCode(wechattest.Code{Code: code(1), CardID: "pCard"})
	tl.wx.SetOutage(true)
	tl.redeem(code(1))
	tl.wx.SetStatus(code(1), wechat.StatusConsumed)
	tl.wx.SetOutage(false)
	tl.drain()
	if err := tl.rep.Exchange(context.Background()); err != nil {
		t.Fatal(err)
	}
	cs, _ := h.store.FleetConflicts(true)
	if len(cs) != 1 {
		t.Fatalf("hub conflicts: %+v", cs)
	}
	if err := h.store.ResolveFleetConflict("shop1-till1", cs[0].ID, hub.FleetResolution{By: "Zhao", At: tl.clk.Now(), Note: "refunded at HQ"}); err != nil {
		t.Fatal(err)
	}
	if err := tl.rep.Exchange(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := tl.db.Resolution(cs[0].ID)
	if err != nil || res == nil || res.Note != "refunded at HQ" || res.By != "Zhao (HQ)" {
		t.Fatalf("till's resolution: %+v %v", res, err)
	}
	all, _ := h.store.FleetConflicts(false)
	if len(all) != 1 || all[0].Unheard || all[0].Resolution == nil || !all[0].Resolution.AtHQ {
		t.Fatalf("hub after the exchange: %+v", all)
	}
	if n := tl.pending(); n != 0 {
		t.Fatalf("%d wait", n)
	}
}

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }
func errorsIs(err, target error) bool     { return errors.Is(err, target) }

// A report the hub refuses (400) waits with those after it, logged once,
// but the heartbeat still goes alone, saying how many wait; a text longer
// than the hub takes (a long cashier's name) is clipped, not refused.
func TestRefusedReportStillLetsTheHeartbeatThrough(t *testing.T) {
	t.Parallel()
	h, key := startHub(t)
	tl := newTill(t, h, key)
	long := strings.Repeat("王", hub.MaxFleetText+20)
	if _, err := tl.db.OpenShift("T1", long); err != nil {
		t.Fatal(err)
	}
	tl.closeShift()
	h.mode.Store(hubRefuseItems)
	for range 2 {
		if err := tl.rep.Exchange(context.Background()); err == nil {
			t.Fatal("a refused batch counted as sent")
		}
	}
	tills, _ := h.store.FleetTills()
	if len(tills) != 1 || tills[0].Heartbeat.Pending != 1 {
		t.Fatalf("heartbeat while a report is refused: %+v", tills)
	}
	if got := strings.Count(tl.log(), "hub answered 400"); got != 1 {
		t.Fatalf("the refusal logged %d times:\n%s", got, tl.log())
	}
	if n := tl.pending(); n != 1 {
		t.Fatalf("%d wait, want the Z report", n)
	}
	h.mode.Store(hubUp)
	if err := tl.rep.Exchange(context.Background()); err != nil {
		t.Fatal(err)
	}
	shifts, _ := h.store.FleetShifts(hub.ShiftQuery{})
	if len(shifts) != 1 || len([]rune(shifts[0].Cashier)) != hub.MaxFleetText || !strings.HasSuffix(shifts[0].Cashier, "…") {
		t.Fatalf("the long name: %d runes", len([]rune(shifts[0].Cashier)))
	}
}
