package store

import (
	"fmt"
	"testing"
)

// LatestByState walks one state's index backwards: newest first, bounded,
// never a neighbouring state's entries (the states on either side of it in
// key order are present too), and the last state of the index as well.
func TestLatestByState(t *testing.T) {
	db := openTest(t, Options{})
	ids := map[State][]uint64{}
	for i := range 12 {
		for _, s := range []State{Conflict, Consumed, Queued, Rejected, Checked} {
			r, err := db.Create(Redemption{Code: fmt.Sprintf("%s-%d", s, i), State: s}, "t", Received)
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
		got, err := db.LatestByState(c.s, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Fatalf("%s limit %d: %d redemptions, want %d", c.s, c.limit, len(got), c.want)
		}
		all := ids[c.s]
		for i, r := range got {
			if want := all[len(all)-1-i]; r.ID != want || r.State != c.s {
				t.Fatalf("%s #%d: id %d state %s, want id %d (newest first)", c.s, i, r.ID, r.State, want)
			}
		}
	}
}
