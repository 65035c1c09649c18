package store

// The journal's self-check (db check): bbolt's own, then every index and
// counter against a recount of the records (docs/ARCHITECTURE.md).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

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
