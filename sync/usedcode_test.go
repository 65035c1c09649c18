package sync_test

import (
	"context"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// A code consumed here stays refused offline after retention pruned its
// redemption (the journal keeps a tombstone for [store] used_code_days):
// without it, the offline policy honours the code a second time.
func TestUsedCodeRefusedOfflineAfterRetention(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	const code = "750000000001"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	ctx := context.Background()
	out, err := st.e.Redeem(ctx, sync.Request{Code: code, Cashier: "Wang Fang"})
	if err != nil || out.Kind != sync.Consumed {
		t.Fatalf("online: %+v %v", out, err)
	}
	// Two days later retention (retain_days = 1) prunes the redemption.
	st.clk.Advance(48 * time.Hour)
	n, err := st.db.Prune(st.clk.Now().AddDate(0, 0, -1))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d %v, want 1", n, err)
	}
	if got := st.state(code); len(got) != 0 {
		t.Fatalf("after the prune the code still has records: %v", got)
	}
	st.restart()
	st.srv.SetOutage(true)
	out, err = st.e.Redeem(ctx, sync.Request{Code: code, Cashier: "Li Lei"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Kind != sync.Refused || out.Reason != sync.ReasonUsedHere || out.Previous == nil || out.Previous.ShiftID == 0 || out.Previous.State != store.Consumed {
		t.Fatalf("offline rescan of a code consumed here and pruned: %+v (previous %+v), want refused as used here", out, out.Previous)
	}
	if err := st.db.Check(); err != nil {
		t.Fatal(err)
	}
}
