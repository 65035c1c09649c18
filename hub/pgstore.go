package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"cardtill/wechat"
)

// PGStore keeps the hub in PostgreSQL (hub.database_url), for several hub
// processes behind a load balancer sharing one database. Everything the
// BoltStore keeps lives in its tables (pgmigrations/); uniqueness is by
// constraints, never a read-then-write, so a push and WeChat's retry of it
// landing on two hubs are stored once.
//
// When the database cannot be reached (at start, or mid-run) every call
// fails with an error (a push is then answered 500 and WeChat retries it;
// the server keeps letting in terminals it confirmed recently, so tills
// keep getting the token the hub holds), the pool reconnects by itself, and
// the log says "unreachable" once and "reachable again" once.
type PGStore struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	window time.Duration
	log    *slog.Logger

	noMigrate bool

	readyMu stdsync.Mutex
	ready   atomic.Bool // migrations applied
	down    atomic.Bool // the last call failed to reach the database
	pushes  atomic.Uint64
}

// PGOptions tunes OpenPG.
type PGOptions struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// TimestampWindow is the push codec's (see StoreOptions).
	TimestampWindow time.Duration
	// Logger gets the unreachable / reachable-again lines (discarded when
	// nil).
	Logger *slog.Logger
	// NoMigrate leaves the schema alone (doctor): a database behind this
	// cardtill's schema fails with ErrNotMigrated instead.
	NoMigrate bool
}

// ErrBadDatabaseURL: hub.database_url is not a PostgreSQL URL pgx can
// use. Its message never holds the password.
var ErrBadDatabaseURL = errors.New("not a PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DATABASE)")

//go:embed pgmigrations/*.sql
var pgMigrationFiles embed.FS

// pgMigrateLock is the advisory lock (pg_advisory_lock) held while
// migrations are applied: hubs starting together take turns, and the
// second finds nothing left to do.
const pgMigrateLock = 0x6361726474696c6c // "cardtill"

// pgOpTimeout bounds one call to the database.
const pgOpTimeout = 10 * time.Second

// RedactURL is rawURL with its password replaced by "xxxxx" (for errors
// and logs), or a fixed text when it does not parse as a URL.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a database URL that does not parse)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// redactErr hides whatever the URL's password would show in err.
func redactErr(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
		if pw := u.Query().Get("password"); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return strings.ReplaceAll(msg, rawURL, RedactURL(rawURL))
}

// OpenPG connects to the database at rawURL and applies pending
// migrations. A database that cannot be reached is not an error here: the
// store is returned, its calls fail until the database answers (and apply
// the migrations then). A URL that does not parse, a refused login, or a
// schema newer than this cardtill is an error.
func OpenPG(ctx context.Context, rawURL string, o PGOptions) (*PGStore, error) {
	if !strings.HasPrefix(rawURL, "postgres://") && !strings.HasPrefix(rawURL, "postgresql://") {
		return nil, ErrBadDatabaseURL
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadDatabaseURL, redactErr(err, rawURL))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TimestampWindow <= 0 {
		o.TimestampWindow = wechat.DefaultTimestampWindow
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("hub database %s: %s", RedactURL(rawURL), redactErr(err, rawURL))
	}
	s := &PGStore{pool: pool, now: o.Now, window: o.TimestampWindow, log: o.Logger, noMigrate: o.NoMigrate}
	if err := s.ensureReady(ctx); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) || errors.Is(err, ErrSchemaNewer) || errors.Is(err, ErrNotMigrated) {
			pool.Close()
			return nil, &redacted{msg: "hub database " + RedactURL(rawURL) + ": " + redactErr(err, rawURL), err: err}
		}
		// Unreachable: ensureReady logged it; calls retry.
	}
	return s, nil
}

type pgMigration struct {
	version int
	name    string
	sql     string
}

// pgMigrations reads the embedded NNNN_name.sql files in order.
func pgMigrations() ([]pgMigration, error) {
	ents, err := fs.ReadDir(pgMigrationFiles, "pgmigrations")
	if err != nil {
		return nil, err
	}
	var out []pgMigration
	for _, e := range ents {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name it NNNN_what.sql", e.Name())
		}
		b, err := pgMigrationFiles.ReadFile("pgmigrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, pgMigration{v, e.Name(), string(b)})
	}
	slices.SortFunc(out, func(a, b pgMigration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must run 1, 2, 3... without gaps", m.name)
		}
	}
	return out, nil
}

// PGSchemaVersion is the schema this cardtill writes.
func PGSchemaVersion() int {
	ms, _ := pgMigrations()
	return len(ms)
}

// ensureReady applies pending migrations once per process, under the
// advisory lock.
func (s *PGStore) ensureReady(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.ready.Load() {
		return nil
	}
	err := s.migrate(ctx)
	s.health(err)
	if err != nil {
		return fmt.Errorf("hub database: migrate: %w", err)
	}
	s.ready.Store(true)
	return nil
}

func (s *PGStore) migrate(ctx context.Context) error {
	ms, err := pgMigrations()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(pgMigrateLock)); err != nil {
		return err
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", int64(pgMigrateLock)); err != nil {
			conn.Conn().Close(uctx) // the lock goes with the session
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS hub_schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	var have int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM hub_schema_migrations").Scan(&have); err != nil {
		return err
	}
	if have > len(ms) {
		return &SchemaError{Where: "database", Have: have, Want: len(ms)}
	}
	if s.noMigrate && have < len(ms) {
		return &SchemaError{Where: "database", Have: have, Want: len(ms)}
	}
	for _, m := range ms[have:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			_, err := tx.Exec(ctx, "INSERT INTO hub_schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return err
		}
		s.log.Info("hub database migrated", "version", m.version, "migration", m.name)
	}
	return nil
}

// isConnErr: err means the database was not reached (or dropped), as
// opposed to an answer of the server or a refusal of ours.
func isConnErr(err error) bool {
	if err == nil || errors.Is(err, ErrReplayed) || errors.Is(err, ErrTerminalExists) || errors.Is(err, ErrNotMigrated) || errors.Is(err, ErrSchemaNewer) ||
		errors.Is(err, ErrNoTerminal) || errors.Is(err, ErrBadCursor) || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08 (connection exception), 57P (operator intervention:
		// shutdown, crash) and 53 (insufficient resources) are outages.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "53")
	}
	return true
}

// health logs the first failure to reach the database and the first
// success after it, once each.
func (s *PGStore) health(err error) {
	switch {
	case err == nil || !isConnErr(err):
		if err == nil && s.down.CompareAndSwap(true, false) {
			s.log.Info("hub database reachable again")
		}
	case s.down.CompareAndSwap(false, true):
		s.log.Error("hub database unreachable: pushes are answered 500 (WeChat retries them), tills get the token for keys confirmed lately; reconnecting by itself", "err", err)
	}
}

// call runs fn with a bounded context once the schema is ready, and
// records whether the database answered.
func (s *PGStore) call(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgOpTimeout)
	defer cancel()
	if err := s.ensureReady(ctx); err != nil {
		return err
	}
	err := fn(ctx)
	s.health(err)
	return err
}

// Close closes the pool.
func (s *PGStore) Close() error {
	s.pool.Close()
	return nil
}

// AddEvent stores a verified push in one transaction (see
// BoltStore.AddEvent). The unique constraints on hub_nonces (ts, nonce) and
// hub_events (dedup_key) decide, across hubs: the second of two concurrent
// inserts waits for the first's commit, then finds its row.
func (s *PGStore) AddEvent(p *wechat.Push) (seq uint64, dup bool, err error) {
	h := p.Event.Head()
	key := dedupKey(h.DedupKey(), h.Raw)
	sum := sha256.Sum256(h.Raw)
	now := s.now()
	items := feedItems(p.Event)
	err = s.call(func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			seq, dup = 0, false
			if p.Timestamp != 0 {
				tag, err := tx.Exec(ctx, "INSERT INTO hub_nonces (ts, nonce, body_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", p.Timestamp, p.Nonce, sum[:])
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					var got []byte
					if err := tx.QueryRow(ctx, "SELECT body_hash FROM hub_nonces WHERE ts = $1 AND nonce = $2", p.Timestamp, p.Nonce).Scan(&got); err != nil {
						return err
					}
					if !bytes.Equal(got, sum[:]) {
						return ErrReplayed
					}
				}
			}
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO hub_events (received, mode, event, notice, raw, dedup_key)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key) DO NOTHING RETURNING seq`,
				now.UTC(), p.Mode.String(), h.Event, IsNotice(h.Event), string(h.Raw), key).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				dup = true
				if err := tx.QueryRow(ctx, "SELECT seq FROM hub_events WHERE dedup_key = $1", key).Scan(&id); err != nil {
					return err
				}
				seq = uint64(id)
				return nil
			}
			if err != nil {
				return err
			}
			seq = uint64(id)
			for _, it := range items {
				it.Event = seq
				b, err := json.Marshal(it)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "INSERT INTO hub_feed (event_seq, item) VALUES ($1, $2)", id, string(b)); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if errors.Is(err, ErrReplayed) {
		return 0, false, err
	}
	if err != nil {
		return 0, false, fmt.Errorf("store event: %w", err)
	}
	if s.pushes.Add(1)%64 == 0 { // now and then, not on every push
		cut := now.Add(-s.window - nonceKeep).Unix()
		_ = s.call(func(ctx context.Context) error {
			_, err := s.pool.Exec(ctx, "DELETE FROM hub_nonces WHERE ts < $1", cut)
			return err
		})
	}
	return seq, dup, nil
}

// Events lists events (see Store).
func (s *PGStore) Events(since time.Time, limit int) ([]EventRecord, error) {
	lim := any(nil)
	if limit > 0 {
		lim = limit
	}
	var out []EventRecord
	err := s.call(func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `SELECT seq, received, mode, event, notice, raw FROM hub_events
			WHERE received >= $1 ORDER BY seq DESC LIMIT $2`, since.UTC(), lim)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r EventRecord
			var seq int64
			if err := rows.Scan(&seq, &r.Received, &r.Mode, &r.Event, &r.Notice, &r.Raw); err != nil {
				return err
			}
			r.Seq, r.Received = uint64(seq), r.Received.UTC()
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// pgCursor is a feed position: (xid, id). xid 0 is a row copied from a
// bbolt hub, whose cursor (16 hex digits) it keeps.
func encodePGCursor(xid, id uint64) string {
	if xid == 0 {
		return encodeCursor(id)
	}
	return fmt.Sprintf("%016x%016x", xid, id)
}

func decodePGCursor(c string) (xid, id uint64, err error) {
	if len(c) != 32 {
		id, err = decodeCursor(c)
		return 0, id, err
	}
	if strings.ToLower(c) != c {
		return 0, 0, ErrBadCursor
	}
	if xid, err = strconv.ParseUint(c[:16], 16, 64); err != nil {
		return 0, 0, ErrBadCursor
	}
	if id, err = strconv.ParseUint(c[16:], 16, 64); err != nil || xid == 0 {
		return 0, 0, ErrBadCursor
	}
	return xid, id, nil
}

// Changes is the feed after cursor.
//
// Why not "id > cursor": ids come from a sequence when a row is inserted,
// but rows become visible when their transaction commits; with two hubs a
// row can take id 10, commit after id 11 was read and handed out as the
// cursor, and be skipped for good. So the feed is ordered by (xid, id),
// xid being the writing transaction's id, and a page holds only rows whose
// transaction is below pg_snapshot_xmin(pg_current_snapshot()): every
// transaction with a smaller id has ended, so every row that will ever be
// at or below the cursor is already visible. A transaction still running
// (a push being stored, or anything else in the cluster: an autovacuum
// ANALYZE, a session idle in a transaction) holds the feed back until it
// ends; it never loses a row. A short page behind such a transaction waits
// for it a little (heldBackWait), so a push just answered success is in
// the next read. TestPGFeedNoSkipLateCommit and TestPGTwoHubsCommittingAtOnce
// prove it with two hubs committing at once.
func (s *PGStore) Changes(cursor string, limit int) (ChangesPage, error) {
	xid, id, err := decodePGCursor(cursor)
	if err != nil {
		return ChangesPage{}, err
	}
	var items []FeedItem
	var lastX, lastID uint64
	more := false
	deadline := time.Now().Add(heldBackWait)
	for {
		var held bool
		items, lastX, lastID, more, held, err = s.feedPage(xid, id, limit)
		if err != nil || more || !held || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // a transaction below the cut is about to end
	}
	if err != nil {
		return ChangesPage{}, fmt.Errorf("read feed: %w", err)
	}
	next := cursor
	if lastX != xid || lastID != id {
		next = encodePGCursor(lastX, lastID)
	}
	return buildPage(items, next, more), nil
}

// heldBackWait bounds how long Changes waits for transactions that hold
// committed feed rows back.
const heldBackWait = 3 * time.Second

// feedPage reads one page after (xid, id) below the cut, and whether
// committed rows wait beyond the cut (held).
func (s *PGStore) feedPage(xid, id uint64, limit int) (items []FeedItem, lastX, lastID uint64, more, held bool, err error) {
	// One REPEATABLE READ transaction: the cut (the snapshot's xmin) and
	// the rows read are of the same snapshot; a cut from a later snapshot
	// than the scan's would pass rows committed in between, unseen.
	txo := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err = s.call(func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, s.pool, txo, func(tx pgx.Tx) error {
			items, lastX, lastID, more, held = items[:0], xid, id, false, false
			var cut string
			if err := tx.QueryRow(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text").Scan(&cut); err != nil {
				return err
			}
			return s.readPage(ctx, tx, cut, xid, id, limit, &items, &lastX, &lastID, &more, &held)
		})
	})
	return items, lastX, lastID, more, held, err
}

func (s *PGStore) readPage(ctx context.Context, tx pgx.Tx, cut string, xid, id uint64, limit int, items *[]FeedItem, lastX, lastID *uint64, more, held *bool) error {
	{
		rows, err := tx.Query(ctx, `SELECT xid::text, id, item FROM hub_feed
			WHERE (xid, id) > ($1::text::xid8, $2) AND xid < $4::text::xid8
			ORDER BY xid, id LIMIT $3`, strconv.FormatUint(xid, 10), int64(id), limit+1, cut)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var xs string
			var rid int64
			var raw []byte
			if err := rows.Scan(&xs, &rid, &raw); err != nil {
				return err
			}
			if len(*items) == limit {
				*more = true
				break
			}
			var it FeedItem
			if err := json.Unmarshal(raw, &it); err != nil {
				return fmt.Errorf("feed item %s/%d: %w", xs, rid, err)
			}
			x, err := strconv.ParseUint(xs, 10, 64)
			if err != nil {
				return err
			}
			*items, *lastX, *lastID = append(*items, it), x, uint64(rid)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if *more {
			return nil
		}
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM hub_feed
			WHERE (xid, id) > ($1::text::xid8, $2) AND xid >= $3::text::xid8)`,
			strconv.FormatUint(*lastX, 10), int64(*lastID), cut).Scan(held)
	}
}

// AddTerminal stores a terminal with the hash of key.
func (s *PGStore) AddTerminal(name, key string) error {
	if err := validTerminalName(name); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(key))
	return s.call(func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, "INSERT INTO hub_terminals (name, created, key_hash) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
			name, s.now().UTC(), sum[:])
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("add terminal %q: %w: remove it first to issue a new key", name, ErrTerminalExists)
		}
		return nil
	})
}

// RemoveTerminal revokes a terminal's key at once (on every hub).
func (s *PGStore) RemoveTerminal(name string) error {
	return s.call(func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, "DELETE FROM hub_terminals WHERE name = $1", name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("remove terminal %q: %w", name, ErrNoTerminal)
		}
		return nil
	})
}

// Terminals lists the terminals by name.
func (s *PGStore) Terminals() ([]Terminal, error) {
	var out []Terminal
	err := s.call(func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, "SELECT name, created FROM hub_terminals ORDER BY name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t Terminal
			if err := rows.Scan(&t.Name, &t.Created); err != nil {
				return err
			}
			t.Created = t.Created.UTC()
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list terminals: %w", err)
	}
	return out, nil
}

// Authenticate looks the key's hash up (a unique index; the key itself is
// high-entropy, so its hash leaks nothing by timing).
func (s *PGStore) Authenticate(key string) (string, bool, error) {
	if key == "" {
		return "", false, nil
	}
	sum := sha256.Sum256([]byte(key))
	var name string
	err := s.call(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, "SELECT name FROM hub_terminals WHERE key_hash = $1", sum[:]).Scan(&name)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("authenticate: %w", err)
	}
	return name, true, nil
}

// Check: the database is reachable, migrated to this cardtill's schema and
// writable (a probe row inserted and rolled back).
func (s *PGStore) Check() error {
	return s.call(func(ctx context.Context) error {
		var v int
		if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM hub_schema_migrations").Scan(&v); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		if want := PGSchemaVersion(); v != want {
			return fmt.Errorf("schema: %w", &SchemaError{Where: "database", Have: v, Want: want})
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO hub_nonces (ts, nonce, body_hash) VALUES (0, 'cardtill-check', '') ON CONFLICT DO NOTHING"); err != nil {
				return fmt.Errorf("not writable: %w", err)
			}
			return errCheckDone
		})
		if errors.Is(err, errCheckDone) {
			return nil
		}
		return err
	})
}

var _ Store = (*PGStore)(nil)

// IsClosed reports whether err comes from a store already closed.
func IsClosed(err error) bool {
	return errors.Is(err, errStoreClosed) || (err != nil && strings.Contains(err.Error(), "closed pool"))
}

// redacted is an error whose text has the password taken out and that
// still matches what it wraps.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// LongWriter is a transaction on the database's cluster that has written
// and has been open for a while: until it ends, the code-status feed
// hands no till anything committed after it began (see Changes).
type LongWriter struct {
	PID      int           // the backend's pid (0 for a prepared transaction)
	Database string        // the database it is connected to
	State    string        // "idle in transaction", "active", ...; "prepared" for a prepared transaction
	Age      time.Duration // since its transaction began (or was prepared)
	GID      string        // a prepared transaction's name
}

// LongWriters lists the transactions of the cluster that hold an xid and
// have been open for at least minAge, oldest first: the sessions the
// store's user may see in pg_stat_activity (every one with pg_monitor or
// pg_read_all_stats; otherwise its own role's) and the prepared
// transactions.
func (s *PGStore) LongWriters(minAge time.Duration) ([]LongWriter, error) {
	var out []LongWriter
	err := s.call(func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `
			SELECT pid, coalesce(datname, ''), coalesce(state, ''), extract(epoch FROM now() - xact_start)::float8, ''
			FROM pg_stat_activity
			WHERE backend_xid IS NOT NULL AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
				AND now() - xact_start >= $1 * interval '1 microsecond'
			UNION ALL
			SELECT 0, coalesce(database, ''), 'prepared', extract(epoch FROM now() - prepared)::float8, gid
			FROM pg_prepared_xacts
			WHERE now() - prepared >= $1 * interval '1 microsecond'
			ORDER BY 4 DESC`, minAge.Microseconds())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var w LongWriter
			var age float64
			if err := rows.Scan(&w.PID, &w.Database, &w.State, &age, &w.GID); err != nil {
				return err
			}
			w.Age = time.Duration(age * float64(time.Second))
			out = append(out, w)
		}
		return rows.Err()
	})
	return out, err
}
