package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
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

// Check runs bbolt's consistency check and verifies every index and every
// counter against a recount of the records. It returns nil when all agree.
// bbolt's check is safe beside writers only inside a write transaction, so
// on a journal open for writing Check takes one (and writers wait for it);
// a process that keeps serving while it checks should use CheckSnapshot.
func (db *DB) Check() error {
	var problems []string
	add := func(f string, a ...any) {
		if len(problems) < 50 {
			problems = append(problems, fmt.Sprintf(f, a...))
		}
	}
	err := db.checkTx(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			add("bbolt: %v", e)
		}
		// A journal opened read-only before a migration (an older
		// schema) has none of the buckets the migration creates: it is
		// whole without them. Some of them without the others, or them
		// on the wrong side of the version, is a half-applied migration.
		var ver uint64
		if v := tx.Bucket(bMeta); v != nil && len(v.Get(kSchema)) == 8 {
			ver = binary.BigEndian.Uint64(v.Get(kSchema))
		}
		absent := map[string]bool{} // buckets of a schema the file has not reached
		for _, g := range bucketsSince {
			var have []string
			for _, name := range g.names {
				if tx.Bucket(name) != nil {
					have = append(have, string(name))
				}
			}
			if len(have) != 0 && len(have) != len(g.names) || (ver >= g.ver) != (len(have) != 0) {
				add("schema %d with %d of the buckets %s of schema %d (%s): a half-applied %d -> %d migration", ver, len(have), bucketNames(g.names), g.ver, strings.Join(have, ", "), g.ver-1, g.ver)
				return nil
			}
			if len(have) == 0 {
				for _, name := range g.names {
					absent[string(name)] = true
				}
			}
		}
		has4, has5, has8 := !absent[string(bShiftConflicts)], !absent[string(bFinished)], !absent[string(bStateCounts)]
		for _, name := range allBuckets {
			if absent[string(name)] {
				continue
			}
			if bytes.Equal(name, bOverrides) { // optional (overrides.go)
				continue
			}
			if tx.Bucket(name) == nil {
				add("bucket %s missing", name)
				return nil
			}
		}
		active := map[string]uint64{}
		outbox := map[string]bool{}
		states := map[string]bool{}
		consumedBy := map[string]bool{}
		byShift := map[string]bool{}
		conflicts := map[string]ConflictEntry{}
		finished := map[string]bool{}
		used := map[string][]FinishedCode{}
		counts := map[uint64]*Counters{}
		perState := map[State]int{}
		shifts := map[uint64]Shift{}
		seq, live := lastID(tx), tx.Bucket(bLive) // no live bucket before schema 9
		if live != nil && live.Sequence() < tx.Bucket(bRed).Sequence() {
			add("%s has sequence %d, below %s' %d: new redemptions would reuse ids", bLive, live.Sequence(), bRed, tx.Bucket(bRed).Sequence())
		}
		err := forEachRecord(tx, func(bucket []byte, k, v []byte) error {
			if len(k) != 8 {
				add("redemption key %x is not an 8-byte id", k)
				return nil
			}
			r, err := decodeRecord(v)
			if err != nil {
				add("redemption %x: %v", k, err)
				return nil
			}
			if r.ID != binary.BigEndian.Uint64(k) {
				add("redemption key %x holds id %d", k, r.ID)
			}
			if r.ID > seq {
				add("redemption %d is above the last id handed out, %d", r.ID, seq)
			}
			if inLive := bytes.Equal(bucket, bLive); live != nil && r.State.Valid() && inLive != r.State.Active() {
				add("redemption %d is %s but kept in %s", r.ID, r.State, bucket)
			}
			if live != nil && bytes.Equal(bucket, bRed) && live.Get(k) != nil {
				add("redemption %d is in both %s and %s", r.ID, bLive, bRed)
			}
			if !r.State.Valid() {
				add("redemption %d has unknown state %q", r.ID, r.State)
			}
			if n := len(r.History); n == 0 || r.History[n-1].To != r.State {
				add("redemption %d: history does not end in its state %s", r.ID, r.State)
			}
			if r.State.Active() {
				if prev, dup := active[r.Code]; dup {
					add("code %q has two active redemptions: %d and %d (invariant 3)", r.Code, prev, r.ID)
				}
				active[r.Code] = r.ID
			}
			if r.State.outboxed() {
				outbox[string(dueKey(r.DueAt, r.ID))] = true
			}
			if prunable(r) {
				finished[string(finishedKey(r))] = true
			}
			if r.State.usedHere() {
				used[r.Code] = append(used[r.Code], FinishedCode{Code: r.Code, ID: r.ID, State: r.State, At: usedAt(r), ShiftID: r.ShiftID})
			}
			states[string(stateKey(r.State, r.ID))] = true
			perState[r.State]++
			if r.State == Consumed {
				consumedBy[string(reasonKey(r.Reason, r.ID))] = true
			}
			byShift[string(k2(r.ShiftID, r.ID))] = true
			if r.State == Conflict {
				conflicts[string(k2(r.ShiftID, r.ID))] = conflictEntry(r)
			}
			if _, ok := shifts[r.ShiftID]; !ok && r.ShiftID != 0 {
				s, err := readShift(tx, r.ShiftID)
				if err != nil {
					return err
				}
				if s.ID != r.ShiftID {
					add("redemption %d belongs to shift %d, which does not exist", r.ID, r.ShiftID)
				}
				shifts[r.ShiftID] = s
			}
			if counts[r.ShiftID] == nil {
				counts[r.ShiftID] = &Counters{}
			}
			counts[r.ShiftID].add(r, +1)
			return nil
		})
		if err != nil {
			return err
		}
		n := 0
		_ = tx.Bucket(bActive).ForEach(func(k, v []byte) error {
			n++
			if len(v) != 8 || active[string(k)] != binary.BigEndian.Uint64(v) {
				add("active index: code %q -> %x, records say %d", k, v, active[string(k)])
			}
			return nil
		})
		if n != len(active) {
			add("active index has %d entries, records say %d", n, len(active))
		}
		cmpSet := func(name []byte, want map[string]bool) {
			got := 0
			_ = tx.Bucket(name).ForEach(func(k, _ []byte) error {
				got++
				if !want[string(k)] {
					add("%s index: stray entry %x", name, k)
				}
				return nil
			})
			if got != len(want) {
				add("%s index has %d entries, records say %d", name, got, len(want))
			}
		}
		cmpSet(bOutbox, outbox)
		cmpSet(bByState, states)
		cmpSet(bByShift, byShift)
		cmpSet(bConsumedBy, consumedBy)
		if has4 {
			checkConflictIndex(tx, conflicts, add)
		}
		checkOverrides(tx, add)
		if has5 {
			checkRetention(tx, finished, add)
		}
		if has8 {
			checkStateCounts(tx, perState, add)
		}
		nUsed := 0
		_ = tx.Bucket(bUsed).ForEach(func(k, _ []byte) error {
			nUsed++
			list, err := getUsed(tx.Bucket(bUsed), k)
			if err != nil {
				add("used index: %v", err)
				return nil
			}
			want := used[string(k)]
			sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
			if len(list) != len(want) {
				add("used index: code %q lists %d redemptions, records say %d", k, len(list), len(want))
				return nil
			}
			for i := range list {
				if list[i].ID != want[i].ID || list[i].State != want[i].State || !list[i].At.Equal(want[i].At) || list[i].ShiftID != want[i].ShiftID {
					add("used index: code %q entry %+v, records say %+v", k, list[i], want[i])
				}
			}
			return nil
		})
		if nUsed != len(used) {
			add("used index has %d codes, records say %d", nUsed, len(used))
		}
		// Counters: stored = recount + pruned, for every shift that has any.
		seen := map[uint64]bool{}
		check := func(id uint64) {
			if seen[id] {
				return
			}
			seen[id] = true
			stored, err := readCounters(tx, bCounters, id)
			if err != nil {
				add("counters of shift %d: %v", id, err)
				return
			}
			pruned, err := readCounters(tx, bPruned, id)
			if err != nil {
				add("pruned counters of shift %d: %v", id, err)
				return
			}
			want := Counters{}
			if c := counts[id]; c != nil {
				want = *c
			}
			want.merge(pruned, +1)
			stored.merge(Counters{}, +1) // normalise empty maps
			if !reflect.DeepEqual(stored, want) {
				add("counters of shift %d: stored %+v, recount %+v", id, stored, want)
			}
		}
		for id := range counts {
			check(id)
		}
		_ = tx.Bucket(bCounters).ForEach(func(k, _ []byte) error { check(binary.BigEndian.Uint64(k)); return nil })
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New("store: check failed:\n  " + strings.Join(problems, "\n  "))
	}
	return nil
}

// checkTx runs fn in a transaction in which bbolt's check is safe: a read
// transaction when the file is open read-only (the lock keeps writers out),
// else a write transaction that is rolled back.
func (db *DB) checkTx(fn func(*bolt.Tx) error) error {
	if db.o.ReadOnly {
		return db.b.View(fn)
	}
	tx, err := db.b.Begin(true)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// CheckSnapshot is Check of a consistent copy of the journal, written in
// one read transaction to a private file beside it and removed afterwards:
// writers never wait for the check. It needs free space for the copy.
func (db *DB) CheckSnapshot() error {
	dir, err := os.MkdirTemp(filepath.Dir(db.path), ".check-")
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	defer os.RemoveAll(dir)
	snap := filepath.Join(dir, "journal.db")
	if _, err := db.BackupFile(snap); err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	c, err := Open(snap, Options{ReadOnly: true, Logger: db.log})
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	defer c.Close()
	if err := c.Check(); err != nil {
		return err
	}
	return nil
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
