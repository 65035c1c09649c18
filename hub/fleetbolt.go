package hub

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The fleet reports in the bbolt file (schema 3):
var (
	bucketFleetTills     = []byte("fleet_tills")     // till -> TillRecord JSON (the latest heartbeat)
	bucketFleetShifts    = []byte("fleet_shifts")    // till NUL shift(8) -> ShiftRecord JSON
	bucketFleetConflicts = []byte("fleet_conflicts") // till NUL id(8) -> ConflictRecord JSON
	bucketFleetUnheard   = []byte("fleet_unheard")   // till NUL id(8) -> nil: resolved at HQ, the till not told yet
)

func migrateFleet(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketFleetTills, bucketFleetShifts, bucketFleetConflicts, bucketFleetUnheard} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

func tillKey(till string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(till), 0), id)
}

func tillPrefix(till string) []byte { return append([]byte(till), 0) }

// AddFleet stores a till's batch in one transaction (group-committed with
// the pushes): the heartbeat received last replaces the one before, a Z report or a
// conflict already there is a duplicate, a conflict's resolution is added
// to its record once.
func (s *BoltStore) AddFleet(till string, received time.Time, reps []FleetReport) (stored, dup int, err error) {
	err = s.commit(func(tx *bolt.Tx) error {
		stored, dup = 0, 0
		for _, r := range reps {
			changed, err := addFleetTx(tx, till, received, r)
			if err != nil {
				return err
			}
			if changed {
				stored++
			} else {
				dup++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store fleet reports: %w", err)
	}
	return stored, dup, nil
}

func addFleetTx(tx *bolt.Tx, till string, received time.Time, r FleetReport) (bool, error) {
	switch r.Kind {
	case KindHeartbeat:
		// The latest received wins, whatever its time on the till: a
		// till whose clock was set back is still seen reporting.
		b := tx.Bucket(bucketFleetTills)
		return true, putJSONb(b, []byte(till), TillRecord{Till: till, Received: received.UTC(), Heartbeat: *r.Heartbeat, At: r.At})
	case KindZ:
		b := tx.Bucket(bucketFleetShifts)
		k := tillKey(till, r.Shift.ShiftID)
		if b.Get(k) != nil {
			return false, nil
		}
		return true, putJSONb(b, k, ShiftRecord{Till: till, Received: received.UTC(), ShiftReport: *r.Shift})
	case KindConflict:
		b := tx.Bucket(bucketFleetConflicts)
		k := tillKey(till, r.Conflict.ID)
		var old *ConflictRecord
		if v := b.Get(k); v != nil {
			old = new(ConflictRecord)
			if err := json.Unmarshal(v, old); err != nil {
				return false, fmt.Errorf("conflict %s/%d: %w", till, r.Conflict.ID, err)
			}
		}
		rec, changed := mergeConflict(old, till, received, *r.Conflict)
		if !changed {
			return false, nil
		}
		if !rec.Unheard {
			if err := tx.Bucket(bucketFleetUnheard).Delete(k); err != nil {
				return false, err
			}
		}
		return true, putJSONb(b, k, rec)
	}
	return false, fmt.Errorf("unknown report kind %q", r.Kind)
}

func putJSONb(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// FleetTills lists the tills that reported, by name.
func (s *BoltStore) FleetTills() ([]TillRecord, error) {
	var out []TillRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFleetTills).ForEach(func(k, v []byte) error {
			var r TillRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("till %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tills: %w", err)
	}
	return out, nil
}

// FleetShifts lists the Z reports q selects, by close time.
func (s *BoltStore) FleetShifts(q ShiftQuery) ([]ShiftRecord, error) {
	var out []ShiftRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFleetShifts).ForEach(func(k, v []byte) error {
			var r ShiftRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("shift %x: %w", k, err)
			}
			if q.Match(r) {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	sortShifts(out)
	return out, nil
}

func sortShifts(out []ShiftRecord) {
	slices.SortStableFunc(out, func(a, b ShiftRecord) int {
		if c := a.ClosedAt.Compare(b.ClosedAt); c != 0 {
			return c
		}
		if a.Till != b.Till {
			if a.Till < b.Till {
				return -1
			}
			return 1
		}
		return int(a.ShiftID) - int(b.ShiftID)
	})
}

func sortConflicts(out []ConflictRecord) {
	slices.SortStableFunc(out, func(a, b ConflictRecord) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.Till != b.Till {
			if a.Till < b.Till {
				return -1
			}
			return 1
		}
		return int(a.ID) - int(b.ID)
	})
}

// FleetConflicts lists the conflicts (open: unresolved only), by time.
func (s *BoltStore) FleetConflicts(open bool) ([]ConflictRecord, error) {
	var out []ConflictRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFleetConflicts).ForEach(func(k, v []byte) error {
			var r ConflictRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("conflict %x: %w", k, err)
			}
			if !open || r.Resolution == nil {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list conflicts: %w", err)
	}
	sortConflicts(out)
	return out, nil
}

// ResolveFleetConflict records HQ's resolution; the till hears of it in
// the answer to its next batch (HQResolutions).
func (s *BoltStore) ResolveFleetConflict(till string, id uint64, res FleetResolution) error {
	if err := checkResolution(res); err != nil {
		return err
	}
	res.AtHQ = true
	return s.commit(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFleetConflicts)
		k := tillKey(till, id)
		v := b.Get(k)
		if v == nil {
			return fmt.Errorf("%w: %s #%d", ErrNoConflict, till, id)
		}
		var r ConflictRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		if r.Resolution != nil {
			return fmt.Errorf("%w: %s #%d by %s at %s", ErrConflictResolved, till, id, r.Resolution.By, r.Resolution.At.Format(time.RFC3339))
		}
		r.Resolution, r.Unheard = &res, true
		if err := tx.Bucket(bucketFleetUnheard).Put(k, nil); err != nil {
			return err
		}
		return putJSONb(b, k, r)
	})
}

// HQResolutions are till's conflicts resolved at HQ and not yet reported
// resolved by the till: O(those), read by prefix.
func (s *BoltStore) HQResolutions(till string) ([]HQResolution, error) {
	var out []HQResolution
	err := s.db.View(func(tx *bolt.Tx) error {
		p := tillPrefix(till)
		c := tx.Bucket(bucketFleetUnheard).Cursor()
		cb := tx.Bucket(bucketFleetConflicts)
		for k, _ := c.Seek(p); k != nil && len(k) == len(p)+8 && string(k[:len(p)]) == string(p); k, _ = c.Next() {
			var r ConflictRecord
			if err := json.Unmarshal(cb.Get(k), &r); err != nil {
				return err
			}
			if r.Resolution != nil {
				out = append(out, HQResolution{ID: r.ID, FleetResolution: *r.Resolution})
			}
		}
		return nil
	})
	return out, err
}

var _ FleetStore = (*BoltStore)(nil)
