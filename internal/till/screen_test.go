package till

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/internal/testkit"
	"cardtill/store"
	"cardtill/sync"
)

// The queue screen's hook reads every waiting item and conflict of the
// journal (earlier runs included), newest first across the waiting
// states, bounded, with the totals counted when a list is cut; consumed
// redemptions are not listed; titles come from the card cache.
func TestJournalBacklog(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "journal.db")
	conflicts, queued := testkit.SeedJournal(t, path, "till-2", 7, 5)
	db, err := store.Open(path, store.Options{Terminal: "till-2", LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// one in doubt, newer than the queued ones
	sh, _, _ := db.CurrentShift("till-2")
	if _, err := db.Create(store.Redemption{Code: "660000000001", ShiftID: sh.ID, Terminal: "till-2", State: store.InDoubt,
		CreatedAt: time.Now()}, "seed", store.Received, store.Checked, store.Consuming); err != nil {
		t.Fatal(err)
	}
	read := JournalBacklog(db)
	b, err := read(100)
	if err != nil {
		t.Fatal(err)
	}
	if b.WaitingTotal != 6 || len(b.Waiting) != 6 || b.ConflictsTotal != 7 || len(b.Conflicts) != 7 {
		t.Fatalf("waiting %d/%d conflicts %d/%d, want 6/6 and 7/7", len(b.Waiting), b.WaitingTotal, len(b.Conflicts), b.ConflictsTotal)
	}
	if w := b.Waiting[0]; w.Code != "660000000001" || w.Kind != sync.Checking {
		t.Fatalf("newest waiting %+v, want the in-doubt one", w)
	}
	if w := b.Waiting[1]; w.Code != queued[4] || w.Kind != sync.AcceptedOffline || w.CardTitle != "¥20 off any drink" {
		t.Fatalf("second waiting %+v, want the newest queued with its card title", w)
	}
	c := b.Conflicts[0]
	if c.Code != conflicts[6] || c.Kind != sync.Conflict || c.Errcode != 40099 || c.Reason != sync.ReasonAlreadyUsed || c.At.IsZero() {
		t.Fatalf("newest conflict %+v", c)
	}
	for _, o := range append(b.Waiting, b.Conflicts...) {
		if o.Code == "990000000001" {
			t.Fatal("a consumed redemption is listed")
		}
	}
	// cut at the limit: the newest, and the totals of the whole journal
	b, err = read(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Waiting) != 3 || b.WaitingTotal != 6 || len(b.Conflicts) != 3 || b.ConflictsTotal != 7 || b.Conflicts[2].Code != conflicts[4] {
		t.Fatalf("limit 3: waiting %d/%d conflicts %d/%d (%s)", len(b.Waiting), b.WaitingTotal, len(b.Conflicts), b.ConflictsTotal, b.Conflicts[2].Code)
	}
}

// The manager's "conflicts seen" (F6) is journaled: before it every
// conflict is new; after it none; a conflict that comes later is new
// again, counted and marked, also after a restart of the
func TestConflictsSeenJournaled(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "journal.db")
	testkit.SeedJournal(t, path, "till-2", 4, 1)
	open := func() *store.DB {
		db, err := store.Open(path, store.Options{Terminal: "till-2", LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	b, err := JournalBacklog(db)(100)
	if err != nil || b.Unseen != 4 || len(b.New) != 4 {
		t.Fatalf("before any F6: unseen %d, new %v, %v", b.Unseen, b.New, err)
	}
	if err := AckConflicts(db, time.Now)(); err != nil {
		t.Fatal(err)
	}
	if b, err = JournalBacklog(db)(100); err != nil || b.Unseen != 0 || len(b.New) != 0 || b.ConflictsTotal != 4 {
		t.Fatalf("after F6: unseen %d, new %v, total %d, %v", b.Unseen, b.New, b.ConflictsTotal, err)
	}
	// a queued code WeChat refuses later becomes a conflict
	sh, _, _ := db.CurrentShift("till-2")
	q, err := db.Create(store.Redemption{Code: "550000000001", ShiftID: sh.ID, Terminal: "till-2", State: store.Queued,
		OfflineAcceptedAt: time.Now(), DueAt: time.Now()}, "seed", store.Received)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(q.ID, store.Queued, store.Conflict, store.Change{By: "engine", Errcode: 40099}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db = open() // a restart
	defer db.Close()
	b, err = JournalBacklog(db)(100)
	if err != nil || b.Unseen != 1 || !b.New[q.ID] || len(b.New) != 1 {
		t.Fatalf("a later conflict after a restart: unseen %d, new %v, %v", b.Unseen, b.New, err)
	}
	// a damaged mark says what to do
	if err := db.PutMeta(ConflictsSeenKey, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := JournalBacklog(db)(100); err == nil || !strings.Contains(err.Error(), "press F6") {
		t.Fatalf("damaged mark: %v", err)
	}
}

// The relay never blocks the feed: when the screen does not read, the
// oldest notices give way to the newest.
func TestNoticeRelayNeverBlocks(t *testing.T) {
	t.Parallel()
	r := NewNoticeRelay(nil, nil)
	var ns []hub.Notice
	for i := range 200 {
		ns = append(ns, hub.Notice{Event: "update_member_card", Detail: fmt.Sprint(i)})
	}
	r.Deliver(ns) // returns: nothing reads
	var got []string
	for len(got) < cap(r.c) {
		got = append(got, (<-r.Notices()).Detail)
	}
	if got[0] != "136" || got[len(got)-1] != "199" {
		t.Fatalf("kept %s..%s, want the newest 64 (136..199)", got[0], got[len(got)-1])
	}
	var none *NoticeRelay
	none.Deliver(ns)
	if none.Notices() != nil {
		t.Fatal("no relay gives a channel")
	}
}

// The relay keeps the latest notices in the journal: a relay made on the
// reopened journal (a restarted till) hands them to the screen as past
// ones, the newest 50, oldest first.
func TestNoticesKeptInJournal(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "journal.db")
	open := func() *store.DB {
		db, err := store.Open(path, store.Options{Terminal: "till-2", LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := open()
	r := NewNoticeRelay(db, logger)
	if len(r.Past()) != 0 {
		t.Fatalf("a new journal has past notices: %v", r.Past())
	}
	for i := range 60 {
		r.Deliver([]hub.Notice{{Event: "card_sku_remind", Detail: fmt.Sprint(i), At: time.Unix(1764150000+int64(i), 0)}})
	}
	_ = db.Close()
	db = open()
	defer db.Close()
	past := NewNoticeRelay(db, logger).Past()
	if len(past) != noticesKept || past[0].Detail != "10" || past[len(past)-1].Detail != "59" || past[0].At.Unix() != 1764150010 {
		t.Fatalf("after a restart %d past notices, %s..%s", len(past), past[0].Detail, past[len(past)-1].Detail)
	}
	// damaged: the screen starts without them, the feed still relays
	if err := db.PutMeta(noticesKey, []byte("[{")); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	r = NewNoticeRelay(db, slog.New(slog.NewTextHandler(&logs, nil)))
	if len(r.Past()) != 0 || !strings.Contains(logs.String(), "cannot be read") {
		t.Fatalf("damaged notices: %v, log %q", r.Past(), logs.String())
	}
	r.Deliver([]hub.Notice{{Event: "card_pass_check"}})
	if n := <-r.Notices(); n.Event != "card_pass_check" {
		t.Fatalf("relayed %+v", n)
	}
}

// The queue screen's list of redemptions confirmed by a query is short:
// the newest queriedShown (or limit, if less), with the journal's total;
// plain consumes are not listed.
func TestJournalBacklogQueriedBounded(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/journal.db"
	testkit.SeedJournal(t, path, "till-2", 0, 0)
	db, err := store.Open(path, store.Options{Terminal: "till-2", LockTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh, _, _ := db.CurrentShift("till-2")
	var last string
	for i := range queriedShown + 5 {
		last = "66" + strings.Repeat("0", 6) + string(rune('A'+i))
		if _, err := db.Create(store.Redemption{Code: last, ShiftID: sh.ID, Terminal: "till-2", State: store.Consumed,
			Reason: string(sync.ReasonConfirmedByQuery)}, "seed", store.Received, store.Checked, store.Consuming, store.InDoubt); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ limit, want int }{{100, queriedShown}, {3, 3}} {
		b, err := JournalBacklog(db)(c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Queried) != c.want || b.QueriedTotal != queriedShown+5 || b.Queried[0].Code != last {
			t.Fatalf("limit %d: %d listed of %d, newest %s; want %d of %d, newest %s", c.limit, len(b.Queried), b.QueriedTotal, b.Queried[0].Code, c.want, queriedShown+5, last)
		}
	}
}

// lockedBuffer is a log that goroutines write and the test reads.
type lockedBuffer struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
