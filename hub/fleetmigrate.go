package hub

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
)

// The fleet reports in MigrateToPG: every till's latest heartbeat, Z
// reports and conflicts (with resolutions, heard or not) are copied, so HQ
// keeps the fleet's history after the move; rows already in the database
// are kept as they are (a rerun adds nothing).

type fleetDump struct {
	tills     []TillRecord
	shifts    []ShiftRecord
	conflicts []ConflictRecord
}

func (d fleetDump) count() int { return len(d.tills) + len(d.shifts) + len(d.conflicts) }

func (s *BoltStore) dumpFleet() (fleetDump, error) {
	var d fleetDump
	err := s.db.View(func(tx *bolt.Tx) error {
		each := func(bucket []byte, fn func(v []byte) error) error {
			b := tx.Bucket(bucket)
			if b == nil { // a file opened read-only before its migration to schema 3
				return nil
			}
			return b.ForEach(func(_, v []byte) error { return fn(v) })
		}
		if err := each(bucketFleetTills, func(v []byte) error {
			var r TillRecord
			err := json.Unmarshal(v, &r)
			d.tills = append(d.tills, r)
			return err
		}); err != nil {
			return err
		}
		if err := each(bucketFleetShifts, func(v []byte) error {
			var r ShiftRecord
			err := json.Unmarshal(v, &r)
			d.shifts = append(d.shifts, r)
			return err
		}); err != nil {
			return err
		}
		return each(bucketFleetConflicts, func(v []byte) error {
			var r ConflictRecord
			err := json.Unmarshal(v, &r)
			d.conflicts = append(d.conflicts, r)
			return err
		})
	})
	if err != nil {
		return fleetDump{}, fmt.Errorf("read the hub file's fleet reports: %w", err)
	}
	return d, nil
}

// copyFleet inserts the fleet records missing in the database.
func copyFleet(ctx context.Context, tx pgx.Tx, d fleetDump) (added int, err error) {
	for _, t := range d.tills {
		hb, err := json.Marshal(t.Heartbeat)
		if err != nil {
			return added, err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO hub_fleet_tills (till, received, at, heartbeat) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			t.Till, t.Received.UTC(), t.At.UTC(), hb)
		if err != nil {
			return added, err
		}
		added += int(tag.RowsAffected())
	}
	for _, s := range d.shifts {
		b, err := json.Marshal(s)
		if err != nil {
			return added, err
		}
		store := s.Store
		if store == "" {
			store = s.Till
		}
		tag, err := tx.Exec(ctx, `INSERT INTO hub_fleet_shifts (till, shift_id, store, closed_at, received, report)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, s.Till, int64(s.ShiftID), store, s.ClosedAt.UTC(), s.Received.UTC(), b)
		if err != nil {
			return added, err
		}
		added += int(tag.RowsAffected())
	}
	for _, c := range d.conflicts {
		b, err := json.Marshal(c)
		if err != nil {
			return added, err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO hub_fleet_conflicts (till, id, at, received, resolved, unheard, report)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, c.Till, int64(c.ID), c.At.UTC(), c.Received.UTC(), c.Resolution != nil, c.Unheard, b)
		if err != nil {
			return added, err
		}
		added += int(tag.RowsAffected())
	}
	return added, nil
}
