package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The fleet reports in PostgreSQL (pgmigrations/0002_fleet.sql). The
// primary keys decide retries across hubs: a Z report or a conflict
// inserted by two hubs at once is stored once (ON CONFLICT), a
// heartbeat's upsert keeps the one received last.

const sqlHeartbeat = `INSERT INTO hub_fleet_tills (till, received, at, heartbeat) VALUES ($1, $2, $3, $4)
	ON CONFLICT (till) DO UPDATE SET received = EXCLUDED.received, at = EXCLUDED.at, heartbeat = EXCLUDED.heartbeat`

// AddFleet stores a till's batch in one transaction (a lone heartbeat, the
// usual batch, in one statement).
func (s *PGStore) AddFleet(till string, received time.Time, reps []FleetReport) (stored, dup int, err error) {
	received = received.UTC()
	if len(reps) == 1 && reps[0].Kind == KindHeartbeat {
		hb, err := json.Marshal(reps[0].Heartbeat)
		if err != nil {
			return 0, 0, err
		}
		err = s.call(func(ctx context.Context) error {
			tag, err := s.pool.Exec(ctx, sqlHeartbeat, till, received, reps[0].At.UTC(), hb)
			stored, dup = 0, 1
			if err == nil && tag.RowsAffected() == 1 {
				stored, dup = 1, 0
			}
			return err
		})
		if err != nil {
			return 0, 0, fmt.Errorf("store fleet reports: %w", err)
		}
		return stored, dup, nil
	}
	err = s.call(func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			stored, dup = 0, 0
			for _, r := range reps {
				changed, err := addFleetPG(ctx, tx, till, received, r)
				if err != nil {
					return err
				}
				if changed {
					stored++
				} else {
					dup++
				}
			}
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store fleet reports: %w", err)
	}
	return stored, dup, nil
}

func addFleetPG(ctx context.Context, tx pgx.Tx, till string, received time.Time, r FleetReport) (bool, error) {
	switch r.Kind {
	case KindHeartbeat:
		hb, err := json.Marshal(r.Heartbeat)
		if err != nil {
			return false, err
		}
		tag, err := tx.Exec(ctx, sqlHeartbeat, till, received, r.At.UTC(), hb)
		return err == nil && tag.RowsAffected() == 1, err
	case KindZ:
		rec := ShiftRecord{Till: till, Received: received, ShiftReport: *r.Shift}
		b, err := json.Marshal(rec)
		if err != nil {
			return false, err
		}
		store := r.Shift.Store
		if store == "" {
			store = till
		}
		tag, err := tx.Exec(ctx, `INSERT INTO hub_fleet_shifts (till, shift_id, store, closed_at, received, report)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, till, int64(r.Shift.ShiftID), store, r.Shift.ClosedAt.UTC(), received, b)
		return err == nil && tag.RowsAffected() == 1, err
	case KindConflict:
		c := *r.Conflict
		rec, _ := mergeConflict(nil, till, received, c)
		b, err := json.Marshal(rec)
		if err != nil {
			return false, err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO hub_fleet_conflicts (till, id, at, received, resolved, report)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, till, int64(c.ID), c.At.UTC(), received, c.Resolution != nil, b)
		if err != nil || tag.RowsAffected() == 1 {
			return err == nil, err
		}
		var raw []byte
		if err := tx.QueryRow(ctx, "SELECT report FROM hub_fleet_conflicts WHERE till = $1 AND id = $2 FOR UPDATE", till, int64(c.ID)).Scan(&raw); err != nil {
			return false, err
		}
		old := new(ConflictRecord)
		if err := json.Unmarshal(raw, old); err != nil {
			return false, fmt.Errorf("conflict %s/%d: %w", till, c.ID, err)
		}
		rec, changed := mergeConflict(old, till, received, c)
		if !changed {
			return false, nil
		}
		return true, pgPutConflict(ctx, tx, rec)
	}
	return false, fmt.Errorf("unknown report kind %q", r.Kind)
}

func pgPutConflict(ctx context.Context, tx pgx.Tx, rec ConflictRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "UPDATE hub_fleet_conflicts SET resolved = $3, unheard = $4, report = $5 WHERE till = $1 AND id = $2",
		rec.Till, int64(rec.ID), rec.Resolution != nil, rec.Unheard, b)
	return err
}

// FleetTills lists the tills that reported, by name.
func (s *PGStore) FleetTills() ([]TillRecord, error) {
	var out []TillRecord
	err := s.call(func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, "SELECT till, received, at, heartbeat FROM hub_fleet_tills ORDER BY till")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r TillRecord
			var hb []byte
			if err := rows.Scan(&r.Till, &r.Received, &r.At, &hb); err != nil {
				return err
			}
			if err := json.Unmarshal(hb, &r.Heartbeat); err != nil {
				return fmt.Errorf("till %s: %w", r.Till, err)
			}
			r.Received, r.At = r.Received.UTC(), r.At.UTC()
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list tills: %w", err)
	}
	return out, nil
}

// FleetShifts lists the Z reports q selects, by close time.
func (s *PGStore) FleetShifts(q ShiftQuery) ([]ShiftRecord, error) {
	var from, to, store any
	if !q.From.IsZero() {
		from = q.From.UTC()
	}
	if !q.To.IsZero() {
		to = q.To.UTC()
	}
	if q.Store != "" {
		store = q.Store
	}
	var out []ShiftRecord
	err := s.call(func(ctx context.Context) error {
		var err error
		out, err = jsonRows[ShiftRecord](ctx, s.pool, `SELECT report FROM hub_fleet_shifts
			WHERE ($1::timestamptz IS NULL OR closed_at >= $1) AND ($2::timestamptz IS NULL OR closed_at < $2)
			AND ($3::text IS NULL OR store = $3 OR till = $3)
			ORDER BY closed_at, till, shift_id`, from, to, store)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	sortShifts(out)
	return out, nil
}

// FleetConflicts lists the conflicts (open: unresolved only), by time.
func (s *PGStore) FleetConflicts(open bool) ([]ConflictRecord, error) {
	var out []ConflictRecord
	err := s.call(func(ctx context.Context) error {
		var err error
		out, err = jsonRows[ConflictRecord](ctx, s.pool, "SELECT report FROM hub_fleet_conflicts WHERE NOT ($1 AND resolved) ORDER BY at, till, id", open)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list conflicts: %w", err)
	}
	sortConflicts(out)
	return out, nil
}

// ResolveFleetConflict records HQ's resolution (see BoltStore's).
func (s *PGStore) ResolveFleetConflict(till string, id uint64, res FleetResolution) error {
	if err := checkResolution(res); err != nil {
		return err
	}
	res.AtHQ = true
	return s.call(func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var raw []byte
			err := tx.QueryRow(ctx, "SELECT report FROM hub_fleet_conflicts WHERE till = $1 AND id = $2 FOR UPDATE", till, int64(id)).Scan(&raw)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w: %s #%d", ErrNoConflict, till, id)
			}
			if err != nil {
				return err
			}
			var r ConflictRecord
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			if r.Resolution != nil {
				return fmt.Errorf("%w: %s #%d by %s at %s", ErrConflictResolved, till, id, r.Resolution.By, r.Resolution.At.Format(time.RFC3339))
			}
			r.Resolution, r.Unheard = &res, true
			return pgPutConflict(ctx, tx, r)
		})
	})
}

// HQResolutions are till's conflicts resolved at HQ and not yet heard (a
// partial index: O(those)).
func (s *PGStore) HQResolutions(till string) ([]HQResolution, error) {
	var out []HQResolution
	err := s.call(func(ctx context.Context) error {
		out = out[:0]
		cs, err := jsonRows[ConflictRecord](ctx, s.pool, "SELECT report FROM hub_fleet_conflicts WHERE till = $1 AND unheard ORDER BY id", till)
		for _, r := range cs {
			if r.Resolution != nil {
				out = append(out, HQResolution{ID: r.ID, FleetResolution: *r.Resolution})
			}
		}
		return err
	})
	return out, err
}

// jsonRows runs a query whose one column is a report's JSON and decodes
// each row into a T (none: nil, as the bbolt store's lists).
func jsonRows[T any](ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]T, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.AppendRows([]T(nil), rows, func(row pgx.CollectableRow) (T, error) {
		var raw []byte
		var v T
		if err := row.Scan(&raw); err != nil {
			return v, err
		}
		return v, json.Unmarshal(raw, &v)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ FleetStore = (*PGStore)(nil)
