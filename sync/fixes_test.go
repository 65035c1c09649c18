package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// An errcode that is not in the till's table (48004 api banned, 50002 user
// limited, an account-level ban) never turns a queued or in-doubt code
// into a final conflict: the code stays as it is, retried later with the
// longest backoff. With a cashier waiting, the code is refused with the
// errcode in words, never served. (Before: conflict for the manager.)
func TestUnknownErrcodeIsRetriedNotAConflict(t *testing.T) {
	t.Parallel()
	for _, errcode := range []int{48004, 50002} {
		st := newStoreTill(t, 2)
		queued, doubt := "730000000001", "730000000002"
		st.srv.AddCode(wechattest.Code{Code: queued, CardID: "pCard"})
		st.srv.SetOutage(true)
		if out, err := st.e.Redeem(context.Background(), sync.Request{Code: queued}); err != nil || out.Kind != sync.AcceptedOffline {
			t.Fatalf("offline: %+v %v", out, err)
		}
		st.srv.SetOutage(false)
		lostConsume(t, st, doubt)
		st.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: errcode, Errmsg: "api banned", Persistent: true})
		if _, err := st.e.DrainOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		for code, want := range map[string]sync.State{queued: sync.StateQueued, doubt: sync.StateInDoubt} {
			if got := st.state(code); len(got) != 1 || got[0] != want {
				t.Fatalf("errcode %d: %s is %v, want %s", errcode, code, got, want)
			}
			r := st.outboxed(code)
			if r.Attempts != 1 || !strings.Contains(r.LastError, "api banned") || !r.DueAt.After(st.clk.Now().Add(9*time.Second)) {
				t.Fatalf("errcode %d: %s retry %+v", errcode, code, r)
			}
		}
		out, err := st.e.Redeem(context.Background(), sync.Request{Code: "730000000003"})
		if err != nil || out.Kind != sync.Refused || out.Errcode != errcode || !strings.Contains(out.ReasonText, "errcode") {
			t.Fatalf("errcode %d with the cashier waiting: %+v %v", errcode, out, err)
		}
	}
}

// An encrypt_code longer than WeChat's 128 characters is bad input:
// nothing journaled, no shift opened. (Before: the bound was 256.)
func TestLongEncryptCodeIsBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	_, err := h.e.Redeem(context.Background(), sync.Request{EncryptCode: strings.Repeat("A", 129)})
	if !errors.Is(err, sync.ErrBadScan) || !strings.Contains(err.Error(), "128") {
		t.Fatalf("129 characters: %v", err)
	}
	if h.j.commits.Load() != 0 {
		t.Fatalf("%d commits for bad input", h.j.commits.Load())
	}
	if _, _, ok, _ := h.j.CurrentShift(); ok {
		t.Fatal("a shift was opened for bad input")
	}
}

// A throttle WeChat asked for (45009: retry much later) never makes Run
// wait longer than [sync] interval. (Before: up to the backoff's cap.)
func TestThrottleWaitCappedAtInterval(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *sync.Options) { o.Interval = 30 * time.Second; o.MaxBackoff = 10 * time.Minute })
	rep := sync.DrainReport{ThrottledUntil: h.clk.Now().Add(8 * time.Minute)}
	if d := sync.RunWait(h.e, rep, false, 0); d > 30*time.Second {
		t.Fatalf("Run waits %s for a throttle, more than the interval", d)
	}
}

// An HTTP 200 JSON answer without errcode (a proxy, a captive portal, a
// wrong api_base) is not WeChat's answer: to a consume the outcome is
// unknown (in doubt, settled by a query: nothing is served), to a query
// WeChat was not reached (the offline policy decides). (Before: the
// coupon was journaled consumed and the cashier served, with nothing
// written off.)
func TestJSONWithoutErrcodeIsNotWeChat(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 2)
	const code = "740000000001"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	st.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{Body: `{"status":"ok","portal":"login required"}`})
	out, err := st.e.Redeem(context.Background(), sync.Request{Code: code})
	if err != nil || out.Kind != sync.Checking || out.State != sync.StateInDoubt {
		t.Fatalf("consume answered by a portal: %+v %v", out, err)
	}
	if st.srv.ConsumeCount(code) != 0 {
		t.Fatal("the fake applied the consume")
	}
	st.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Body: `{"card":{"card_id":"pCard"},"can_consume":true,"user_card_status":"NORMAL"}`})
	out, err = st.e.Redeem(context.Background(), sync.Request{Code: "740000000002"})
	if err != nil || out.Kind == sync.Consumed || !out.Reason.Offline() && out.Kind != sync.AcceptedOffline {
		t.Fatalf("query answered by a portal: %+v %v", out, err)
	}
	if s := st.e.Status(); s.Online {
		t.Fatalf("a portal's answer taken for WeChat's: %+v", s)
	}
}

// Only an answer that is WeChat's own ends an outage: the client refusing
// a code longer than WeChat allows, before sending anything, says nothing
// of WeChat, so the outage (and offline.max_age's clock) goes on.
func TestLocalRefusalDoesNotEndAnOutage(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 2)
	st.srv.AddCode(wechattest.Code{Code: "750000000001", CardID: "pCard"})
	st.srv.SetOutage(true)
	if out, err := st.e.Redeem(context.Background(), sync.Request{Code: "750000000001"}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("offline: %+v %v", out, err)
	}
	since := st.e.Status().OfflineSince
	out, err := st.e.Redeem(context.Background(), sync.Request{Code: strings.Repeat("7", 25)})
	if err != nil || out.Kind != sync.Refused || out.Reason != sync.ReasonInvalidCode {
		t.Fatalf("a 25-character code: %+v %v", out, err)
	}
	if s := st.e.Status(); s.Online || !s.OfflineSince.Equal(since) {
		t.Fatalf("a refusal by the till itself ended the outage: %+v", s)
	}
}

// The PC's clock set back two hours (by hand, or a bad NTP answer) while
// codes wait: the queued codes drain as soon as WeChat answers, in this
// run and after a restart, instead of two hours later; a lost consume
// still waits a whole quiet period before its query. (Before: nothing was
// due until the clock caught up.)
func TestClockSetBackDrainsQueuedCodes(t *testing.T) {
	t.Parallel()
	for _, restart := range []bool{false, true} {
		st := newStoreTill(t, 2)
		const code = "760000000001"
		st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
		st.srv.SetOutage(true)
		if out, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); err != nil || out.Kind != sync.AcceptedOffline {
			t.Fatalf("offline: %+v %v", out, err)
		}
		lostConsumeAt := "760000000002"
		st.srv.SetOutage(false)
		st.srv.AddCode(wechattest.Code{Code: lostConsumeAt, CardID: "pCard"})
		st.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
		if out, _ := st.e.Redeem(context.Background(), sync.Request{Code: lostConsumeAt}); out.Kind != sync.Checking {
			t.Fatalf("lost consume: %+v", out)
		}
		st.clk.Advance(-2 * time.Hour)
		if restart {
			st.restart()
			if err := st.e.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.e.DrainOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := st.state(code); len(got) != 1 || got[0] != sync.StateConsumed {
			t.Fatalf("restart %v: queued code after the clock went back: %v", restart, got)
		}
		if got := st.state(lostConsumeAt); len(got) != 1 || got[0] != sync.StateInDoubt {
			t.Fatalf("restart %v: the lost consume was settled before a quiet period passed: %v", restart, got)
		}
		st.clk.Advance(21 * time.Second)
		if _, err := st.e.DrainOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := st.state(lostConsumeAt); len(got) != 1 || got[0] != sync.StateConsumed || st.srv.ConsumeCount(lostConsumeAt) != 1 {
			t.Fatalf("restart %v: the lost consume after a quiet period: %v", restart, got)
		}
	}
}

// Run schedules its passes on the engine's clock, not the PC's: with an
// injected clock, the next pass comes when that clock passes the wait
// (here the interval), and not before, whatever the wall clock does.
func TestRunWaitsOnTheInjectedClock(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	clk := h.clk
	clk.started = make(chan time.Duration, 16)
	e, err := sync.New(sync.Options{Journal: h.j, WeChat: h.wx, Terminal: "till-2", Clock: clk, Interval: 30 * time.Second,
		ProbeInterval: time.Hour, QuietPeriod: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	runWaits := func() {
		for d := range clk.started {
			if d == 30*time.Second { // Run's wait (the watcher's is an hour)
				return
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	runWaits()
	if n := h.j.dues.Load(); n != 1 {
		t.Fatalf("%d passes before the first wait", n)
	}
	clk.Advance(29 * time.Second)
	if n := h.j.dues.Load(); n != 1 {
		t.Fatalf("a pass before the wait was over (%d)", n)
	}
	clk.Advance(time.Second)
	runWaits() // the next pass, on the engine's clock, then its wait
	if n := h.j.dues.Load(); n != 2 {
		t.Fatalf("%d passes after the interval, want 2", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A scan whose journal write failed after it was journaled received (the
// disk full a moment) leaves a received record; a rescan of that code once
// the journal works again is served, not answered "duplicate read" until
// the till restarts. The record left behind is set aside (rejected,
// interrupted: nothing was consumed).
func TestReceivedLeftByAFailedWriteIsSetAside(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("770000000001", "pCard")
	h.redeem("warm-up-000001") // opens the shift
	h.j.mu.Lock()
	h.j.killAt = h.j.commits.Load() + 1 // the received commit lands, the next write fails
	h.j.mu.Unlock()
	if _, err := h.e.Redeem(context.Background(), sync.Request{Code: "770000000001"}); err == nil {
		t.Fatal("the failed write was not reported")
	}
	h.j.restart() // the journal works again; the engine is the same
	out, err := h.e.Redeem(context.Background(), sync.Request{Code: "770000000001"})
	if err != nil || out.Kind != sync.Consumed {
		t.Fatalf("rescan after the journal recovered: %+v %v", out, err)
	}
	recs := h.j.records("770000000001")
	if len(recs) != 2 || recs[0].State != sync.StateRejected || recs[0].Reason != sync.ReasonInterrupted || h.wx.consumed("770000000001") != 1 {
		t.Fatalf("records %+v", recs)
	}
}

// WeChat answering busy (-1) or over quota for longer than offline.max_age
// stops offline acceptance as an outage does: the clock starts at the
// first busy answer, is kept across restarts, and the status says WeChat
// is busy, not unreachable. (Before: every busy answer counted as
// contact, so the till accepted offline without end.)
func TestBusyLongerThanMaxAgeStopsOfflineAcceptance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, c := range []string{"780000000001", "780000000002", "780000000003"} {
		h.wx.add(c, "pCard")
	}
	h.wx.inject("get", faultBusy, faultBusy)
	start := h.clk.Now()
	if out := h.redeem("780000000001"); out.Kind != sync.AcceptedOffline {
		t.Fatalf("first busy answer: %+v", out)
	}
	s := h.e.Status()
	if !s.Online || !s.WeChatBusy || !s.BusySince.Equal(start) {
		t.Fatalf("status while busy: %+v", s)
	}
	h.clk.Advance(4*time.Hour + time.Minute)
	e2, err := sync.New(sync.Options{Journal: h.j, WeChat: h.wx, Terminal: "till-2", OpenShiftOnScan: true,
		Policy: sync.Policy{Mode: "accept", MaxPerShift: 20, MaxAge: 4 * time.Hour}, Timeout: 50 * time.Millisecond,
		SyncTimeout: 80 * time.Millisecond, QuietPeriod: 20 * time.Second, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if s := e2.Status(); !s.WeChatBusy || !s.BusySince.Equal(start) {
		t.Fatalf("after a restart: %+v", s)
	}
	out, err := e2.Redeem(context.Background(), sync.Request{Code: "780000000002"})
	if err != nil || out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineTooLong {
		t.Fatalf("busy for longer than max_age: %+v %v", out, err)
	}
	// WeChat's own answer, not busy, ends it.
	if out, err := e2.Redeem(context.Background(), sync.Request{Code: "780000000003"}); err != nil || out.Kind != sync.Consumed {
		t.Fatalf("WeChat answering again: %+v %v", out, err)
	}
	if s := e2.Status(); s.WeChatBusy || !s.BusySince.IsZero() {
		t.Fatalf("busy after WeChat answered: %+v", s)
	}
}
