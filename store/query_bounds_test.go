package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// walkIDs is q's ids as its walk returns them.
func walkIDs(t *testing.T, db *testDB, q Query) []uint64 {
	t.Helper()
	var out []uint64
	err := db.b.View(func(tx *bolt.Tx) error {
		return q.walk(tx, func(id uint64) (bool, error) { out = append(out, id); return true, nil })
	})
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	return out
}

// putKeys puts index keys straight into bucket (the bounds at the edges of
// the key space: no redemption the store makes has them) and removes them
// when the test ends, so the cleanup's Check sees the journal as it was.
func putKeys(t *testing.T, db *testDB, bucket []byte, keys ...[]byte) {
	t.Helper()
	put := func(del bool) error {
		return db.b.Update(func(tx *bolt.Tx) error {
			for _, k := range keys {
				var err error
				if del {
					err = tx.Bucket(bucket).Delete(k)
				} else {
					err = tx.Bucket(bucket).Put(k, nil)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := put(false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := put(true); err != nil {
			t.Error(err)
		}
	})
}

// The outbox's Until at the edges of time: zero is all of it, a time past
// the year 2262 (whose Unix nanoseconds wrap) is all of it too, a time
// before 1970 is what is due at the clamped 0.
func TestQueryOutboxUntilAtTheEdges(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	due := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	putKeys(t, db, bOutbox, dueKey(time.Time{}, 1), dueKey(due, 2), dueKey(maxTime, 3))
	for _, c := range []struct {
		until time.Time
		want  []uint64
	}{
		{time.Time{}, []uint64{1, 2, 3}},
		{time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), []uint64{1}},
		{due.Add(-time.Nanosecond), []uint64{1}},
		{due, []uint64{1, 2}},
		{maxTime.Add(-time.Nanosecond), []uint64{1, 2}},
		{maxTime, []uint64{1, 2, 3}},
		{maxTime.Add(time.Nanosecond), []uint64{1, 2, 3}},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), []uint64{1, 2, 3}},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), []uint64{1, 2, 3}},
	} {
		for _, newest := range []bool{false, true} {
			q := Query{Index: Outbox, Until: c.until, Newest: newest}
			want := slices.Clone(c.want)
			if newest {
				slices.Reverse(want)
			}
			if got := walkIDs(t, db, q); !slices.Equal(got, want) {
				t.Errorf("Until %s newest %v: %v, want %v", c.until, newest, got, want)
			}
			if n, err := db.Count(q); err != nil || n != len(want) {
				t.Errorf("Count Until %s: %d %v, want %d", c.until, n, err, len(want))
			}
		}
	}
}

// ByShift at the last shift and After at the last id: the bounds never
// wrap into everything (the last shift has no key after it to stop at).
func TestQueryAfterTheLastID(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	max := ^uint64(0)
	putKeys(t, db, bByShift, k2(max-1, 5), k2(max-1, max), k2(max, 3), k2(max, 7), k2(max, max))
	for _, c := range []struct {
		shift, after uint64
		want         []uint64
	}{
		{max, 0, []uint64{3, 7, max}},
		{max, 3, []uint64{7, max}},
		{max, max - 1, []uint64{max}},
		{max, max, nil},
		{max - 1, 0, []uint64{5, max}},
		{max - 1, 5, []uint64{max}},
		{max - 1, max, nil},
	} {
		for _, newest := range []bool{false, true} {
			for _, limit := range []int{0, 1} {
				q := Query{Index: ByShift, Shift: c.shift, After: c.after, Newest: newest, Limit: limit}
				want := slices.Clone(c.want)
				if newest {
					slices.Reverse(want)
				}
				if limit > 0 && len(want) > limit {
					want = want[:limit]
				}
				if got := walkIDs(t, db, q); !slices.Equal(got, want) {
					t.Errorf("%+v: %v, want %v", q, got, want)
				}
				if n, err := db.Count(q); err != nil || n != len(want) {
					t.Errorf("Count(%+v) = %d %v, want %d", q, n, err, len(want))
				}
			}
		}
	}
}

// A reason holding a 0 byte ("ok\x00x") sorts its consumed_by_reason keys
// inside the range of the reason before the byte ("ok"): Query and the
// shift's list by reason never return them as that reason's.
func TestQueryReasonWithAZeroByte(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, err := db.OpenShift("T1", "ann")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]uint64{}
	for i, reason := range []string{"ok", "ok\x00x", "ok", "ok\x00", "ok\x00\x00\x00\x00\x00\x00\x00\x00", "o", "ok"} {
		r, err := db.Create(Redemption{Code: fmt.Sprintf("%012d", 100000000000+int64(i)), ShiftID: sh.ID, State: Consumed, Reason: reason}, "test", Path(Consumed)...)
		if err != nil {
			t.Fatal(err)
		}
		want[reason] = append(want[reason], r.ID)
	}
	for reason, ids := range want {
		for _, newest := range []bool{false, true} {
			w := slices.Clone(ids)
			if newest {
				slices.Reverse(w)
			}
			q := Query{Index: ConsumedByReason, Reason: reason, Newest: newest}
			if got := walkIDs(t, db, q); !slices.Equal(got, w) {
				t.Errorf("%q newest %v: %v, want %v", reason, newest, got, w)
			}
			if got := walkIDs(t, db, Query{Index: ConsumedByReason, Reason: reason, Newest: newest, Limit: 1}); !slices.Equal(got, w[:1]) {
				t.Errorf("%q newest %v limit 1: %v, want %v", reason, newest, got, w[:1])
			}
			if n, err := db.Count(q); err != nil || n != len(w) {
				t.Errorf("Count %q: %d %v, want %d", reason, n, err, len(w))
			}
		}
		rs, err := db.ShiftConsumedByReason(sh.ID, reason, 0)
		var got []uint64
		for _, r := range rs {
			got = append(got, r.ID)
			if r.Reason != reason {
				t.Errorf("ShiftConsumedByReason(%q) listed %d of reason %q", reason, r.ID, r.Reason)
			}
		}
		if err != nil || !slices.Equal(got, ids) {
			t.Errorf("ShiftConsumedByReason(%q): %v %v, want %v", reason, got, err, ids)
		}
	}
}
