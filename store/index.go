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
	if err := tx.Bucket(bByState).Delete(stateKey(r.State, r.ID)); err != nil {
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
	// state, then id; reason, then id: within a state or reason the keys
	// only grow, so these pages are filled densely too
	bs := tx.Bucket(bByState)
	bs.FillPercent = appendFill
	if err := bs.Put(stateKey(r.State, r.ID), nil); err != nil {
		return err
	}
	if r.State == Consumed {
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
		if err := tx.Bucket(bByState).Delete(stateKey(r.State, r.ID)); err != nil {
			return err
		}
		bs := tx.Bucket(bByState)
		bs.FillPercent = appendFill
		if err := bs.Put(stateKey(nr.State, nr.ID), nil); err != nil {
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

// Due returns up to limit redemptions waiting for WeChat (queued,
// consuming, in_doubt) whose DueAt is not after now, earliest first.
func (db *DB) Due(now time.Time, limit int) ([]Redemption, error) {
	var out []Redemption
	end := dueKey(now, ^uint64(0))
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) <= 0 && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[8:]))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// NextDue returns the earliest DueAt in the outbox.
func (db *DB) NextDue() (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bOutbox).Cursor().First()
		if k != nil {
			ok = true
			r, err := getRed(tx, binary.BigEndian.Uint64(k[8:]))
			at = r.DueAt
			return err
		}
		return nil
	})
	return at, ok, err
}

// ListByState returns up to limit (0: all) redemptions in state s, oldest first.
func (db *DB) ListByState(s State, limit int) ([]Redemption, error) {
	var out []Redemption
	prefix := append([]byte(s), 0)
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bByState).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// LatestByState returns up to limit (0: all) redemptions in state s,
// newest first, walking the state index backwards: the till screen's queue
// and conflicts list the latest without reading the rest.
func (db *DB) LatestByState(s State, limit int) ([]Redemption, error) {
	return db.latestUnder(bByState, string(s), limit)
}

// CountState returns how many redemptions are in state s, walking only
// that state's keys of the index (CountByState walks every redemption).
func (db *DB) CountState(s State) (int, error) {
	n, err := db.CountStates(s)
	return n[s], err
}

// CountStates is CountState of several states, in one transaction.
func (db *DB) CountStates(states ...State) (map[State]int, error) {
	out := make(map[State]int, len(states))
	err := db.b.View(func(tx *bolt.Tx) error {
		for _, s := range states {
			out[s] = countUnder(tx.Bucket(bByState), string(s))
		}
		return nil
	})
	return out, err
}

// LatestConsumedByReason returns up to limit (0: all) consumed
// redemptions whose Reason is reason, newest first, walking only that
// reason's keys of the index backwards (e.g. the till screen's latest
// confirmed by a query).
func (db *DB) LatestConsumedByReason(reason string, limit int) ([]Redemption, error) {
	return db.latestUnder(bConsumedBy, reason, limit)
}

// CountConsumedByReason counts the consumed redemptions whose Reason is
// reason, walking only that reason's keys of the index.
func (db *DB) CountConsumedByReason(reason string) (int, error) {
	n := 0
	err := db.b.View(func(tx *bolt.Tx) error {
		n = countUnder(tx.Bucket(bConsumedBy), reason)
		return nil
	})
	return n, err
}

// latestUnder reads up to limit (0: all) redemptions of an index keyed
// name, 0, big-endian ID (the state and consumed-by-reason indexes) under
// name, newest first, walking only those keys backwards.
func (db *DB) latestUnder(bucket []byte, name string, limit int) ([]Redemption, error) {
	var out []Redemption
	prefix := append([]byte(name), 0)
	end := append([]byte(name), 1) // just past every key of name
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		k, _ := c.Seek(end)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Prev() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// countUnder counts the keys of b under name (keyed name, 0, ID).
func countUnder(b *bolt.Bucket, name string) int {
	prefix := append([]byte(name), 0)
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// CountByState returns how many redemptions are in each state.
func (db *DB) CountByState() (map[State]int, error) {
	out := map[State]int{}
	err := db.b.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bByState).ForEach(func(k, _ []byte) error {
			out[State(k[:len(k)-9])]++
			return nil
		})
	})
	return out, err
}

// QueueDepth returns how many redemptions wait for WeChat.
func (db *DB) QueueDepth() (int, error) {
	n := 0
	err := db.b.View(func(tx *bolt.Tx) error { n = tx.Bucket(bOutbox).Stats().KeyN; return nil })
	return n, err
}

// Conflicts returns every redemption in conflict.
func (db *DB) Conflicts() ([]Redemption, error) { return db.ListByState(Conflict, 0) }
