package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// (docs/ARCHITECTURE.md, Layout.) Two buckets of their own hold what a manager's follow-up of conflicts
// needs, so that a later change of the redemption records' format leaves
// them alone:
//
//   - shift_conflicts: shift(8) id(8) -> ConflictEntry (encodeEntry: a
//     version byte, then its fields in order as uvarints, varints and
//     uvarint-length-prefixed strings, times as Unix nanoseconds). One entry
//     per redemption in state conflict, kept in the same transaction as
//     the record (like the other indexes), with the few fields a report
//     lists: a shift's conflicts are read without decoding its records,
//     about ten times faster than JSON would be.
//   - conflict_resolutions: id(8) -> Resolution as JSON. What the manager
//     did about a conflict, written once by ResolveConflict and never
//     pruned or changed by the redemption's own transitions.
var (
	bShiftConflicts = []byte("shift_conflicts")
	bResolutions    = []byte("conflict_resolutions")
)

// ConflictEntry is one conflict as the per-shift conflict index keeps it.
type ConflictEntry struct {
	ID, ShiftID        uint64
	Code, CardID       string
	CardTitle, Cashier string
	ScannedAt          time.Time // when the cashier scanned it
	AcceptedAt         time.Time // when it was accepted offline (zero if not)
	At                 time.Time // when WeChat's refusal made it a conflict
	Errcode            int       // WeChat's errcode, 0 if none
	Reason, ReasonText string    // machine reason (sync.Reason), the engine's words (English)
	WeChatStatus       string
	AfterClose         bool // became a conflict after its shift closed
	// Resolution is filled in by the readers from conflict_resolutions
	// (never stored in the index).
	Resolution *Resolution
}

// Resolution is what a manager recorded of a conflict: who, when, what.
type Resolution struct {
	ID   uint64    `json:"id"` // the redemption
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note"`
}

// Limits of a resolution's fields.
const (
	MaxResolutionNote = 500 // characters
	MaxResolutionBy   = 64
)

// ErrResolved is returned by ResolveConflict for a conflict already resolved.
var ErrResolved = fmt.Errorf("store: conflict already resolved")

func conflictEntry(r Redemption) ConflictEntry {
	at := r.FinishedAt
	if at.IsZero() {
		at = r.UpdatedAt
	}
	return ConflictEntry{ID: r.ID, ShiftID: r.ShiftID, Code: r.Code, CardID: r.CardID, CardTitle: r.CardTitle, Cashier: r.Cashier,
		ScannedAt: r.CreatedAt, AcceptedAt: r.OfflineAcceptedAt, At: at, Errcode: r.Errcode, Reason: r.Reason,
		ReasonText: r.ReasonText, WeChatStatus: r.WeChatStatus, AfterClose: r.SettledAfterClose}
}

// indexConflict adds (or removes) r's entry in the per-shift conflict
// index when r is a conflict. A journal opened read-only from before the
// index (schema 3) has no bucket; it is never written then.
func indexConflict(tx *bolt.Tx, r Redemption, add bool) error {
	if r.State != Conflict {
		return nil
	}
	b := tx.Bucket(bShiftConflicts)
	if !add {
		return b.Delete(k2(r.ShiftID, r.ID))
	}
	return b.Put(k2(r.ShiftID, r.ID), encodeEntry(conflictEntry(r)))
}

// entryVersion is the first byte of an encoded ConflictEntry.
const entryVersion = 1

// unixNano and fromUnixNano are the Unix-nanosecond times of the store's
// encodings (format 2 records, conflict entries, tombstones), the zero
// time as 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// encodeEntry writes e in the shift_conflicts format (see the top of this file).
func encodeEntry(e ConflictEntry) []byte {
	b := make([]byte, 0, 96+len(e.Code)+len(e.CardID)+len(e.CardTitle)+len(e.Cashier)+len(e.Reason)+len(e.ReasonText)+len(e.WeChatStatus))
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, e.ID)
	b = binary.AppendUvarint(b, e.ShiftID)
	for _, s := range []string{e.Code, e.CardID, e.CardTitle, e.Cashier} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, t := range []time.Time{e.ScannedAt, e.AcceptedAt, e.At} {
		b = binary.AppendVarint(b, unixNano(t))
	}
	b = binary.AppendVarint(b, int64(e.Errcode))
	for _, s := range []string{e.Reason, e.ReasonText, e.WeChatStatus} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if e.AfterClose {
		return append(b, 1)
	}
	return append(b, 0)
}

var errEntry = errors.New("damaged conflict index entry")

// decodeEntry reads what encodeEntry wrote.
func decodeEntry(b []byte) (ConflictEntry, error) {
	var e ConflictEntry
	if len(b) < 1 || b[0] != entryVersion {
		return e, errEntry
	}
	r := varReader{b: b[1:]}
	e.ID, e.ShiftID = r.uv(), r.uv()
	e.Code, e.CardID, e.CardTitle, e.Cashier = r.str(), r.str(), r.str(), r.str()
	e.ScannedAt, e.AcceptedAt, e.At = fromUnixNano(r.sv()), fromUnixNano(r.sv()), fromUnixNano(r.sv())
	e.Errcode = int(r.sv())
	e.Reason, e.ReasonText, e.WeChatStatus = r.str(), r.str(), r.str()
	if r.bad || len(r.b) != 1 || r.b[0] > 1 {
		return ConflictEntry{}, errEntry
	}
	e.AfterClose = r.b[0] == 1
	return e, nil
}

// migrateShiftConflicts is the 3 -> 4 migration: the per-shift conflict
// index is built from the conflicts' records.
func migrateShiftConflicts(tx *bolt.Tx) error {
	prefix := stateKey(Conflict, 0)[:len(Conflict)+1]
	c := tx.Bucket(bByState).Cursor()
	var rs []Redemption
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		if err := indexConflict(tx, r, true); err != nil {
			return err
		}
	}
	return nil
}

func getResolution(tx *bolt.Tx, id uint64) (*Resolution, error) {
	b := tx.Bucket(bResolutions)
	if b == nil {
		return nil, nil
	}
	var res Resolution
	ok, err := getJSON(b, u64(id), &res)
	if err != nil || !ok {
		return nil, err
	}
	return &res, nil
}

// ShiftConflicts returns the conflicts of shift id in ID order, each with
// its resolution if any, from the per-shift conflict index: O(the shift's
// conflicts), without decoding a redemption record. A journal opened
// read-only from before the index falls back to the shift's records.
func (db *DB) ShiftConflicts(id uint64) ([]ConflictEntry, error) {
	var out []ConflictEntry
	err := db.b.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bShiftConflicts)
		if b == nil {
			c := tx.Bucket(bByShift).Cursor()
			prefix := u64(id)
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				r, err := getRed(tx, binary.BigEndian.Uint64(k[8:]))
				if err != nil {
					return err
				}
				if r.State == Conflict {
					out = append(out, conflictEntry(r))
				}
			}
		} else {
			c := b.Cursor()
			prefix := u64(id)
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				e, err := decodeEntry(v)
				if err != nil {
					return fmt.Errorf("store: damaged entry %x in %s: %w", k, bShiftConflicts, err)
				}
				out = append(out, e)
			}
		}
		for i := range out {
			res, err := getResolution(tx, out[i].ID)
			if err != nil {
				return err
			}
			out[i].Resolution = res
		}
		return nil
	})
	return out, err
}

// Conflict returns redemption id's conflict entry and resolution, or
// ErrNotFound when id is not a conflict.
func (db *DB) Conflict(id uint64) (ConflictEntry, error) {
	var e ConflictEntry
	err := db.b.View(func(tx *bolt.Tx) error {
		r, err := getRed(tx, id)
		if err != nil {
			return err
		}
		if r.State != Conflict {
			return fmt.Errorf("%w: redemption %d is %s, not a conflict", ErrNotFound, id, r.State)
		}
		e = conflictEntry(r)
		e.Resolution, err = getResolution(tx, id)
		return err
	})
	return e, err
}

// ResolveConflict records what the manager did about conflict id: by
// (who) and note (what), at the store's clock. It fails with ErrInvalid
// for an empty or overlong by or note, ErrNotFound when id is not a
// conflict, and ErrResolved when it already has a resolution (which is
// kept). Resolving changes neither the redemption nor its counters.
func (db *DB) ResolveConflict(id uint64, by, note string) (Resolution, error) {
	by, note = strings.TrimSpace(by), strings.TrimSpace(note)
	switch {
	case by == "":
		return Resolution{}, fmt.Errorf("%w: say who resolved the conflict", ErrInvalid)
	case note == "":
		return Resolution{}, fmt.Errorf("%w: say what was done (a note)", ErrInvalid)
	case utf8.RuneCountInString(by) > MaxResolutionBy:
		return Resolution{}, fmt.Errorf("%w: the name is longer than %d characters", ErrInvalid, MaxResolutionBy)
	case utf8.RuneCountInString(note) > MaxResolutionNote:
		return Resolution{}, fmt.Errorf("%w: the note is longer than %d characters", ErrInvalid, MaxResolutionNote)
	case !utf8.ValidString(by) || !utf8.ValidString(note) || strings.ContainsFunc(by+note, isControl):
		return Resolution{}, fmt.Errorf("%w: the name and note must be plain text", ErrInvalid)
	}
	var res Resolution
	err := db.b.Update(func(tx *bolt.Tx) error {
		r, err := getRed(tx, id)
		if err != nil {
			return err
		}
		if r.State != Conflict {
			return fmt.Errorf("%w: redemption %d is %s, not a conflict", ErrNotFound, id, r.State)
		}
		if old, err := getResolution(tx, id); err != nil {
			return err
		} else if old != nil {
			return fmt.Errorf("%w: #%d by %s at %s", ErrResolved, id, old.By, old.At.Format(time.RFC3339))
		}
		res = Resolution{ID: id, By: by, At: db.now(), Note: note}
		return putJSON(tx.Bucket(bResolutions), u64(id), res)
	})
	return res, err
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// CountResolved returns how many conflicts have a resolution (O(1)).
func (db *DB) CountResolved() (int, error) {
	n := 0
	err := db.b.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bResolutions); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// checkConflictIndex compares the per-shift conflict index with the
// conflicts the records say (want, by index key), and checks every
// resolution belongs to a conflict.
func checkConflictIndex(tx *bolt.Tx, want map[string]ConflictEntry, add func(string, ...any)) {
	got := 0
	_ = tx.Bucket(bShiftConflicts).ForEach(func(k, v []byte) error {
		got++
		w, ok := want[string(k)]
		if !ok {
			add("%s index: stray entry %x", bShiftConflicts, k)
			return nil
		}
		if _, err := decodeEntry(v); err != nil {
			add("%s index: entry %x: %v", bShiftConflicts, k, err)
			return nil
		}
		if !bytes.Equal(v, encodeEntry(w)) {
			add("%s index: entry %x differs from its record %d", bShiftConflicts, k, w.ID)
		}
		return nil
	})
	if got != len(want) {
		add("%s index has %d entries, records say %d", bShiftConflicts, got, len(want))
	}
	ids := map[uint64]bool{}
	for _, e := range want {
		ids[e.ID] = true
	}
	_ = tx.Bucket(bResolutions).ForEach(func(k, _ []byte) error {
		if len(k) != 8 || !ids[binary.BigEndian.Uint64(k)] {
			add("%s: entry %x is not of a conflict", bResolutions, k)
		}
		return nil
	})
}

// Resolution returns conflict id's resolution, nil while it has none.
func (db *DB) Resolution(id uint64) (*Resolution, error) {
	var res *Resolution
	err := db.b.View(func(tx *bolt.Tx) (err error) { res, err = getResolution(tx, id); return })
	return res, err
}
