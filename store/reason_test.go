package store

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

const byQuery = "confirmed_by_query" // sync.ReasonConfirmedByQuery

// inDoubtThenConsumed journals a scan whose consume answer was lost and
// which a query then found consumed (reason), as the engine does.
func inDoubtThenConsumed(t testing.TB, db *testDB, shift uint64, code, reason string) Redemption {
	t.Helper()
	r, err := db.Create(Redemption{Code: code, ShiftID: shift, State: Consuming}, "till", Path(Consuming)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(r.ID, Consuming, InDoubt, Change{By: "till"}); err != nil {
		t.Fatal(err)
	}
	r, err = db.Transition(r.ID, InDoubt, Consumed, Change{By: "drain", Reason: reason, Update: func(x *Redemption) { x.Reason = reason }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Consumed redemptions are counted by reason per shift and indexed by
// reason: the latest confirmed by a query, and one shift's, are read
// without the others; Check verifies both; pruning keeps the counters and
// drops the index entries.
func TestConsumedByReason(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now})
	s1, err := db.OpenShift("T", "alice")
	if err != nil {
		t.Fatal(err)
	}
	var want1 []uint64
	for i := range 5 {
		if _, err := db.Create(Redemption{Code: fmt.Sprint("ok-", i), ShiftID: s1.ID, State: Consumed, Reason: "ok"}, "till", Path(Consumed)...); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			want1 = append(want1, inDoubtThenConsumed(t, db, s1.ID, fmt.Sprint("q1-", i), byQuery).ID)
		}
	}
	// newest first is by scan (journal id), not by when the query settled it;
	// an in-doubt one still open is not consumed by query (yet)
	open, err := db.Create(Redemption{Code: "doubt", ShiftID: s1.ID, State: InDoubt}, "till", Path(InDoubt)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CloseShift(s1.ID); err != nil {
		t.Fatal(err)
	}
	s2, err := db.OpenShift("T", "bob")
	if err != nil {
		t.Fatal(err)
	}
	want2 := []uint64{inDoubtThenConsumed(t, db, s2.ID, "q2-0", byQuery).ID}
	if _, err := db.Create(Redemption{Code: "ok-s2", ShiftID: s2.ID, State: Consumed, Reason: "ok"}, "till", Path(Consumed)...); err != nil {
		t.Fatal(err)
	}
	// the open one of shift 1 settles after its close, confirmed by query
	if _, err := db.Transition(open.ID, InDoubt, Consumed, Change{By: "drain", Update: func(x *Redemption) { x.Reason = byQuery }}); err != nil {
		t.Fatal(err)
	}
	want1 = append(want1, open.ID)

	c1, _ := db.ShiftCounters(s1.ID)
	if !reflect.DeepEqual(c1.ConsumedByReason, map[string]int{"ok": 5, byQuery: 4}) {
		t.Fatalf("shift 1 consumed by reason %v", c1.ConsumedByReason)
	}
	sh1, _ := db.Shift(s1.ID)
	if !reflect.DeepEqual(sh1.Z.ConsumedByReason, map[string]int{"ok": 5, byQuery: 3}) {
		t.Fatalf("shift 1 Z consumed by reason %v (the one after close must not be frozen in)", sh1.Z.ConsumedByReason)
	}
	ids := func(rs []Redemption) []uint64 {
		var out []uint64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		shift uint64
		want  []uint64
	}{{s1.ID, want1}, {s2.ID, want2}, {99, nil}} {
		got, err := db.ShiftConsumedByReason(c.shift, byQuery, 0)
		if err != nil || !reflect.DeepEqual(ids(got), c.want) {
			t.Fatalf("shift %d by query: %v %v, want %v", c.shift, ids(got), err, c.want)
		}
	}
	if got, _ := db.ShiftConsumedByReason(s1.ID, byQuery, 2); !reflect.DeepEqual(ids(got), want1[:2]) {
		t.Fatalf("limit 2: %v", ids(got))
	}
	latest, err := db.Find(Query{Index: ConsumedByReason, Reason: byQuery, Newest: true, Limit: 3})
	if err != nil || !reflect.DeepEqual(ids(latest), []uint64{want2[0], open.ID, want1[2]}) {
		t.Fatalf("latest by query: %v %v", ids(latest), err)
	}
	for _, r := range latest {
		if r.State != Consumed || r.Reason != byQuery {
			t.Fatalf("latest by query lists %+v", r)
		}
	}
	if n, err := db.Count(Query{Index: ConsumedByReason, Reason: byQuery}); err != nil || n != 5 {
		t.Fatalf("count by query %d %v, want 5", n, err)
	}
	if n, _ := db.Count(Query{Index: ConsumedByReason, Reason: "ok"}); n != 6 {
		t.Fatalf("count ok %d, want 6", n)
	}
	db.mustCheck()

	// Pruning drops the index entries and keeps the counters (pruned tally).
	n, err := db.Prune(clk.t.Add(1))
	if err != nil || n != 11 {
		t.Fatalf("pruned %d %v", n, err)
	}
	if got, _ := db.Find(Query{Index: ConsumedByReason, Reason: byQuery, Newest: true}); len(got) != 0 {
		t.Fatalf("pruned redemptions still listed: %v", ids(got))
	}
	if c, _ := db.ShiftCounters(s1.ID); !reflect.DeepEqual(c.ConsumedByReason, c1.ConsumedByReason) {
		t.Fatalf("prune changed the counters: %v", c.ConsumedByReason)
	}
	db.mustCheck()
}

// Check tells a counter by reason or a reason index entry that disagrees
// with the records.
func TestCheckConsumedByReason(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	sh, _ := db.OpenShift("T", "a")
	r := inDoubtThenConsumed(t, db, sh.ID, "C1", byQuery)
	db.mustCheck()
	for name, damage := range map[string]func(tx *bolt.Tx) error{
		"index": func(tx *bolt.Tx) error { return tx.Bucket(bConsumedBy).Delete(reasonKey(byQuery, r.ID)) },
		"counter": func(tx *bolt.Tx) error {
			c, err := readCounters(tx, bCounters, sh.ID)
			if err != nil {
				return err
			}
			c.ConsumedByReason = map[string]int{"ok": 1}
			return putJSON(tx.Bucket(bCounters), u64(sh.ID), c)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var saved map[string][]byte
			if err := db.b.Update(func(tx *bolt.Tx) error { saved = keepBuckets(tx); return damage(tx) }); err != nil {
				t.Fatal(err)
			}
			err := db.Check()
			if err == nil || !strings.Contains(err.Error(), map[string]string{"index": "consumed_by_reason", "counter": "counters of shift"}[name]) {
				t.Fatalf("check after damaging the %s: %v", name, err)
			}
			if err := db.b.Update(func(tx *bolt.Tx) error { return putBuckets(tx, saved) }); err != nil {
				t.Fatal(err)
			}
			db.mustCheck()
		})
	}
}

// keepBuckets and putBuckets keep the two buckets a damage test touches.
func keepBuckets(tx *bolt.Tx) map[string][]byte {
	m := map[string][]byte{}
	for _, b := range [][]byte{bConsumedBy, bCounters} {
		_ = tx.Bucket(b).ForEach(func(k, v []byte) error {
			m[string(b)+"/"+string(k)] = append([]byte(nil), v...)
			return nil
		})
	}
	return m
}

func putBuckets(tx *bolt.Tx, m map[string][]byte) error {
	for k, v := range m {
		i := strings.IndexByte(k, '/')
		if err := tx.Bucket([]byte(k[:i])).Put([]byte(k[i+1:]), v); err != nil {
			return err
		}
	}
	return nil
}

// A schema-2 journal had no reason index and no counters by reason (and
// its closed shifts' Z none either); opening it recounts them from the
// records, so Check passes and the reports have them.
func TestMigrateConsumedByReason(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now})
	s1, _ := db.OpenShift("T", "alice")
	q := inDoubtThenConsumed(t, db, s1.ID, "Q1", byQuery)
	if _, err := db.Create(Redemption{Code: "OK1", ShiftID: s1.ID, State: Consumed, Reason: "ok"}, "till", Path(Consumed)...); err != nil {
		t.Fatal(err)
	}
	late, _ := db.Create(Redemption{Code: "Q2", ShiftID: s1.ID, State: InDoubt}, "till", Path(InDoubt)...)
	if _, err := db.CloseShift(s1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(late.ID, InDoubt, Consumed, Change{By: "drain", Update: func(x *Redemption) { x.Reason = byQuery }}); err != nil {
		t.Fatal(err)
	}
	s2, _ := db.OpenShift("T", "bob")
	inDoubtThenConsumed(t, db, s2.ID, "Q3", byQuery)
	wantLive, _ := db.ShiftCounters(s1.ID)
	wantZ, _ := db.Shift(s1.ID)
	wantLive2, _ := db.ShiftCounters(s2.ID)
	db.Close()

	// Make the file what schema 2 wrote.
	b, err := bolt.Open(db.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bConsumedBy); err != nil {
			return err
		}
		for _, id := range []uint64{s1.ID, s2.ID} {
			c, err := readCounters(tx, bCounters, id)
			if err != nil {
				return err
			}
			c.ConsumedByReason = nil
			if err := putJSON(tx.Bucket(bCounters), u64(id), c); err != nil {
				return err
			}
			s, err := readShift(tx, id)
			if err != nil {
				return err
			}
			if s.Z != nil {
				s.Z.ConsumedByReason = nil
				if err := putJSON(tx.Bucket(bShifts), u64(id), s); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, u64(2))
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()

	db.Reopen2()
	if v, _ := db.SchemaVersion(); v != SchemaVersion {
		t.Fatalf("schema %d, want %d", v, SchemaVersion)
	}
	db.mustCheck()
	live, _ := db.ShiftCounters(s1.ID)
	live2, _ := db.ShiftCounters(s2.ID)
	z, _ := db.Shift(s1.ID)
	if !reflect.DeepEqual(live, wantLive) || !reflect.DeepEqual(live2, wantLive2) || !reflect.DeepEqual(z.Z, wantZ.Z) {
		t.Fatalf("after migration:\nlive %+v\nwant %+v\nZ %+v\nwant %+v", live, wantLive, z.Z, wantZ.Z)
	}
	got, err := db.ShiftConsumedByReason(s1.ID, byQuery, 0)
	if err != nil || len(got) != 2 || got[0].ID != q.ID || got[1].ID != late.ID {
		t.Fatalf("shift 1 by query after migration: %+v %v", got, err)
	}
}
