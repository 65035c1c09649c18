package till

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/sync"
)

// testClock is a clock the test moves.
type testClock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type pruned struct {
	cutoff time.Time
	n      int
	err    error
}

// TestRetentionSchedule drives the retention the till runs (at start, then
// at every tick) with an injected clock and tick channel: finished
// redemptions past retain_days go, at start and at the next tick; queued,
// in-flight and conflicting ones and the shift's counters stay.
func TestRetentionSchedule(t *testing.T) {
	t.Parallel()
	day0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	clk := &testClock{t: day0}
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh, err := db.OpenShift("till-2", "ann")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(code string, s store.State) uint64 {
		t.Helper()
		r, err := db.Create(store.Redemption{Code: code, ShiftID: sh.ID, State: s}, "test", store.Path(s)...)
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	// Day 0: two finished, three unfinished or conflicting.
	oldConsumed, oldRejected := mk("100", store.Consumed), mk("101", store.Rejected)
	queued, consuming, conflict := mk("102", store.Queued), mk("103", store.Consuming), mk("104", store.Conflict)
	// Day 50: one more finished.
	clk.Set(day0.AddDate(0, 0, 50))
	laterConsumed := mk("105", store.Consumed)
	before, err := db.ShiftCounters(sh.ID)
	if err != nil {
		t.Fatal(err)
	}

	// The till starts on day 91 with retain_days = 90.
	clk.Set(day0.AddDate(0, 0, 91))
	reports := make(chan pruned)
	tick := make(chan time.Time)
	r := retention{db: db, days: 90, now: clk.Now, report: func(c time.Time, n int, err error) { reports <- pruned{c, n, err} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx, tick) }()

	p := <-reports
	if p.err != nil || p.n != 2 || !p.cutoff.Equal(day0.AddDate(0, 0, 1)) {
		t.Fatalf("prune at start: %+v", p)
	}
	gone := func(id uint64) bool { _, err := db.Get(id); return err != nil }
	if !gone(oldConsumed) || !gone(oldRejected) {
		t.Fatal("finished redemptions past retain_days kept")
	}
	for _, id := range []uint64{queued, consuming, conflict, laterConsumed} {
		if gone(id) {
			t.Fatalf("redemption %d pruned", id)
		}
	}

	// Nothing more is due until day 141; the next tick that day prunes
	// the day-50 redemption and nothing unfinished.
	clk.Set(day0.AddDate(0, 0, 141))
	tick <- clk.Now()
	if p := <-reports; p.err != nil || p.n != 1 {
		t.Fatalf("prune at the tick: %+v", p)
	}
	if !gone(laterConsumed) {
		t.Fatal("day-50 redemption kept on day 141")
	}
	clk.Set(day0.AddDate(0, 0, 400))
	tick <- clk.Now()
	if p := <-reports; p.err != nil || p.n != 0 {
		t.Fatalf("prune with only unfinished work left: %+v", p)
	}
	cancel()
	<-done

	for _, id := range []uint64{queued, consuming, conflict} {
		if gone(id) {
			t.Fatalf("unfinished redemption %d pruned", id)
		}
	}
	if n, err := db.Count(store.Query{Index: store.Outbox}); err != nil || n != 2 {
		t.Fatalf("queue depth %d %v, want 2 (queued, consuming)", n, err)
	}
	after, err := db.ShiftCounters(sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("shift counters changed by pruning:\n%+v\n%+v", before, after)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestJournalGauge: the status carries the journal's fullness against
// [store] max_size_mb, nearly full from the threshold doctor uses.
func TestJournalGauge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := store.Open(path, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	size, _, err := db.Size()
	db.Close()
	if err != nil || size <= 0 {
		t.Fatalf("size %d %v", size, err)
	}
	var g Gauge
	if s := g.Fill(sync.Status{QueueDepth: 3}); s.JournalUse != 0 || s.JournalNearlyFull || s.QueueDepth != 3 {
		t.Fatalf("before the journal is open: %+v", s)
	}
	for _, c := range []struct {
		max     int64
		nearly  bool
		useFrom float64
	}{
		{0, false, 0},
		{size * 10, false, 0.1},
		{size * 100 / 95, true, 0.95},
		{size, true, 1},
	} {
		db, err := store.Open(path, store.Options{MaxSize: c.max, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		g.Set(db)
		s := g.Fill(sync.Status{})
		db.Close()
		if s.JournalNearlyFull != c.nearly || s.JournalUse < c.useFrom || (c.max == 0) != (s.JournalUse == 0) {
			t.Fatalf("max %d (size %d): %+v", c.max, size, s)
		}
	}
}

// TestRetentionForgetsUsedCodes: the retention the till runs keeps a code
// it pruned refused as used here until used_code_days after its use, and
// forgets it at the first run past that.
func TestRetentionForgetsUsedCodes(t *testing.T) {
	t.Parallel()
	day0 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	clk := &testClock{t: day0}
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh, err := db.OpenShift("till-2", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Create(store.Redemption{Code: "200", ShiftID: sh.ID, State: store.Consumed}, "test", store.Path(store.Consumed)...); err != nil {
		t.Fatal(err)
	}
	clk.Set(day0.AddDate(0, 0, 91))
	prunes, forgets := make(chan pruned, 1), make(chan pruned, 1)
	tick := make(chan time.Time)
	r := retention{db: db, days: 90, usedCodeDays: 400, now: clk.Now,
		report: func(c time.Time, n int, err error) { prunes <- pruned{c, n, err} },
		forgot: func(c time.Time, n int, err error) { forgets <- pruned{c, n, err} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx, tick) }()
	used := func() bool {
		_, ok, err := db.FinishedByCode("200")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if p, f := <-prunes, <-forgets; p.err != nil || p.n != 1 || f.err != nil || f.n != 0 || !f.cutoff.Equal(day0.AddDate(0, 0, 91-400)) {
		t.Fatalf("at start: pruned %+v, forgot %+v", p, f)
	}
	if !used() {
		t.Fatal("a pruned code is no longer used here")
	}
	clk.Set(day0.AddDate(0, 0, 400))
	tick <- clk.Now()
	if p, f := <-prunes, <-forgets; p.err != nil || f.err != nil || f.n != 0 || !used() {
		t.Fatalf("day 400: pruned %+v, forgot %+v, used %v", p, f, used())
	}
	clk.Set(day0.AddDate(0, 0, 401))
	tick <- clk.Now()
	if p, f := <-prunes, <-forgets; p.err != nil || f.err != nil || f.n != 1 || used() {
		t.Fatalf("day 401: pruned %+v, forgot %+v, used %v", p, f, used())
	}
	cancel()
	<-done
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
