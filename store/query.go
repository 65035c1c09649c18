package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Index names an index of redemptions that a Query walks. Each is a
// bucket of keys ending in the redemption's big-endian id, under one key
// of the index (docs/ARCHITECTURE.md, "The journal's records").
type Index uint8

const (
	// ByState: by_state, state 0 id. The key is Query.State.
	ByState Index = iota + 1
	// ConsumedByReason: consumed_by_reason, reason 0 id, the consumed
	// redemptions by their Reason. The key is Query.Reason.
	ConsumedByReason
	// ByShift: by_shift, shift(8) id, a shift's redemptions. The key is
	// Query.Shift.
	ByShift
	// Outbox: outbox, due(8) id, what waits for WeChat (queued, consuming,
	// in doubt) by when it is due; Query.Until bounds it.
	Outbox
)

// A Query is one walk of one index: the redemptions under its key, in the
// index's order (ids ascending; the outbox by due time), oldest first or,
// with Newest, newest first. It reads only the keys it returns (and, for
// Count, the keys it counts): never the rest of the journal.
type Query struct {
	Index  Index
	State  State     // ByState
	Reason string    // ConsumedByReason
	Shift  uint64    // ByShift
	Until  time.Time // Outbox: only what is due by then (zero: all of it)
	After  uint64    // ByState, ConsumedByReason, ByShift: only ids greater than After
	Newest bool      // newest (last) first
	Limit  int       // at most this many (0: all)
}

// ErrQuery is matched by errors.Is for a Query that names no index or
// mixes in a field of another one.
var ErrQuery = errors.New("store: bad query")

// bounds returns q's bucket and its keys' range: every key with prefix,
// from lo (inclusive; nil: the first) to past (exclusive; nil: the last).
func (q Query) bounds() (bucket, prefix, lo, past []byte, err error) {
	named := func(b []byte, name string) {
		bucket, prefix = b, append([]byte(name), 0)
		past = append([]byte(name), 1) // just after every key of name
	}
	switch q.Index {
	case ByState:
		named(bByState, string(q.State))
	case ConsumedByReason:
		named(bConsumedBy, q.Reason)
	case ByShift:
		bucket, prefix = bByShift, u64(q.Shift)
		if q.Shift < ^uint64(0) {
			past = u64(q.Shift + 1)
		}
	case Outbox:
		if q.After != 0 {
			return nil, nil, nil, nil, fmt.Errorf("%w: After does not apply to the outbox", ErrQuery)
		}
		bucket = bOutbox
		// keys due by Until, whatever their id; a time past the last an
		// outbox key holds (the year 2262: its UnixNano would wrap) bounds
		// nothing, one before 1970 is the clamped 0 of dueKey
		if !q.Until.IsZero() && !q.Until.After(maxTime) {
			past = append(dueKey(q.Until, ^uint64(0)), 0)
		}
		return bucket, nil, nil, past, nil
	default:
		return nil, nil, nil, nil, fmt.Errorf("%w: no index %d", ErrQuery, q.Index)
	}
	if !q.Until.IsZero() {
		return nil, nil, nil, nil, fmt.Errorf("%w: Until applies to the outbox only", ErrQuery)
	}
	lo = prefix
	switch {
	case q.After == ^uint64(0):
		// nothing is greater: a lo past every key of prefix and an id (past
		// is nil for the last shift, which would bound nothing)
		lo = append(append(bytes.Clone(prefix), u64(q.After)...), 0)
	case q.After > 0:
		lo = append(bytes.Clone(prefix), u64(q.After+1)...)
	}
	return bucket, prefix, lo, past, nil
}

// walk calls fn with the id of each key of q in q's order, up to its
// Limit, until fn returns false or an error.
func (q Query) walk(tx *bolt.Tx, fn func(id uint64) (bool, error)) error {
	bucket, prefix, lo, past, err := q.bounds()
	if err != nil {
		return err
	}
	in := func(k []byte) bool {
		return k != nil && bytes.HasPrefix(k, prefix) && (lo == nil || bytes.Compare(k, lo) >= 0) && (past == nil || bytes.Compare(k, past) < 0)
	}
	c := tx.Bucket(bucket).Cursor()
	var k []byte
	switch {
	case !q.Newest && lo != nil:
		k, _ = c.Seek(lo)
	case !q.Newest:
		k, _ = c.First()
	case past != nil:
		if k, _ = c.Seek(past); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	default:
		k, _ = c.Last()
	}
	next := c.Next
	if q.Newest {
		next = c.Prev
	}
	// A key of the index's key and an id is exactly this long: a reason
	// holding a 0 byte ("a\x00b") puts its keys inside the range of the
	// reason before it ("a"), and they are skipped, never read as its.
	width := len(prefix) + 8
	if prefix == nil {
		width = 16 // the outbox: due(8) id(8)
	}
	for n := 0; in(k) && (q.Limit <= 0 || n < q.Limit); k, _ = next() {
		if len(k) != width {
			continue
		}
		more, err := fn(binary.BigEndian.Uint64(k[len(k)-8:]))
		if err != nil || !more {
			return err
		}
		n++
	}
	return nil
}

// Find returns the redemptions of q, in one read transaction.
func (db *DB) Find(q Query) ([]Redemption, error) {
	var out []Redemption
	err := db.b.View(func(tx *bolt.Tx) error {
		return q.walk(tx, func(id uint64) (bool, error) {
			r, err := getRed(tx, id)
			if err != nil {
				return false, err
			}
			out = append(out, r)
			return true, nil
		})
	})
	return out, err
}

// Count returns how many redemptions q has (at most its Limit), walking
// only its keys; a whole state's count is read from state_counts
// (statecounts.go), one key however many the state has.
func (db *DB) Count(q Query) (int, error) {
	n, err := db.Counts(q)
	if err != nil {
		return 0, err
	}
	return n[0], nil
}

// Counts is Count of several queries, in one read transaction (so the
// figures agree with each other).
func (db *DB) Counts(qs ...Query) ([]int, error) {
	out := make([]int, len(qs))
	err := db.b.View(func(tx *bolt.Tx) error {
		for i, q := range qs {
			if _, _, _, _, err := q.bounds(); err != nil {
				return err
			}
			if q.Index == ByState && q.After == 0 && q.Limit == 0 {
				out[i] = stateCounts(tx, []State{q.State})[q.State] // kept, not walked: statecounts.go
				continue
			}
			if err := q.walk(tx, func(uint64) (bool, error) { out[i]++; return true, nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
