package store

import (
	"fmt"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// where says which bucket holds each redemption's record: "live",
// "finished", "both" or "none".
func where(t *testing.T, db *testDB, ids ...uint64) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	if err := db.b.View(func(tx *bolt.Tx) error {
		for _, id := range ids {
			l, f := tx.Bucket(bLive).Get(u64(id)) != nil, tx.Bucket(bRed).Get(u64(id)) != nil
			out[id] = map[[2]bool]string{{true, false}: "live", {false, true}: "finished", {true, true}: "both", {false, false}: "none"}[[2]bool{l, f}]
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLiveRecords: a record is in live_redemptions while its redemption
// is active and in redemptions from the commit of its final move on
// (invariant 1's journal holds it in exactly one), for every path of the
// move table; ids keep growing across both and a restart.
func TestLiveRecords(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	var ids []uint64
	seen := map[uint64]bool{}
	for i, m := range Moves() {
		if m.From == None {
			continue
		}
		r, err := db.Create(Redemption{Code: fmt.Sprint("L", i), ShiftID: sh.ID, State: m.From}, "t", Path(m.From)...)
		if err != nil {
			t.Fatal(err)
		}
		if seen[r.ID] || (len(ids) > 0 && r.ID <= ids[len(ids)-1]) {
			t.Fatalf("id %d after %v", r.ID, ids)
		}
		ids = append(ids, r.ID)
		seen[r.ID] = true
		want := map[bool]string{true: "live", false: "finished"}
		if got := where(t, db, r.ID)[r.ID]; got != want[m.From.Active()] {
			t.Fatalf("created %s: record %s", m.From, got)
		}
		r, err = db.Transition(r.ID, m.From, m.To, Change{By: "t"})
		if err != nil {
			t.Fatalf("%s -> %s: %v", m.From, m.To, err)
		}
		if got := where(t, db, r.ID)[r.ID]; got != want[m.To.Active()] {
			t.Fatalf("%s -> %s: record %s", m.From, m.To, got)
		}
		if got, err := db.Get(r.ID); err != nil || got.State != m.To {
			t.Fatalf("%s -> %s: read %v %v", m.From, m.To, got.State, err)
		}
	}
	db.mustCheck()
	db.Reopen()
	r, err := db.Create(Redemption{Code: "after-restart", ShiftID: sh.ID, State: Received}, "t", Path(Received)...)
	if err != nil || r.ID <= ids[len(ids)-1] {
		t.Fatalf("id after a restart: %d %v (last %d)", r.ID, err, ids[len(ids)-1])
	}
}

// TestMigrateLive: a schema-8 journal (every record in redemptions) opens
// with the active redemptions' records moved, as they were, to
// live_redemptions and the finished ones left, Check passes, and new ids
// continue after the old ones; the moved records move on as before.
func TestMigrateLive(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	byState := map[State]Redemption{}
	for i, s := range AllStates {
		r, err := db.Create(Redemption{Code: fmt.Sprint("M", i), ShiftID: sh.ID, State: s}, "t", Path(s)...)
		if err != nil {
			t.Fatal(err)
		}
		byState[s] = r
	}
	var before map[string]string
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	toSchema(t, db.path, 8)
	before = dumpFile(t, db.path)
	var ids []uint64
	for _, r := range byState {
		ids = append(ids, r.ID)
	}
	db.Reopen2()
	if v, _ := db.SchemaVersion(); v != SchemaVersion {
		t.Fatalf("schema %d", v)
	}
	got := where(t, db, ids...)
	for s, r := range byState {
		want := "finished"
		if s.Active() {
			want = "live"
		}
		if got[r.ID] != want {
			t.Errorf("%s: record %s after the migration, want %s", s, got[r.ID], want)
		}
		var raw []byte
		_ = db.b.View(func(tx *bolt.Tx) error { raw = append(raw, holding(tx, r.ID).Get(u64(r.ID))...); return nil })
		if string(raw) != before[string(bRed)+"/"+fmt.Sprintf("%x", u64(r.ID))] {
			t.Errorf("%s: record changed by the migration", s)
		}
	}
	db.mustCheck()
	n, err := db.Create(Redemption{Code: "new", ShiftID: sh.ID, State: Received}, "t", Path(Received)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n.ID <= id {
			t.Fatalf("new id %d, not above %d", n.ID, id)
		}
	}
	if _, err := db.Transition(byState[Queued].ID, Queued, Consumed, Change{By: "drain", Via: []State{Consuming}}); err != nil {
		t.Fatal(err)
	}
	if got := where(t, db, byState[Queued].ID)[byState[Queued].ID]; got != "finished" {
		t.Fatalf("the migrated queued record, consumed: %s", got)
	}
}

// TestCheckFindsMisplacedRecords: Check reports a record kept in the
// bucket of the other kind, one in both, and a live sequence behind the
// ids handed out.
func TestCheckFindsMisplacedRecords(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	q, _ := db.Create(Redemption{Code: "100000000001", ShiftID: sh.ID, State: Queued}, "t", Path(Queued)...)
	c, _ := db.Create(Redemption{Code: "100000000002", ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
	damage := func(name, want string, do, undo func(tx *bolt.Tx) error) {
		t.Helper()
		if err := db.b.Update(do); err != nil {
			t.Fatal(err)
		}
		if err := db.Check(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: check says %v, want %q", name, err, want)
		}
		if err := db.b.Update(undo); err != nil {
			t.Fatal(err)
		}
		db.mustCheck()
	}
	move := func(id uint64, from, to []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			v := append([]byte(nil), tx.Bucket(from).Get(u64(id))...)
			if err := tx.Bucket(to).Put(u64(id), v); err != nil {
				return err
			}
			return tx.Bucket(from).Delete(u64(id))
		}
	}
	damage("queued kept finished", "is queued but kept in redemptions", move(q.ID, bLive, bRed), move(q.ID, bRed, bLive))
	damage("consumed kept live", "is consumed but kept in live_redemptions", move(c.ID, bRed, bLive), move(c.ID, bLive, bRed))
	damage("in both", "is in both", func(tx *bolt.Tx) error {
		return tx.Bucket(bRed).Put(u64(q.ID), append([]byte(nil), tx.Bucket(bLive).Get(u64(q.ID))...))
	}, func(tx *bolt.Tx) error { return tx.Bucket(bRed).Delete(u64(q.ID)) })
	var seq uint64
	damage("sequence behind", "above the last id handed out", func(tx *bolt.Tx) error {
		seq = tx.Bucket(bLive).Sequence()
		return tx.Bucket(bLive).SetSequence(1)
	}, func(tx *bolt.Tx) error { return tx.Bucket(bLive).SetSequence(seq) })
}

// TestTidyRoot: a journal grown from empty has its top level split over
// pages (bbolt split it while the buckets were inline, and never joins
// it again); a read-write open puts it back in one page, changing no
// bucket's content, and a retry then writes the pages a bare bbolt
// commit of one key does: the top level, the freelist and the meta page.
func TestTidyRoot(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	writeMix(t, db.DB, 200)
	q, err := db.Create(Redemption{Code: "987654321098", State: Queued}, "t", Path(Queued)...)
	if err != nil {
		t.Fatal(err)
	}
	split := func() bool {
		var s bool
		if err := db.b.View(func(tx *bolt.Tx) (err error) { s, err = rootSplit(tx); return }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if !split() {
		t.Fatal("the top level of a grown journal is one page: nothing to tidy (the test needs a split one)")
	}
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	before := dumpFile(t, db.path)
	db.Reopen2()
	if split() {
		t.Fatal("the open left the top level split")
	}
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	after := dumpFile(t, db.path)
	if d := sameDump(before, after); d != "" || len(before) != len(after) {
		t.Fatalf("the tidy changed the content: %s (%d entries, then %d)", d, len(before), len(after))
	}
	db.Reopen2()
	db.mustCheck()
	w0 := pagesWritten(db.DB)
	if _, err := db.Transition(q.ID, Queued, Queued, Change{By: "t"}); err != nil {
		t.Fatal(err)
	}
	if n := pagesWritten(db.DB) - w0; n != 3 {
		t.Fatalf("a retry wrote %d pages, want 3 (top level, freelist, meta)", n)
	}
}

// TestTidyRootLeavesABigTopLevel: a top level that needs more than three
// quarters of a page stays as it is: the open's tidy commits nothing.
func TestTidyRootLeavesABigTopLevel(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	if err := db.b.Update(func(tx *bolt.Tx) error {
		for i := range 200 {
			if _, err := tx.CreateBucket(fmt.Appendf(nil, "zz_someone_elses_bucket_%03d", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	txid := func() (id int, split bool, bytes int) {
		if err := db.b.View(func(tx *bolt.Tx) (err error) {
			id, bytes = tx.ID(), rootBytes(tx)
			split, err = rootSplit(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	before, split, n := txid()
	if !split || n <= db.b.Info().PageSize*3/4 {
		t.Fatalf("the test needs a split top level over 3/4 of a page: split %v, %d bytes", split, n)
	}
	if err := db.tidyRoot(); err != nil {
		t.Fatal(err)
	}
	if after, split, _ := txid(); after != before || !split {
		t.Fatalf("the tidy committed (tx %d, then %d) or joined (split %v) a top level that cannot fit", before, after, split)
	}
	if err := db.b.Update(func(tx *bolt.Tx) error {
		for i := range 200 {
			if err := tx.DeleteBucket(fmt.Appendf(nil, "zz_someone_elses_bucket_%03d", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateCannotTouchHistory: a Change's Update is given the record
// without its history, so whatever it does to History is not kept: the
// history is what the moves wrote.
func TestUpdateCannotTouchHistory(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	r, err := db.Create(Redemption{Code: "100000000001", State: Queued}, "t", Path(Queued)...)
	if err != nil {
		t.Fatal(err)
	}
	want := len(r.History) + 1
	r, err = db.Transition(r.ID, Queued, Queued, Change{By: "drain", Update: func(x *Redemption) {
		if len(x.History) != 0 {
			t.Errorf("Update was given %d history entries", len(x.History))
		}
		x.History = append(x.History, Transition{By: "forged", To: Consumed})
		x.Attempts++
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.History) != want || got.History[want-1].By != "drain" || got.Attempts != 1 {
		t.Fatalf("history %+v, attempts %d; want %d entries ending in the drain's", got.History, got.Attempts, want)
	}
}
