package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// (docs/ARCHITECTURE.md, "Manager override of the offline limit".) A
// manager's override of a shift's offline limit is kept in a bucket of its
// own:
//
//   - offline_overrides: shift(8) seq(8) -> OfflineOverride as JSON.
//     Written once by AddOfflineOverride while the shift is open, never
//     changed. The transition that accepts a redemption offline with
//     Change.MaxOfflineInShift set adds the Extra of every override of
//     the redemption's shift to the limit, in the same transaction, so the
//     limit a commit checks is always the configured one plus what the
//     journal says managers allowed.
//
// The bucket needs no new schema: it is created (empty) at every writable
// open, a journal without it has no overrides, and a cardtill from before
// it ignores it, which only keeps the lower, configured limit.
var bOverrides = []byte("offline_overrides")

// OfflineOverride is a manager's permission to accept Extra more
// redemptions offline in a shift beyond its configured limit.
type OfflineOverride struct {
	ShiftID uint64    `json:"shift_id"`
	Seq     uint64    `json:"seq"`     // 1, 2, ... within the shift
	By      string    `json:"by"`      // the manager ("manager" when no name is configured)
	Cashier string    `json:"cashier"` // on shift when it was allowed
	Extra   int       `json:"extra"`
	At      time.Time `json:"at"`
	// Limit is the shift's effective limit before this override
	// (configured + earlier overrides), as the caller saw it.
	Limit int `json:"limit"`
}

// MaxOverrideExtra bounds one override's Extra.
const MaxOverrideExtra = 1000

// AddOfflineOverride journals o for the open shift o.ShiftID in one
// transaction, at the store's clock, with the next Seq of the shift; the
// shift's cashier is recorded when o.Cashier is empty. It fails with
// ErrInvalid for an Extra outside 1..MaxOverrideExtra or an empty,
// overlong or non-plain By, ErrNotFound for an unknown shift and
// ErrShiftClosed for a closed one; then nothing changes.
func (db *DB) AddOfflineOverride(o OfflineOverride) (OfflineOverride, error) {
	o.By = strings.TrimSpace(o.By)
	switch {
	case o.Extra < 1 || o.Extra > MaxOverrideExtra:
		return OfflineOverride{}, fmt.Errorf("%w: an override allows 1 to %d more, not %d", ErrInvalid, MaxOverrideExtra, o.Extra)
	case o.By == "":
		return OfflineOverride{}, fmt.Errorf("%w: say who allowed the override", ErrInvalid)
	case utf8.RuneCountInString(o.By) > MaxResolutionBy || utf8.RuneCountInString(o.Cashier) > MaxResolutionBy:
		return OfflineOverride{}, fmt.Errorf("%w: the name is longer than %d characters", ErrInvalid, MaxResolutionBy)
	case !utf8.ValidString(o.By+o.Cashier) || strings.ContainsFunc(o.By+o.Cashier, isControl):
		return OfflineOverride{}, fmt.Errorf("%w: the names must be plain text", ErrInvalid)
	}
	err := db.b.Update(func(tx *bolt.Tx) error {
		s, err := readShift(tx, o.ShiftID)
		if err != nil {
			return err
		}
		if s.ID != o.ShiftID || o.ShiftID == 0 {
			return fmt.Errorf("%w: shift #%d", ErrNotFound, o.ShiftID)
		}
		if !s.Open() {
			return fmt.Errorf("%w: shift #%d closed at %s", ErrShiftClosed, s.ID, s.ClosedAt.Format(time.DateTime))
		}
		if o.Cashier == "" {
			o.Cashier = s.Cashier
		}
		b := tx.Bucket(bOverrides)
		o.Seq = 1
		c := b.Cursor()
		k, _ := c.Seek(u64(o.ShiftID + 1))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		if len(k) == 16 && binary.BigEndian.Uint64(k[:8]) == o.ShiftID {
			o.Seq = binary.BigEndian.Uint64(k[8:]) + 1
		}
		o.At = db.now()
		return putJSON(b, k2(o.ShiftID, o.Seq), o)
	})
	if err != nil {
		return OfflineOverride{}, err
	}
	return o, nil
}

// OfflineOverrides returns the overrides of a shift, oldest first.
func (db *DB) OfflineOverrides(shift uint64) ([]OfflineOverride, error) {
	var out []OfflineOverride
	err := db.b.View(func(tx *bolt.Tx) error {
		return eachOverride(tx, shift, func(o OfflineOverride) { out = append(out, o) })
	})
	return out, err
}

// overrideExtra sums the Extra of a shift's overrides.
func overrideExtra(tx *bolt.Tx, shift uint64) (int, error) {
	n := 0
	err := eachOverride(tx, shift, func(o OfflineOverride) { n += o.Extra })
	return n, err
}

func eachOverride(tx *bolt.Tx, shift uint64, fn func(OfflineOverride)) error {
	b := tx.Bucket(bOverrides)
	if b == nil { // a journal opened read-only, last written before the bucket
		return nil
	}
	c := b.Cursor()
	prefix := u64(shift)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var o OfflineOverride
		if _, err := getJSON(b, k, &o); err != nil {
			return fmt.Errorf("store: damaged entry %x in %s: %w", k, bOverrides, err)
		}
		fn(o)
	}
	return nil
}

// checkOverrides checks every override's key, record and shift.
func checkOverrides(tx *bolt.Tx, add func(string, ...any)) {
	b := tx.Bucket(bOverrides)
	if b == nil {
		return
	}
	_ = b.ForEach(func(k, _ []byte) error {
		if len(k) != 16 {
			add("%s: key %x is not shift(8) seq(8)", bOverrides, k)
			return nil
		}
		var o OfflineOverride
		if _, err := getJSON(b, k, &o); err != nil {
			add("%s: entry %x: %v", bOverrides, k, err)
			return nil
		}
		if o.ShiftID != binary.BigEndian.Uint64(k[:8]) || o.Seq != binary.BigEndian.Uint64(k[8:]) || o.Extra < 1 {
			add("%s: entry %x holds shift %d seq %d extra %d", bOverrides, k, o.ShiftID, o.Seq, o.Extra)
		}
		if s, err := readShift(tx, o.ShiftID); err != nil || s.ID != o.ShiftID {
			add("%s: entry %x is of shift %d, which does not exist", bOverrides, k, o.ShiftID)
		}
		return nil
	})
}
