package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bStateCounts (schema 8) holds how many redemptions are in each state:
// state -> count(8), a state with none has no key. It is changed in the
// transaction that changes by_state (putStateKey, delStateKey), so the
// status the till reads every second (CountStates) costs one small bucket
// however many redemptions, and conflicts, which are never pruned, the
// journal holds (docs/ARCHITECTURE.md, "The journal's records").
var bStateCounts = []byte("state_counts")

// putStateKey adds r's by_state key and counts it.
func putStateKey(tx *bolt.Tx, s State, id uint64) error {
	bs := tx.Bucket(bByState)
	// state, then id: within a state the keys only grow, so these pages
	// are filled densely too
	bs.FillPercent = appendFill
	k := stateKey(s, id)
	if bs.Get(k) != nil {
		return nil
	}
	if err := bs.Put(k, nil); err != nil {
		return err
	}
	return addStateCount(tx, s, +1)
}

// delStateKey removes the by_state key of redemption id in state s, if
// it is there, and uncounts it.
func delStateKey(tx *bolt.Tx, s State, id uint64) error {
	bs := tx.Bucket(bByState)
	k := stateKey(s, id)
	if bs.Get(k) == nil {
		return nil
	}
	if err := bs.Delete(k); err != nil {
		return err
	}
	return addStateCount(tx, s, -1)
}

// addStateCount adds d to state s's count. A file not yet migrated to
// schema 8 has no bucket and nothing to keep (it is opened read-only).
func addStateCount(tx *bolt.Tx, s State, d int) error {
	b := tx.Bucket(bStateCounts)
	if b == nil {
		return nil
	}
	n := int64(0)
	if v := b.Get([]byte(s)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += int64(d)
	if n < 0 {
		return fmt.Errorf("store: %s count below zero", s)
	}
	if n == 0 {
		return b.Delete([]byte(s))
	}
	return b.Put([]byte(s), u64(uint64(n)))
}

// stateCounts reads the counts of states, from state_counts, or on a file
// before schema 8 (read-only) by walking each state's keys of by_state.
func stateCounts(tx *bolt.Tx, states []State) map[State]int {
	out := make(map[State]int, len(states))
	b := tx.Bucket(bStateCounts)
	for _, s := range states {
		if b == nil {
			out[s] = walkCount(tx, Query{Index: ByState, State: s})
			continue
		}
		if v := b.Get([]byte(s)); len(v) == 8 {
			out[s] = int(binary.BigEndian.Uint64(v))
		}
	}
	return out
}

// migrateStateCounts is the 6 -> 7 migration: state_counts is counted
// from by_state (its keys only; no record is read).
func migrateStateCounts(tx *bolt.Tx) error {
	counts := map[string]uint64{}
	_ = tx.Bucket(bByState).ForEach(func(k, _ []byte) error {
		if i := bytes.IndexByte(k, 0); i > 0 {
			counts[string(k[:i])]++
		}
		return nil
	})
	b := tx.Bucket(bStateCounts)
	for s, n := range counts {
		if err := b.Put([]byte(s), u64(n)); err != nil {
			return err
		}
	}
	return nil
}

// checkStateCounts compares state_counts with the counts of the records
// (want, state -> n).
func checkStateCounts(tx *bolt.Tx, want map[State]int, add func(string, ...any)) {
	got := map[State]int{}
	_ = tx.Bucket(bStateCounts).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			add("%s: %q holds %x, not an 8-byte count", bStateCounts, k, v)
			return nil
		}
		got[State(k)] = int(binary.BigEndian.Uint64(v))
		return nil
	})
	for s, n := range got {
		if want[s] != n {
			add("%s: %s counts %d, records say %d", bStateCounts, s, n, want[s])
		}
	}
	for s, n := range want {
		if _, ok := got[s]; !ok && n != 0 {
			add("%s: %s counts 0, records say %d", bStateCounts, s, n)
		}
	}
}

// walkCount counts q's keys by walking them.
func walkCount(tx *bolt.Tx, q Query) int {
	n := 0
	_ = q.walk(tx, func(uint64) (bool, error) { n++; return true, nil })
	return n
}
