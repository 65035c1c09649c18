package store

import (
	"errors"
	"testing"
)

// TestTransitionOfflineLimit: a transition to queued with
// Change.MaxOfflineInShift is refused with ErrOfflineLimit, changing
// nothing, once the shift counts that many offline acceptances; without it
// (or below the limit) it goes through.
func TestTransitionOfflineLimit(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	sh, err := db.OpenShift("T1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	limit := 1
	var ids []uint64
	for _, code := range []string{"9001", "9002"} {
		r, err := db.Create(Redemption{Code: code, ShiftID: sh.ID, State: Received}, "t", Path(Received)...)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if _, err := db.Transition(ids[0], Received, Queued, Change{By: "t", MaxOfflineInShift: &limit}); err != nil {
		t.Fatal(err)
	}
	before, err := db.Get(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(ids[1], Received, Queued, Change{By: "t", MaxOfflineInShift: &limit}); !errors.Is(err, ErrOfflineLimit) {
		t.Fatalf("second acceptance past the limit: %v", err)
	}
	after, err := db.Get(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if after.State != Received || len(after.History) != len(before.History) {
		t.Fatalf("a refused acceptance changed the record: %+v", after)
	}
	if n, err := db.OfflineAccepted(sh.ID); err != nil || n != 1 {
		t.Fatalf("offline accepted %d %v", n, err)
	}
	limit = 2
	if _, err := db.Transition(ids[1], Received, Queued, Change{By: "t", MaxOfflineInShift: &limit}); err != nil {
		t.Fatalf("below a raised limit: %v", err)
	}
	db.mustCheck()
}
