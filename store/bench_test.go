package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkCommit compares one transition commit (fsync on) with a bare
// bbolt commit (one small key rewritten) and a plain write+fsync of a
// small file in the same directory, in the same run.
func BenchmarkCommit(b *testing.B) {
	dir := b.TempDir()
	b.Run("bbolt", func(b *testing.B) {
		bdb, err := bolt.Open(filepath.Join(dir, "bare.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer bdb.Close()
		val := make([]byte, 200)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := bdb.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return bk.Put([]byte("k"), val)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("transition", func(b *testing.B) {
		db, err := Open(filepath.Join(dir, "j.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		r, err := db.Create(Redemption{Code: fmt.Sprintf("BENCH-%d", time.Now().UnixNano()), State: Queued}, "bench", Path(Queued)...)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		w0 := pagesWritten(db)
		defer func() {
			b.ReportMetric(float64(pagesWritten(db)-w0)/float64(b.N), "pages-written/op")
		}()
		for i := 0; i < b.N; i++ {
			if _, err := db.Transition(r.ID, Queued, Queued, Change{By: "bench"}); err != nil {
				b.Fatal(err)
			}
			if i%64 == 63 { // keep the history (and so the record) small
				b.StopTimer()
				db.b.Update(func(tx *bolt.Tx) error {
					rr, _ := getRed(tx, r.ID)
					rr.History = rr.History[len(rr.History)-1:]
					return putRed(tx, rr, rr.State)
				})
				b.StartTimer()
			}
		}
	})
	b.Run("write+fsync", func(b *testing.B) {
		f, err := os.OpenFile(filepath.Join(dir, "plain"), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 512)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := f.WriteAt(buf, int64(i%64)*512); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// bulkLoad fills db with n redemptions: shifts of 2,000 (the last one is
// the target shift), a mix of outcomes, in large NoSync transactions
// through the same index and counter code as Create and Transition.
func bulkLoad(b testing.TB, db *DB, n int) (target uint64) {
	const perShift = 2000
	clk := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	outs := []State{Consumed, Consumed, Consumed, Rejected, Conflict, Queued}
	for done := 0; done < n; {
		sh, err := db.OpenShift("T", "bulk")
		if err != nil {
			b.Fatal(err)
		}
		target = sh.ID
		err = db.b.Update(func(tx *bolt.Tx) error {
			for i := 0; i < perShift && done < n; i++ {
				id, _ := tx.Bucket(bLive).NextSequence()
				clk = clk.Add(time.Second)
				st := outs[done%len(outs)]
				r := Redemption{ID: id, Code: fmt.Sprintf("%012d", done), CardID: fmt.Sprintf("p%d", done%5), Cashier: "bulk", Terminal: "T",
					Source: "scanner", ShiftID: sh.ID, State: st, CreatedAt: clk, UpdatedAt: clk, Reason: "already_used", DueAt: clk,
					History: []Transition{{At: clk, To: Received, By: "bulk"}, {At: clk, From: Received, To: Checked, By: "bulk"}, {At: clk, From: Checked, To: st, By: "bulk"}}}
				if st.Finished() {
					r.FinishedAt = clk
				}
				if err := putRed(tx, r, None); err != nil {
					return err
				}
				if err := db.index(tx, r); err != nil {
					return err
				}
				if err := db.count(tx, r); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.CloseShift(sh.ID); err != nil {
			b.Fatal(err)
		}
	}
	return target
}

var bigFiles = map[int]string{}

// bigFile builds (once per run) a journal of n redemptions.
func bigFile(b *testing.B, n int) (string, uint64) {
	p := filepath.Join(os.TempDir(), fmt.Sprintf("cardtill-store-bench-%d-%d.db", os.Getpid(), n))
	if _, ok := bigFiles[n]; !ok {
		start := time.Now()
		db, err := Open(p, Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		bulkLoad(b, db, n)
		db.b.Sync()
		db.Close()
		bigFiles[n] = p
		fi, _ := os.Stat(p)
		b.Logf("built %d redemptions in %s, %d MB", n, time.Since(start).Round(time.Millisecond), fi.Size()>>20)
	}
	db, err := Open(p, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, _ := db.Shifts(1)
	return p, s[0].ID
}

// BenchmarkShiftSummary reads a 2,000-redemption shift's counters and
// records with 100,000 and with 1,000,000 redemptions in the journal.
func BenchmarkShiftSummary(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		p, target := bigFile(b, n)
		db, err := Open(p, Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("counters/journal=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c, err := db.ShiftCounters(target)
				if err != nil || c.Total != 2000 {
					b.Fatalf("%+v %v", c.Total, err)
				}
			}
		})
		b.Run(fmt.Sprintf("records/journal=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rs, err := db.Find(Query{Index: ByShift, Shift: target})
				if err != nil || len(rs) != 2000 {
					b.Fatalf("%d %v", len(rs), err)
				}
			}
		})
		db.Close()
	}
}

// BenchmarkOpen1M opens (read-write, as the till does) a 1,000,000-redemption journal.
func BenchmarkOpen1M(b *testing.B) {
	p, _ := bigFile(b, 1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db, err := Open(p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// pruneFullScan is the candidate search of schema 4's Prune, kept for
// BenchmarkRetentionAtStart's ratio: every consumed and rejected record
// decoded in one read transaction, due or not.
func pruneFullScan(db *DB, olderThan time.Time) (int, error) {
	n := 0
	err := db.b.View(func(tx *bolt.Tx) error {
		for _, s := range []State{Consumed, Rejected} {
			prefix := append([]byte(s), 0)
			c := tx.Bucket(bByState).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
				if err != nil {
					return err
				}
				if !r.FinishedAt.IsZero() && r.FinishedAt.Before(olderThan) {
					n++
				}
			}
		}
		return nil
	})
	return n, err
}

// BenchmarkRetentionAtStart is the retention a till runs at start with
// nothing due, on a journal of 100,000 redemptions (and 1,000,000 with
// CARDTILL_BENCH_1M set): fullscan is schema 4's (pruneFullScan), index
// today's Prune walking finished_at. Compare them as a ratio of one run.
func BenchmarkRetentionAtStart(b *testing.B) {
	sizes := []int{100_000}
	if os.Getenv("CARDTILL_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	cut := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC) // before bulkLoad's first redemption
	for _, n := range sizes {
		p, _ := bigFile(b, n)
		db, err := Open(p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("fullscan/journal=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if k, err := pruneFullScan(db, cut); err != nil || k != 0 {
					b.Fatalf("%d %v", k, err)
				}
			}
		})
		b.Run(fmt.Sprintf("index/journal=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if k, err := db.PruneContext(context.Background(), cut); err != nil || k != 0 {
					b.Fatalf("%d %v", k, err)
				}
			}
		})
		db.Close()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range bigFiles {
		os.Remove(p)
	}
	os.Exit(code)
}

// TestWriteBenchJournal writes a journal of CARDTILL_BENCH_JOURNAL_N
// (default 1,000,000) redemptions in bulkLoad's mix to the path in
// CARDTILL_BENCH_JOURNAL, as schema 4 wrote it (toSchema), for measuring
// the binary on it (the RSS of `cardtill run` at start, before and after
// a change). Skipped without the variable.
func TestWriteBenchJournal(t *testing.T) {
	t.Parallel()
	p := os.Getenv("CARDTILL_BENCH_JOURNAL")
	if p == "" {
		t.Skip("CARDTILL_BENCH_JOURNAL names the file to write")
	}
	n := 1_000_000
	if s := os.Getenv("CARDTILL_BENCH_JOURNAL_N"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(p, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	bulkLoad(t, db, n)
	if err := db.b.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	toSchema(t, p, 4)
}
