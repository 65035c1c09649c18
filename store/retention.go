package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// (docs/ARCHITECTURE.md, Layout.) Retention and what it leaves behind
// live in three buckets of schema 5:
//
//   - finished_at: finished(8) id(8) -> nil, one key per redemption
//     retention may delete (consumed or rejected, with a FinishedAt), in
//     the time it became final. index and unindex keep it, in the same
//     transaction as the record, so every move that makes a redemption
//     final (apply, through Create and Transition) adds its key. Prune
//     walks it from the oldest and stops at the first key not due: its
//     cost is what it deletes. Conflicts are final but never pruned (the
//     manager follows them up), so they are not in it.
//   - used_tombstones: code -> tombstone (encodeTombstone: a version
//     byte, the state's index in AllStates, the use time as 8 bytes of
//     big-endian Unix nanoseconds, then uvarint id and shift and three
//     uvarint-length-prefixed strings: card, terminal, cashier). What a
//     pruned redemption that used its code here (usedHere) leaves, so
//     FinishedByCode still says "already used here" after retention: the
//     latest pruned use of each code, tens of bytes.
//   - tombstones_by_at: at(8) code -> nil, the tombstones by use time,
//     for ForgetUsedCodes ([store] used_code_days), which walks it the
//     way Prune walks finished_at.
var (
	bFinished = []byte("finished_at")
	bTombs    = []byte("used_tombstones")
	bTombsAt  = []byte("tombstones_by_at")
)

// bucketsSince lists the buckets each migration since schema 3 created,
// with the schema that has them: Check tells a file not yet migrated
// (none of them) from a half-applied migration.
var bucketsSince = []struct {
	ver   uint64
	names [][]byte
}{
	{4, [][]byte{bShiftConflicts, bResolutions}},
	{5, [][]byte{bFinished, bTombs, bTombsAt}},
	{8, [][]byte{bStateCounts}},
	{9, [][]byte{bLive}},
}

func bucketNames(names [][]byte) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// prunable reports whether retention may delete r, and so whether it has
// a key in finished_at.
func prunable(r Redemption) bool {
	return (r.State == Consumed || r.State == Rejected) && !r.FinishedAt.IsZero()
}

// finishedKey is r's key in finished_at.
func finishedKey(r Redemption) []byte { return dueKey(r.FinishedAt, r.ID) }

// indexFinished adds (or removes) r's finished_at key when r is prunable.
func indexFinished(tx *bolt.Tx, r Redemption, add bool) error {
	if !prunable(r) {
		return nil
	}
	b := tx.Bucket(bFinished)
	if b == nil {
		return nil // a read-only journal from before schema 5 is never written
	}
	if !add {
		return b.Delete(finishedKey(r))
	}
	b.FillPercent = appendFill // finished time, then id: keys only grow
	return b.Put(finishedKey(r), nil)
}

// tombstoneVersion is the first byte of an encoded tombstone.
const tombstoneVersion = 1

// tombstone is what used_tombstones keeps of a pruned use of a code.
type tombstone struct {
	ID, ShiftID               uint64
	State                     State
	At                        time.Time // usedAt of the pruned redemption
	CardID, Terminal, Cashier string
}

func tombstoneOf(r Redemption) tombstone {
	return tombstone{ID: r.ID, ShiftID: r.ShiftID, State: r.State, At: usedAt(r), CardID: r.CardID, Terminal: r.Terminal, Cashier: r.Cashier}
}

func stateIndex(s State) (byte, bool) {
	for i, v := range AllStates {
		if v == s {
			return byte(i), true
		}
	}
	return 0, false
}

func encodeTombstone(t tombstone) []byte {
	b := make([]byte, 0, 32+len(t.CardID)+len(t.Terminal)+len(t.Cashier))
	si, _ := stateIndex(t.State)
	b = append(b, tombstoneVersion, si)
	b = binary.BigEndian.AppendUint64(b, uint64(unixNano(t.At)))
	b = binary.AppendUvarint(b, t.ID)
	b = binary.AppendUvarint(b, t.ShiftID)
	for _, s := range []string{t.CardID, t.Terminal, t.Cashier} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errTombstone = errors.New("not a version-1 tombstone")

func decodeTombstone(b []byte) (tombstone, error) {
	var t tombstone
	if len(b) < 10 || b[0] != tombstoneVersion || int(b[1]) >= len(AllStates) {
		return t, errTombstone
	}
	t.State = AllStates[b[1]]
	t.At = fromUnixNano(int64(binary.BigEndian.Uint64(b[2:10])))
	r := varReader{b: b[10:]}
	t.ID, t.ShiftID = r.uv(), r.uv()
	t.CardID, t.Terminal, t.Cashier = r.str(), r.str(), r.str()
	if r.bad || len(r.b) != 0 {
		return tombstone{}, errTombstone
	}
	return t, nil
}

// tombAtKey is a tombstone's key in tombstones_by_at.
func tombAtKey(at time.Time, code string) []byte {
	return append(dueKey(at, 0)[:8:8], code...)
}

// getTombstone reads code's tombstone; ok is false when it has none.
func getTombstone(tx *bolt.Tx, code string) (t tombstone, ok bool, err error) {
	b := tx.Bucket(bTombs)
	if b == nil {
		return t, false, nil
	}
	raw := b.Get([]byte(code))
	if raw == nil {
		return t, false, nil
	}
	t, err = decodeTombstone(raw)
	if err != nil {
		return t, true, fmt.Errorf("store: damaged tombstone of code %q: %w", code, err)
	}
	return t, true, nil
}

// bury keeps a tombstone of r, which retention is deleting, when r used
// its code here. A code keeps the tombstone of its latest pruned use.
func bury(tx *bolt.Tx, r Redemption) error {
	if !r.State.usedHere() || r.Code == "" {
		return nil
	}
	old, ok, err := getTombstone(tx, r.Code)
	if err != nil {
		return err
	}
	if ok {
		if old.ID > r.ID {
			return nil
		}
		if err := tx.Bucket(bTombsAt).Delete(tombAtKey(old.At, r.Code)); err != nil {
			return err
		}
	}
	t := tombstoneOf(r)
	if err := tx.Bucket(bTombs).Put([]byte(r.Code), encodeTombstone(t)); err != nil {
		return err
	}
	return tx.Bucket(bTombsAt).Put(tombAtKey(t.At, r.Code), nil)
}

// finishedCode is FinishedByCode's answer for code in tx: the latest of
// the uses the used-by-code index lists and the code's tombstone.
func finishedCode(tx *bolt.Tx, code string) (FinishedCode, bool, error) {
	var fc FinishedCode
	var ok bool
	list, err := getUsed(tx.Bucket(bUsed), []byte(code))
	if err != nil {
		return fc, false, err
	}
	if len(list) > 0 {
		fc, ok = list[len(list)-1], true
	}
	t, has, err := getTombstone(tx, code)
	if err != nil {
		return fc, ok, err
	}
	if has && (!ok || t.ID > fc.ID) {
		fc = FinishedCode{Code: code, ID: t.ID, State: t.State, At: t.At, ShiftID: t.ShiftID,
			CardID: t.CardID, Terminal: t.Terminal, Cashier: t.Cashier, Pruned: true}
		ok = true
	}
	return fc, ok, nil
}

// pruneBatch bounds the deletions of one Prune transaction: a scan
// waits for at most one batch (about 1 s per 1,000 on a loaded 2-CPU till).
const pruneBatch = 250

// Prune deletes finished redemptions (consumed, rejected) that finished
// before olderThan, with their index entries. Conflicts, unfinished work,
// shifts and counters are never pruned: a pruned redemption's share of its
// shift's counters moves to the shift's pruned tally, so Check still
// verifies counters = recount + pruned. A pruned redemption that used its
// code here leaves a tombstone, so the code stays refused as used here
// (FinishedByCode) until ForgetUsedCodes drops it. It returns how many it
// deleted.
//
// It runs beside a serving till and costs what it deletes: it walks the
// finished_at index from the oldest key and stops at the first one not
// due, a batch of at most pruneBatch keys at a time, each found in a read
// transaction and deleted in a short write transaction of its own that
// re-checks every candidate (a redemption that changed meanwhile is left
// alone). With nothing due it reads one key.
func (db *DB) Prune(olderThan time.Time) (int, error) {
	return db.PruneContext(context.Background(), olderThan)
}

// PruneContext is Prune that stops between batches when ctx ends (a till
// shutting down), returning what it deleted so far and ctx's error.
func (db *DB) PruneContext(ctx context.Context, olderThan time.Time) (int, error) {
	due := func(r Redemption) bool {
		return prunable(r) && r.FinishedAt.Before(olderThan)
	}
	return db.walkDue(ctx, bFinished, dueKey(olderThan, 0), func(tx *bolt.Tx, key []byte) (bool, error) {
		r, err := getRed(tx, binary.BigEndian.Uint64(key[8:]))
		if errors.Is(err, ErrNotFound) {
			return false, nil // a stray key: Check reports it
		} else if err != nil {
			return false, err
		}
		if !due(r) || !bytes.Equal(finishedKey(r), key) {
			return false, nil
		}
		if err := delStateKey(tx, r.State, r.ID); err != nil {
			return false, err
		}
		for _, d := range []struct {
			bucket, key []byte
		}{{bByShift, k2(r.ShiftID, r.ID)}, {bFinished, key}} {
			if err := tx.Bucket(d.bucket).Delete(d.key); err != nil {
				return false, err
			}
		}
		if r.State.usedHere() {
			if err := setUsed(tx, r, false); err != nil {
				return false, err
			}
			if err := bury(tx, r); err != nil {
				return false, err
			}
		}
		if r.State == Consumed {
			if err := tx.Bucket(bConsumedBy).Delete(reasonKey(r.Reason, r.ID)); err != nil {
				return false, err
			}
		}
		if err := tx.Bucket(bRed).Delete(u64(r.ID)); err != nil {
			return false, err
		}
		return true, db.addCounters(tx, bPruned, r, +1)
	})
}

// ForgetUsedCodes drops the tombstones of codes last used here before
// olderThan ([store] used_code_days): such a code is no longer refused as
// used here. Like Prune it walks an index by time (tombstones_by_at), in
// batches of short write transactions, and stops at the first key not
// due; it returns how many it dropped.
func (db *DB) ForgetUsedCodes(ctx context.Context, olderThan time.Time) (int, error) {
	return db.walkDue(ctx, bTombsAt, dueKey(olderThan, 0)[:8], func(tx *bolt.Tx, key []byte) (bool, error) {
		code := string(key[8:])
		if err := tx.Bucket(bTombsAt).Delete(key); err != nil {
			return false, err
		}
		t, ok, err := getTombstone(tx, code)
		if err != nil || !ok || !bytes.Equal(tombAtKey(t.At, code), key) {
			return false, err // a stray key, dropped; Check reports a tombstone without its key
		}
		return true, tx.Bucket(bTombs).Delete([]byte(code))
	})
}

// walkDue runs del, in write transactions of at most pruneBatch calls,
// on the keys of bucket (a time index) below end, from the first. The keys
// of a batch are read in a read transaction first, so a walk with nothing
// due writes nothing; del re-checks its key and reports whether it
// deleted something. It returns how many del deleted.
func (db *DB) walkDue(ctx context.Context, bucket, end []byte, del func(*bolt.Tx, []byte) (bool, error)) (int, error) {
	n := 0
	var after []byte // the last key of the previous batch
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var keys [][]byte
		err := db.b.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil // read-only, before schema 5
			}
			c := b.Cursor()
			var k []byte
			if after == nil {
				k, _ = c.First()
			} else if k, _ = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, _ = c.Next()
			}
			for ; k != nil && bytes.Compare(k, end) < 0 && len(keys) < pruneBatch; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return n, err
		}
		k := 0
		err = db.b.Update(func(tx *bolt.Tx) error {
			k = 0
			for _, key := range keys {
				if tx.Bucket(bucket).Get(key) == nil {
					continue
				}
				ok, err := del(tx, key)
				if err != nil {
					return err
				}
				if ok {
					k++
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += k
		if len(keys) < pruneBatch {
			return n, nil
		}
		after = keys[len(keys)-1]
	}
}

// migrateFinishedAt is the 4 -> 5 migration: the finished_at index is
// built from the records of consumed and rejected redemptions (the
// tombstone buckets start empty: what was pruned before is gone).
func migrateFinishedAt(tx *bolt.Tx) error {
	keys, err := finishedKeys(tx)
	if err != nil {
		return err
	}
	b := tx.Bucket(bFinished)
	b.FillPercent = appendFill
	for _, k := range keys {
		if err := b.Put(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// finishedKeys are the finished_at keys the records of tx call for, in
// ascending order. A bucket written in one transaction is one node in
// memory until the commit splits it, and a key put before the node's last
// moves every key after it: consumed then rejected records, whose finish
// times interleave, put unsorted cost a time quadratic in the journal (a
// million redemptions: still not done after 100 s of a core, the first
// `run` on the file showing nothing), put sorted each one is an append.
func finishedKeys(tx *bolt.Tx) ([][]byte, error) {
	var keys [][]byte
	for _, s := range []State{Consumed, Rejected} {
		prefix := append([]byte(s), 0)
		c := tx.Bucket(bByState).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return nil, err
			}
			if prunable(r) {
				keys = append(keys, finishedKey(r))
			}
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	return keys, nil
}

// checkRetention checks finished_at against the records (want: the keys
// the records call for) and the tombstones against their time index and
// the records: a tombstone is of a redemption that is gone, in a state
// that used its code here.
func checkRetention(tx *bolt.Tx, want map[string]bool, add func(string, ...any)) {
	got := 0
	_ = tx.Bucket(bFinished).ForEach(func(k, _ []byte) error {
		got++
		if !want[string(k)] {
			add("%s index: stray entry %x", bFinished, k)
		}
		return nil
	})
	if got != len(want) {
		add("%s index has %d entries, records say %d", bFinished, got, len(want))
	}
	seq := lastID(tx)
	atKeys := map[string]bool{}
	_ = tx.Bucket(bTombs).ForEach(func(k, v []byte) error {
		t, err := decodeTombstone(v)
		if err != nil {
			add("tombstone of code %q: %v", k, err)
			return nil
		}
		if !t.State.usedHere() {
			add("tombstone of code %q has state %s, which does not use a code", k, t.State)
		}
		if t.ID == 0 || t.ID > seq {
			add("tombstone of code %q names redemption %d, never created", k, t.ID)
		}
		if raw, _ := rawRecord(tx, t.ID); raw != nil {
			add("tombstone of code %q names redemption %d, which is still in the journal", k, t.ID)
		}
		atKeys[string(tombAtKey(t.At, string(k)))] = true
		return nil
	})
	n := 0
	_ = tx.Bucket(bTombsAt).ForEach(func(k, _ []byte) error {
		n++
		if !atKeys[string(k)] {
			add("%s index: stray entry %x", bTombsAt, k)
		}
		return nil
	})
	if n != len(atKeys) {
		add("%s index has %d entries, tombstones say %d", bTombsAt, n, len(atKeys))
	}
}
