package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
)

// MigrateReport says what MigrateToPG copied.
type MigrateReport struct {
	Events, Feed, Terminals, Nonces  int // in the bbolt file
	NewEvents, NewFeed, NewTerminals int // of those, not yet in the database
	Accounts, NewAccounts            int // the dashboard's (accountmigrate.go)
	Fleet, NewFleet                  int // the tills' reports: heartbeats, Z reports, conflicts (fleetmigrate.go)
}

type boltDump struct {
	events    []EventRecord
	dedup     map[uint64][]byte // event seq -> dedup key
	feed      []dumpFeed
	terminals []terminalRecord
	nonces    [][2][]byte
}

type dumpFeed struct {
	seq  uint64
	item []byte
}

func (s *BoltStore) dump() (*boltDump, error) {
	d := &boltDump{dedup: map[uint64][]byte{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			var r EventRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			d.events = append(d.events, r)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDedup).ForEach(func(k, v []byte) error {
			d.dedup[binary.BigEndian.Uint64(v)] = bytes.Clone(k)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketFeed).ForEach(func(k, v []byte) error {
			d.feed = append(d.feed, dumpFeed{binary.BigEndian.Uint64(k), bytes.Clone(v)})
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketTerminals).ForEach(func(_, v []byte) error {
			var r terminalRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			d.terminals = append(d.terminals, r)
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketNonces).ForEach(func(k, v []byte) error {
			d.nonces = append(d.nonces, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read the hub file: %w", err)
	}
	for _, e := range d.events {
		if d.dedup[e.Seq] == nil {
			return nil, fmt.Errorf("read the hub file: %w: event %d has no dedup record", ErrInconsistent, e.Seq)
		}
	}
	return d, nil
}

// ErrMigrateConflict: the database holds hub data that is not the file's
// (another hub's, or a different file's): MigrateToPG changes nothing.
var ErrMigrateConflict = errors.New("the database holds other hub data: migrate into an empty database, or the one this file was migrated to before")

// MigrateToPG copies a bbolt hub's data into PostgreSQL, in one
// transaction, and checks it there before committing. It keeps event
// sequences and feed positions (feed rows get xid 0 and the file's feed
// sequence as id), so the tills' feed cursors stay valid. It is idempotent:
// run again, it copies only what is missing; data in the database that
// contradicts the file (an event or terminal of the same id or name that
// differs) is refused with ErrMigrateConflict and nothing is written.
func MigrateToPG(src *BoltStore, dst *PGStore) (MigrateReport, error) {
	d, err := src.dump()
	if err != nil {
		return MigrateReport{}, err
	}
	accs, err := src.dumpAccounts()
	if err != nil {
		return MigrateReport{}, err
	}
	fleet, err := src.dumpFleet()
	if err != nil {
		return MigrateReport{}, err
	}
	rep := MigrateReport{Events: len(d.events), Feed: len(d.feed), Terminals: len(d.terminals), Nonces: len(d.nonces), Accounts: len(accs), Fleet: fleet.count()}
	ctx, cancel := context.WithTimeout(context.Background(), pgOpTimeout*30)
	defer cancel()
	if err := dst.ensureReady(ctx); err != nil {
		return rep, err
	}
	err = pgx.BeginFunc(ctx, dst.pool, func(tx pgx.Tx) error {
		rep.NewEvents, rep.NewFeed, rep.NewTerminals, rep.NewAccounts, rep.NewFleet = 0, 0, 0, 0, 0
		for _, e := range d.events {
			tag, err := tx.Exec(ctx, `INSERT INTO hub_events (seq, received, mode, event, notice, raw, dedup_key)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
				int64(e.Seq), e.Received.UTC(), e.Mode, e.Event, e.Notice, e.Raw, d.dedup[e.Seq])
			if err != nil {
				return err
			}
			rep.NewEvents += int(tag.RowsAffected())
			var raw string
			var key []byte
			err = tx.QueryRow(ctx, "SELECT raw, dedup_key FROM hub_events WHERE seq = $1", int64(e.Seq)).Scan(&raw, &key)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && (raw != e.Raw || !bytes.Equal(key, d.dedup[e.Seq]))) {
				return fmt.Errorf("%w (event %d differs)", ErrMigrateConflict, e.Seq)
			}
			if err != nil {
				return err
			}
		}
		for _, f := range d.feed {
			var it FeedItem
			if err := json.Unmarshal(f.item, &it); err != nil {
				return fmt.Errorf("feed item %d: %w", f.seq, err)
			}
			tag, err := tx.Exec(ctx, "INSERT INTO hub_feed (xid, id, event_seq, item) VALUES ('0'::xid8, $1, $2, $3) ON CONFLICT DO NOTHING",
				int64(f.seq), int64(it.Event), string(f.item))
			if err != nil {
				return err
			}
			rep.NewFeed += int(tag.RowsAffected())
			var got []byte
			if err := tx.QueryRow(ctx, "SELECT item FROM hub_feed WHERE xid = '0'::xid8 AND id = $1", int64(f.seq)).Scan(&got); err != nil {
				return err
			}
			var back FeedItem
			if err := json.Unmarshal(got, &back); err != nil {
				return err
			}
			a, _ := json.Marshal(it)
			b, _ := json.Marshal(back)
			if !bytes.Equal(a, b) {
				return fmt.Errorf("%w (feed item %d differs)", ErrMigrateConflict, f.seq)
			}
		}
		for _, t := range d.terminals {
			tag, err := tx.Exec(ctx, "INSERT INTO hub_terminals (name, created, key_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
				t.Name, t.Created.UTC(), t.KeyHash)
			if err != nil {
				return err
			}
			rep.NewTerminals += int(tag.RowsAffected())
			var hash []byte
			err = tx.QueryRow(ctx, "SELECT key_hash FROM hub_terminals WHERE name = $1", t.Name).Scan(&hash)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && !bytes.Equal(hash, t.KeyHash)) {
				return fmt.Errorf("%w (terminal %q has another key there)", ErrMigrateConflict, t.Name)
			}
			if err != nil {
				return err
			}
		}
		if rep.NewAccounts, err = copyAccounts(ctx, tx, accs); err != nil {
			return err
		}
		if rep.NewFleet, err = copyFleet(ctx, tx, fleet); err != nil {
			return err
		}
		for _, n := range d.nonces {
			ts := int64(binary.BigEndian.Uint64(n[0][:8]))
			if _, err := tx.Exec(ctx, "INSERT INTO hub_nonces (ts, nonce, body_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", ts, string(n[0][8:]), n[1]); err != nil {
				return err
			}
		}
		// New rows must not take the copied ids.
		for _, q := range []string{
			"SELECT setval(pg_get_serial_sequence('hub_events', 'seq'), greatest((SELECT max(seq) FROM hub_events), 1))",
			"SELECT setval(pg_get_serial_sequence('hub_feed', 'id'), greatest((SELECT max(id) FROM hub_feed), 1))",
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		// Checked: the database now holds at least the file's rows.
		var events, feed int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM hub_events WHERE seq <= $1", maxSeq(d)).Scan(&events); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM hub_feed WHERE xid = '0'::xid8").Scan(&feed); err != nil {
			return err
		}
		if events < len(d.events) || feed != len(d.feed) {
			return fmt.Errorf("check after copying: %d events and %d feed items in the database, the file has %d and %d", events, feed, len(d.events), len(d.feed))
		}
		return nil
	})
	dst.health(err)
	if err != nil {
		return rep, fmt.Errorf("migrate store: %w", err)
	}
	return rep, nil
}

func maxSeq(d *boltDump) int64 {
	var m uint64
	for _, e := range d.events {
		m = max(m, e.Seq)
	}
	return int64(m)
}
