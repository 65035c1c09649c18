package sync_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"cardtill/sync"
)

type harness struct {
	t   testing.TB
	clk *clock
	j   *memJournal
	wx  *fakeWeChat
	e   *sync.Engine
}

func newHarness(t testing.TB, mod func(*sync.Options)) *harness {
	t.Helper()
	clk := newClock()
	h := &harness{t: t, clk: clk, j: newMemJournal(clk.Now), wx: newFakeWeChat()}
	o := sync.Options{
		Journal: h.j, WeChat: h.wx, Terminal: "till-2", OpenShiftOnScan: true, DefaultCashier: "Wang Fang",
		// short codes ("1", "8002") keep the tables readable: the format
		// check has its own tests (policy_test.go, TestOfflineFormatCheck)
		Policy:  sync.Policy{Mode: "accept", MaxPerShift: 20, MaxAge: 4 * time.Hour, CodePattern: anyCode},
		Timeout: 50 * time.Millisecond, SyncTimeout: 80 * time.Millisecond, QuietPeriod: 20 * time.Second,
		MaxBackoff: 10 * time.Second, Now: clk.Now, Concurrency: 4,
	}
	if mod != nil {
		mod(&o)
	}
	e, err := sync.New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	return h
}

func (h *harness) redeem(code string) sync.Outcome {
	h.t.Helper()
	out, err := h.e.Redeem(context.Background(), sync.Request{Code: code, Source: "test"})
	if err != nil {
		h.t.Fatalf("Redeem(%s): %v", code, err)
	}
	return out
}

// settle brings the network back and drains until nothing is pending.
func (h *harness) settle() {
	h.t.Helper()
	h.wx.setDown(false)
	h.drainUntilEmpty()
}

// drainUntilEmpty drains until nothing is pending, moving the clock past
// quiet periods and backoffs.
func (h *harness) drainUntilEmpty() {
	h.t.Helper()
	for range 20 {
		h.clk.Advance(time.Minute)
		if _, err := h.e.DrainOnce(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		if st := h.e.Status(); st.QueueDepth == 0 {
			return
		}
	}
	h.t.Fatalf("queue not empty after settling: %+v", h.e.Status())
}

// agree checks the journal against the fake's truth for code.
func (h *harness) agree(code string) {
	h.t.Helper()
	h.agreeCount(code, h.wx.consumed(code))
}

// agreeCount checks that WeChat applied n <= 1 consumes of code, that the
// journal has exactly n consumed redemptions of it, and nothing pending.
func (h *harness) agreeCount(code string, n int) {
	h.t.Helper()
	if n > 1 {
		h.t.Fatalf("code %s consumed %d times by WeChat", code, n)
	}
	consumedHere := 0
	for _, r := range h.j.records(code) {
		switch r.State {
		case sync.StateConsumed:
			consumedHere++
		case sync.StateQueued, sync.StateConsuming, sync.StateInDoubt, sync.StateReceived, sync.StateChecked:
			h.t.Fatalf("code %s left in %s", code, r.State)
		}
	}
	if consumedHere != n {
		h.t.Fatalf("code %s: journal has %d consumed redemptions, WeChat applied %d consumes (records %+v)", code, consumedHere, n, h.j.records(code))
	}
}

func TestRedeemOnlineConsumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("110201201245", "pCard")
	before := h.j.commits.Load()
	out := h.redeem("110201201245")
	if out.Kind != sync.Consumed || out.State != sync.StateConsumed || out.Reason != sync.ReasonOK {
		t.Fatalf("outcome %+v", out)
	}
	if out.OpenID != "o110201201245" || out.CardID != "pCard" || out.CardTitle != "Title of pCard" {
		t.Fatalf("outcome lacks card/openid/title: %+v", out)
	}
	if got := h.wx.consumed("110201201245"); got != 1 {
		t.Fatalf("consumed %d times", got)
	}
	hist := h.j.history[out.ID]
	if fmt.Sprint(hist) != "[received checked consuming consumed]" {
		t.Fatalf("history %v", hist)
	}
	// shift opened + received + card cache + consuming + consumed
	if c := h.j.commits.Load() - before; c != 5 {
		t.Fatalf("%d commits on a first redemption, want 5", c)
	}
	// The answer is final once WeChat confirmed the consume: the cashier
	// sees it after two commits (received, consuming), before the third.
	h.wx.add("110201201246", "pCard")
	before = h.j.commits.Load()
	var atAnswer int64
	var answer sync.Outcome
	var stateAtAnswer sync.State
	var rescan sync.Outcome
	out, err := h.e.Redeem(context.Background(), sync.Request{Code: "110201201246", OnAnswer: func(o sync.Outcome) {
		atAnswer, answer = h.j.commits.Load()-before, o
		r, _ := h.j.Get(o.ID)
		stateAtAnswer = r.State
		// The code stays claimed until the consumed commit: a rescan now
		// is a duplicate read.
		rescan, _ = h.e.Redeem(context.Background(), sync.Request{Code: "110201201246"})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rescan.Kind != sync.Duplicate {
		t.Fatalf("rescan between the answer and the consumed commit: %+v", rescan)
	}
	if atAnswer != 2 || stateAtAnswer != sync.StateConsuming {
		t.Fatalf("answered after %d commits with the record %s, want 2 and consuming", atAnswer, stateAtAnswer)
	}
	if c := h.j.commits.Load() - before; c != 3 {
		t.Fatalf("%d commits in all, want 3", c)
	}
	if answer.Kind != sync.Consumed || answer.ID != out.ID || answer.CardTitle != "Title of pCard" || answer.OpenID != out.OpenID || out.State != sync.StateConsumed {
		t.Fatalf("early answer %+v, returned %+v", answer, out)
	}
	if h.wx.cardHits.Load() != 1 {
		t.Fatalf("card title fetched %d times, want once", h.wx.cardHits.Load())
	}
}

func TestRedeemRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	tomorrow := newClock().Now().Add(24 * time.Hour)
	yesterday := newClock().Now().Add(-24 * time.Hour)
	tests := []struct {
		name   string
		mod    func(*fakeCode)
		reason sync.Reason
		text   string
	}{
		{"consumed", func(c *fakeCode) { c.status = "CONSUMED" }, sync.ReasonAlreadyUsed, "already used"},
		{"expired", func(c *fakeCode) { c.status = "EXPIRE"; c.end = yesterday }, sync.ReasonExpired, "expired on 2026-11-21"},
		{"deleted", func(c *fakeCode) { c.status = "DELETE" }, sync.ReasonDeleted, "deleted"},
		{"gifting", func(c *fakeCode) { c.status = "GIFTING" }, sync.ReasonGifting, "given to a friend"},
		{"gift timeout", func(c *fakeCode) { c.status = "GIFT_TIMEOUT" }, sync.ReasonGiftTimeout, "timed out"},
		{"unavailable", func(c *fakeCode) { c.status = "UNAVAILABLE" }, sync.ReasonUnavailable, "not usable"},
		{"not yet valid", func(c *fakeCode) { c.begin = tomorrow }, sync.ReasonNotYetValid, "not valid until 2026-11-23"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.wx.add("1234", "pCard")
			h.wx.set("1234", tt.mod)
			out := h.redeem("1234")
			if out.Kind != sync.Refused || out.State != sync.StateRejected || out.Reason != tt.reason || !strings.Contains(out.ReasonText, tt.text) {
				t.Fatalf("outcome %+v, want refused %s %q", out, tt.reason, tt.text)
			}
			if h.wx.calls["consume"] != 0 {
				t.Fatal("a refused code was consumed")
			}
		})
	}
	t.Run("unknown code", func(t *testing.T) {
		h := newHarness(t, nil)
		out := h.redeem("999")
		if out.Kind != sync.Refused || out.Reason != sync.ReasonUnknownCode || out.Errcode != 40056 {
			t.Fatalf("outcome %+v", out)
		}
	})
}

func TestRedeemCustomCodeCards(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *sync.Options) { o.CustomCodeCards = []string{"pOther", "pCustom"} })
	h.wx.add("ABC123", "pCustom")
	h.wx.set("ABC123", func(c *fakeCode) { c.custom = true })
	out := h.redeem("ABC123")
	if out.Kind != sync.Consumed || out.CardID != "pCustom" {
		t.Fatalf("outcome %+v", out)
	}
}

func TestRedeemEncryptedCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("751234212312", "pCard")
	h.wx.enc["XXIzTt+/=="] = "751234212312"
	out, err := h.e.Redeem(context.Background(), sync.Request{EncryptCode: "XXIzTt+/=="})
	if err != nil || out.Kind != sync.Consumed || out.Code != "751234212312" {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	out, err = h.e.Redeem(context.Background(), sync.Request{EncryptCode: "bogus"})
	if err != nil || out.Kind != sync.Refused || out.Errcode != 40075 {
		t.Fatalf("bad encrypt code: %+v, %v", out, err)
	}
}

func TestRedeemBadScanChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, s := range []string{"", "   ", "12 34", "a\x00b", strings.Repeat("9", 200)} {
		if _, err := h.e.Redeem(context.Background(), sync.Request{Code: s}); !errors.Is(err, sync.ErrBadScan) {
			t.Errorf("Redeem(%q) err = %v, want ErrBadScan", s, err)
		}
	}
	if len(h.j.recs) != 0 || h.j.commits.Load() != 0 {
		t.Fatalf("bad scans changed the journal: %d records, %d commits", len(h.j.recs), h.j.commits.Load())
	}
}

func TestRedeemNoShiftAsk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *sync.Options) { o.OpenShiftOnScan = false })
	h.wx.add("1", "p")
	if _, err := h.e.Redeem(context.Background(), sync.Request{Code: "1"}); !errors.Is(err, sync.ErrNoShift) {
		t.Fatalf("err = %v, want ErrNoShift", err)
	}
	if len(h.j.recs) != 0 {
		t.Fatal("journaled without a shift")
	}
}

func TestUsedHereRefusedLocallyWithTimeAndShift(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("555", "p")
	first := h.redeem("555")
	h.clk.Advance(time.Hour)
	calls := h.wx.calls["get"]
	out := h.redeem("555")
	if out.Kind != sync.Refused || out.Reason != sync.ReasonUsedHere || out.Previous == nil || out.Previous.ID != first.ID || out.Previous.ShiftID != first.ShiftID {
		t.Fatalf("outcome %+v", out)
	}
	if !strings.Contains(out.ReasonText, "shift #1") || !strings.Contains(out.ReasonText, "till-2") {
		t.Fatalf("reason text %q lacks shift and till", out.ReasonText)
	}
	if h.wx.calls["get"] != calls {
		t.Fatal("a locally refused code was queried")
	}
}

func TestOfflineAcceptThenDrain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *sync.Options) { o.Policy.MaxPerShift = 2 })
	for _, c := range []string{"1", "2", "3"} {
		h.wx.add(c, "p")
	}
	h.wx.setDown(true)
	a := h.redeem("1")
	if a.Kind != sync.AcceptedOffline || a.State != sync.StateQueued || a.OfflineInShift != 1 || a.MaxPerShift != 2 {
		t.Fatalf("first offline: %+v", a)
	}
	if st := h.e.Status(); st.Online || st.OfflineSince.IsZero() || st.QueueDepth != 1 {
		t.Fatalf("status %+v", st)
	}
	if d := h.redeem("1"); d.Kind != sync.Refused || d.Reason != sync.ReasonUsedHere || d.Previous == nil || d.Previous.ID != a.ID || !strings.Contains(d.ReasonText, "accepted offline") {
		t.Fatalf("rescan of a queued code: %+v", d)
	}
	h.redeem("2")
	r := h.redeem("3")
	if r.Kind != sync.Refused || r.Reason != sync.ReasonOfflineShiftLimit || !strings.Contains(r.ReasonText, "2 of 2") {
		t.Fatalf("over the limit: %+v", r)
	}
	// Meanwhile someone else consumed code 2: it becomes a conflict.
	h.wx.set("2", func(c *fakeCode) { c.status = "CONSUMED" })
	h.settle()
	if got := h.j.records("1")[0]; got.State != sync.StateConsumed {
		t.Fatalf("code 1 is %s", got.State)
	}
	c := h.j.records("2")[0]
	if c.State != sync.StateConflict || c.Reason != sync.ReasonAlreadyUsed || c.Cashier != "Wang Fang" || c.ShiftID != 1 || c.AcceptedAt.IsZero() || c.Code != "2" {
		t.Fatalf("conflict lost details: %+v", c)
	}
	if st := h.e.Status(); !st.Online || st.Conflicts != 1 || st.QueueDepth != 0 || st.LastSync.IsZero() {
		t.Fatalf("status after drain %+v", st)
	}
	h.agree("1")
	h.agree("3")
}

func TestOfflineUsesFeedCache(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *sync.Options) {
		o.Feed = feedFunc(func(_ context.Context, cursor string) (sync.FeedPage, error) {
			if cursor == "" {
				return sync.FeedPage{Changes: []sync.CodeChange{{Code: "77", CardID: "p", Status: "DELETE"}}, Next: "c1", More: true}, nil
			}
			return sync.FeedPage{Changes: []sync.CodeChange{{Code: "78", CardID: "p", Status: "GIFTING"}}, Next: "c2"}, nil
		})
	})
	if err := h.e.PullFeed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.j.cursor != "c2" {
		t.Fatalf("cursor %q", h.j.cursor)
	}
	h.wx.setDown(true)
	for _, c := range []string{"77", "78"} {
		if out := h.redeem(c); out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineKnownBad {
			t.Fatalf("code %s offline: %+v", c, out)
		}
	}
}

type feedFunc func(context.Context, string) (sync.FeedPage, error)

func (f feedFunc) Changes(ctx context.Context, cursor string) (sync.FeedPage, error) {
	return f(ctx, cursor)
}

func TestInDoubtResolution(t *testing.T) {
	t.Parallel()
	t.Run("applied: consumed after the quiet period", func(t *testing.T) {
		h := newHarness(t, nil)
		h.wx.add("42", "p")
		h.wx.inject("consume", faultDropPost)
		out := h.redeem("42")
		if out.Kind != sync.Checking || out.State != sync.StateInDoubt {
			t.Fatalf("outcome %+v", out)
		}
		if d := h.redeem("42"); d.Kind != sync.Duplicate {
			t.Fatalf("rescan while in doubt: %+v", d)
		}
		// Before the quiet period nothing is asked.
		calls := h.wx.calls["get"]
		h.clk.Advance(5 * time.Second)
		if _, err := h.e.DrainOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if h.wx.calls["get"] != calls {
			t.Fatal("in-doubt consume queried inside its quiet period")
		}
		h.settle()
		h.agree("42")
	})
	t.Run("not applied: consumed again once", func(t *testing.T) {
		h := newHarness(t, nil)
		h.wx.add("43", "p")
		h.wx.inject("consume", faultDropPre)
		h.redeem("43")
		h.settle()
		h.agree("43")
		if h.wx.calls["consume"] != 2 {
			t.Fatalf("%d consume calls, want 2", h.wx.calls["consume"])
		}
	})
	t.Run("40099 answering our own retry goes back to the query", func(t *testing.T) {
		h := newHarness(t, nil)
		h.wx.add("44", "p")
		// First consume lost before apply; the retry lands but its answer
		// is lost too; a third path must not consume again.
		h.wx.inject("consume", faultDropPre, faultDropPost)
		h.redeem("44")
		h.settle()
		h.agree("44")
	})
	t.Run("deleted meanwhile: conflict", func(t *testing.T) {
		h := newHarness(t, nil)
		h.wx.add("45", "p")
		h.wx.inject("consume", faultDropPre)
		h.redeem("45")
		h.wx.set("45", func(c *fakeCode) { c.status = "DELETE" })
		h.settle()
		if r := h.j.records("45")[0]; r.State != sync.StateConflict || r.Reason != sync.ReasonDeleted {
			t.Fatalf("record %+v", r)
		}
		h.agree("45")
	})
}

func TestRecoverConsumingAtStartup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("60", "p")
	h.wx.add("61", "p")
	// A previous run crashed with both consumes in flight; 60's landed.
	for _, c := range []string{"60", "61"} {
		if _, err := h.j.Create(sync.Record{Code: c, CardID: "p", State: sync.StateConsuming, ShiftID: 1}, sync.StateReceived, sync.StateChecked, sync.StateConsuming); err != nil {
			t.Fatal(err)
		}
	}
	h.wx.set("60", func(c *fakeCode) { c.status = "CONSUMED" })
	h.wx.applied["60"] = 1
	if err := h.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.wx.calls["get"] != 0 {
		t.Fatal("recovered inside the quiet period")
	}
	// Restarting again inside the quiet period changes nothing (and so
	// does not postpone the resolution).
	commits := h.j.commits.Load()
	h.clk.Advance(10 * time.Second)
	if err := h.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.j.commits.Load() != commits {
		t.Fatal("a second recovery inside the quiet period wrote to the journal")
	}
	h.clk.Advance(11 * time.Second)
	if err := h.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.agree("60")
	h.agree("61")
}

// TestFaultMatrix injects every fault at every step and checks WeChat
// applied at most one consume per code and the journal agrees with it once
// the network is back. Each case runs in a synctest bubble: a call held
// past its deadline (faultLatency) ends when the bubble's clock reaches
// Timeout or SyncTimeout, with no real time spent.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	faults := []fault{faultLatency, fault5xx, faultBusy, faultQuota, faultDropPre, faultDropPost, faultToken}
	steps := []string{"get", "consume", "decrypt", "any"} // "any": the token step, before whatever call comes first
	for _, step := range steps {
		for _, ft := range faults {
			for _, times := range []int{1, 3} {
				name := fmt.Sprintf("%s/%s/x%d", step, faultNames[ft], times)
				if step == "any" {
					name = fmt.Sprintf("token/%s/x%d", faultNames[ft], times)
				}
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						h := newHarness(t, nil)
						h.wx.add("8001", "p")
						h.wx.enc["enc8001"] = "8001"
						h.wx.add("8002", "p")
						f := ft
						if step == "any" {
							f = faultToken // a token source failing is seen as a token error
							if ft == faultLatency || ft == fault5xx || ft == faultDropPre || ft == faultDropPost {
								f = fault5xx // ... or as WeChat unreachable
							}
						}
						for range times {
							h.wx.inject(step, f)
						}
						req := sync.Request{Code: "8001"}
						if step == "decrypt" {
							req = sync.Request{EncryptCode: "enc8001"}
						}
						out, err := h.e.Redeem(context.Background(), req)
						if err != nil {
							t.Fatal(err)
						}
						if out.Kind == sync.Consumed && h.wx.consumed("8001") != 1 {
							t.Fatalf("cashier told consumed, WeChat applied %d", h.wx.consumed("8001"))
						}
						// The offline queue drains through faults too.
						h.wx.setDown(true)
						h.redeem("8002")
						h.wx.setDown(false)
						for range times {
							h.wx.inject(step, f)
						}
						h.settle()
						h.agree("8001")
						h.agree("8002")
						if h.wx.consumed("8002") != 1 {
							t.Fatalf("queued code not consumed after the network came back: %+v", h.j.records("8002"))
						}
					})
				})
			}
		}
	}
}

func TestConcurrentSameCodeOneRedemption(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		h := newHarness(t, nil)
		h.wx.latency = time.Millisecond
		h.wx.add("9000", "p")
		var wg stdsync.WaitGroup
		outs := make([]sync.Outcome, 2)
		start := make(chan struct{})
		for i := range outs {
			wg.Go(func() {
				<-start
				o, err := h.e.Redeem(context.Background(), sync.Request{Code: "9000"})
				if err != nil {
					t.Error(err)
				}
				outs[i] = o
			})
		}
		close(start)
		wg.Wait()
		consumed, dup := 0, 0
		for _, o := range outs {
			switch o.Kind {
			case sync.Consumed:
				consumed++
			case sync.Duplicate, sync.Refused:
				dup++
			}
		}
		if consumed != 1 || dup != 1 || h.wx.consumed("9000") != 1 {
			t.Fatalf("round %d: outcomes %+v, applied %d", round, outs, h.wx.consumed("9000"))
		}
		if n := len(h.j.records("9000")); n > 2 {
			t.Fatalf("round %d: %d redemptions", round, n)
		}
	}
}

func TestNewRejectsShortQuietPeriod(t *testing.T) {
	t.Parallel()
	_, err := sync.New(sync.Options{Journal: newMemJournal(time.Now), WeChat: newFakeWeChat(), Timeout: 10 * time.Second, QuietPeriod: 5 * time.Second})
	var oe *sync.OptionError
	if !errors.As(err, &oe) || oe.Field != "QuietPeriod" || !strings.Contains(err.Error(), "5s") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunDrainsOnSyncNowAndStops(t *testing.T) {
	t.Parallel()
	var statuses atomic.Int64
	h := newHarness(t, func(o *sync.Options) {
		o.Interval = time.Hour
		o.OnStatus = func(sync.Status) { statuses.Add(1) }
	})
	h.wx.add("70", "p")
	h.wx.setDown(true)
	h.redeem("70")
	h.wx.setDown(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.e.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for h.wx.consumed("70") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not drain the queued code")
		}
		h.e.SyncNow()
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.agree("70")
	if statuses.Load() == 0 {
		t.Fatal("OnStatus never called")
	}
}

func TestRedeemCancelledByCaller(t *testing.T) {
	t.Parallel()
	t.Run("before anything was journaled", func(t *testing.T) {
		h := newHarness(t, nil)
		h.wx.add("80", "p")
		h.redeem("warm-up-shift-does-not-exist") // opens the shift (refused: unknown)
		n := h.j.commits.Load()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		answered := false
		if _, err := h.e.Redeem(ctx, sync.Request{Code: "80", OnAnswer: func(sync.Outcome) { answered = true }}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if h.j.commits.Load() != n || h.wx.consumed("80") != 0 || h.wx.calls["get"] != 1 || answered {
			t.Fatal("a scan cancelled before it began changed something")
		}
	})
	t.Run("during the query", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, func(o *sync.Options) { o.Timeout = 10 * time.Second; o.QuietPeriod = 30 * time.Second })
			h.wx.add("81", "p")
			h.wx.inject("get", faultLatency) // the query hangs until the caller gives up
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			var out sync.Outcome
			var err error
			go func() {
				defer close(done)
				out, err = h.e.Redeem(ctx, sync.Request{Code: "81"})
			}()
			synctest.Wait() // Redeem waits in the held query
			h.wx.mu.Lock()
			asked := h.wx.calls["get"]
			h.wx.mu.Unlock()
			if asked != 1 {
				t.Fatalf("Redeem is waiting, but asked WeChat %d times", asked)
			}
			cancel()
			<-done
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			recs := h.j.records("81")
			if len(recs) != 1 || recs[0].State != sync.StateRejected || recs[0].Reason != sync.ReasonInterrupted || out.Reason != sync.ReasonInterrupted || out.Kind != sync.Refused {
				t.Fatalf("records %+v, outcome %+v", recs, out)
			}
			if got := h.j.hist(recs[0].ID); got != "received,rejected" {
				t.Fatalf("history %s", got)
			}
			// Nothing was consumed and the code is free: scanning again consumes.
			if again := h.redeem("81"); again.Kind != sync.Consumed || h.wx.consumed("81") != 1 {
				t.Fatalf("rescan after an interrupted scan: %+v", again)
			}
		})
	})
}

// A scan journaled as received whose till died before it answered is set
// aside (rejected, interrupted) and never consumed; the code can be
// scanned again. Recover does it at start-up; a till that scans without
// recovering first (`cardtill redeem`) does it when the code comes again.
func TestKillAfterReceivedCommit(t *testing.T) {
	t.Parallel()
	for _, recover := range []bool{true, false} {
		t.Run(fmt.Sprint("recover=", recover), func(t *testing.T) {
			clk := newClock()
			j := newMemJournal(clk.Now)
			wx := newFakeWeChat()
			wx.add("90", "p")
			newEngine := func() *sync.Engine {
				e, err := sync.New(sync.Options{Journal: j, WeChat: wx, Terminal: "t", OpenShiftOnScan: true, Policy: sync.Policy{MaxPerShift: -1},
					Timeout: 50 * time.Millisecond, SyncTimeout: 50 * time.Millisecond, QuietPeriod: 20 * time.Second, Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			e := newEngine()
			// Die right after the first commit of the scan (after the shift).
			j.killAt = 2
			j.onKill = func() { wx.setDown(true) }
			if _, err := e.Redeem(context.Background(), sync.Request{Code: "90"}); err == nil {
				t.Fatal("the killed process answered")
			}
			recs := j.records("90")
			if len(recs) != 1 || recs[0].State != sync.StateReceived {
				t.Fatalf("after the kill: %+v", recs)
			}
			j.restart()
			wx.setDown(false)
			clk.Advance(time.Second)
			e = newEngine()
			if recover {
				if err := e.Recover(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			out, err := e.Redeem(context.Background(), sync.Request{Code: "90"})
			if err != nil || out.Kind != sync.Consumed {
				t.Fatalf("scan again: %+v %v", out, err)
			}
			recs = j.records("90")
			if len(recs) != 2 || recs[0].State != sync.StateRejected || recs[0].Reason != sync.ReasonInterrupted || !strings.Contains(recs[0].ReasonText, "scan again") {
				t.Fatalf("records %+v", recs)
			}
			if got := j.hist(recs[0].ID); got != "received,rejected" {
				t.Fatalf("history %s", got)
			}
			if wx.consumed("90") != 1 || wx.calls["consume"] != 1 || recs[1].State != sync.StateConsumed {
				t.Fatalf("consumes %d (calls %d), records %+v", wx.consumed("90"), wx.calls["consume"], recs)
			}
		})
	}
}

// A scan this engine is answering is not set aside by Recover, nor taken
// for one a previous run left.
func TestRecoverLeavesLiveScanAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("91", "p")
	var out sync.Outcome
	var err error
	confirm := make(chan bool)
	asked := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, err = h.e.Redeem(context.Background(), sync.Request{Code: "91", Confirm: func(context.Context, sync.Outcome) bool { close(asked); return <-confirm }})
	}()
	<-asked // the scan is journaled (received) and waits for the cashier
	if err := h.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d, _ := h.e.Redeem(context.Background(), sync.Request{Code: "91"}); d.Kind != sync.Duplicate {
		t.Fatalf("rescan while the cashier confirms: %+v", d)
	}
	confirm <- true
	<-done
	if err != nil || out.Kind != sync.Consumed || len(h.j.records("91")) != 1 {
		t.Fatalf("%+v %v %+v", out, err, h.j.records("91"))
	}
}

// TestOfflineDrainReadsABoundedBatch: a drain pass while WeChat is down
// reads as many records with a backlog of 600 as with one of 300 (one
// batch: the pass ends at the first Concurrency unreachable items), so a
// till at rest with a large backlog does not decode it every pass; back
// online, the whole backlog drains.
func TestOfflineDrainReadsABoundedBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *sync.Options) { o.Policy.MaxPerShift = 1000 })
	h.wx.setDown(true)
	read := func(backlog int) int64 {
		for i := h.e.Status().QueueDepth; i < backlog; i++ {
			c := fmt.Sprint(10000 + i)
			h.wx.add(c, "p")
			if a := h.redeem(c); a.Kind != sync.AcceptedOffline {
				t.Fatalf("offline %s: %+v", c, a)
			}
		}
		before := h.j.dueRead.Load()
		if _, err := h.e.DrainOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		return h.j.dueRead.Load() - before
	}
	r300, r600 := read(300), read(600)
	if r600 != r300 || r600 >= 300 {
		t.Fatalf("an offline pass read %d records with 300 queued, %d with 600", r300, r600)
	}
	h.settle()
	if st := h.e.Status(); st.QueueDepth != 0 {
		t.Fatalf("after the outage: %+v", st)
	}
}
