package sync_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// outboxed returns the queued, consuming or in-doubt redemption of code.
func (st *storeTill) outboxed(code string) store.Redemption {
	st.t.Helper()
	for _, s := range []store.State{store.Queued, store.Consuming, store.InDoubt} {
		rs, err := st.db.Find(store.Query{Index: store.ByState, State: s})
		if err != nil {
			st.t.Fatal(err)
		}
		for _, r := range rs {
			if r.Code == code {
				return r
			}
		}
	}
	st.t.Fatalf("code %s has no consuming or in-doubt redemption", code)
	return store.Redemption{}
}

// TestDeferredInDoubtIsWorkableWhenDue: a lost consume whose resolving
// query WeChat answers "busy" is retried later. When that retry falls due,
// the drain must work it: an item that is due but held back by the quiet
// period is skipped, so Run would wake every 10 ms until the quiet period
// (counted from the deferral's commit) ended.
func TestDeferredInDoubtIsWorkableWhenDue(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	const code = "720000000001"
	ctx := context.Background()
	lostConsume(t, st, code)
	st.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: -1})
	if _, err := st.e.DrainOnce(ctx); err != nil {
		t.Fatal(err)
	}
	r := st.outboxed(code)
	if r.Attempts != 1 {
		t.Fatalf("the busy query was not journaled as a retry: %+v", r)
	}
	// Move to when the retry is due: the drain must work it then.
	st.clk.Advance(r.DueAt.Sub(st.clk.Now()))
	rep, err := st.e.DrainOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attempted != 1 || rep.Consumed != 1 {
		t.Fatalf("the due retry was not worked (%+v): states %v; Run would spin on it until the quiet period ends", rep, st.state(code))
	}
	if n := st.srv.ConsumeCount(code); n != 1 {
		t.Fatalf("consumed %d times", n)
	}
}

// TestRecoveredConsumingWithoutDueTimeIsWorkableWhenDue: a consuming
// record without a due time (a journal written before due times were
// kept) gets one at start-up. When it falls due the drain must resolve it;
// Recover's own commit restarts the quiet period work checks, so a due
// time counted from the older commit left it due but skipped.
func TestRecoveredConsumingWithoutDueTimeIsWorkableWhenDue(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	const code = "720000000002"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	if _, err := st.db.Create(store.Redemption{Code: code, CardID: "pCard", State: store.Consuming}, "test", store.Path(store.Consuming)...); err != nil {
		t.Fatal(err)
	}
	st.clk.Advance(10 * time.Second)
	st.restart()
	ctx := context.Background()
	if err := st.e.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	r := st.outboxed(code)
	if r.DueAt.IsZero() {
		t.Fatalf("Recover left it without a due time: %+v", r)
	}
	st.clk.Advance(r.DueAt.Sub(st.clk.Now()))
	rep, err := st.e.DrainOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Consumed != 1 || st.srv.ConsumeCount(code) != 1 {
		t.Fatalf("the due redemption was not resolved (%+v): states %v, consumed %d times", rep, st.state(code), st.srv.ConsumeCount(code))
	}
}

// cancelOnQuery cancels the drain's context as a code query leaves, so the
// query fails because the till is stopping, not because WeChat is down.
type cancelOnQuery struct {
	base   http.RoundTripper
	cancel atomic.Pointer[context.CancelFunc]
}

func (c *cancelOnQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "card/code/get") {
		if f := c.cancel.Swap(nil); f != nil {
			(*f)()
		}
	}
	return c.base.RoundTrip(r)
}

// TestDrainStoppedIsNotAnOutage: a drain whose context ends (the till
// shutting down) while it queries WeChat must not record an outage. It
// did: the cancelled query looked like WeChat unreachable, the engine
// went offline and kept "offline since" in the journal, so after the
// restart the status bar said offline (and the feed was not pulled) until
// something reached WeChat, and during a real outage offline.max_age
// counted from the shutdown.
func TestDrainStoppedIsNotAnOutage(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	rt := &cancelOnQuery{base: &http.Transport{}}
	hc := &http.Client{Transport: rt}
	t.Cleanup(hc.CloseIdleConnections)
	client, err := wechat.New(wechat.Options{BaseURL: st.srv.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: st.srv.URL, AppID: st.srv.AppID, Secret: st.srv.Secret, HTTPClient: hc})})
	if err != nil {
		t.Fatal(err)
	}
	st.wx = sync.NewWeChat(client)
	st.restart()
	queued, online := "720000000003", "720000000004"
	for _, c := range []string{queued, online} {
		st.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
	}
	st.srv.SetOutage(true)
	if out, err := st.e.Redeem(context.Background(), sync.Request{Code: queued}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("offline: %+v %v", out, err)
	}
	st.srv.SetOutage(false)
	if out, err := st.e.Redeem(context.Background(), sync.Request{Code: online}); err != nil || out.Kind != sync.Consumed {
		t.Fatalf("online: %+v %v", out, err)
	}
	if !st.e.Status().Online {
		t.Fatal("not online after a consume")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt.cancel.Store(&cancel)
	if _, err := st.e.DrainOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == nil {
		t.Fatal("the drain did not query")
	}
	if s := st.e.Status(); !s.Online {
		t.Fatalf("a stopped drain was taken for an outage: %+v", s)
	}
	st.restart()
	if s := st.e.Status(); !s.Online || !s.OfflineSince.IsZero() {
		t.Fatalf("after the restart: %+v", s)
	}
	if got := st.state(queued); len(got) != 1 || got[0] != sync.StateQueued {
		t.Fatalf("queued code: %v", got)
	}
}

// TestResolveQueryAnswering40099IsConsumed: the query that settles a lost
// consume is sent with check_consume false, which answers the state; a
// WeChat that answers 40099 ("this code has consumed") to it says the same
// as CONSUMED. The in-doubt consume, which WeChat did apply, must end
// consumed (confirmed by a query), not as a conflict for the manager.
func TestResolveQueryAnswering40099IsConsumed(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	const code = "720000000005"
	ctx := context.Background()
	lostConsume(t, st, code)
	st.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: 40099, Errmsg: "invalid code, this code has consumed."})
	rep, err := st.e.DrainOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := st.db.Find(store.Query{Index: store.ByState, State: store.Consumed})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Consumed != 1 || len(rs) != 1 || rs[0].Reason != string(sync.ReasonConfirmedByQuery) {
		t.Fatalf("report %+v, states %v, consumed %+v", rep, st.state(code), rs)
	}
	if n := st.srv.ConsumeCount(code); n != 1 {
		t.Fatalf("consumed %d times", n)
	}
}

// offlineBarrier holds the first offline decision until a second one has
// read the shift's offline count too: both scans decide on the same count,
// as two scans whose queries failed together do.
type offlineBarrier struct {
	sync.Journal
	calls atomic.Int32
	both  chan struct{}
}

func (b *offlineBarrier) OfflineAccepted(shift uint64) (int, error) {
	n, err := b.Journal.OfflineAccepted(shift)
	if b.calls.Add(1) == 2 {
		close(b.both)
	}
	<-b.both
	return n, err
}

func (b *offlineBarrier) AcceptOffline(id uint64, from sync.State, max int, update func(*sync.Record)) (sync.Record, error) {
	return b.Journal.(*countingJournal).Journal.AcceptOffline(id, from, max, update)
}

// TestOfflineLimitHoldsForConcurrentScans: offline.max_per_shift = 1 and
// two scans whose queries fail at the same moment. Each read the shift's
// count (0) before the other's acceptance was committed, and both were
// accepted offline: the limit was exceeded. The count is checked again in
// the acceptance's own transaction.
func TestOfflineLimitHoldsForConcurrentScans(t *testing.T) {
	t.Parallel()
	var b *offlineBarrier
	st := newStoreTillWith(t, 4, func(o *sync.Options) {
		o.Policy.MaxPerShift = 1
		b = &offlineBarrier{Journal: o.Journal, both: make(chan struct{})}
		o.Journal = b
	})
	codes := []string{"720000000006", "720000000007"}
	for _, c := range codes {
		st.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
	}
	st.srv.SetOutage(true)
	outs := make([]sync.Outcome, len(codes))
	var wg stdsync.WaitGroup
	for i, c := range codes {
		wg.Go(func() {
			out, err := st.e.Redeem(context.Background(), sync.Request{Code: c})
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	accepted, limited := 0, 0
	for _, o := range outs {
		switch {
		case o.Kind == sync.AcceptedOffline:
			accepted++
		case o.Kind == sync.Refused && o.Reason == sync.ReasonOfflineShiftLimit:
			limited++
		}
	}
	shift, _, _, err := st.j.CurrentShift()
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.db.OfflineAccepted(shift)
	if err != nil {
		t.Fatal(err)
	}
	if accepted != 1 || limited != 1 || n != 1 {
		t.Fatalf("max_per_shift 1: %d accepted, %d refused at the limit, %d counted: %+v", accepted, limited, n, outs)
	}
	if err := st.db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRunBacksOffWhileOffline: during an outage that fails fast (the
// connection refused), a queued item stays due; Run waited 10 ms for it
// instead of the failure backoff, a query (and a status update) about a
// hundred times a second. The wait after the failed pass is at least the
// backoff's first step (Backoff.Delay(1) is 0.5 to 1 s here).
func TestRunBacksOffWhileOffline(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	const code = "720000000008"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	st.srv.SetOutage(true)
	if out, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("offline: %+v %v", out, err)
	}
	rep, err := st.e.DrainOnce(context.Background())
	if err != nil || !rep.Offline {
		t.Fatalf("drain during the outage: %+v %v", rep, err)
	}
	if due, err := st.db.Find(store.Query{Index: store.Outbox, Until: st.clk.Now()}); err != nil || len(due) != 1 {
		t.Fatalf("due after the pass: %v %v", due, err)
	}
	for failures := 1; failures <= 8; failures++ {
		if w := sync.RunWait(st.e, rep, false, failures); w < 500*time.Millisecond {
			t.Fatalf("after %d failed passes Run waits %s for an item it cannot do", failures, w)
		}
	}
	// An item due in the future (here: the clock set back 10 s) still
	// wakes Run when it falls due, or before to probe WeChat (5 to 10 s
	// here), since the engine is offline.
	st.clk.Advance(-10 * time.Second)
	if w := sync.RunWait(st.e, sync.DrainReport{}, false, 0); w > 10*time.Second || w < 5*time.Second {
		t.Fatalf("an item due in 10 s: Run waits %s", w)
	}
}

// cancelAfterQueries cancels the drain's context at the n-th code query,
// so a drain that would query without end stops.
type cancelAfterQueries struct {
	base    http.RoundTripper
	n, left atomic.Int32
	cancel  context.CancelFunc
}

func (c *cancelAfterQueries) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "card/code/get") {
		c.n.Add(1)
		if c.left.Add(-1) == 0 {
			c.cancel()
		}
	}
	return c.base.RoundTrip(r)
}

// TestDrainStopsWhenItCannotJournalARetry: WeChat refuses a queued code
// for a configuration reason (48001) and the journal cannot take the
// retry's commit (here: opened read-only; on a till, a full disk). The
// item was counted as progress, so the pass queried it again at once,
// without end. It must end the pass after one query.
func TestDrainStopsWhenItCannotJournalARetry(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	const code = "720000000009"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	st.srv.SetOutage(true)
	if out, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("offline: %+v %v", out, err)
	}
	st.srv.SetOutage(false)
	if err := st.db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(st.path, store.Options{ReadOnly: true, Now: st.clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st.db = ro
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := &cancelAfterQueries{base: &http.Transport{}, cancel: cancel}
	rt.left.Store(20)
	hc := &http.Client{Transport: rt}
	t.Cleanup(hc.CloseIdleConnections)
	client, err := wechat.New(wechat.Options{BaseURL: st.srv.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: st.srv.URL, AppID: st.srv.AppID, Secret: st.srv.Secret, HTTPClient: hc})})
	if err != nil {
		t.Fatal(err)
	}
	e, err := sync.New(sync.Options{Journal: sync.NewJournal(ro, "till-2"), WeChat: sync.NewWeChat(client), Terminal: "till-2",
		Policy: sync.Policy{MaxPerShift: -1}, Timeout: 5 * time.Second, SyncTimeout: 5 * time.Second, // no deadline is meant to pass here: a slow machine must not end the pass before its one query
		QuietPeriod: 20 * time.Second, MaxBackoff: 10 * time.Second, Now: st.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	st.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: 48001, Errmsg: "api unauthorized", Persistent: true})
	if _, err := e.DrainOnce(ctx); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	if n := rt.n.Load(); n != 1 {
		t.Fatalf("the pass queried the code %d times", n)
	}
}

// lostConsume redeems a fresh code whose consume WeChat applies but whose
// answer is lost (the cashier is told "checking"), then moves the clock
// past the quiet period, so the next drain settles it by a query.
func lostConsume(t *testing.T, st *storeTill, code string) {
	t.Helper()
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	st.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
	if out, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); err != nil || out.Kind != sync.Checking {
		t.Fatalf("lost consume: %+v %v", out, err)
	}
	st.clk.Advance(21 * time.Second)
}
