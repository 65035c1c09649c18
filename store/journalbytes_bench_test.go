package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkJournalBytes builds a journal through the real API, one commit
// per move as the engine makes them, in the mix the issue measured: of
// every 20 redemptions 17 consumed online (received, checked, consuming,
// consumed), 2 refused (received, rejected) and 1 queued offline then
// drained (received, queued, consuming, consumed), in shifts of 2,000. It
// reports the data's and the file's bytes per redemption (b.N is ignored: the journal is
// 10,000 redemptions, CARDTILL_BENCH_JOURNAL_N to change it).
func BenchmarkJournalBytes(b *testing.B) {
	n := 10_000
	if s := os.Getenv("CARDTILL_BENCH_JOURNAL_N"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		p := filepath.Join(b.TempDir(), "j.db")
		clk := time.Date(2026, 1, 1, 8, 0, 0, 0, time.Local)
		db, err := Open(p, Options{NoSync: true, Now: func() time.Time { clk = clk.Add(37 * time.Millisecond); return clk }})
		if err != nil {
			b.Fatal(err)
		}
		w0 := pagesWritten(db)
		writeMix(b, db, n)
		// bbolt's page writes, meta pages included
		b.ReportMetric(float64(pagesWritten(db)-w0)/float64(n), "pages-written/redemption")
		var data int64 // the pages in use up to the file's high-water mark
		if err := db.b.View(func(tx *bolt.Tx) error {
			data = tx.Size()
			per := bucketBytes(b, tx, n)
			b.ReportMetric(per[string(bRed)], "records-bytes/redemption")
			b.ReportMetric(per[string(bUsed)], "used-bytes/redemption")
			b.ReportMetric(per[string(bByShift)]+per[string(bByState)]+per[string(bConsumedBy)]+per[string(bFinished)], "index-bytes/redemption")
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(data)/float64(n), "data-bytes/redemption")
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/float64(n), "file-bytes/redemption") // bbolt grows the file in steps (doubling up to 1 GB)
	}
}

// bucketBytes logs where a journal's bytes are, bucket by bucket (bbolt's
// Bucket.Stats: leaf and branch pages allocated, the bytes of keys and
// values, how full the leaf pages are), and returns each bucket's pages
// per redemption of n.
func bucketBytes(b testing.TB, tx *bolt.Tx, n int) map[string]float64 {
	per := map[string]float64{}
	var total int
	_ = tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
		s := bk.Stats()
		alloc := s.LeafAlloc + s.BranchAlloc
		if alloc == 0 {
			return nil
		}
		kv := 0
		_ = bk.ForEach(func(k, v []byte) error { kv += len(k) + len(v); return nil })
		total += alloc
		per[string(name)] = float64(alloc) / float64(n)
		b.Logf("%-20s %6d keys, %8d B of keys and values, %4d leaf + %2d branch pages, leaf pages %3.0f%% full: %6.1f B/redemption",
			name, s.KeyN, kv, s.LeafPageN, s.BranchPageN, 100*float64(s.LeafInuse)/float64(s.LeafAlloc), per[string(name)])
		return nil
	})
	b.Logf("buckets %.1f B/redemption; the file's data %d B (the rest: meta, freelist, free pages)", float64(total)/float64(n), tx.Size())
	return per
}

// writeMix journals n redemptions in the mix (see
// BenchmarkJournalBytes) through Create and Transition.
func writeMix(b testing.TB, db *DB, n int) {
	var sh Shift
	var err error
	for i := range n {
		if i%2000 == 0 {
			if sh.ID != 0 {
				if _, err := db.CloseShift(sh.ID); err != nil {
					b.Fatal(err)
				}
			}
			if sh, err = db.OpenShift("store12-till1", "Wang Fang"); err != nil {
				b.Fatal(err)
			}
		}
		code := fmt.Sprintf("%012d", 452998530302+int64(i)*7)
		base := Redemption{Code: code, RawScan: code, CardID: "pDEMO_cake_free_" + fmt.Sprint(i%5), Source: "scanner",
			Terminal: "store12-till1", Cashier: "Wang Fang", ShiftID: sh.ID, CardTitle: "¥20 off any drink"}
		must := func(_ Redemption, err error) {
			if err != nil {
				b.Fatal(err)
			}
		}
		switch i % 20 {
		case 17, 18: // refused by WeChat's query
			base.State, base.Reason, base.ReasonText, base.Errcode = Rejected, "already_used", "already used", 40099
			must(db.Create(base, "engine", Path(Rejected)...))
		case 19: // accepted offline, drained later
			base.State, base.Reason = Queued, "accepted_offline"
			r, err := db.Create(base, "engine", Path(Queued)...)
			must(r, err)
			must(db.Transition(r.ID, Queued, Consuming, Change{By: "drain"}))
			must(db.Transition(r.ID, Consuming, Consumed, Change{By: "drain", Reason: "ok", Update: func(r *Redemption) { r.Reason, r.WeChatStatus = "ok", "CONSUMED" }}))
		default: // consumed online
			base.State = Checked
			r, err := db.Create(base, "engine", Path(Checked)...)
			must(r, err)
			must(db.Transition(r.ID, Checked, Consuming, Change{By: "engine", Update: func(r *Redemption) { r.OpenID = "oUSER_" + code }}))
			must(db.Transition(r.ID, Consuming, Consumed, Change{By: "engine", Reason: "ok", Update: func(r *Redemption) { r.Reason = "ok" }}))
		}
	}
}

// BenchmarkRecordBytes reports a consumed-online redemption's record in
// format 1 (the JSON of Redemption), format 2 (record.go) and format 3
// (format3.go), in one run.
func BenchmarkRecordBytes(b *testing.B) {
	at := time.Date(2026, 11, 22, 10, 4, 5, 123456789, time.Local)
	r := Redemption{ID: 123456, Code: "452998530302", RawScan: "452998530302", CardID: "pDEMO_cake_free_1", Source: "scanner",
		Terminal: "store12-till1", Cashier: "Wang Fang", ShiftID: 61, State: Consumed, Reason: "ok", OpenID: "oUSER_452998530302",
		CardTitle: "¥20 off any drink", CreatedAt: at, UpdatedAt: at.Add(300 * time.Millisecond), FinishedAt: at.Add(300 * time.Millisecond)}
	for i, s := range Path(Consumed) {
		from := None
		if i > 0 {
			from = Path(Consumed)[i-1]
		}
		r.History = append(r.History, Transition{At: at.Add(time.Duration(i) * 100 * time.Millisecond), From: from, To: s, By: "engine"})
	}
	var v1, v2, v3 []byte
	for range b.N {
		v1, _ = json.Marshal(r)
		v2, _ = encodeRecord2(r)
		v3, _ = encodeRecord3(r)
	}
	b.ReportMetric(float64(len(v1)), "format1-bytes")
	b.ReportMetric(float64(len(v2)), "format2-bytes")
	b.ReportMetric(float64(len(v3)), "format3-bytes")
}

// pagesWritten is how many pages bbolt has written to db's file so far
// (every commit's dirty pages and its meta page).
func pagesWritten(db *DB) int64 {
	st := db.b.Stats()
	return st.TxStats.GetWrite()
}
