package store

import (
	"testing"
)

// What the hub has not confirmed is pending, oldest first, across a
// restart: a closed shift's Z report, a conflict, and a conflict's
// resolution after the conflict itself was confirmed; a confirmation
// recorded from an older read never takes back a newer one; the db check
// passes with the confirmations in place.
func TestFleetPendingUntilConfirmed(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	s1, _ := db.OpenShift("T1", "alice")
	c := conflictIn(t, db, s1.ID, "C1")
	if _, err := db.CloseShift(s1.ID); err != nil {
		t.Fatal(err)
	}
	db.OpenShift("T1", "bob") // open: not a report yet
	items, n, err := db.FleetPending(0)
	if err != nil || n != 2 || len(items) != 2 || items[0].Kind != FleetConflict || items[0].Conflict.ID != c.ID || items[1].Kind != FleetZ || items[1].Shift.ID != s1.ID || items[1].Shift.Z == nil {
		t.Fatalf("pending: %+v %d %v", items, n, err)
	}
	if first, n, _ := db.FleetPending(1); len(first) != 1 || n != 2 {
		t.Fatalf("limit 1: %d of %d", len(first), n)
	}
	stale := items[0] // read before the resolution
	if err := db.FleetAck(items); err != nil {
		t.Fatal(err)
	}
	db.Reopen()
	if items, n, _ := db.FleetPending(0); n != 0 {
		t.Fatalf("pending after the confirmation: %+v", items)
	}
	res, err := db.ResolveConflict(c.ID, "wang", "paid cash")
	if err != nil {
		t.Fatal(err)
	}
	items, n, _ = db.FleetPending(0)
	if n != 1 || items[0].Conflict.Resolution == nil || !items[0].At.Equal(res.At) {
		t.Fatalf("the resolution is not pending: %+v", items)
	}
	if err := db.FleetAck(items); err != nil {
		t.Fatal(err)
	}
	if err := db.FleetAck([]FleetItem{stale}); err != nil { // a late confirmation of the open conflict
		t.Fatal(err)
	}
	if items, n, _ := db.FleetPending(0); n != 0 {
		t.Fatalf("the stale confirmation took the resolution's back: %+v", items)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// The oldest code still waiting for WeChat, whatever its state.
func TestOldestWaiting(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	if _, ok, err := db.OldestWaiting(); ok || err != nil {
		t.Fatalf("empty journal: %v %v", ok, err)
	}
	q, _ := db.Create(Redemption{Code: "Q1", CardID: "cardA", State: Queued}, "till", Received)
	db.Create(Redemption{Code: "Q2", CardID: "cardA", State: Queued}, "till", Received)
	if at, ok, _ := db.OldestWaiting(); !ok || !at.Equal(q.CreatedAt) {
		t.Fatalf("oldest %s %v, want %s", at, ok, q.CreatedAt)
	}
}
