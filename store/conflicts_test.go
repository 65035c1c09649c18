package store

import (
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// conflictIn journals a code accepted offline in shift and then refused
// by WeChat.
func conflictIn(t *testing.T, db *testDB, shift uint64, code string) Redemption {
	t.Helper()
	q, err := db.Create(Redemption{Code: code, CardID: "cardA", CardTitle: "满100减20", Cashier: "王小明", ShiftID: shift, State: Queued}, "till", Received)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Transition(q.ID, Queued, Conflict, Change{By: "drain", Errcode: 40099, Reason: "already_used",
		Update: func(r *Redemption) { r.Errcode, r.Reason, r.ReasonText = 40099, "already_used", "already used" }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The per-shift conflict index lists exactly a shift's conflicts with
// what a report needs, and a resolution (who, when, what) is kept across
// a restart, once, and leaves the redemption and its counters alone.
func TestShiftConflictsAndResolution(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	s1, _ := db.OpenShift("T1", "王小明")
	c1 := conflictIn(t, db, s1.ID, "111")
	if _, err := db.Create(Redemption{Code: "222", ShiftID: s1.ID, State: Consumed}, "till", Received, Checked, Consuming); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CloseShift(s1.ID); err != nil {
		t.Fatal(err)
	}
	s2, _ := db.OpenShift("T1", "Bob")
	c2 := conflictIn(t, db, s2.ID, "333")

	got, err := db.ShiftConflicts(s1.ID)
	if err != nil || len(got) != 1 || got[0].ID != c1.ID || got[0].Code != "111" || got[0].CardTitle != "满100减20" ||
		got[0].Errcode != 40099 || got[0].Reason != "already_used" || got[0].Cashier != "王小明" || got[0].AcceptedAt.IsZero() || got[0].Resolution != nil {
		t.Fatalf("shift 1 conflicts %+v %v", got, err)
	}
	before, _ := db.ShiftCounters(s1.ID)

	for _, bad := range []struct{ by, note string }{{"", "called"}, {"Li", " "}, {"Li", strings.Repeat("x", MaxResolutionNote+1)}, {"Li", "a\x1b[2Jb"}} {
		if _, err := db.ResolveConflict(c1.ID, bad.by, bad.note); !errors.Is(err, ErrInvalid) {
			t.Errorf("resolve by %q note %q: %v, want ErrInvalid", bad.by, bad.note, err)
		}
	}
	if _, err := db.ResolveConflict(999, "Li", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("resolve an unknown id: %v", err)
	}
	if _, err := db.ResolveConflict(c1.ID+1, "Li", "x"); !errors.Is(err, ErrNotFound) { // consumed, not a conflict
		t.Errorf("resolve a consumed redemption: %v", err)
	}
	res, err := db.ResolveConflict(c1.ID, " 店长李 ", "顾客回店补差价 20 元")
	if err != nil || res.By != "店长李" || res.At.IsZero() {
		t.Fatalf("resolve: %+v %v", res, err)
	}
	if _, err := db.ResolveConflict(c1.ID, "Li", "again"); !errors.Is(err, ErrResolved) {
		t.Fatalf("second resolve: %v, want ErrResolved", err)
	}

	db.Reopen()
	got, err = db.ShiftConflicts(s1.ID)
	if err != nil || len(got) != 1 || got[0].Resolution == nil || got[0].Resolution.Note != "顾客回店补差价 20 元" || !got[0].Resolution.At.Equal(res.At) {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if e, err := db.Conflict(c2.ID); err != nil || e.Resolution != nil || e.ShiftID != s2.ID {
		t.Fatalf("conflict 2: %+v %v", e, err)
	}
	if n, err := db.CountResolved(); err != nil || n != 1 {
		t.Fatalf("resolved %d %v", n, err)
	}
	after, _ := db.ShiftCounters(s1.ID)
	if before.Total != after.Total || before.ByOutcome[OutcomeConflict] != after.ByOutcome[OutcomeConflict] {
		t.Fatalf("counters changed by resolving: %+v -> %+v", before, after)
	}
	if r, _ := db.Get(c1.ID); r.State != Conflict || len(r.History) != len(c1.History) {
		t.Fatalf("the redemption changed: %+v", r)
	}
}

// A schema-3 journal has no conflict index: opening it builds the index
// from the records, and the check agrees.
func TestMigrateShiftConflicts(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	s, _ := db.OpenShift("T1", "alice")
	c := conflictIn(t, db, s.ID, "C1")
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	toSchema(t, db.path, 3)
	ro, err := Open(db.path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro.ShiftConflicts(s.ID); err != nil || len(got) != 1 || got[0].ID != c.ID {
		t.Fatalf("read-only schema 3: %+v %v", got, err)
	}
	if n, err := ro.CountResolved(); err != nil || n != 0 {
		t.Fatalf("read-only schema 3 resolved: %d %v", n, err)
	}
	// db check on an upgraded till before anything opened it writable
	if err := ro.Check(); err != nil {
		t.Fatalf("read-only schema 3 check: %v", err)
	}
	ro.Close()
	// half a migration (one bucket, or both without the version) fails the check
	for _, half := range []func(tx *bolt.Tx) error{
		func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bShiftConflicts); return err },
		func(tx *bolt.Tx) error {
			for _, n := range [][]byte{bShiftConflicts, bResolutions} {
				if _, err := tx.CreateBucket(n); err != nil {
					return err
				}
			}
			return nil
		},
	} {
		b, err := bolt.Open(db.path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Update(half); err != nil {
			t.Fatal(err)
		}
		b.Close()
		ro, err := Open(db.path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := ro.Check(); err == nil || !strings.Contains(err.Error(), "half-applied 3 -> 4 migration") {
			t.Fatalf("half a migration: check says %v", err)
		}
		ro.Close()
		b, err = bolt.Open(db.path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Update(func(tx *bolt.Tx) error {
			_ = tx.DeleteBucket(bShiftConflicts)
			_ = tx.DeleteBucket(bResolutions)
			return nil
		})
		b.Close()
	}
	d2, err := Open(db.path, db.o)
	if err != nil {
		t.Fatal(err)
	}
	db.DB = d2
	if got, err := db.ShiftConflicts(s.ID); err != nil || len(got) != 1 || got[0].ID != c.ID || got[0].Errcode != 40099 {
		t.Fatalf("migrated: %+v %v", got, err)
	}
	// a stray index entry is found by the check
	if err := db.b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bShiftConflicts).Put(k2(s.ID, 77), []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), "shift_conflicts index: stray entry") {
		t.Fatalf("check: %v", err)
	}
	_ = db.b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bShiftConflicts).Delete(k2(s.ID, 77)) })
}
