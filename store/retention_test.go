package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A consumed redemption pruned by retention leaves a tombstone: the code
// is still used here (FinishedByCode) with its shift, card, terminal and
// cashier, until ForgetUsedCodes drops it past used_code_days. A newer
// pruned use of the same code replaces the tombstone; a rejected one
// leaves none.
func TestPruneKeepsTombstones(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	c1, err := db.Create(Redemption{Code: "C1", CardID: "pA", Cashier: "alice", Terminal: "T1", ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
	if err != nil {
		t.Fatal(err)
	}
	rj, err := db.Create(Redemption{Code: "R1", ShiftID: sh.ID, State: Rejected}, "t", Path(Rejected)...)
	if err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(48 * time.Hour)
	if n, err := db.Prune(clk.t.AddDate(0, 0, -1)); err != nil || n != 2 {
		t.Fatalf("pruned %d %v, want 2", n, err)
	}
	fc, ok, err := db.FinishedByCode("C1")
	if err != nil || !ok || !fc.Pruned || fc.ID != c1.ID || fc.State != Consumed || fc.ShiftID != sh.ID || !fc.At.Equal(c1.UpdatedAt) ||
		fc.CardID != "pA" || fc.Cashier != "alice" || fc.Terminal != "T1" {
		t.Fatalf("after the prune: %+v %v %v", fc, ok, err)
	}
	if _, ok, _ := db.FinishedByCode("R1"); ok {
		t.Fatalf("a rejected redemption left a used code")
	}
	if _, err := db.Get(rj.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected not pruned: %v", err)
	}
	db.mustCheck()

	// The same code used again (say its coupon was re-issued), pruned
	// later: one tombstone, the newer.
	c2, err := db.Create(Redemption{Code: "C1", CardID: "pA", Cashier: "bo", ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
	if err != nil {
		t.Fatal(err)
	}
	if fc, _, _ := db.FinishedByCode("C1"); fc.ID != c2.ID || fc.Pruned {
		t.Fatalf("a live use after a tombstone: %+v", fc)
	}
	clk.t = clk.t.Add(48 * time.Hour)
	if n, err := db.Prune(clk.t.AddDate(0, 0, -1)); err != nil || n != 1 {
		t.Fatalf("pruned %d %v, want 1", n, err)
	}
	if fc, _, _ := db.FinishedByCode("C1"); fc.ID != c2.ID || !fc.Pruned || fc.Cashier != "bo" {
		t.Fatalf("the newer tombstone: %+v", fc)
	}
	db.mustCheck()

	// used_code_days: nothing before the use is forgotten, the use after.
	if n, err := db.ForgetUsedCodes(context.Background(), c2.UpdatedAt); err != nil || n != 0 {
		t.Fatalf("forgot %d %v before the use", n, err)
	}
	if n, err := db.ForgetUsedCodes(context.Background(), c2.UpdatedAt.Add(time.Nanosecond)); err != nil || n != 1 {
		t.Fatalf("forgot %d %v, want 1", n, err)
	}
	if fc, ok, _ := db.FinishedByCode("C1"); ok {
		t.Fatalf("a forgotten code is still used here: %+v", fc)
	}
	db.mustCheck()
}

// Retention costs what it deletes: with nothing due it reads no record.
// A damaged record of a redemption not yet due is never read (the old
// full scan decoded every finished record, and failed on it); one due is.
func TestPruneReadsOnlyWhatIsDue(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	var last Redemption
	for i := range 2*pruneBatch + 3 {
		r, err := db.Create(Redemption{Code: fmt.Sprint("K", i), ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
		if err != nil {
			t.Fatal(err)
		}
		last = r
	}
	var saved []byte
	damage := func() {
		if err := db.b.Update(func(tx *bolt.Tx) error {
			saved = append([]byte(nil), holding(tx, last.ID).Get(u64(last.ID))...)
			return holding(tx, last.ID).Put(u64(last.ID), []byte("{not json"))
		}); err != nil {
			t.Fatal(err)
		}
	}
	damage()
	if n, err := db.Prune(last.FinishedAt); err != nil || n != 2*pruneBatch+2 {
		t.Fatalf("prune up to the damaged record: %d %v, want %d", n, err, 2*pruneBatch+2)
	}
	if n, err := db.Prune(last.FinishedAt); err != nil || n != 0 {
		t.Fatalf("nothing due: %d %v", n, err)
	}
	if _, err := db.Prune(last.FinishedAt.Add(time.Second)); err == nil || !strings.Contains(err.Error(), "damaged entry") {
		t.Fatalf("a due damaged record: %v", err)
	}
	if err := db.b.Update(func(tx *bolt.Tx) error { return holding(tx, last.ID).Put(u64(last.ID), saved) }); err != nil {
		t.Fatal(err)
	}
	db.mustCheck()
}

// Check proves finished_at and the tombstones against the records.
func TestCheckFindsRetentionIndexDamage(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	old, _ := db.Create(Redemption{Code: "OLD", ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
	clk.t = clk.t.Add(48 * time.Hour)
	if n, err := db.Prune(clk.t.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("pruned %d %v", n, err)
	}
	live, _ := db.Create(Redemption{Code: "LIVE", ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
	db.mustCheck()
	for _, c := range []struct {
		name, want   string
		break_, mend func(tx *bolt.Tx) error
	}{
		{"finished key missing", "finished_at index has 0 entries, records say 1",
			func(tx *bolt.Tx) error { return tx.Bucket(bFinished).Delete(finishedKey(live)) },
			func(tx *bolt.Tx) error { return tx.Bucket(bFinished).Put(finishedKey(live), nil) }},
		{"stray finished key", "finished_at index: stray entry",
			func(tx *bolt.Tx) error { return tx.Bucket(bFinished).Put(dueKey(live.FinishedAt, 99), nil) },
			func(tx *bolt.Tx) error { return tx.Bucket(bFinished).Delete(dueKey(live.FinishedAt, 99)) }},
		{"tombstone of a live record", "which is still in the journal",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bTombs).Put([]byte("OLD"), encodeTombstone(tombstone{ID: live.ID, State: Consumed, At: usedAt(old)}))
			},
			func(tx *bolt.Tx) error {
				return tx.Bucket(bTombs).Put([]byte("OLD"), encodeTombstone(tombstoneOf(old)))
			}},
		{"tombstone without its time key", "tombstones_by_at index has 0 entries, tombstones say 1",
			func(tx *bolt.Tx) error { return tx.Bucket(bTombsAt).Delete(tombAtKey(usedAt(old), "OLD")) },
			func(tx *bolt.Tx) error { return tx.Bucket(bTombsAt).Put(tombAtKey(usedAt(old), "OLD"), nil) }},
		{"damaged tombstone", "tombstone of code \"OLD\": not a version-1 tombstone",
			func(tx *bolt.Tx) error { return tx.Bucket(bTombs).Put([]byte("OLD"), []byte{9}) },
			func(tx *bolt.Tx) error {
				return tx.Bucket(bTombs).Put([]byte("OLD"), encodeTombstone(tombstoneOf(old)))
			}},
	} {
		if err := db.b.Update(c.break_); err != nil {
			t.Fatal(err)
		}
		if err := db.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: check says %v, want %q", c.name, err, c.want)
		}
		if err := db.b.Update(c.mend); err != nil {
			t.Fatal(err)
		}
		db.mustCheck()
	}
}

// The tombstone encoding round-trips and refuses what it did not write.
func TestTombstoneEncoding(t *testing.T) {
	t.Parallel()
	in := tombstone{ID: 1 << 40, ShiftID: 31, State: Conflict, At: time.Unix(0, 1764700000123456789), CardID: "pCard", Terminal: "till-2", Cashier: "王芳"}
	b := encodeTombstone(in)
	if len(b) > 64 {
		t.Errorf("tombstone is %d bytes, want tens", len(b))
	}
	out, err := decodeTombstone(b)
	if err != nil || out.ID != in.ID || out.ShiftID != in.ShiftID || out.State != in.State || !out.At.Equal(in.At) ||
		out.CardID != in.CardID || out.Terminal != in.Terminal || out.Cashier != in.Cashier {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	for _, bad := range [][]byte{nil, b[:9], b[:len(b)-1], append(append([]byte(nil), b...), 0), append([]byte{2}, b[1:]...)} {
		if _, err := decodeTombstone(bad); err == nil {
			t.Errorf("decoded %x", bad)
		}
	}
}

// A schema-4 journal (today's code without the schema-5 buckets) is
// migrated at the first writable open: finished_at is built from the
// records, in the same transaction as the new version, so a failing
// migration leaves the file wholly schema 4; read-only, a schema-4 file
// checks whole, and half a migration does not.
func TestMigrateFinishedAt(t *testing.T) {
	// Not parallel: it swaps migrations[4] for a failing one.
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	var prunableIDs []uint64
	for i, s := range []State{Consumed, Rejected, Conflict, Queued, Consumed, Rejected} {
		r, err := db.Create(Redemption{Code: fmt.Sprint("M", i), ShiftID: sh.ID, State: s}, "t", Path(s)...)
		if err != nil {
			t.Fatal(err)
		}
		if s == Consumed || s == Rejected {
			prunableIDs = append(prunableIDs, r.ID)
		}
	}
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	toSchema(t, db.path, 4)
	ro, err := Open(db.path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Check(); err != nil {
		t.Fatalf("read-only schema 4: %v", err)
	}
	if n, err := ro.Prune(clk.t.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("read-only schema 4 prune: %d %v", n, err)
	}
	ro.Close()

	// Half a migration is reported as such.
	b, err := bolt.Open(db.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bFinished); return err }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	ro, err = Open(db.path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Check(); err == nil || !strings.Contains(err.Error(), "half-applied 4 -> 5 migration") {
		t.Fatalf("half a migration: check says %v", err)
	}
	ro.Close()
	toSchema(t, db.path, 4)

	// A migration that fails leaves the file as it was.
	boom := errors.New("boom")
	migrations[4] = func(tx *bolt.Tx) error {
		if err := migrateFinishedAt(tx); err != nil {
			return err
		}
		return boom
	}
	_, err = Open(db.path, Options{Now: clk.Now})
	migrations[4] = migrateFinishedAt
	if !errors.Is(err, boom) {
		t.Fatalf("failing migration: %v", err)
	}
	b, err = bolt.Open(db.path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kSchema); string(v) != string(u64(4)) || tx.Bucket(bFinished) != nil || tx.Bucket(bTombs) != nil {
			t.Errorf("a failed migration left schema %x with finished_at %v", v, tx.Bucket(bFinished) != nil)
		}
		return nil
	})
	b.Close()

	db.Reopen2()
	if v, _ := db.SchemaVersion(); v != SchemaVersion {
		t.Fatalf("schema %d, want %d", v, SchemaVersion)
	}
	db.mustCheck()
	if err := db.b.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bFinished).Stats().KeyN; n != len(prunableIDs) {
			t.Errorf("finished_at has %d keys, want %d", n, len(prunableIDs))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Prune(clk.t.Add(time.Hour)); err != nil || n != len(prunableIDs) {
		t.Fatalf("prune after the migration: %d %v, want %d", n, err, len(prunableIDs))
	}
	if fc, ok, _ := db.FinishedByCode("M0"); !ok || !fc.Pruned {
		t.Fatalf("tombstone after the migration: %+v %v", fc, ok)
	}
}

// TestFinishedKeysAscending: the 4 -> 5 migration puts finished_at's keys
// in ascending order (finishedKeys), though it walks consumed then
// rejected records and their finish times interleave; put out of order,
// the migration's one transaction costs a time quadratic in the journal
// (BenchmarkMigrateFinishedAt).
func TestFinishedKeysAscending(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	want := 0
	for i := range 40 {
		s := []State{Rejected, Consumed, Conflict, Consumed, Rejected}[i%5]
		if _, err := db.Create(Redemption{Code: fmt.Sprint("K", i), ShiftID: sh.ID, State: s}, "t", Path(s)...); err != nil {
			t.Fatal(err)
		}
		if s == Consumed || s == Rejected {
			want++
		}
	}
	if err := db.b.View(func(tx *bolt.Tx) error {
		keys, err := finishedKeys(tx)
		if err != nil {
			return err
		}
		if len(keys) != want {
			t.Errorf("%d keys, want %d", len(keys), want)
		}
		for i := 1; i < len(keys); i++ {
			if bytes.Compare(keys[i-1], keys[i]) >= 0 {
				t.Fatalf("key %d (%x) not after key %d (%x)", i, keys[i], i-1, keys[i-1])
			}
		}
		n := 0
		err = tx.Bucket(bFinished).ForEach(func(k, _ []byte) error {
			if n >= len(keys) || !bytes.Equal(k, keys[n]) {
				t.Errorf("finished_at key %d is %x, finishedKeys has another", n, k)
			}
			n++
			return nil
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// migrateFinishedAtUnsorted is the 4 -> 5 migration as it was first
// written, putting each key as the walk finds it, kept for
// BenchmarkMigrateFinishedAt's ratio.
func migrateFinishedAtUnsorted(tx *bolt.Tx) error {
	b := tx.Bucket(bFinished)
	for _, s := range []State{Consumed, Rejected} {
		prefix := append([]byte(s), 0)
		c := tx.Bucket(bByState).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			if prunable(r) {
				if err := b.Put(finishedKey(r), nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// BenchmarkMigrateFinishedAt is the 4 -> 5 migration of a journal of
// 100,000 redemptions (bulkLoad's mix; 1,000,000 with CARDTILL_BENCH_1M),
// rolled back after each run: unsorted as it was first written
// (migrateFinishedAtUnsorted), sorted as it is. Compare them as a ratio
// of one run.
func BenchmarkMigrateFinishedAt(b *testing.B) {
	sizes := []int{100_000}
	if os.Getenv("CARDTILL_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		p, _ := bigFile(b, n)
		db, err := Open(p, Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []struct {
			name string
			fn   func(*bolt.Tx) error
		}{{"unsorted", migrateFinishedAtUnsorted}, {"sorted", migrateFinishedAt}} {
			b.Run(fmt.Sprintf("%s/journal=%d", m.name, n), func(b *testing.B) {
				errRollback := errors.New("rolled back")
				for i := 0; i < b.N; i++ {
					err := db.b.Update(func(tx *bolt.Tx) error {
						if err := tx.DeleteBucket(bFinished); err != nil {
							return err
						}
						if _, err := tx.CreateBucket(bFinished); err != nil {
							return err
						}
						if err := m.fn(tx); err != nil {
							return err
						}
						return errRollback
					})
					if !errors.Is(err, errRollback) {
						b.Fatal(err)
					}
				}
			})
		}
		db.Close()
	}
}
