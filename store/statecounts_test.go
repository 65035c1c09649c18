package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestStateCounts: state_counts follows creates, moves and pruning (the
// cleanup's Check recounts it from the records), the 6 -> 7 migration
// counts it from by_state, and Count of a whole state answers from it without
// walking by_state: with the conflicts' by_state keys removed behind its
// back, the status still counts them (and Check finds the damage).
func TestStateCounts(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	want := map[State]int{}
	var queued []Redemption
	for i := range 30 {
		s := []State{Consumed, Rejected, Conflict, Queued, InDoubt}[i%5]
		r, err := db.Create(Redemption{Code: fmt.Sprint("S", i), ShiftID: sh.ID, State: s}, "t", Path(s)...)
		if err != nil {
			t.Fatal(err)
		}
		if s == Queued {
			queued = append(queued, r)
		}
		want[s]++
	}
	for _, r := range queued[:2] {
		if _, err := db.Transition(r.ID, Queued, Consumed, Change{By: "t", Via: []State{Consuming}}); err != nil {
			t.Fatal(err)
		}
		want[Queued]--
		want[Consumed]++
	}
	counts := func(when string) {
		t.Helper()
		got, err := db.CountByState()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range AllStates {
			if got[s] != want[s] {
				t.Errorf("%s: %s counts %d, want %d", when, s, got[s], want[s])
			}
		}
	}
	counts("after moves")
	n, err := db.Prune(clk.t.Add(time.Hour))
	if err != nil || n != want[Consumed]+want[Rejected] {
		t.Fatalf("prune: %d %v", n, err)
	}
	want[Consumed], want[Rejected] = 0, 0
	counts("after pruning")
	db.mustCheck()

	// The migration counts by_state.
	if err := db.DB.Close(); err != nil {
		t.Fatal(err)
	}
	toSchema(t, db.path, 6)
	db.Reopen2()
	counts("after the 6 -> 7 migration")
	db.mustCheck()

	// The status reads the counts, not by_state's keys.
	if err := db.b.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bByState).Cursor()
		prefix := stateKey(Conflict, 0)[:len(Conflict)+1]
		for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Seek(prefix) {
			if err := tx.Bucket(bByState).Delete(k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Count(Query{Index: ByState, State: Conflict}); err != nil || got != want[Conflict] {
		t.Fatalf("conflicts counted %v %v, want %d from state_counts", got, err, want[Conflict])
	}
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), "by_state index has") {
		t.Fatalf("check of by_state without the conflicts: %v", err)
	}
	if err := db.b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bStateCounts).Put([]byte(Queued), u64(99)) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), "state_counts: queued counts 99, records say") {
		t.Fatalf("check of a wrong count: %v", err)
	}
	// Put it right again for the cleanup's Check.
	if err := db.b.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bStateCounts).Put([]byte(Queued), u64(uint64(want[Queued]))); err != nil {
			return err
		}
		return forEachRecord(tx, func(_, k, v []byte) error {
			r, err := decodeRecord(v)
			if err != nil || r.State != Conflict {
				return err
			}
			return tx.Bucket(bByState).Put(stateKey(r.State, r.ID), nil)
		})
	}); err != nil {
		t.Fatal(err)
	}
}
