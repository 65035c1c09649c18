package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// seqs is every top-level bucket's sequence.
func seqs(t testing.TB, path string) map[string]uint64 {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := map[string]uint64{}
	_ = b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error { out[string(name)] = bk.Sequence(); return nil })
	})
	return out
}

// mixWithLive makes a journal with a record in every state, some pruned
// (the highest ids among them), returns the highest id handed out.
func mixWithLive(t *testing.T, db *testDB, clk *clock) (maxID uint64, ids map[State]uint64) {
	t.Helper()
	sh, err := db.OpenShift("T1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	ids = map[State]uint64{}
	t0 := clk.t
	clk.t = clk.t.Add(100 * time.Hour) // the records kept finish later than the pruned ones
	for i, s := range AllStates {
		r, err := db.Create(Redemption{Code: fmt.Sprint("R", i), ShiftID: sh.ID, State: s}, "t", Path(s)...)
		if err != nil {
			t.Fatal(err)
		}
		ids[s] = r.ID
		maxID = r.ID
	}
	// the last ids: consumed (earlier, on the clock) then pruned
	clk.t = t0
	for i := 0; i < 3; i++ {
		r, err := db.Create(Redemption{Code: fmt.Sprint("P", i), ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
		if err != nil {
			t.Fatal(err)
		}
		maxID = r.ID
	}
	if n, err := db.Prune(t0.Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("prune %d %v", n, err)
	}
	return maxID, ids
}

// TestMigrateFromEverySchemaKeepsIDs: a journal at each older schema
// (read-only first: it checks and reads as it is) migrates to schema 9 with its active records live, Check passes, and new
// ids go past every id handed out (the pruned ones too).
func TestMigrateFromEverySchemaKeepsIDs(t *testing.T) {
	t.Parallel()
	for v := uint64(1); v < SchemaVersion; v++ {
		t.Run(fmt.Sprint("schema", v), func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			db := openTest(t, Options{NoSync: true, Now: clk.Now})
			maxID, ids := mixWithLive(t, db, clk)
			if err := db.DB.Close(); err != nil {
				t.Fatal(err)
			}
			toSchema(t, db.path, v)
			// read-only, before the migration
			ro, err := Open(db.path, Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := ro.Check(); err != nil {
				t.Errorf("read-only check of schema %d: %v", v, err)
			}
			for s, id := range ids {
				if r, err := ro.Get(id); err != nil || r.State != s {
					t.Errorf("read-only get %d: %v %v", id, r.State, err)
				}
			}
			ro.Close()
			db.Reopen2()
			for s, id := range ids {
				want := map[bool]string{true: "live", false: "finished"}[s.Active()]
				if got := where(t, db, id)[id]; got != want {
					t.Errorf("%s: %s", s, got)
				}
			}
			db.mustCheck()
			r, err := db.Create(Redemption{Code: "NEW", State: Received}, "t", Path(Received)...)
			if err != nil || r.ID <= maxID {
				t.Fatalf("new id %d after %d: %v", r.ID, maxID, err)
			}
		})
	}
}

// TestIDsAcrossCompactAndBackup: pruned top ids, then compaction,
// a hot backup and a tidy: ids only grow and sequences are kept.
func TestIDsAcrossCompactAndBackup(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{NoSync: true, Now: clk.Now})
	maxID, _ := mixWithLive(t, db, clk)
	bak := filepath.Join(t.TempDir(), "b.db")
	if _, err := db.BackupFile(bak); err != nil {
		t.Fatal(err)
	}
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	s0 := seqs(t, db.path)
	if _, _, err := Compact(db.path, Options{NoSync: true, Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	if s1 := seqs(t, db.path); fmt.Sprint(s0) != fmt.Sprint(s1) {
		t.Fatalf("sequences before compaction %v, after %v", s0, s1)
	}
	for _, p := range []string{db.path, bak} {
		d, err := Open(p, Options{NoSync: true, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.Create(Redemption{Code: "NEW", State: Received}, "t", Path(Received)...)
		if err != nil || r.ID <= maxID {
			t.Fatalf("%s: new id %d after %d: %v", p, r.ID, maxID, err)
		}
		if err := d.Check(); err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
	db.Reopen2()
}

// TestTidyRootOddTopLevels: a top level of many buckets (more than one
// page holds), some with a 0-byte sibling holding data, with sequences:
// the tidy changes no content nor sequence, and Check passes.
func TestTidyRootOddTopLevels(t *testing.T) {
	t.Parallel()
	for _, n := range []int{40, 400} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			db := openTest(t, Options{NoSync: true, Now: clk.Now})
			writeMix(t, db.DB, 200)
			if _, err := db.Create(Redemption{Code: "Q1", State: Queued}, "t", Path(Queued)...); err != nil {
				t.Fatal(err)
			}
			if err := db.b.Update(func(tx *bolt.Tx) error {
				for i := 0; i < n; i++ {
					name := []byte(fmt.Sprintf("zz-foreign-%04d", i))
					b, err := tx.CreateBucket(name)
					if err != nil {
						return err
					}
					_ = b.SetSequence(uint64(i + 7))
					_ = b.Put([]byte("k"), bytes.Repeat([]byte{'v'}, 30))
					if i%3 == 0 {
						sib, err := tx.CreateBucket(append(name, 0))
						if err != nil {
							return err
						}
						_ = sib.SetSequence(99)
						_ = sib.Put([]byte("keep"), []byte("me"))
					}
				}
				// a 0-byte sibling of one of ours
				sib, err := tx.CreateBucket(append([]byte("meta"), 0))
				if err != nil {
					return err
				}
				return sib.Put([]byte("x"), []byte("y"))
			}); err != nil {
				t.Fatal(err)
			}
			if err := db.DB.Close(); err != nil {
				t.Fatal(err)
			}
			if !rootIsSplit(t, db.path) {
				t.Fatal("the top level is one page: nothing to tidy")
			}
			before, s0 := dumpFile(t, db.path), seqs(t, db.path)
			db.Reopen2()
			if err := db.DB.Close(); err != nil {
				t.Fatal(err)
			}
			after, s1 := dumpFile(t, db.path), seqs(t, db.path)
			t.Logf("%d foreign buckets: split after the tidy: %v", n, rootIsSplit(t, db.path))
			if d := sameDump(before, after); d != "" {
				t.Fatalf("tidy changed content: %s", d)
			}
			if fmt.Sprint(s0) != fmt.Sprint(s1) {
				t.Fatalf("tidy changed sequences")
			}
			db.Reopen2()
			db.mustCheck()
		})
	}
}

// TestConcurrentBatchHistories: many TransitionBatch retries and
// finishing moves at once (groups that share a commit and re-run their
// functions after a failure); every history is exactly what was
// acknowledged.
func TestConcurrentBatchHistories(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, _ := db.OpenShift("T", "a")
	const n = 12
	ids := make([]uint64, n)
	for i := range ids {
		r, err := db.Create(Redemption{Code: fmt.Sprint("C", i), ShiftID: sh.ID, State: Queued}, "t", Path(Queued)...)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ID
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	okRetries := map[uint64]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 30; k++ {
				id := ids[(g+k)%n]
				from := Queued
				if k%7 == 3 {
					from = InDoubt // stale: fails its group once
				}
				_, err := db.TransitionBatch(id, from, from, Change{By: fmt.Sprint("g", g), Update: func(r *Redemption) {
					r.Attempts++
					r.History = append(r.History, Transition{By: "bogus"}) // must not reach the record
				}})
				if err == nil {
					mu.Lock()
					okRetries[id]++
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	for _, id := range ids {
		r, err := db.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(Path(Queued)) + 1 + okRetries[id]; len(r.History) != want || r.Attempts != okRetries[id] {
			t.Fatalf("redemption %d: %d history entries, attempts %d, want %d / %d", id, len(r.History), r.Attempts, want, okRetries[id])
		}
		for _, h := range r.History {
			if h.By == "bogus" {
				t.Fatalf("redemption %d: an Update's history entry reached the record", id)
			}
		}
	}
	// finish half of them in batches, concurrently
	for i, id := range ids {
		if i%2 == 0 {
			wg.Add(1)
			go func(id uint64) {
				defer wg.Done()
				if _, err := db.TransitionBatch(id, Queued, Consumed, Change{By: "drain", Via: []State{Consuming}}); err != nil {
					t.Error(err)
				}
			}(id)
		}
	}
	wg.Wait()
	for i, id := range ids {
		want := map[bool]string{true: "finished", false: "live"}[i%2 == 0]
		if got := where(t, db, id)[id]; got != want {
			t.Fatalf("%d: %s, want %s", id, got, want)
		}
	}
	db.mustCheck()
}

func rootIsSplit(t testing.TB, path string) bool {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second}) // tx.Page needs the freelist: read-write
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var split bool
	if err := b.View(func(tx *bolt.Tx) (err error) { split, err = rootSplit(tx); return }); err != nil {
		t.Fatal(err)
	}
	return split
}
