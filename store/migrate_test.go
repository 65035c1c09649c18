package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A journal written by schema 1 kept conflicts out of the used-by-code
// index; opening it migrates them in, so a code honoured offline and then
// refused by WeChat is not honoured again after the upgrade.
func TestMigrateConflictsIntoUsedIndex(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "journal.db")
	clk := newClock()
	db, err := Open(path, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := db.OpenShift("T1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	q, err := db.Create(Redemption{Code: "C1", ShiftID: sh.ID, State: Queued}, "till", Path(Queued)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(q.ID, Queued, Conflict, Change{By: "drain", Errcode: 40099}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Make the file what schema 1 wrote: no used entry for the conflict.
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bUsed).Delete([]byte("C1")); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchema, u64(1))
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()

	db, err = Open(path, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("schema %d %v, want %d", v, err, SchemaVersion)
	}
	fc, ok, err := db.FinishedByCode("C1")
	if err != nil || !ok || fc.ID != q.ID || fc.State != Conflict {
		t.Fatalf("after migration the conflict is not listed as used: %+v %v %v", fc, ok, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
