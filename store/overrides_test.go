package store

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestOfflineOverride: a manager's override journaled for a shift raises
// the limit the accepting commit checks by its Extra (the configured limit
// stays what the caller passes), survives a restart, stays with its shift
// after the close, and bad input (no one, 0 or too many, a closed or
// unknown shift) is refused and changes nothing.
func TestOfflineOverride(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	sh, err := db.OpenShift("T1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	limit := 1
	accept := func(code string) error {
		t.Helper()
		r, err := db.Create(Redemption{Code: code, ShiftID: sh.ID, State: Received}, "t", Path(Received)...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Transition(r.ID, Received, Queued, Change{By: "t", MaxOfflineInShift: &limit})
		return err
	}
	if err := accept("9001"); err != nil {
		t.Fatal(err)
	}
	if err := accept("9002"); !errors.Is(err, ErrOfflineLimit) {
		t.Fatalf("past the limit before any override: %v", err)
	}
	for _, bad := range []OfflineOverride{
		{ShiftID: sh.ID, By: "boss", Extra: 0},
		{ShiftID: sh.ID, By: "boss", Extra: MaxOverrideExtra + 1},
		{ShiftID: sh.ID, By: " ", Extra: 2},
		{ShiftID: sh.ID, By: "bo\x1bss", Extra: 2},
		{ShiftID: sh.ID + 7, By: "boss", Extra: 2},
	} {
		if _, err := db.AddOfflineOverride(bad); err == nil {
			t.Fatalf("override %+v accepted", bad)
		}
	}
	if os, err := db.OfflineOverrides(sh.ID); err != nil || len(os) != 0 {
		t.Fatalf("refused overrides were journaled: %+v %v", os, err)
	}
	o, err := db.AddOfflineOverride(OfflineOverride{ShiftID: sh.ID, By: "王经理", Extra: 2, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if o.Seq != 1 || o.Cashier != "alice" || o.At.IsZero() {
		t.Fatalf("override as journaled: %+v", o)
	}
	for _, code := range []string{"9003", "9004"} {
		if err := accept(code); err != nil {
			t.Fatalf("%s within the raised limit: %v", code, err)
		}
	}
	if err := accept("9005"); !errors.Is(err, ErrOfflineLimit) {
		t.Fatalf("past the raised limit (1+2): %v", err)
	}
	db.Reopen()
	if err := accept("9006"); !errors.Is(err, ErrOfflineLimit) {
		t.Fatalf("past the raised limit after a restart: %v", err)
	}
	o2, err := db.AddOfflineOverride(OfflineOverride{ShiftID: sh.ID, By: "manager", Extra: 1, Limit: 3})
	if err != nil || o2.Seq != 2 {
		t.Fatalf("second override %+v %v", o2, err)
	}
	if err := accept("9007"); err != nil {
		t.Fatalf("after a second override: %v", err)
	}
	if n, _ := db.OfflineAccepted(sh.ID); n != 4 {
		t.Fatalf("offline accepted %d, want 4 (1 + 2 + 1)", n)
	}
	// Another shift's overrides are its own.
	if _, err := db.CloseShift(sh.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOfflineOverride(OfflineOverride{ShiftID: sh.ID, By: "boss", Extra: 1}); !errors.Is(err, ErrShiftClosed) {
		t.Fatalf("override of a closed shift: %v", err)
	}
	sh2, err := db.OpenShift("T1", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOfflineOverride(OfflineOverride{ShiftID: sh2.ID, By: "boss", Extra: 5}); err != nil {
		t.Fatal(err)
	}
	db.Reopen()
	got, err := db.OfflineOverrides(sh.ID)
	if err != nil || len(got) != 2 || got[0].By != "王经理" || got[0].Extra != 2 || got[1].Extra != 1 || got[1].Limit != 3 {
		t.Fatalf("shift #%d overrides after restart: %+v %v", sh.ID, got, err)
	}
	if got, _ := db.OfflineOverrides(sh2.ID); len(got) != 1 || got[0].Seq != 1 || got[0].Cashier != "bob" {
		t.Fatalf("shift #%d overrides: %+v", sh2.ID, got)
	}
	db.mustCheck()
}

// TestOfflineOverridesOptional: a journal whose file has no
// offline_overrides bucket (written by a cardtill from before it) checks
// whole read-only and has no overrides; a writable open adds the bucket.
func TestOfflineOverridesOptional(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	sh, err := db.OpenShift("T1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.b.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bOverrides) }); err != nil {
		t.Fatal(err)
	}
	path := db.path
	db.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Check(); err != nil {
		t.Fatalf("check of a journal without the bucket: %v", err)
	}
	if os, err := ro.OfflineOverrides(sh.ID); err != nil || len(os) != 0 {
		t.Fatalf("overrides %+v %v", os, err)
	}
	ro.Close()
	db.DB, err = Open(path, db.o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOfflineOverride(OfflineOverride{ShiftID: sh.ID, By: "boss", Extra: 1}); err != nil {
		t.Fatalf("after a writable open: %v", err)
	}
}

// TestCheckFindsABadOverride: db check names an override entry that is not
// of an existing shift.
func TestCheckFindsABadOverride(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	if err := db.b.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bOverrides), k2(42, 1), OfflineOverride{ShiftID: 42, Seq: 1, By: "x", Extra: 1})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err == nil {
		t.Fatal("check passed an override of a shift that does not exist")
	}
	if err := db.b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bOverrides).Delete(k2(42, 1)) }); err != nil {
		t.Fatal(err)
	}
}
