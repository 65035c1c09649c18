package store

import (
	"encoding/binary"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Fleet reports (docs/ARCHITECTURE.md, "Fleet reports"): what a till tells
// its hub waits in the journal until the hub confirms it. The Z reports
// (closed shifts) and the conflicts with their resolutions are already in
// the journal; what the fleet side adds is the hub's confirmations, one
// small key each in the meta bucket ("fleet." kind id(8)), so no bucket or
// schema of its own is needed and a crash between sending and recording a
// confirmation only sends the report again (the hub stores it once).
// Heartbeats are built from the till's state when sent, never queued.

// Fleet item kinds.
const (
	FleetZ        = "z"
	FleetConflict = "conflict"
)

// FleetItem is one report the hub has not confirmed.
type FleetItem struct {
	Kind     string
	At       time.Time      // when it happened: the shift's close, the conflict, its resolution
	Shift    *Shift         // FleetZ
	Conflict *ConflictEntry // FleetConflict, with its Resolution if any
}

// acks in the meta bucket: "fleet.z" shift(8) -> 1; "fleet.c" id(8) -> 1
// (confirmed open) or 2 (confirmed with its resolution).
const (
	ackOpen     = 1
	ackResolved = 2
)

func fleetKey(kind string, id uint64) []byte {
	k := "fleet.z"
	if kind == FleetConflict {
		k = "fleet.c"
	}
	return binary.BigEndian.AppendUint64([]byte(k), id)
}

// FleetPending returns up to limit (0: all) reports the hub has not
// confirmed, oldest first, and how many wait in all. It reads every
// shift's and conflict's key and decodes only those pending: O(shifts +
// conflicts) lookups, once a report interval.
func (db *DB) FleetPending(limit int) ([]FleetItem, int, error) {
	var out []FleetItem
	err := db.b.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		c := tx.Bucket(bShifts).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 8 || meta.Get(fleetKey(FleetZ, binary.BigEndian.Uint64(k))) != nil {
				continue
			}
			s, err := readShift(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			if s.Open() || s.Z == nil {
				continue
			}
			out = append(out, FleetItem{Kind: FleetZ, At: s.ClosedAt, Shift: &s})
		}
		b := tx.Bucket(bShiftConflicts)
		if b == nil {
			return nil
		}
		cc := b.Cursor()
		for k, v := cc.First(); k != nil; k, v = cc.Next() {
			if len(k) != 16 {
				continue
			}
			id := binary.BigEndian.Uint64(k[8:])
			ack := meta.Get(fleetKey(FleetConflict, id))
			if len(ack) == 1 && ack[0] >= ackResolved {
				continue
			}
			res, err := getResolution(tx, id)
			if err != nil {
				return err
			}
			if len(ack) == 1 && res == nil {
				continue
			}
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			e.Resolution = res
			at := e.At
			if len(ack) == 1 && res != nil { // the conflict is there: its resolution is news
				at = res.At
			}
			out = append(out, FleetItem{Kind: FleetConflict, At: at, Conflict: &e})
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	n := len(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, n, nil
}

// FleetAck records that the hub confirmed items (as they were when
// FleetPending returned them), in one transaction.
func (db *DB) FleetAck(items []FleetItem) error {
	if len(items) == 0 {
		return nil
	}
	return db.b.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		for _, it := range items {
			switch it.Kind {
			case FleetZ:
				if err := meta.Put(fleetKey(FleetZ, it.Shift.ID), []byte{ackOpen}); err != nil {
					return err
				}
			case FleetConflict:
				v := byte(ackOpen)
				if it.Conflict.Resolution != nil {
					v = ackResolved
				}
				k := fleetKey(FleetConflict, it.Conflict.ID)
				if old := meta.Get(k); len(old) == 1 && old[0] > v {
					v = old[0]
				}
				if err := meta.Put(k, []byte{v}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// OldestWaiting returns when the oldest redemption still waiting for
// WeChat (queued, consuming or in doubt) was scanned, false when none
// waits: O(1) per state (the state index is in id order).
func (db *DB) OldestWaiting() (time.Time, bool, error) {
	var oldest time.Time
	found := false
	for _, s := range []State{Queued, Consuming, InDoubt} {
		rs, err := db.Find(Query{Index: ByState, State: s, Limit: 1})
		if err != nil {
			return time.Time{}, false, err
		}
		if len(rs) == 1 && (!found || rs[0].CreatedAt.Before(oldest)) {
			oldest, found = rs[0].CreatedAt, true
		}
	}
	return oldest, found, nil
}
