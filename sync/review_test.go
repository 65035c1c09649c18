package sync_test

import (
	"context"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// outboxed returns the consuming or in-doubt redemption of code.
func (st *storeTill) outboxed(code string) store.Redemption {
	st.t.Helper()
	for _, s := range []store.State{store.Consuming, store.InDoubt} {
		rs, err := st.db.ListByState(s, 0)
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
	st := newStoreTill(t, 4)
	const code = "720000000001"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	ctx := context.Background()
	st.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
	if out, err := st.e.Redeem(ctx, sync.Request{Code: code}); err != nil || out.Kind != sync.Checking {
		t.Fatalf("lost consume: %+v %v", out, err)
	}
	st.clk.Advance(21 * time.Second)
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
	st := newStoreTill(t, 4)
	const code = "720000000002"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	if _, err := st.db.Create(store.Redemption{Code: code, CardID: "pCard", State: store.Consuming}, "test", store.Received, store.Checked); err != nil {
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
