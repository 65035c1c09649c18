package store

import (
	"fmt"
	"testing"
)

// LatestByState walks one state's index backwards (and CountState counts
// one state's keys): newest first, bounded,
// never a neighbouring state's entries (the states on either side of it in
// key order are present too), and the last state of the index as well.
func TestLatestByState(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	ids := map[State][]uint64{}
	for i := range 12 {
		for _, s := range []State{Conflict, Consumed, Queued, Rejected, Checked} {
			r, err := db.Create(Redemption{Code: fmt.Sprintf("%s-%d", s, i), State: s}, "t", Path(s)...)
			if err != nil {
				t.Fatal(err)
			}
			ids[s] = append(ids[s], r.ID)
		}
	}
	for _, c := range []struct {
		s     State
		limit int
		want  int
	}{
		{Conflict, 5, 5}, {Conflict, 0, 12}, {Rejected, 3, 3}, {Rejected, 0, 12},
		{Checked, 20, 12}, {Queued, 1, 1}, {InDoubt, 10, 0},
	} {
		got, err := db.Find(Query{Index: ByState, State: c.s, Newest: true, Limit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Fatalf("%s limit %d: %d redemptions, want %d", c.s, c.limit, len(got), c.want)
		}
		if n, err := db.Count(Query{Index: ByState, State: c.s}); err != nil || n != len(ids[c.s]) {
			t.Fatalf("CountState(%s) = %d, %v; want %d", c.s, n, err, len(ids[c.s]))
		}
		every, err := db.CountByState()
		if err != nil {
			t.Fatal(err)
		}
		some, err := db.Counts(Query{Index: ByState, State: c.s}, Query{Index: ByState, State: Consumed}, Query{Index: ByState, State: Queued})
		if err != nil || some[0] != every[c.s] || some[1] != every[Consumed] || some[2] != every[Queued] {
			t.Fatalf("Counts %v, CountByState %v, %v", some, every, err)
		}
		all := ids[c.s]
		for i, r := range got {
			if want := all[len(all)-1-i]; r.ID != want || r.State != c.s {
				t.Fatalf("%s #%d: id %d state %s, want id %d (newest first)", c.s, i, r.ID, r.State, want)
			}
		}
	}
}

// BenchmarkCountState counts the conflicts and the queue of a 100,000-
// redemption journal by their own keys, against CountByState's count of
// every state (every redemption's key).
func BenchmarkCountState(b *testing.B) {
	p, _ := bigFile(b, 100_000)
	db, err := Open(p, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.Run("CountState/conflict+queued+consuming+in_doubt", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Counts(Query{Index: ByState, State: Conflict}, Query{Index: ByState, State: Queued},
				Query{Index: ByState, State: Consuming}, Query{Index: ByState, State: InDoubt}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CountByState", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.CountByState(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
