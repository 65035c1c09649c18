package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Prune works in batches of pruneBatch: more than two batches go in one
// call, unfinished work and the counters stay; a cancelled context stops it.
func TestPruneInBatches(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	sh, _ := db.OpenShift("T", "a")
	total := 2*pruneBatch + 17
	for i := range total {
		if _, err := db.Create(Redemption{Code: fmt.Sprint(100000 + i), ShiftID: sh.ID, State: Consumed}, "a", Path(Consumed)...); err != nil {
			t.Fatal(err)
		}
	}
	q, err := db.Create(Redemption{Code: "queued", ShiftID: sh.ID, State: Queued}, "a", Path(Queued)...)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := db.ShiftCounters(sh.ID)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := db.PruneContext(ctx, clk.t.Add(time.Hour)); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("prune of a till shutting down: %d %v", n, err)
	}
	n, err := db.Prune(clk.t.Add(time.Hour))
	if err != nil || n != total {
		t.Fatalf("pruned %d %v, want %d", n, err, total)
	}
	if _, err := db.Get(q.ID); err != nil {
		t.Fatalf("queued redemption pruned: %v", err)
	}
	after, _ := db.ShiftCounters(sh.ID)
	if after.Total != before.Total || after.ByOutcome[OutcomeConsumedOnline] != before.ByOutcome[OutcomeConsumedOnline] {
		t.Fatalf("counters changed: %+v vs %+v", after, before)
	}
	if n, err := db.Prune(clk.t.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second prune: %d %v", n, err)
	}
	db.mustCheck()
}
