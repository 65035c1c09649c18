package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OpenShift opens a shift for cashier on terminal. It fails with
// ErrShiftOpen when the terminal already has an open shift.
func (db *DB) OpenShift(terminal, cashier string) (Shift, error) {
	var s Shift
	err := db.b.Update(func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bOpenShift).Get([]byte(terminal)); raw != nil {
			return fmt.Errorf("%w (shift #%d); close it first", ErrShiftOpen, binary.BigEndian.Uint64(raw))
		}
		b := tx.Bucket(bShifts)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		s = Shift{ID: id, Terminal: terminal, Cashier: cashier, OpenedAt: db.now()}
		if err := putJSON(b, u64(id), s); err != nil {
			return err
		}
		return tx.Bucket(bOpenShift).Put([]byte(terminal), u64(id))
	})
	return s, err
}

// CloseShift closes shift id and freezes its counters as the Z report.
// Redemptions of the shift still pending keep updating its live counters
// (and SettledAfterClose) when they finish; Z stays as it was at close.
func (db *DB) CloseShift(id uint64) (Shift, error) {
	var s Shift
	err := db.b.Update(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bShifts), u64(id), &s)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: shift %d", ErrNotFound, id)
		}
		if !s.Open() {
			return fmt.Errorf("%w: shift #%d closed at %s", ErrShiftClosed, id, s.ClosedAt.Format(time.RFC3339))
		}
		c, err := readCounters(tx, bCounters, id)
		if err != nil {
			return err
		}
		s.ClosedAt = db.now()
		s.Z = &c
		if err := putJSON(tx.Bucket(bShifts), u64(id), s); err != nil {
			return err
		}
		return tx.Bucket(bOpenShift).Delete([]byte(s.Terminal))
	})
	return s, err
}

// CurrentShift returns the open shift of terminal.
func (db *DB) CurrentShift(terminal string) (Shift, bool, error) {
	var s Shift
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) (err error) {
		raw := tx.Bucket(bOpenShift).Get([]byte(terminal))
		if raw == nil {
			return nil
		}
		ok, err = getJSON(tx.Bucket(bShifts), raw, &s)
		return err
	})
	return s, ok, err
}

// Shift returns one shift.
func (db *DB) Shift(id uint64) (Shift, error) {
	var s Shift
	err := db.b.View(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bShifts), u64(id), &s)
		if err == nil && !ok {
			err = fmt.Errorf("%w: shift %d", ErrNotFound, id)
		}
		return err
	})
	return s, err
}

// Shifts returns up to limit shifts (0: all), newest first.
func (db *DB) Shifts(limit int) ([]Shift, error) {
	var out []Shift
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bShifts).Cursor()
		for k, _ := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Prev() {
			var s Shift
			if _, err := getJSON(tx.Bucket(bShifts), k, &s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// ShiftCounters returns the live counters of a shift (O(1): they are kept
// up to date by every change, including redemptions pruned since).
func (db *DB) ShiftCounters(id uint64) (Counters, error) {
	var c Counters
	err := db.b.View(func(tx *bolt.Tx) (err error) { c, err = readCounters(tx, bCounters, id); return })
	return c, err
}

// OfflineAccepted counts the offline acceptances of a shift.
func (db *DB) OfflineAccepted(shiftID uint64) (int, error) {
	c, err := db.ShiftCounters(shiftID)
	return c.OfflineAccepted, err
}

// Outcome classifies a redemption for the counters.
func Outcome(r Redemption) string {
	switch r.State {
	case Consumed:
		if !r.OfflineAcceptedAt.IsZero() {
			return OutcomeOfflineConsumed
		}
		return OutcomeConsumedOnline
	case Conflict:
		return OutcomeConflict
	case Rejected:
		return OutcomeRefused
	}
	return OutcomePending
}

// HourKey is the ByHour key of t (UTC hour, "2006-01-02T15Z").
func HourKey(t time.Time) string { return t.UTC().Format("2006-01-02T15Z") }

func bump(m *map[string]int, k string, d int) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[k] += d
	if (*m)[k] == 0 {
		delete(*m, k)
	}
	if len(*m) == 0 {
		*m = nil
	}
}

// add adds r's contribution (sign +1 or -1) given its shift.
func (c *Counters) add(r Redemption, sign int) {
	o := Outcome(r)
	c.Total += sign
	bump(&c.ByOutcome, o, sign)
	bump(&c.ByHour, HourKey(r.CreatedAt), sign)
	bump(&c.ByCashier, r.Cashier, sign)
	if c.ByCard == nil {
		c.ByCard = map[string]map[string]int{}
	}
	m := c.ByCard[r.CardID]
	bump(&m, o, sign)
	if m == nil {
		delete(c.ByCard, r.CardID)
	} else {
		c.ByCard[r.CardID] = m
	}
	if len(c.ByCard) == 0 {
		c.ByCard = nil
	}
	if !r.OfflineAcceptedAt.IsZero() {
		c.OfflineAccepted += sign
	}
	if r.State == Rejected {
		bump(&c.RefusedByReason, r.Reason, sign)
	}
	if r.State == Consumed {
		bump(&c.ConsumedByReason, r.Reason, sign)
	}
	if r.SettledAfterClose && r.State.Finished() {
		bump(&c.SettledAfterClose, o, sign)
	}
}

// zero reports whether c counts nothing (add leaves no zero entry behind).
func (c Counters) zero() bool {
	return c.Total == 0 && c.OfflineAccepted == 0 && c.ByOutcome == nil && c.RefusedByReason == nil &&
		c.ConsumedByReason == nil && c.ByCard == nil && c.ByHour == nil && c.ByCashier == nil && c.SettledAfterClose == nil
}

func (c *Counters) merge(o Counters, sign int) {
	c.Total += sign * o.Total
	c.OfflineAccepted += sign * o.OfflineAccepted
	for k, v := range o.ByOutcome {
		bump(&c.ByOutcome, k, sign*v)
	}
	for k, v := range o.ByHour {
		bump(&c.ByHour, k, sign*v)
	}
	for k, v := range o.ByCashier {
		bump(&c.ByCashier, k, sign*v)
	}
	for k, v := range o.RefusedByReason {
		bump(&c.RefusedByReason, k, sign*v)
	}
	for k, v := range o.SettledAfterClose {
		bump(&c.SettledAfterClose, k, sign*v)
	}
	for k, v := range o.ConsumedByReason {
		bump(&c.ConsumedByReason, k, sign*v)
	}
	for card, m := range o.ByCard {
		if c.ByCard == nil {
			c.ByCard = map[string]map[string]int{}
		}
		cm := c.ByCard[card]
		for k, v := range m {
			bump(&cm, k, sign*v)
		}
		if cm == nil {
			delete(c.ByCard, card)
		} else {
			c.ByCard[card] = cm
		}
	}
	if len(c.ByCard) == 0 {
		c.ByCard = nil
	}
}

func readCounters(tx *bolt.Tx, bucket []byte, shift uint64) (Counters, error) {
	var c Counters
	_, err := getJSON(tx.Bucket(bucket), u64(shift), &c)
	return c, err
}

func readShift(tx *bolt.Tx, id uint64) (Shift, error) {
	var s Shift
	if id == 0 {
		return s, nil
	}
	_, err := getJSON(tx.Bucket(bShifts), u64(id), &s)
	return s, err
}

func (db *DB) addCounters(tx *bolt.Tx, bucket []byte, r Redemption, sign int) error {
	c, err := readCounters(tx, bucket, r.ShiftID)
	if err != nil {
		return err
	}
	c.add(r, sign)
	return putJSON(tx.Bucket(bucket), u64(r.ShiftID), c)
}

// count adds a new redemption r to its shift: its place in the per-shift
// index and its counters.
func (db *DB) count(tx *bolt.Tx, r Redemption) error {
	b := tx.Bucket(bByShift)
	b.FillPercent = appendFill // shift, then id: keys only grow
	if err := b.Put(k2(r.ShiftID, r.ID), nil); err != nil {
		return err
	}
	return db.addCounters(tx, bCounters, r, +1)
}

// moveCount changes the counters of a move from r to nr in one read and
// one write of the shift's counters (the per-shift index keeps the id).
func (db *DB) moveCount(tx *bolt.Tx, r, nr Redemption) error {
	if r.ShiftID != nr.ShiftID { // not a move the engine makes; kept right all the same
		if err := tx.Bucket(bByShift).Delete(k2(r.ShiftID, r.ID)); err != nil {
			return err
		}
		if err := db.addCounters(tx, bCounters, r, -1); err != nil {
			return err
		}
		return db.count(tx, nr)
	}
	var d Counters
	d.add(r, -1)
	d.add(nr, +1)
	if d.zero() {
		return nil // a retry: nothing counted changes, nothing to read or write
	}
	c, err := readCounters(tx, bCounters, r.ShiftID)
	if err != nil {
		return err
	}
	c.add(r, -1)
	c.add(nr, +1)
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	b := tx.Bucket(bCounters)
	if bytes.Equal(b.Get(u64(r.ShiftID)), raw) {
		return nil // a retry: nothing counted changed, no page to write
	}
	return b.Put(u64(r.ShiftID), raw)
}

// ShiftConsumedByReason returns up to limit (0: all) consumed redemptions
// of shift id whose Reason is reason, in ID order. It reads the shift's
// first and last ID from the per-shift index and walks the reason's keys
// between them: O(those keys), neither O(shift) nor O(journal). Pruned
// redemptions are no longer listed (their counters stay).
func (db *DB) ShiftConsumedByReason(id uint64, reason string, limit int) ([]Redemption, error) {
	var out []Redemption
	err := db.b.View(func(tx *bolt.Tx) error {
		sc := tx.Bucket(bByShift).Cursor()
		first, _ := sc.Seek(k2(id, 0))
		if first == nil || binary.BigEndian.Uint64(first) != id {
			return nil
		}
		last, _ := sc.Seek(k2(id+1, 0))
		if last == nil {
			last, _ = sc.Last()
		} else {
			last, _ = sc.Prev()
		}
		lo, hi := binary.BigEndian.Uint64(first[8:]), binary.BigEndian.Uint64(last[8:])
		prefix := append([]byte(reason), 0)
		end := reasonKey(reason, hi)
		c := tx.Bucket(bConsumedBy).Cursor()
		for k, _ := c.Seek(reasonKey(reason, lo)); k != nil && bytes.HasPrefix(k, prefix) && bytes.Compare(k, end) <= 0 && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				continue // another reason's, one that holds a 0 byte (query.go's walk)
			}
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			if r.ShiftID == id { // a journal shared by terminals interleaves shifts
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}
