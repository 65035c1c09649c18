package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Every Query returns what a filter over every redemption says it should,
// in its order, and Count agrees with Find: the indexes are walked, never
// the journal, so this is the check that the walk's bounds are right.
func TestQueryMatchesAFilterOfEveryRedemption(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	rng := rand.New(rand.NewPCG(7, 11))
	reasons := []string{"ok", "confirmed_by_query", "ok_after_retry"}
	var shifts []uint64
	for s := range 3 {
		sh, err := db.OpenShift(fmt.Sprintf("t%d", s), "ann")
		if err != nil {
			t.Fatal(err)
		}
		shifts = append(shifts, sh.ID)
	}
	base := clk.t
	for i := range 120 {
		st := AllStates[rng.IntN(len(AllStates))]
		r := Redemption{Code: fmt.Sprintf("%012d", 100000000000+int64(i)), CardID: "pA", State: st, ShiftID: shifts[rng.IntN(len(shifts))]}
		if st == Consumed {
			r.Reason = reasons[rng.IntN(len(reasons))]
		}
		if st.outboxed() {
			r.DueAt = base.Add(time.Duration(rng.IntN(50)) * time.Minute)
		}
		if _, err := db.Create(r, "test", Path(st)...); err != nil {
			t.Fatal(err)
		}
	}
	var all []Redemption
	for id := uint64(1); ; id++ {
		r, err := db.Get(id)
		if errors.Is(err, ErrNotFound) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if len(all) != 120 {
		t.Fatalf("%d redemptions read back, want 120", len(all))
	}
	want := func(q Query) []uint64 {
		var rs []Redemption
		for _, r := range all {
			var in bool
			switch q.Index {
			case ByState:
				in = r.State == q.State
			case ConsumedByReason:
				in = r.State == Consumed && r.Reason == q.Reason
			case ByShift:
				in = r.ShiftID == q.Shift
			case Outbox:
				in = r.State.outboxed() && (q.Until.IsZero() || !r.DueAt.After(q.Until))
			}
			if in && r.ID > q.After {
				rs = append(rs, r)
			}
		}
		if q.Index == Outbox {
			slices.SortStableFunc(rs, func(a, b Redemption) int { return a.DueAt.Compare(b.DueAt) })
		}
		var ids []uint64
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		if q.Newest {
			slices.Reverse(ids)
		}
		if q.Limit > 0 && len(ids) > q.Limit {
			ids = ids[:q.Limit]
		}
		return ids
	}
	var qs []Query
	for _, newest := range []bool{false, true} {
		for _, limit := range []int{0, 1, 5} {
			for _, after := range []uint64{0, 17, 60, 119, 120} {
				for _, s := range AllStates {
					qs = append(qs, Query{Index: ByState, State: s, After: after, Newest: newest, Limit: limit})
				}
				for _, r := range append(reasons, "never_given") {
					qs = append(qs, Query{Index: ConsumedByReason, Reason: r, After: after, Newest: newest, Limit: limit})
				}
				for _, sh := range append(shifts, 999) {
					qs = append(qs, Query{Index: ByShift, Shift: sh, After: after, Newest: newest, Limit: limit})
				}
			}
			for _, until := range []time.Time{{}, base.Add(-time.Minute), base, base.Add(25 * time.Minute), base.Add(time.Hour)} {
				qs = append(qs, Query{Index: Outbox, Until: until, Newest: newest, Limit: limit})
			}
		}
	}
	nonEmpty := 0
	for _, q := range qs {
		got, err := db.Find(q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		var ids []uint64
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		w := want(q)
		if !slices.Equal(ids, w) {
			t.Errorf("%+v:\n got %v\nwant %v", q, ids, w)
		}
		if n, err := db.Count(q); err != nil || n != len(w) {
			t.Errorf("Count(%+v) = %d, %v; want %d", q, n, err, len(w))
		}
		if len(w) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < len(qs)/2 {
		t.Errorf("only %d of %d queries had anything to find: the journal does not exercise them", nonEmpty, len(qs))
	}
}

// A query that names no index, or a field of another index, is refused
// and reads nothing.
func TestBadQueryRefused(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	for _, q := range []Query{
		{},
		{Index: Index(99)},
		{Index: Outbox, After: 3},
		{Index: ByState, State: Queued, Until: time.Now()},
	} {
		if _, err := db.Find(q); !errors.Is(err, ErrQuery) {
			t.Errorf("Find(%+v): %v, want ErrQuery", q, err)
		}
		if _, err := db.Count(q); !errors.Is(err, ErrQuery) {
			t.Errorf("Count(%+v): %v, want ErrQuery", q, err)
		}
	}
}
