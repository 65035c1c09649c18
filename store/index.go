package store

import (
	"bytes"
	"encoding/binary"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// unindex removes r's index entries (not its place in its shift nor its
// counters: a move keeps the first and changes the second once, moveCount).
func (db *DB) unindex(tx *bolt.Tx, r Redemption) error {
	if r.State.Active() {
		if id := tx.Bucket(bActive).Get([]byte(r.Code)); id != nil && binary.BigEndian.Uint64(id) == r.ID {
			if err := tx.Bucket(bActive).Delete([]byte(r.Code)); err != nil {
				return err
			}
		}
	}
	if r.State.outboxed() {
		if err := tx.Bucket(bOutbox).Delete(dueKey(r.DueAt, r.ID)); err != nil {
			return err
		}
	}
	if r.State.usedHere() {
		if err := setUsed(tx, r, false); err != nil {
			return err
		}
	}
	if err := delStateKey(tx, r.State, r.ID); err != nil {
		return err
	}
	if r.State == Consumed {
		if err := tx.Bucket(bConsumedBy).Delete(reasonKey(r.Reason, r.ID)); err != nil {
			return err
		}
	}
	if err := indexConflict(tx, r, false); err != nil {
		return err
	}
	return indexFinished(tx, r, false)
}

// index adds r's index entries (a new redemption's place in its shift and
// its counters are count's).
func (db *DB) index(tx *bolt.Tx, r Redemption) error {
	if r.State.Active() {
		if err := tx.Bucket(bActive).Put([]byte(r.Code), u64(r.ID)); err != nil {
			return err
		}
	}
	if r.State.outboxed() {
		if err := tx.Bucket(bOutbox).Put(dueKey(r.DueAt, r.ID), nil); err != nil {
			return err
		}
	}
	if r.State.usedHere() {
		if err := setUsed(tx, r, true); err != nil {
			return err
		}
	}
	if err := putStateKey(tx, r.State, r.ID); err != nil {
		return err
	}
	if r.State == Consumed {
		// reason, then id: within a reason the keys only grow
		bc := tx.Bucket(bConsumedBy)
		bc.FillPercent = appendFill
		if err := bc.Put(reasonKey(r.Reason, r.ID), nil); err != nil {
			return err
		}
	}
	if err := indexConflict(tx, r, true); err != nil {
		return err
	}
	return indexFinished(tx, r, true)
}

// reindex moves r's index entries to nr's (a move of one redemption, the
// same ID and code), writing only the entries that change: bbolt rewrites
// every page a transaction touches, even to delete and put back the same
// key, so a retry that changes no index (queued -> queued with the same due
// time) writes the record's pages and nothing else.
func (db *DB) reindex(tx *bolt.Tx, r, nr Redemption) error {
	if r.ID != nr.ID || r.Code != nr.Code {
		if err := db.unindex(tx, r); err != nil {
			return err
		}
		return db.index(tx, nr)
	}
	b := tx.Bucket(bActive)
	switch ra, na := r.State.Active(), nr.State.Active(); {
	case ra && !na:
		if id := b.Get([]byte(r.Code)); id != nil && binary.BigEndian.Uint64(id) == r.ID {
			if err := b.Delete([]byte(r.Code)); err != nil {
				return err
			}
		}
	case na && (!ra || !bytes.Equal(b.Get([]byte(r.Code)), u64(r.ID))):
		if err := b.Put([]byte(r.Code), u64(nr.ID)); err != nil {
			return err
		}
	}
	var oldDue, newDue []byte
	if r.State.outboxed() {
		oldDue = dueKey(r.DueAt, r.ID)
	}
	if nr.State.outboxed() {
		newDue = dueKey(nr.DueAt, nr.ID)
	}
	if !bytes.Equal(oldDue, newDue) {
		if oldDue != nil {
			if err := tx.Bucket(bOutbox).Delete(oldDue); err != nil {
				return err
			}
		}
		if newDue != nil {
			if err := tx.Bucket(bOutbox).Put(newDue, nil); err != nil {
				return err
			}
		}
	}
	sameUse := r.State == nr.State && usedAt(r).Equal(usedAt(nr)) && r.ShiftID == nr.ShiftID
	switch {
	case nr.State.usedHere() && !(r.State.usedHere() && sameUse):
		if err := setUsed(tx, nr, true); err != nil { // replaces r's entry
			return err
		}
	case r.State.usedHere() && !nr.State.usedHere():
		if err := setUsed(tx, r, false); err != nil {
			return err
		}
	}
	if r.State != nr.State {
		if err := delStateKey(tx, r.State, r.ID); err != nil {
			return err
		}
		if err := putStateKey(tx, nr.State, nr.ID); err != nil {
			return err
		}
	}
	if r.State != nr.State || r.Reason != nr.Reason {
		if r.State == Consumed {
			if err := tx.Bucket(bConsumedBy).Delete(reasonKey(r.Reason, r.ID)); err != nil {
				return err
			}
		}
		if nr.State == Consumed {
			bc := tx.Bucket(bConsumedBy)
			bc.FillPercent = appendFill
			if err := bc.Put(reasonKey(nr.Reason, nr.ID), nil); err != nil {
				return err
			}
		}
	}
	if r.State == Conflict || nr.State == Conflict { // rare: the entry holds several of the record's fields
		if err := indexConflict(tx, r, false); err != nil {
			return err
		}
		if err := indexConflict(tx, nr, true); err != nil {
			return err
		}
	}
	if prunable(r) != prunable(nr) || (prunable(r) && !bytes.Equal(finishedKey(r), finishedKey(nr))) {
		if err := indexFinished(tx, r, false); err != nil {
			return err
		}
		return indexFinished(tx, nr, true)
	}
	return nil
}

// setUsed adds r to (or removes it from) the list of its code's consumed,
// queued or conflict redemptions, kept in ID order.
func setUsed(tx *bolt.Tx, r Redemption, add bool) error {
	b := tx.Bucket(bUsed)
	list, err := getUsed(b, []byte(r.Code))
	if err != nil {
		return err
	}
	out := list[:0]
	for _, f := range list {
		if f.ID != r.ID {
			out = append(out, f)
		}
	}
	if add {
		out = append(out, FinishedCode{Code: r.Code, ID: r.ID, State: r.State, At: usedAt(r), ShiftID: r.ShiftID})
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	}
	if len(out) == 0 {
		return b.Delete([]byte(r.Code))
	}
	return putUsed(b, []byte(r.Code), out)
}

func usedAt(r Redemption) time.Time {
	if !r.OfflineAcceptedAt.IsZero() {
		return r.OfflineAcceptedAt
	}
	return r.UpdatedAt
}

// Get returns one redemption.
func (db *DB) Get(id uint64) (Redemption, error) {
	var r Redemption
	err := db.b.View(func(tx *bolt.Tx) (err error) { r, err = getRed(tx, id); return })
	return r, err
}

// ActiveByCode returns the active redemption of code, if any.
func (db *DB) ActiveByCode(code string) (Redemption, bool, error) {
	var r Redemption
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) (err error) {
		raw := tx.Bucket(bActive).Get([]byte(code))
		if raw == nil {
			return nil
		}
		ok = true
		r, err = getRed(tx, binary.BigEndian.Uint64(raw))
		return err
	})
	return r, ok, err
}

// FinishedByCode returns when and in which shift this till last consumed,
// accepted offline, or saw refused after the fact (conflict) code. A use
// whose redemption retention pruned is still answered, from its tombstone
// (FinishedCode.Pruned), until ForgetUsedCodes drops it.
func (db *DB) FinishedByCode(code string) (FinishedCode, bool, error) {
	var fc FinishedCode
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) (err error) {
		fc, ok, err = finishedCode(tx, code)
		return err
	})
	return fc, ok, err
}

// CountByState returns how many redemptions are in each state (states
// with none are left out), from state_counts (statecounts.go).
func (db *DB) CountByState() (map[State]int, error) {
	out := map[State]int{}
	err := db.b.View(func(tx *bolt.Tx) error {
		for s, n := range stateCounts(tx, AllStates) {
			if n > 0 {
				out[s] = n
			}
		}
		return nil
	})
	return out, err
}
