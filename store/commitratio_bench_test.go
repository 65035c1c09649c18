package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkCommitRatio measures the figure as a ratio of one run:
// a journal transition's commit (a retry of a queued redemption, fsync on)
// against a bare bbolt commit (one 200-byte key rewritten) and against a
// 512-byte write+fdatasync, and the engine's retry (a new due time, which
// moves the code's outbox key) against the bare commit too, in
// alternating rounds (which goes first rotates) so that the disk's and
// the machine's load fall on all alike. The journal holds 10,000
// redemptions in BenchmarkJournalBytes' mix first, so its tree has the
// depth of a till's, not of an empty file, and is reopened (as a till
// starts) before the rounds; the bare bbolt file holds one key. It logs
// the journal's freelist (written with every commit) and reports the min
// and median of the per-round ratios and the pages each kind of retry
// writes. Run it with -benchtime=1x: one b.Loop iteration is all the
// rounds.
func BenchmarkCommitRatio(b *testing.B) {
	dir := b.TempDir()
	bdb, err := bolt.Open(filepath.Join(dir, "bare.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	val := make([]byte, 200)
	bare := func() error {
		return bdb.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return bk.Put([]byte("k"), val)
		})
	}
	p := filepath.Join(dir, "j.db")
	clk := time.Date(2026, 1, 1, 8, 0, 0, 0, time.Local)
	seed, err := Open(p, Options{NoSync: true, Now: func() time.Time { clk = clk.Add(37 * time.Millisecond); return clk }})
	if err != nil {
		b.Fatal(err)
	}
	writeMix(b, seed, 10_000)
	if err := seed.Close(); err != nil {
		b.Fatal(err)
	}
	db, err := Open(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// retrier retries a queued redemption with ch; every 64th time it
	// first cuts the history back to its last entry, to keep the record a
	// retry's size
	retrier := func(code string, ch Change) func() error {
		r, err := db.Create(Redemption{Code: code, State: Queued, DueAt: clk}, "bench", Path(Queued)...)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		return func() error {
			if n++; n%64 == 0 {
				if err := db.b.Update(func(tx *bolt.Tx) error {
					rr, err := getRed(tx, r.ID)
					if err != nil {
						return err
					}
					rr.History = rr.History[len(rr.History)-1:]
					return putRed(tx, rr, rr.State)
				}); err != nil {
					return err
				}
			}
			_, err := db.Transition(r.ID, Queued, Queued, ch)
			return err
		}
	}
	transition := retrier("987654321098", Change{By: "bench"})
	// the engine's retry: a new due time (the outbox key moves), one more
	// attempt, the error
	retryDue := retrier("987654321099", Change{By: "drain", Err: "timeout", Update: func(r *Redemption) {
		r.DueAt, r.Attempts, r.LastError = r.DueAt.Add(time.Minute), r.Attempts+1, "timeout"
	}})
	f, err := os.OpenFile(filepath.Join(dir, "plain"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	writes := 0
	fsync := func() error {
		writes++
		if _, err := f.WriteAt(buf, int64(writes%64)*512); err != nil {
			return err
		}
		return f.Sync()
	}
	const rounds, ops = 9, 40
	kinds := []func() error{bare, transition, fsync, retryDue}
	var per [4][]float64
	var pages [4]int64
	b.ResetTimer()
	for b.Loop() {
		per, pages = [4][]float64{}, [4]int64{}
		for round := range rounds {
			for k := range kinds {
				i := (round + k) % len(kinds)
				w0 := pagesWritten(db)
				start := time.Now()
				for range ops {
					if err := kinds[i](); err != nil {
						b.Fatal(err)
					}
				}
				per[i] = append(per[i], float64(time.Since(start).Nanoseconds())/ops)
				pages[i] += pagesWritten(db) - w0
			}
		}
	}
	b.StopTimer()
	ratios := func(num, den []float64) (lo, med float64) {
		r := make([]float64, len(num))
		for i := range num {
			r[i] = num[i] / den[i]
		}
		slices.Sort(r)
		return r[0], r[len(r)/2]
	}
	median := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	tbLo, tbMed := ratios(per[1], per[0])
	tfLo, tfMed := ratios(per[1], per[2])
	bfLo, bfMed := ratios(per[0], per[2])
	b.ReportMetric(tbMed, "transition/bbolt-median")
	b.ReportMetric(tbLo, "transition/bbolt-min")
	b.ReportMetric(tfMed, "transition/fsync-median")
	b.ReportMetric(bfMed, "bbolt/fsync-median")
	dbLo, dbMed := ratios(per[3], per[0])
	b.ReportMetric(dbMed, "retry-due/bbolt-median")
	b.ReportMetric(dbLo, "retry-due/bbolt-min")
	b.ReportMetric(float64(pages[1])/float64(rounds*ops), "pages-written/transition")
	b.ReportMetric(float64(pages[3])/float64(rounds*ops), "pages-written/retry-due")
	st := db.b.Stats()
	b.Logf("journal: %d free pages, freelist %d B in use (%d pages written with every commit)", st.FreePageN+st.PendingPageN, st.FreelistInuse, (st.FreelistInuse+4095)/4096)
	b.Logf("%d rounds of %d: median per op bbolt %.3f ms, transition %.3f ms, retry with a due time %.3f ms, write+fsync %.3f ms; per-round ratios min/median: transition/bbolt %.2f/%.2f, retry-due/bbolt %.2f/%.2f, transition/fsync %.2f/%.2f, bbolt/fsync %.2f/%.2f",
		rounds, ops, median(per[0])/1e6, median(per[1])/1e6, median(per[3])/1e6, median(per[2])/1e6, tbLo, tbMed, dbLo, dbMed, tfLo, tfMed, bfLo, bfMed)
}
