package sync_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// TestOfflineRefusedWhenJournalFull: with the journal at [store]
// max_size_mb, an offline scan is refused with ReasonOfflineJournalFull
// (not an error, and not left received: scanning it again gets the same
// refusal, not a duplicate read), while online redemptions go on.
func TestOfflineRefusedWhenJournalFull(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	ctx := context.Background()
	size, _, err := st.db.Size()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(st.path, store.Options{Now: st.clk.Now, Terminal: "till-2", MaxSize: size, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st.db = db
	e, err := sync.New(sync.Options{Journal: sync.NewJournal(db, "till-2"), WeChat: st.wx, Terminal: "till-2", OpenShiftOnScan: true,
		Policy: sync.Policy{MaxPerShift: -1}, Timeout: 300 * time.Millisecond, SyncTimeout: 300 * time.Millisecond,
		QuietPeriod: 20 * time.Second, MaxBackoff: 10 * time.Second, Concurrency: 4, Now: st.clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	st.srv.SetOutage(true)
	for range 2 {
		out, err := e.Redeem(ctx, sync.Request{Code: "740000000009"})
		if err != nil || out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineJournalFull || !out.Reason.Offline() {
			t.Fatalf("offline scan with the journal full: %+v %v", out, err)
		}
	}
	if got := st.state("740000000009"); len(got) != 2 || got[0] != "rejected" || got[1] != "rejected" {
		t.Fatalf("journal holds %v, want two rejected scans", got)
	}
	if n, err := db.Count(store.Query{Index: store.Outbox}); err != nil || n != 0 {
		t.Fatalf("queue %d %v", n, err)
	}

	st.srv.SetOutage(false)
	st.srv.AddCode(wechattest.Code{Code: "740000000010", CardID: "pCard"})
	if out, err := e.Redeem(ctx, sync.Request{Code: "740000000010"}); err != nil || out.Kind != sync.Consumed {
		t.Fatalf("online scan with the journal full: %+v %v", out, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
