package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	stdsync "sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"cardtill/wechat"
)

// schemaVersion is the layout of the hub's bbolt file. Bump it with a
// migration in migrate.
//
//	1: events, dedup (key -> seq), feed, terminals
//	2: dedup keyed by key+NUL+sha256(raw) (different events with one key are
//	   both kept); nonces
//	3: the fleet reports: fleet_tills, fleet_shifts, fleet_conflicts,
//	   fleet_unheard (fleetbolt.go)
//	4: the dashboard's accounts and sessions: admin_accounts,
//	   admin_sessions (accountbolt.go)
var schemaVersion = uint64(len(boltMigrations) - 1)

var (
	bucketMeta      = []byte("meta")      // "schema" -> uint64
	bucketEvents    = []byte("events")    // seq (uint64 BE) -> EventRecord JSON
	bucketDedup     = []byte("dedup")     // wechat dedup key -> event seq
	bucketFeed      = []byte("feed")      // seq (uint64 BE) -> FeedItem JSON
	bucketTerminals = []byte("terminals") // name -> terminalRecord JSON
	bucketNonces    = []byte("nonces")    // timestamp (uint64 BE) + nonce -> sha256(raw)
	keySchema       = []byte("schema")
)

// BoltStore is the hub's embedded bbolt file (the default Store, for one
// hub process): received events, their dedup index, the seen (timestamp,
// nonce) pairs, the code-status feed and the terminal keys. Safe for
// concurrent use.
type BoltStore struct {
	db     *bolt.DB
	now    func() time.Time
	window time.Duration

	// Group commit (see commit): pushes arriving together share one
	// transaction and one fsync.
	gcMu     stdsync.RWMutex
	gcClosed bool
	gcReqs   chan *commitReq
	gcDone   chan struct{}
	// gcCommits and gcWrites count transactions and the writes they held.
	gcCommits, gcWrites atomic.Uint64

	// keys maps sha256(key) to its terminal, built from the terminals
	// bucket at the first Authenticate and dropped by AddTerminal and
	// RemoveTerminal (under keysMu's write lock, as is the building, so
	// it is never older than the file): one map lookup per request
	// instead of decoding every terminal. This process holds the file's
	// lock, so no one else changes the terminals.
	keysMu stdsync.RWMutex
	keys   map[[32]byte]string
}

// StoreOptions tunes OpenStore.
type StoreOptions struct {
	// LockTimeout bounds the wait for another process holding the file
	// (default 2s).
	LockTimeout time.Duration
	// ReadOnly opens the file for reading (events listing).
	ReadOnly bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// TimestampWindow is the push codec's (hub.timestamp_window;
	// wechat.DefaultTimestampWindow when 0): seen (timestamp, nonce) pairs
	// are kept that long (and a minute more).
	TimestampWindow time.Duration
}

// OpenStore opens (creating it if needed) the hub file at path.
func OpenStore(path string, o StoreOptions) (*BoltStore, error) {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var made []string // folders whose entries change when the file is new
	if !o.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			made = append(missingDirs(filepath.Dir(path)), path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open hub store: %w", err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open hub store %s: %w: %w", path, ErrNoStore, err)
	}
	// NoFreelistSync: a commit writes no freelist pages (bbolt rebuilds the
	// list at open by scanning), fewer pages per fsync for the group commit.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout, ReadOnly: o.ReadOnly, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open hub store %s: %w (waited %s)", path, ErrStoreLocked, o.LockTimeout)
		}
		return nil, fmt.Errorf("open hub store %s: %w", path, err)
	}
	if o.TimestampWindow <= 0 {
		o.TimestampWindow = wechat.DefaultTimestampWindow
	}
	s := &BoltStore{db: db, now: o.Now, window: o.TimestampWindow}
	if !o.ReadOnly {
		s.gcReqs, s.gcDone = make(chan *commitReq, maxGroup), make(chan struct{})
		go s.committer()
	}
	if o.ReadOnly {
		err = db.View(func(tx *bolt.Tx) error { return checkSchema(tx) })
	} else {
		err = db.Update(migrate)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open hub store %s: %w", path, err)
	}
	// bbolt syncs a new file but not its name: without syncing the
	// folders a power cut loses the whole file, with every push the hub
	// had answered "success".
	for _, p := range made {
		if err := syncDir(filepath.Dir(p)); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open hub store %s: sync its folder: %w", path, err)
		}
	}
	return s, nil
}

// missingDirs lists dir and those of its parents that do not exist,
// outermost first (the order MkdirAll makes them).
func missingDirs(dir string) []string {
	var ds []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		ds = append([]string{d}, ds...)
	}
	return ds
}

// syncDir fsyncs a folder, making the entries made in it durable.
// Windows cannot flush a folder (NTFS journals names itself): there it
// does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// boltMigrations[v] brings a file from schema v-1 to v. A new file runs
// them all. Add a bucket (the next issue's fleet reports, say) as a new
// entry and bump schemaVersion.
var boltMigrations = []func(tx *bolt.Tx) error{
	1: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketDedup, bucketFeed, bucketTerminals} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	2: func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketNonces); err != nil {
			return err
		}
		return rekeyDedup(tx)
	},
	3: migrateFleet,
	4: migrateAccounts,
}

// migrate brings the schema up to date in one transaction.
func migrate(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	var from uint64
	if v := meta.Get(keySchema); v != nil {
		from = binary.BigEndian.Uint64(v)
	}
	if from > schemaVersion {
		return &SchemaError{Where: "hub file", Have: int(from), Want: int(schemaVersion)}
	}
	for v := from + 1; v <= schemaVersion; v++ {
		if err := boltMigrations[v](tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v-1, v, err)
		}
	}
	return meta.Put(keySchema, u64(schemaVersion))
}

// rekeyDedup moves schema 1's dedup entries (key -> seq) to schema 2's
// key+NUL+sha256(raw), reading each event's raw XML.
func rekeyDedup(tx *bolt.Tx) error {
	dd, ev := tx.Bucket(bucketDedup), tx.Bucket(bucketEvents)
	type entry struct{ k, v []byte }
	var old []entry
	if err := dd.ForEach(func(k, v []byte) error {
		old = append(old, entry{bytes.Clone(k), bytes.Clone(v)})
		return nil
	}); err != nil {
		return err
	}
	for _, e := range old {
		var r EventRecord
		if err := json.Unmarshal(ev.Get(e.v), &r); err != nil {
			return fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(e.v), err)
		}
		if err := dd.Delete(e.k); err != nil {
			return err
		}
		if err := dd.Put(dedupKey(string(e.k), []byte(r.Raw)), e.v); err != nil {
			return err
		}
	}
	return nil
}

// dedupKey is WeChat's dedup key (wechat.Header.DedupKey) and the hash of
// the plaintext event: a retry is the same event again, byte for byte, so
// two different events that share the key (two update_member_card in one
// second, two card_pay_order) are both kept.
func dedupKey(key string, raw []byte) []byte {
	sum := sha256.Sum256(raw)
	return append(append([]byte(key), 0), sum[:]...)
}

// nonceKey is the nonces bucket's key of a push's (timestamp, nonce).
func nonceKey(ts int64, nonce string) []byte {
	return append(u64(uint64(ts)), nonce...)
}

func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil || meta.Get(keySchema) == nil {
		return ErrNotHubStore
	}
	if v := binary.BigEndian.Uint64(meta.Get(keySchema)); v != schemaVersion {
		return &SchemaError{Where: "hub file", Have: int(v), Want: int(schemaVersion)}
	}
	return nil
}

// Close closes the file (after the pushes being committed).
func (s *BoltStore) Close() error {
	if s.gcReqs != nil {
		s.gcMu.Lock()
		if !s.gcClosed {
			s.gcClosed = true
			close(s.gcReqs)
		}
		s.gcMu.Unlock()
		<-s.gcDone
	}
	return s.db.Close()
}

// maxGroup bounds the pushes committed in one transaction.
const maxGroup = 256

// commitReq is one write waiting for the group commit.
type commitReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// errStoreClosed: a write after Close.
var errStoreClosed = errors.New("the hub store is closed")

// commit runs fn in a write transaction that is committed (fsynced) before
// it returns, sharing that transaction with the writes that arrive while
// the previous one commits: one fsync for all of them instead of one each,
// and no waiting when there is no company (a lone push is committed at
// once). fn must leave the transaction unchanged when it returns
// ErrReplayed (it checks before it writes); any other error fails the
// shared transaction, and then every fn in it is run again alone, so one
// bad write cannot fail the others. fn may run more than once and must
// set its results afresh each time.
func (s *BoltStore) commit(fn func(*bolt.Tx) error) error {
	req := &commitReq{fn: fn, done: make(chan error, 1)}
	s.gcMu.RLock()
	if s.gcClosed || s.gcReqs == nil {
		s.gcMu.RUnlock()
		return errStoreClosed
	}
	s.gcReqs <- req
	s.gcMu.RUnlock()
	return <-req.done
}

// committer takes the writes waiting and commits them together, until
// Close.
//
// Under concurrent load the writers of the last group are, when a commit
// ends, partly still on their way back (answering, reading the next push,
// decrypting it): taking only those already waiting would commit half
// groups. So after a group of several, the next one waits a little for one
// more writer than the last group had: at most half as long as the last
// commit took (its fsyncs), and never more than maxGather. A lone writer
// (the last group was one) never waits.
func (s *BoltStore) committer() {
	defer close(s.gcDone)
	last, took := 1, time.Duration(0)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for req := range s.gcReqs {
		batch := []*commitReq{req}
		closed := false
	more:
		for len(batch) < maxGroup {
			select {
			case r, ok := <-s.gcReqs:
				if !ok {
					closed = true
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if !closed && last > 1 && len(batch) <= last {
			timer.Reset(min(took/2, maxGather))
		gather:
			for len(batch) <= last && len(batch) < maxGroup {
				select {
				case r, ok := <-s.gcReqs:
					if !ok {
						break gather
					}
					batch = append(batch, r)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		last = len(batch)
		start := time.Now()
		s.commitGroup(batch)
		took = time.Since(start)
	}
}

// maxGather bounds how long a group waits for company (see committer).
const maxGather = 5 * time.Millisecond

func (s *BoltStore) commitGroup(batch []*commitReq) {
	s.gcCommits.Add(1)
	s.gcWrites.Add(uint64(len(batch)))
	errs := make([]error, len(batch))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, r := range batch {
			if err := r.fn(tx); err != nil {
				if errors.Is(err, ErrReplayed) {
					errs[i] = err
					continue
				}
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for i, r := range batch {
			errs[i] = s.db.Update(r.fn)
		}
	} else if err != nil {
		errs[0] = err
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// Check runs bbolt's consistency check (tests, `doctor`).
//
// It runs in a write transaction that is rolled back: bbolt's check in a
// read transaction is unsafe beside writers (Tx.Check's doc).
func (s *BoltStore) Check() error {
	if s.gcReqs == nil { // read-only
		return s.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		})
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return errCheckDone
	})
	if errors.Is(err, errCheckDone) {
		return nil
	}
	return err
}

var errCheckDone = errors.New("check done")

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// EventRecord is one received push as stored.
type EventRecord struct {
	Seq      uint64    `json:"seq"`
	Received time.Time `json:"received"`
	Mode     string    `json:"mode"`  // plain | compatible | safe
	Event    string    `json:"event"` // the Event element ("" for plain messages)
	// Notice marks events shown to managers (stock alarm, review result,
	// member-card update, coupon-point order).
	Notice bool `json:"notice"`
	// Raw is the plaintext event XML exactly as WeChat sent it.
	Raw string `json:"raw"`
}

// Parsed decodes Raw into its typed wechat record.
func (r *EventRecord) Parsed() (wechat.Event, error) { return wechat.ParseEvent([]byte(r.Raw)) }

// ErrReplayed: a push came with a (timestamp, nonce) already seen with
// another body. WeChat never does that (its retries repeat the same event),
// but whoever captured one push URL could post invented events under its
// signature until the timestamp goes stale. Answered 403 (it wraps
// wechat.ErrPushStale).
var ErrReplayed = fmt.Errorf("%w: this timestamp and nonce already came with another event (a replayed push URL)", wechat.ErrPushStale)

// nonceKeep is how long past a push's timestamp window its (timestamp,
// nonce) is kept: a margin for clocks that differ between hubs.
const nonceKeep = time.Minute

// AddEvent stores a verified push, its dedup key and the feed items it
// yields in one transaction, committed (fsynced) before it returns. A push
// whose dedup key and body are already stored (a WeChat retry) changes
// nothing and reports dup. A push whose (timestamp, nonce) was seen with
// another body is refused with ErrReplayed.
func (s *BoltStore) AddEvent(p *wechat.Push) (seq uint64, dup bool, err error) {
	h := p.Event.Head()
	key := dedupKey(h.DedupKey(), h.Raw)
	sum := sha256.Sum256(h.Raw)
	now := s.now()
	rec := EventRecord{Received: now.UTC(), Mode: p.Mode.String(), Event: h.Event, Notice: IsNotice(h.Event), Raw: string(h.Raw)}
	items := feedItems(p.Event)
	err = s.commit(func(tx *bolt.Tx) error {
		seq, dup = 0, false
		if p.Timestamp != 0 {
			nb := tx.Bucket(bucketNonces)
			nk := nonceKey(p.Timestamp, p.Nonce)
			if v := nb.Get(nk); v != nil && !bytes.Equal(v, sum[:]) {
				return ErrReplayed
			}
			if err := nb.Put(nk, sum[:]); err != nil {
				return err
			}
			if err := pruneNonces(nb, now.Add(-s.window-nonceKeep)); err != nil {
				return err
			}
		}
		dd := tx.Bucket(bucketDedup)
		if v := dd.Get(key); v != nil {
			seq, dup = binary.BigEndian.Uint64(v), true
			return nil
		}
		ev := tx.Bucket(bucketEvents)
		n, err := ev.NextSequence()
		if err != nil {
			return err
		}
		rec.Seq = n
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := ev.Put(u64(n), b); err != nil {
			return err
		}
		if err := dd.Put(key, u64(n)); err != nil {
			return err
		}
		feed := tx.Bucket(bucketFeed)
		for _, it := range items {
			fs, err := feed.NextSequence()
			if err != nil {
				return err
			}
			it.Event = n
			b, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := feed.Put(u64(fs), b); err != nil {
				return err
			}
		}
		seq, dup = n, false
		return nil
	})
	if errors.Is(err, ErrReplayed) {
		return 0, false, err
	}
	if err != nil {
		return 0, false, fmt.Errorf("store event: %w", err)
	}
	return seq, dup, nil
}

// pruneNonces drops the pairs whose timestamp is before cut: the push codec
// refuses those as stale anyway.
func pruneNonces(nb *bolt.Bucket, cut time.Time) error {
	c := nb.Cursor()
	for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k[:8])) < cut.Unix(); k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Events returns the events received at or after since, oldest first, at
// most limit (0 = no limit) of the newest ones. It reads backwards from the
// newest, so it costs what it returns, not the size of the file.
func (s *BoltStore) Events(since time.Time, limit int) ([]EventRecord, error) {
	var out []EventRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r EventRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if r.Received.Before(since) {
				break
			}
			out = append(out, r)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// feedPage returns up to limit feed items after seq, and whether more wait.
func (s *BoltStore) feedPage(after uint64, limit int) (items []FeedItem, last uint64, more bool, err error) {
	last = after
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFeed).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
			if len(items) == limit {
				more = true
				return nil
			}
			var it FeedItem
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("feed item %d: %w", binary.BigEndian.Uint64(k), err)
			}
			items = append(items, it)
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		return nil, after, false, fmt.Errorf("read feed: %w", err)
	}
	return items, last, more, nil
}

// Terminal is a till allowed to use the token service and the feed.
type Terminal struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

type terminalRecord struct {
	Terminal
	KeyHash []byte `json:"key_hash"` // sha256 of the key
}

// ErrTerminalExists: AddTerminal with a name already in use.
var ErrTerminalExists = errors.New("terminal already exists")

// ErrNoTerminal: RemoveTerminal of a name that is not there.
var ErrNoTerminal = errors.New("no such terminal")

// AddTerminal stores a terminal with the hash of key. The key itself is
// never stored.
func (s *BoltStore) AddTerminal(name, key string) error {
	if err := validTerminalName(name); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(key))
	rec := terminalRecord{Terminal: Terminal{Name: name, Created: s.now().UTC()}, KeyHash: sum[:]}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	s.keys = nil
	return s.db.Update(func(tx *bolt.Tx) error {
		t := tx.Bucket(bucketTerminals)
		if t.Get([]byte(name)) != nil {
			return fmt.Errorf("add terminal %q: %w: remove it first to issue a new key", name, ErrTerminalExists)
		}
		return t.Put([]byte(name), b)
	})
}

// RemoveTerminal revokes a terminal's key at once.
func (s *BoltStore) RemoveTerminal(name string) error {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	s.keys = nil
	return s.db.Update(func(tx *bolt.Tx) error {
		t := tx.Bucket(bucketTerminals)
		if t.Get([]byte(name)) == nil {
			return fmt.Errorf("remove terminal %q: %w", name, ErrNoTerminal)
		}
		return t.Delete([]byte(name))
	})
}

// Terminals lists the terminals by name.
func (s *BoltStore) Terminals() ([]Terminal, error) {
	var out []Terminal
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTerminals).ForEach(func(_, v []byte) error {
			var r terminalRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r.Terminal)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list terminals: %w", err)
	}
	return out, nil
}

// Authenticate returns the terminal whose key is key: a lookup of the
// key's hash in the keys index (the key is high-entropy, so its hash leaks
// nothing by timing, as in PGStore). err is a failure to read the store,
// not a refusal.
func (s *BoltStore) Authenticate(key string) (string, bool, error) {
	if key == "" {
		return "", false, nil
	}
	sum := sha256.Sum256([]byte(key))
	s.keysMu.RLock()
	keys := s.keys
	s.keysMu.RUnlock()
	if keys == nil {
		var err error
		if keys, err = s.buildKeys(); err != nil {
			return "", false, fmt.Errorf("authenticate: %w", err)
		}
	}
	name, ok := keys[sum]
	return name, ok, nil
}

// buildKeys reads the terminals into the keys index.
func (s *BoltStore) buildKeys() (map[[32]byte]string, error) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if s.keys != nil {
		return s.keys, nil
	}
	keys := map[[32]byte]string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTerminals).ForEach(func(k, v []byte) error {
			var r terminalRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if len(r.KeyHash) == 32 {
				keys[[32]byte(r.KeyHash)] = string(k)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if s.gcReqs != nil { // read-only: someone else may change the file
		s.keys = keys
	}
	return keys, nil
}

func validTerminalName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("terminal name %q: use 1 to 64 characters (letters, digits, '.', '_', '-')", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("terminal name %q: use only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}
