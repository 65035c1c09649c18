package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ---- redemptions ----

func getRed(tx *bolt.Tx, id uint64) (Redemption, error) {
	raw, bucket := rawRecord(tx, id)
	if raw == nil {
		return Redemption{}, fmt.Errorf("%w: redemption %d", ErrNotFound, id)
	}
	r, err := decodeRecord(raw)
	if err == nil {
		err = wholeRecord(r, id)
	}
	if err != nil {
		return r, fmt.Errorf("store: damaged entry %x in %s (redemption %d): %w", u64(id), bucket, id, err)
	}
	return r, nil
}

// wholeRecord refuses a record that decoded but cannot be one the store
// wrote under key id: another id, a state outside AllStates, a history
// that does not end in its state (what Check reports too). Format 3's
// fields carry no end mark, so a record cut at a field's boundary decodes
// with the fields after it missing (its history last); this catches all
// but a cut that drops only retries at the end of the history
// (TestTruncatedRecordRefused).
func wholeRecord(r Redemption, id uint64) error {
	switch n := len(r.History); {
	case r.ID != id:
		return fmt.Errorf("it holds id %d", r.ID)
	case !r.State.Valid():
		return fmt.Errorf("unknown state %q", r.State)
	case n == 0 || r.History[n-1].To != r.State:
		return fmt.Errorf("its history does not end in its state %s", r.State)
	}
	return nil
}

// putRed writes r in the current record format (record.go) into the
// bucket of its state (live.go); was is the state it is stored in (None
// for a new one), and a record that finishes leaves the live bucket in
// the same commit.
func putRed(tx *bolt.Tx, r Redemption, was State) error {
	raw, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if err := recordBucket(tx, r.State).Put(u64(r.ID), raw); err != nil {
		return err
	}
	if was.Active() && !r.State.Active() {
		return tx.Bucket(bLive).Delete(u64(r.ID))
	}
	return nil
}

// Create journals a new redemption in one transaction. path lists the
// states it went through before its current one (e.g. received, checked
// for a redemption created already checked); each becomes a history entry.
// An active redemption for a code that has one fails with *DuplicateError;
// a queued one fails with ErrFull when the file reached MaxSize.
func (db *DB) Create(r Redemption, by string, path ...State) (Redemption, error) {
	if !r.State.Valid() {
		return Redemption{}, fmt.Errorf("%w: redemption needs a valid state (got %q)", ErrInvalid, r.State)
	}
	// A scan WeChat could not decrypt has no code: it may only be journaled
	// refused, with the encrypted code it came with.
	if r.Code == "" && (r.EncryptCode == "" || r.State != Rejected) {
		return Redemption{}, fmt.Errorf("%w: redemption needs a code (only a refused encrypted scan may lack one; got state %q)", ErrInvalid, r.State)
	}
	walk := append(append([]State(nil), path...), r.State)
	for i, prev := range append([]State{None}, walk[:len(walk)-1]...) {
		if !Allowed(prev, walk[i]) {
			return Redemption{}, &MoveError{From: prev, To: walk[i]}
		}
	}
	final := r
	if r.State == Queued {
		if err := db.roomForOffline(); err != nil {
			return Redemption{}, err
		}
	}
	var out Redemption
	err := db.b.Update(func(tx *bolt.Tx) error {
		if r.State.Active() {
			if raw := tx.Bucket(bActive).Get([]byte(r.Code)); raw != nil {
				a, err := getRed(tx, binary.BigEndian.Uint64(raw))
				if err != nil {
					return err
				}
				return &DuplicateError{Active: a}
			}
		}
		if r.ShiftID != 0 {
			var s Shift
			if ok, err := getJSON(tx.Bucket(bShifts), u64(r.ShiftID), &s); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("%w: shift %d", ErrNotFound, r.ShiftID)
			} else if !s.Open() {
				return fmt.Errorf("%w: shift #%d closed at %s; a redemption belongs to the shift open when it was scanned", ErrShiftClosed, s.ID, s.ClosedAt.Format(time.RFC3339))
			}
		}
		id, err := tx.Bucket(bLive).NextSequence() // ids: live.go
		if err != nil {
			return err
		}
		now := db.now()
		r.ID = id
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.UpdatedAt = now
		if r.State.Finished() {
			r.FinishedAt = now
		}
		if r.State == Queued && r.OfflineAcceptedAt.IsZero() {
			r.OfflineAcceptedAt = now
		}
		r.History = nil
		r.SettledAfterClose = false
		r.State = None
		for i, s := range walk {
			entry := Transition{By: by}
			if i == len(walk)-1 {
				entry.Errcode, entry.WeChatStatus, entry.Reason, entry.Err = final.Errcode, final.WeChatStatus, final.Reason, final.LastError
			}
			if err := apply(&r, s, now, entry); err != nil {
				return err
			}
		}
		if err := putRed(tx, r, None); err != nil {
			return err
		}
		out = r
		if err := db.index(tx, r); err != nil {
			return err
		}
		return db.count(tx, r)
	})
	return out, err
}

// Transition moves redemption id from state from to state to (to may equal
// from), applying ch.Update, appending a history entry, and updating the
// indexes and counters, in one transaction. It fails with *StateError
// (errors.Is ErrStateConflict) when id is no longer in from.
func (db *DB) Transition(id uint64, from, to State, ch Change) (Redemption, error) {
	return db.transition(db.b.Update, id, from, to, ch)
}

// TransitionBatch is Transition sharing one commit with concurrent calls
// (group commit without a delay: group.go). ch.Update may run more than
// once.
func (db *DB) TransitionBatch(id uint64, from, to State, ch Change) (Redemption, error) {
	return db.transition(db.grouped, id, from, to, ch)
}

func (db *DB) transition(run func(func(*bolt.Tx) error) error, id uint64, from, to State, ch Change) (Redemption, error) {
	if !from.Valid() || !to.Valid() {
		return Redemption{}, fmt.Errorf("%w: transition %q -> %q", ErrInvalid, from, to)
	}
	for _, v := range ch.Via {
		if !v.Valid() {
			return Redemption{}, fmt.Errorf("%w: transition %q -> %q via %q", ErrInvalid, from, to, v)
		}
	}
	prev := from
	for _, s := range append(append([]State(nil), ch.Via...), to) {
		if !Allowed(prev, s) {
			return Redemption{}, &MoveError{ID: id, From: prev, To: s}
		}
		prev = s
	}
	if to == Queued && from != Queued {
		if err := db.roomForOffline(); err != nil {
			return Redemption{}, err
		}
	}
	var out Redemption
	err := run(func(tx *bolt.Tx) error {
		r, err := getRed(tx, id)
		if err != nil {
			return err
		}
		if r.State != from {
			return &StateError{ID: id, Want: from, Actual: r.State}
		}
		if ch.MaxOfflineInShift != nil && to == Queued && from != Queued {
			c, err := readCounters(tx, bCounters, r.ShiftID)
			if err != nil {
				return err
			}
			extra, err := overrideExtra(tx, r.ShiftID) // managers' overrides (overrides.go)
			if err != nil {
				return err
			}
			if max := *ch.MaxOfflineInShift + extra; c.OfflineAccepted >= max {
				return fmt.Errorf("%w (shift #%d has %d, at most %d)", ErrOfflineLimit, r.ShiftID, c.OfflineAccepted, max)
			}
		}
		if to.Active() && !from.Active() {
			if raw := tx.Bucket(bActive).Get([]byte(r.Code)); raw != nil {
				a, err := getRed(tx, binary.BigEndian.Uint64(raw))
				if err != nil {
					return err
				}
				return &DuplicateError{Active: a}
			}
		}
		nr := r
		// Update sees no history (it must not change it), so nothing it
		// does reaches the entries; then nr shares r's: r is this
		// transaction's own decode, and the entries apply appends go past
		// its end (r's stay as read)
		nr.History = nil
		if ch.Update != nil {
			ch.Update(&nr)
		}
		nr.ID, nr.Code, nr.State = r.ID, r.Code, from
		nr.CreatedAt, nr.FinishedAt, nr.SettledAfterClose = r.CreatedAt, r.FinishedAt, r.SettledAfterClose
		now := db.now()
		nr.UpdatedAt = now
		if to.Finished() && !from.Finished() {
			nr.FinishedAt = now
			s, err := readShift(tx, nr.ShiftID)
			if err != nil {
				return err
			}
			nr.SettledAfterClose = !s.ClosedAt.IsZero()
		}
		if to == Queued && nr.OfflineAcceptedAt.IsZero() {
			nr.OfflineAcceptedAt = now
		}
		nr.History = r.History
		for _, v := range ch.Via {
			if err := apply(&nr, v, now, Transition{By: ch.By}); err != nil {
				return err
			}
		}
		if err := apply(&nr, to, now, Transition{By: ch.By,
			Errcode: ch.Errcode, WeChatStatus: ch.WeChatStatus, Reason: ch.Reason, Err: ch.Err}); err != nil {
			return err
		}
		if err := putRed(tx, nr, r.State); err != nil {
			return err
		}
		out = nr
		if err := db.reindex(tx, r, nr); err != nil {
			return err
		}
		return db.moveCount(tx, r, nr)
	})
	return out, err
}
