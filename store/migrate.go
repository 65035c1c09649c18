package store

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// migrations[v] moves a file from schema v to v+1. Version 0 is a new file.
var migrations = []func(tx *bolt.Tx) error{
	0: func(*bolt.Tx) error { return nil },
	// 1 -> 2: conflicts join the used-by-code index (a code accepted
	// offline that WeChat then refused must not be honoured again).
	1: func(tx *bolt.Tx) error {
		prefix := stateKey(Conflict, 0)[:len(Conflict)+1]
		c := tx.Bucket(bByState).Cursor()
		var conflicts []Redemption
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(k)-8:]))
			if err != nil {
				return err
			}
			conflicts = append(conflicts, r)
		}
		for _, r := range conflicts {
			if err := setUsed(tx, r, true); err != nil {
				return err
			}
		}
		return nil
	},
	// 2 -> 3: consumed redemptions are indexed and counted by reason
	// (Counters.ConsumedByReason), so that those confirmed by a query are
	// reported and listed. Both are recounted from the records; a closed
	// shift's frozen Z counters get the redemptions consumed before its
	// close. Pruned redemptions are gone and not counted by reason.
	2: migrateConsumedByReason,
	// 3 -> 4: conflicts are indexed per shift with what a report lists
	// (shift_conflicts, conflicts.go), and managers' resolutions get their
	// own bucket (conflict_resolutions, created empty).
	3: migrateShiftConflicts,
	// 4 -> 5: finished redemptions retention may delete are indexed by
	// when they finished (finished_at), and pruned uses of a code leave a
	// tombstone (used_tombstones, tombstones_by_at, created empty); see
	// retention.go.
	4: migrateFinishedAt,
	// 5 -> 6: redemption records and used-by-code lists are versioned by
	// their first byte (record.go). Format 1 entries are read as they are
	// and rewritten in format 2 by their next change, so nothing is
	// converted here (a crash cannot leave a half-converted file): the
	// version keeps an older cardtill, which cannot read format 2, from
	// opening the file.
	5: func(*bolt.Tx) error { return nil },
	// 6 -> 7: records and used-by-code lists may be in format 3 (binary,
	// format3.go), written from the next change of each entry on; as for
	// 5 -> 6 nothing is converted here, and the version keeps a cardtill
	// that reads only formats 1 and 2 from opening the file.
	6: func(*bolt.Tx) error { return nil },
	// 7 -> 8: how many redemptions are in each state is kept
	// (state_counts, statecounts.go), counted here from by_state's keys.
	7: migrateStateCounts,
	// 8 -> 9: the records of active redemptions move to their own bucket
	// (live_redemptions, live.go), which also hands out the ids.
	8: migrateLive,
}

// migrateConsumedByReason is the 2 -> 3 migration. It may run on a file
// whose counters already have the reasons (it sets them, never adds).
func migrateConsumedByReason(tx *bolt.Tx) error {
	live := map[uint64]map[string]int{}
	atClose := map[uint64]map[string]int{}
	prefix := append([]byte(Consumed), 0)
	c := tx.Bucket(bByState).Cursor()
	idx := tx.Bucket(bConsumedBy)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return err
		}
		if err := idx.Put(reasonKey(r.Reason, r.ID), nil); err != nil {
			return err
		}
		m := live[r.ShiftID]
		bump(&m, r.Reason, 1)
		live[r.ShiftID] = m
		if !r.SettledAfterClose {
			z := atClose[r.ShiftID]
			bump(&z, r.Reason, 1)
			atClose[r.ShiftID] = z
		}
	}
	ids := map[uint64]bool{}
	for id := range live {
		ids[id] = true
	}
	_ = tx.Bucket(bCounters).ForEach(func(k, _ []byte) error { ids[binary.BigEndian.Uint64(k)] = true; return nil })
	for id := range ids {
		cnt, err := readCounters(tx, bCounters, id)
		if err != nil {
			return err
		}
		pruned, err := readCounters(tx, bPruned, id)
		if err != nil {
			return err
		}
		cnt.ConsumedByReason = nil
		for k, v := range live[id] {
			bump(&cnt.ConsumedByReason, k, v)
		}
		for k, v := range pruned.ConsumedByReason {
			bump(&cnt.ConsumedByReason, k, v)
		}
		if err := putJSON(tx.Bucket(bCounters), u64(id), cnt); err != nil {
			return err
		}
		if id == 0 {
			continue
		}
		s, err := readShift(tx, id)
		if err != nil {
			return err
		}
		if s.Z != nil && s.Z.ConsumedByReason == nil && len(atClose[id]) > 0 {
			s.Z.ConsumedByReason = atClose[id]
			if err := putJSON(tx.Bucket(bShifts), u64(id), s); err != nil {
				return err
			}
		}
	}
	return nil
}
