package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the journal layout this build writes.
const SchemaVersion = 5

var (
	bMeta      = []byte("meta")
	bRed       = []byte("redemptions")
	bActive    = []byte("active_by_code")
	bUsed      = []byte("used_by_code")
	bOutbox    = []byte("outbox")   // due(8) id(8)
	bByState   = []byte("by_state") // state \x00 id(8)
	bByShift   = []byte("by_shift") // shift(8) id(8)
	bShifts    = []byte("shifts")
	bOpenShift = []byte("open_shift") // terminal -> shift id
	bCounters  = []byte("counters")   // shift(8) -> Counters
	bCodes     = []byte("code_status")
	bCards     = []byte("cards")
	bPruned    = []byte("pruned_counters") // shift(8) -> Counters of pruned redemptions
	// bConsumedBy indexes consumed redemptions by their reason: reason \x00
	// id(8). The till screen lists the latest confirmed by a query, and a
	// report those of one shift, without reading the rest.
	bConsumedBy = []byte("consumed_by_reason")

	allBuckets = [][]byte{bMeta, bRed, bActive, bUsed, bOutbox, bByState, bByShift, bShifts, bOpenShift, bCounters, bCodes, bCards, bPruned, bConsumedBy, bShiftConflicts, bResolutions, bFinished, bTombs, bTombsAt, bOverrides}

	kSchema   = []byte("schema_version")
	kTerminal = []byte("terminal_id")
	kCursor   = []byte("feed_cursor")
)

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock (default 2s).
	LockTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxSize is the file size beyond which new offline acceptances are
	// refused with ErrFull (0: no limit).
	MaxSize int64
	// Terminal is recorded in the meta bucket on first open.
	Terminal string
	// Logger receives migrations and warnings (default slog.Default()).
	Logger *slog.Logger
	// NoSync skips fsync (tests and benchmark setup only).
	NoSync bool
	// ReadOnly opens the file without writing (check, backup of a stopped till).
	ReadOnly bool
}

// DB is the open journal.
type DB struct {
	b     *bolt.DB
	path  string
	o     Options
	now   func() time.Time
	log   *slog.Logger
	group groupCommit // TransitionBatch's shared commits (group.go)
}

// Open opens (creating if needed) the journal at path. A file held by
// another process gives an error naming it after LockTimeout; a file that
// is not a journal, is damaged, or was written by a newer cardtill is
// refused and left untouched.
func Open(path string, o Options) (*DB, error) {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	fi, statErr := os.Stat(path)
	var created []string // folders made for a new journal
	switch {
	case statErr == nil && fi.IsDir():
		return nil, fmt.Errorf("store: %s is a directory, not a journal file; set [store] path to a file", path)
	case statErr == nil && fi.Size() > 0 && fi.Size() < 4096:
		return nil, fmt.Errorf("store: %s is too short (%d bytes) to be a cardtill journal (truncated or not a journal); it was not changed — restore it from a backup (cardtill db backup) or move it away", path, fi.Size())
	case statErr == nil && fi.Size() > 0:
		if err := preflight(path); err != nil {
			return nil, fmt.Errorf("store: %s is not a usable cardtill journal (%w); it was not changed — restore it from a backup (cardtill db backup) or move it away", path, err)
		}
	case errors.Is(statErr, os.ErrNotExist):
		if o.ReadOnly {
			return nil, fmt.Errorf("store: %s does not exist", path)
		}
		created = missingDirs(filepath.Dir(path))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: cannot create the journal folder: %w; check [store] path and permissions", err)
		}
	case statErr != nil:
		return nil, fmt.Errorf("store: cannot use the journal folder of %s: %w; check [store] path", path, statErr)
	}
	b, err := openSame(path, o)
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("%w: another cardtill holds %s (waited %s); stop it first (e.g. systemctl stop cardtill) or use another [store] path: %w", ErrLocked, path, o.LockTimeout, err)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
			return nil, fmt.Errorf("store: %s is not a usable cardtill journal (%w); it was not changed — restore it from a backup or move it away", path, err)
		case errors.Is(err, os.ErrPermission):
			return nil, fmt.Errorf("store: cannot open %s: %w; the journal needs read and write access to the file and its folder", path, err)
		}
		return nil, fmt.Errorf("store: cannot open %s: %w; it was not changed", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// bbolt syncs the new file but not its name: sync the folders
		// whose entries changed, or a power cut can lose the whole
		// journal with everything it acknowledged.
		syncDir(filepath.Dir(path))
		for _, d := range created {
			syncDir(filepath.Dir(d))
		}
	}
	db := &DB{b: b, path: path, o: o, now: o.Now, log: o.Logger}
	b.MaxBatchDelay = time.Millisecond
	if err := db.init(statErr == nil && fi.Size() > 0); err != nil {
		_ = b.Close()
		return nil, err
	}
	return db, nil
}

// Test hooks (nil in production): testHookOpened runs when Open has
// opened the file at path and before it takes its lock;
// testHookCompactBeforeRename runs when Compact, holding the lock, is
// about to rename the compacted copy over the journal.
var (
	testHookOpened              func(path string)
	testHookCompactBeforeRename func()
)

// openSame opens path with bbolt, and makes sure the file it locked is
// still the one at path: a Compact that held the lock while this open
// waited for it has renamed a new file over the one opened, and writes to
// that one would go to a deleted file. Then it opens the path again.
func openSame(path string, o Options) (*bolt.DB, error) {
	for try := 0; ; try++ {
		var f *os.File
		bo := &bolt.Options{Timeout: o.LockTimeout, NoSync: o.NoSync, ReadOnly: o.ReadOnly, NoFreelistSync: false,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				file, err := os.OpenFile(name, flag, perm)
				if err == nil {
					f = file
					if testHookOpened != nil {
						testHookOpened(name)
					}
				}
				return file, err
			}}
		b, err := openBolt(path, bo)
		if err != nil {
			return nil, err
		}
		same, err := isFileAt(f, path)
		if err != nil {
			_ = b.Close()
			return nil, err
		}
		if same {
			return b, nil
		}
		_ = b.Close()
		if try == 9 {
			return nil, fmt.Errorf("the file was replaced %d times while it was being opened", try+1)
		}
	}
}

// isFileAt reports whether f is the file now at path.
func isFileAt(f *os.File, path string) (bool, error) {
	if f == nil {
		return false, errors.New("bbolt opened no file")
	}
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	at, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, at), nil
}

// openBolt turns a panic from a damaged file into an error.
func openBolt(path string, bo *bolt.Options) (b *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("damaged file: %v", r)
		}
	}()
	return bolt.Open(path, 0o600, bo)
}

func (db *DB) init(existed bool) error {
	var ver uint64
	err := db.b.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil {
			if existed && tx.Bucket(bRed) == nil {
				// An empty bbolt file with no buckets, or someone else's.
				n := 0
				_ = tx.ForEach(func([]byte, *bolt.Bucket) error { n++; return nil })
				if n > 0 {
					return fmt.Errorf("store: %s is a bbolt file but not a cardtill journal (no meta bucket); it was not changed", db.path)
				}
			}
			return nil
		}
		if v := m.Get(kSchema); len(v) == 8 {
			ver = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ver > SchemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this cardtill knows up to %d; upgrade cardtill (the file was not changed)", ErrNewerSchema, db.path, ver, SchemaVersion)
	}
	if db.o.ReadOnly {
		if ver == 0 && existed {
			return fmt.Errorf("store: %s has no schema version; open it read-write once to initialise", db.path)
		}
		return nil
	}
	return db.b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bMeta)
		for v := ver; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("store: migration %d->%d: %w", v, v+1, err)
			}
			if ver > 0 { // a new file (0) has nothing to migrate
				db.log.Info("journal migrated", "path", db.path, "from", v, "to", v+1)
			}
		}
		if err := m.Put(kSchema, u64(SchemaVersion)); err != nil {
			return err
		}
		if m.Get(kTerminal) == nil && db.o.Terminal != "" {
			return m.Put(kTerminal, []byte(db.o.Terminal))
		}
		return nil
	})
}

// migrations[v] moves a file from schema v to v+1. Version 0 is a new file.
var migrations = []func(tx *bolt.Tx) error{
	0: func(*bolt.Tx) error { return nil },
	// 1 -> 2: conflicts join the used-by-code index (a code accepted
	// offline that WeChat then refused must not be honoured again).
	1: func(tx *bolt.Tx) error {
		prefix := stateKey(Conflict, 0)[:len(Conflict)+1]
		c := tx.Bucket(bByState).Cursor()
		var conflicts []Redemption
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(k)-8:]))
			if err != nil {
				return err
			}
			conflicts = append(conflicts, r)
		}
		for _, r := range conflicts {
			if err := setUsed(tx, r, true); err != nil {
				return err
			}
		}
		return nil
	},
	// 2 -> 3: consumed redemptions are indexed and counted by reason
	// (Counters.ConsumedByReason), so that those confirmed by a query are
	// reported and listed. Both are recounted from the records; a closed
	// shift's frozen Z counters get the redemptions consumed before its
	// close. Pruned redemptions are gone and not counted by reason.
	2: migrateConsumedByReason,
	// 3 -> 4: conflicts are indexed per shift with what a report lists
	// (shift_conflicts, conflicts.go), and managers' resolutions get their
	// own bucket (conflict_resolutions, created empty).
	3: migrateShiftConflicts,
	// 4 -> 5: finished redemptions retention may delete are indexed by
	// when they finished (finished_at), and pruned uses of a code leave a
	// tombstone (used_tombstones, tombstones_by_at, created empty); see
	// retention.go.
	4: migrateFinishedAt,
}

// migrateConsumedByReason is the 2 -> 3 migration. It may run on a file
// whose counters already have the reasons (it sets them, never adds).
func migrateConsumedByReason(tx *bolt.Tx) error {
	live := map[uint64]map[string]int{}
	atClose := map[uint64]map[string]int{}
	prefix := append([]byte(Consumed), 0)
	c := tx.Bucket(bByState).Cursor()
	idx := tx.Bucket(bConsumedBy)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return err
		}
		if err := idx.Put(reasonKey(r.Reason, r.ID), nil); err != nil {
			return err
		}
		m := live[r.ShiftID]
		bump(&m, r.Reason, 1)
		live[r.ShiftID] = m
		if !r.SettledAfterClose {
			z := atClose[r.ShiftID]
			bump(&z, r.Reason, 1)
			atClose[r.ShiftID] = z
		}
	}
	ids := map[uint64]bool{}
	for id := range live {
		ids[id] = true
	}
	_ = tx.Bucket(bCounters).ForEach(func(k, _ []byte) error { ids[binary.BigEndian.Uint64(k)] = true; return nil })
	for id := range ids {
		cnt, err := readCounters(tx, bCounters, id)
		if err != nil {
			return err
		}
		pruned, err := readCounters(tx, bPruned, id)
		if err != nil {
			return err
		}
		cnt.ConsumedByReason = nil
		for k, v := range live[id] {
			bump(&cnt.ConsumedByReason, k, v)
		}
		for k, v := range pruned.ConsumedByReason {
			bump(&cnt.ConsumedByReason, k, v)
		}
		if err := putJSON(tx.Bucket(bCounters), u64(id), cnt); err != nil {
			return err
		}
		if id == 0 {
			continue
		}
		s, err := readShift(tx, id)
		if err != nil {
			return err
		}
		if s.Z != nil && s.Z.ConsumedByReason == nil && len(atClose[id]) > 0 {
			s.Z.ConsumedByReason = atClose[id]
			if err := putJSON(tx.Bucket(bShifts), u64(id), s); err != nil {
				return err
			}
		}
	}
	return nil
}

// Path returns the file's path.
func (db *DB) Path() string { return db.path }

// Close closes the file.
func (db *DB) Close() error { return db.b.Close() }

// Terminal returns the terminal id recorded in the meta bucket.
func (db *DB) Terminal() (string, error) {
	var s string
	err := db.b.View(func(tx *bolt.Tx) error { s = string(tx.Bucket(bMeta).Get(kTerminal)); return nil })
	return s, err
}

// SchemaVersion returns the file's schema version.
func (db *DB) SchemaVersion() (int, error) {
	var v uint64
	err := db.b.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bMeta).Get(kSchema); len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return int(v), err
}

// ---- encoding helpers ----

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func k2(a, b uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, a)
	binary.BigEndian.PutUint64(k[8:], b)
	return k
}

func dueKey(t time.Time, id uint64) []byte {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return k2(uint64(n), id)
}

func stateKey(s State, id uint64) []byte {
	k := append([]byte(s), 0)
	return append(k, u64(id)...)
}

// reasonKey is a consumed redemption's key in bConsumedBy.
func reasonKey(reason string, id uint64) []byte {
	k := append([]byte(reason), 0)
	return append(k, u64(id)...)
}

func getJSON(b *bolt.Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("store: damaged entry %x in %s: %w", k, "bucket", err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// ---- redemptions ----

func getRed(tx *bolt.Tx, id uint64) (Redemption, error) {
	var r Redemption
	ok, err := getJSON(tx.Bucket(bRed), u64(id), &r)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("%w: redemption %d", ErrNotFound, id)
	}
	return r, nil
}

// unindex removes r's index entries and counter contribution.
func (db *DB) unindex(tx *bolt.Tx, r Redemption) error {
	if r.State.Active() {
		if id := tx.Bucket(bActive).Get([]byte(r.Code)); id != nil && binary.BigEndian.Uint64(id) == r.ID {
			if err := tx.Bucket(bActive).Delete([]byte(r.Code)); err != nil {
				return err
			}
		}
	}
	if r.State.outboxed() {
		if err := tx.Bucket(bOutbox).Delete(dueKey(r.DueAt, r.ID)); err != nil {
			return err
		}
	}
	if r.State.usedHere() {
		if err := setUsed(tx, r, false); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bByState).Delete(stateKey(r.State, r.ID)); err != nil {
		return err
	}
	if r.State == Consumed {
		if err := tx.Bucket(bConsumedBy).Delete(reasonKey(r.Reason, r.ID)); err != nil {
			return err
		}
	}
	if err := indexConflict(tx, r, false); err != nil {
		return err
	}
	if err := indexFinished(tx, r, false); err != nil {
		return err
	}
	if err := tx.Bucket(bByShift).Delete(k2(r.ShiftID, r.ID)); err != nil {
		return err
	}
	return db.count(tx, r, -1)
}

// index adds r's index entries and counter contribution.
func (db *DB) index(tx *bolt.Tx, r Redemption) error {
	if r.State.Active() {
		if err := tx.Bucket(bActive).Put([]byte(r.Code), u64(r.ID)); err != nil {
			return err
		}
	}
	if r.State.outboxed() {
		if err := tx.Bucket(bOutbox).Put(dueKey(r.DueAt, r.ID), nil); err != nil {
			return err
		}
	}
	if r.State.usedHere() {
		if err := setUsed(tx, r, true); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bByState).Put(stateKey(r.State, r.ID), nil); err != nil {
		return err
	}
	if r.State == Consumed {
		if err := tx.Bucket(bConsumedBy).Put(reasonKey(r.Reason, r.ID), nil); err != nil {
			return err
		}
	}
	if err := indexConflict(tx, r, true); err != nil {
		return err
	}
	if err := indexFinished(tx, r, true); err != nil {
		return err
	}
	return db.count(tx, r, +1)
}

// setUsed adds r to (or removes it from) the list of its code's consumed,
// queued or conflict redemptions, kept in ID order.
func setUsed(tx *bolt.Tx, r Redemption, add bool) error {
	b := tx.Bucket(bUsed)
	var list []FinishedCode
	if _, err := getJSON(b, []byte(r.Code), &list); err != nil {
		return err
	}
	out := list[:0]
	for _, f := range list {
		if f.ID != r.ID {
			out = append(out, f)
		}
	}
	if add {
		out = append(out, FinishedCode{Code: r.Code, ID: r.ID, State: r.State, At: usedAt(r), ShiftID: r.ShiftID})
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	}
	if len(out) == 0 {
		return b.Delete([]byte(r.Code))
	}
	return putJSON(b, []byte(r.Code), out)
}

func usedAt(r Redemption) time.Time {
	if !r.OfflineAcceptedAt.IsZero() {
		return r.OfflineAcceptedAt
	}
	return r.UpdatedAt
}

// Create journals a new redemption in one transaction. path lists the
// states it went through before its current one (e.g. received, checked
// for a redemption created already checked); each becomes a history entry.
// An active redemption for a code that has one fails with *DuplicateError;
// a queued one fails with ErrFull when the file reached MaxSize.
func (db *DB) Create(r Redemption, by string, path ...State) (Redemption, error) {
	if !r.State.Valid() {
		return Redemption{}, fmt.Errorf("%w: redemption needs a valid state (got %q)", ErrInvalid, r.State)
	}
	// A scan WeChat could not decrypt has no code: it may only be journaled
	// refused, with the encrypted code it came with.
	if r.Code == "" && (r.EncryptCode == "" || r.State != Rejected) {
		return Redemption{}, fmt.Errorf("%w: redemption needs a code (only a refused encrypted scan may lack one; got state %q)", ErrInvalid, r.State)
	}
	walk := append(append([]State(nil), path...), r.State)
	for i, prev := range append([]State{None}, walk[:len(walk)-1]...) {
		if !Allowed(prev, walk[i]) {
			return Redemption{}, &MoveError{From: prev, To: walk[i]}
		}
	}
	final := r
	if r.State == Queued {
		if err := db.roomForOffline(); err != nil {
			return Redemption{}, err
		}
	}
	var out Redemption
	err := db.b.Update(func(tx *bolt.Tx) error {
		if r.State.Active() {
			if raw := tx.Bucket(bActive).Get([]byte(r.Code)); raw != nil {
				a, err := getRed(tx, binary.BigEndian.Uint64(raw))
				if err != nil {
					return err
				}
				return &DuplicateError{Active: a}
			}
		}
		if r.ShiftID != 0 {
			var s Shift
			if ok, err := getJSON(tx.Bucket(bShifts), u64(r.ShiftID), &s); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("%w: shift %d", ErrNotFound, r.ShiftID)
			} else if !s.Open() {
				return fmt.Errorf("%w: shift #%d closed at %s; a redemption belongs to the shift open when it was scanned", ErrShiftClosed, s.ID, s.ClosedAt.Format(time.RFC3339))
			}
		}
		rb := tx.Bucket(bRed)
		id, err := rb.NextSequence()
		if err != nil {
			return err
		}
		now := db.now()
		r.ID = id
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.UpdatedAt = now
		if r.State.Finished() {
			r.FinishedAt = now
		}
		if r.State == Queued && r.OfflineAcceptedAt.IsZero() {
			r.OfflineAcceptedAt = now
		}
		r.History = nil
		r.SettledAfterClose = false
		r.State = None
		for i, s := range walk {
			entry := Transition{By: by}
			if i == len(walk)-1 {
				entry.Errcode, entry.WeChatStatus, entry.Reason, entry.Err = final.Errcode, final.WeChatStatus, final.Reason, final.LastError
			}
			if err := apply(&r, s, now, entry); err != nil {
				return err
			}
		}
		if err := putJSON(rb, u64(id), r); err != nil {
			return err
		}
		out = r
		return db.index(tx, r)
	})
	return out, err
}

// Transition moves redemption id from state from to state to (to may equal
// from), applying ch.Update, appending a history entry, and updating the
// indexes and counters, in one transaction. It fails with *StateError
// (errors.Is ErrStateConflict) when id is no longer in from.
func (db *DB) Transition(id uint64, from, to State, ch Change) (Redemption, error) {
	return db.transition(db.b.Update, id, from, to, ch)
}

// TransitionBatch is Transition sharing one commit with concurrent calls
// (group commit without a delay: group.go). ch.Update may run more than
// once.
func (db *DB) TransitionBatch(id uint64, from, to State, ch Change) (Redemption, error) {
	return db.transition(db.grouped, id, from, to, ch)
}

func (db *DB) transition(run func(func(*bolt.Tx) error) error, id uint64, from, to State, ch Change) (Redemption, error) {
	if !from.Valid() || !to.Valid() {
		return Redemption{}, fmt.Errorf("%w: transition %q -> %q", ErrInvalid, from, to)
	}
	for _, v := range ch.Via {
		if !v.Valid() {
			return Redemption{}, fmt.Errorf("%w: transition %q -> %q via %q", ErrInvalid, from, to, v)
		}
	}
	prev := from
	for _, s := range append(append([]State(nil), ch.Via...), to) {
		if !Allowed(prev, s) {
			return Redemption{}, &MoveError{ID: id, From: prev, To: s}
		}
		prev = s
	}
	if to == Queued && from != Queued {
		if err := db.roomForOffline(); err != nil {
			return Redemption{}, err
		}
	}
	var out Redemption
	err := run(func(tx *bolt.Tx) error {
		r, err := getRed(tx, id)
		if err != nil {
			return err
		}
		if r.State != from {
			return &StateError{ID: id, Want: from, Actual: r.State}
		}
		if ch.MaxOfflineInShift != nil && to == Queued && from != Queued {
			c, err := readCounters(tx, bCounters, r.ShiftID)
			if err != nil {
				return err
			}
			extra, err := overrideExtra(tx, r.ShiftID) // managers' overrides (overrides.go)
			if err != nil {
				return err
			}
			if max := *ch.MaxOfflineInShift + extra; c.OfflineAccepted >= max {
				return fmt.Errorf("%w (shift #%d has %d, at most %d)", ErrOfflineLimit, r.ShiftID, c.OfflineAccepted, max)
			}
		}
		if to.Active() && !from.Active() {
			if raw := tx.Bucket(bActive).Get([]byte(r.Code)); raw != nil {
				a, err := getRed(tx, binary.BigEndian.Uint64(raw))
				if err != nil {
					return err
				}
				return &DuplicateError{Active: a}
			}
		}
		if err := db.unindex(tx, r); err != nil {
			return err
		}
		nr := r
		nr.History = append([]Transition(nil), r.History...)
		if ch.Update != nil {
			ch.Update(&nr)
		}
		nr.ID, nr.Code, nr.State = r.ID, r.Code, from
		nr.CreatedAt, nr.FinishedAt, nr.SettledAfterClose = r.CreatedAt, r.FinishedAt, r.SettledAfterClose
		now := db.now()
		nr.UpdatedAt = now
		if to.Finished() && !from.Finished() {
			nr.FinishedAt = now
			s, err := readShift(tx, nr.ShiftID)
			if err != nil {
				return err
			}
			nr.SettledAfterClose = !s.ClosedAt.IsZero()
		}
		if to == Queued && nr.OfflineAcceptedAt.IsZero() {
			nr.OfflineAcceptedAt = now
		}
		nr.History = r.History[:len(r.History):len(r.History)]
		for _, v := range ch.Via {
			if err := apply(&nr, v, now, Transition{By: ch.By}); err != nil {
				return err
			}
		}
		if err := apply(&nr, to, now, Transition{By: ch.By,
			Errcode: ch.Errcode, WeChatStatus: ch.WeChatStatus, Reason: ch.Reason, Err: ch.Err}); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bRed), u64(id), nr); err != nil {
			return err
		}
		out = nr
		return db.index(tx, nr)
	})
	return out, err
}

// Get returns one redemption.
func (db *DB) Get(id uint64) (Redemption, error) {
	var r Redemption
	err := db.b.View(func(tx *bolt.Tx) (err error) { r, err = getRed(tx, id); return })
	return r, err
}

// ActiveByCode returns the active redemption of code, if any.
func (db *DB) ActiveByCode(code string) (Redemption, bool, error) {
	var r Redemption
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) (err error) {
		raw := tx.Bucket(bActive).Get([]byte(code))
		if raw == nil {
			return nil
		}
		ok = true
		r, err = getRed(tx, binary.BigEndian.Uint64(raw))
		return err
	})
	return r, ok, err
}

// FinishedByCode returns when and in which shift this till last consumed,
// accepted offline, or saw refused after the fact (conflict) code. A use
// whose redemption retention pruned is still answered, from its tombstone
// (FinishedCode.Pruned), until ForgetUsedCodes drops it.
func (db *DB) FinishedByCode(code string) (FinishedCode, bool, error) {
	var fc FinishedCode
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) (err error) {
		fc, ok, err = finishedCode(tx, code)
		return err
	})
	return fc, ok, err
}

// Due returns up to limit redemptions waiting for WeChat (queued,
// consuming, in_doubt) whose DueAt is not after now, earliest first.
func (db *DB) Due(now time.Time, limit int) ([]Redemption, error) {
	var out []Redemption
	end := dueKey(now, ^uint64(0))
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) <= 0 && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[8:]))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// NextDue returns the earliest DueAt in the outbox.
func (db *DB) NextDue() (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bOutbox).Cursor().First()
		if k != nil {
			ok = true
			r, err := getRed(tx, binary.BigEndian.Uint64(k[8:]))
			at = r.DueAt
			return err
		}
		return nil
	})
	return at, ok, err
}

// ListByState returns up to limit (0: all) redemptions in state s, oldest first.
func (db *DB) ListByState(s State, limit int) ([]Redemption, error) {
	var out []Redemption
	prefix := append([]byte(s), 0)
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bByState).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// LatestByState returns up to limit (0: all) redemptions in state s,
// newest first, walking the state index backwards: the till screen's queue
// and conflicts list the latest without reading the rest.
func (db *DB) LatestByState(s State, limit int) ([]Redemption, error) {
	return db.latestUnder(bByState, string(s), limit)
}

// CountState returns how many redemptions are in state s, walking only
// that state's keys of the index (CountByState walks every redemption).
func (db *DB) CountState(s State) (int, error) {
	n, err := db.CountStates(s)
	return n[s], err
}

// CountStates is CountState of several states, in one transaction.
func (db *DB) CountStates(states ...State) (map[State]int, error) {
	out := make(map[State]int, len(states))
	err := db.b.View(func(tx *bolt.Tx) error {
		for _, s := range states {
			out[s] = countUnder(tx.Bucket(bByState), string(s))
		}
		return nil
	})
	return out, err
}

// LatestConsumedByReason returns up to limit (0: all) consumed
// redemptions whose Reason is reason, newest first, walking only that
// reason's keys of the index backwards (e.g. the till screen's latest
// confirmed by a query).
func (db *DB) LatestConsumedByReason(reason string, limit int) ([]Redemption, error) {
	return db.latestUnder(bConsumedBy, reason, limit)
}

// CountConsumedByReason counts the consumed redemptions whose Reason is
// reason, walking only that reason's keys of the index.
func (db *DB) CountConsumedByReason(reason string) (int, error) {
	n := 0
	err := db.b.View(func(tx *bolt.Tx) error {
		n = countUnder(tx.Bucket(bConsumedBy), reason)
		return nil
	})
	return n, err
}

// latestUnder reads up to limit (0: all) redemptions of an index keyed
// name, 0, big-endian ID (the state and consumed-by-reason indexes) under
// name, newest first, walking only those keys backwards.
func (db *DB) latestUnder(bucket []byte, name string, limit int) ([]Redemption, error) {
	var out []Redemption
	prefix := append([]byte(name), 0)
	end := append([]byte(name), 1) // just past every key of name
	err := db.b.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		k, _ := c.Seek(end)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Prev() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// countUnder counts the keys of b under name (keyed name, 0, ID).
func countUnder(b *bolt.Bucket, name string) int {
	prefix := append([]byte(name), 0)
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// ShiftConsumedByReason returns up to limit (0: all) consumed redemptions
// of shift id whose Reason is reason, in ID order. It reads the shift's
// first and last ID from the per-shift index and walks the reason's keys
// between them: O(those keys), neither O(shift) nor O(journal). Pruned
// redemptions are no longer listed (their counters stay).
func (db *DB) ShiftConsumedByReason(id uint64, reason string, limit int) ([]Redemption, error) {
	var out []Redemption
	err := db.b.View(func(tx *bolt.Tx) error {
		sc := tx.Bucket(bByShift).Cursor()
		first, _ := sc.Seek(k2(id, 0))
		if first == nil || binary.BigEndian.Uint64(first) != id {
			return nil
		}
		last, _ := sc.Seek(k2(id+1, 0))
		if last == nil {
			last, _ = sc.Last()
		} else {
			last, _ = sc.Prev()
		}
		lo, hi := binary.BigEndian.Uint64(first[8:]), binary.BigEndian.Uint64(last[8:])
		prefix := append([]byte(reason), 0)
		end := reasonKey(reason, hi)
		c := tx.Bucket(bConsumedBy).Cursor()
		for k, _ := c.Seek(reasonKey(reason, lo)); k != nil && bytes.HasPrefix(k, prefix) && bytes.Compare(k, end) <= 0 && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			r, err := getRed(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			if r.ShiftID == id { // a journal shared by terminals interleaves shifts
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// CountByState returns how many redemptions are in each state.
func (db *DB) CountByState() (map[State]int, error) {
	out := map[State]int{}
	err := db.b.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bByState).ForEach(func(k, _ []byte) error {
			out[State(k[:len(k)-9])]++
			return nil
		})
	})
	return out, err
}

// QueueDepth returns how many redemptions wait for WeChat.
func (db *DB) QueueDepth() (int, error) {
	n := 0
	err := db.b.View(func(tx *bolt.Tx) error { n = tx.Bucket(bOutbox).Stats().KeyN; return nil })
	return n, err
}

// Conflicts returns every redemption in conflict.
func (db *DB) Conflicts() ([]Redemption, error) { return db.ListByState(Conflict, 0) }

// ---- caches ----

// PutCodeStatus stores a code-status cache entry.
func (db *DB) PutCodeStatus(cs CodeStatus) error {
	return db.PutCodeStatuses([]CodeStatus{cs}, nil)
}

// PutCodeStatuses stores code-status entries and, when cursor is not nil,
// the feed cursor after them, in one transaction.
func (db *DB) PutCodeStatuses(cs []CodeStatus, cursor *string) error {
	for _, c := range cs {
		if c.Code == "" {
			return fmt.Errorf("%w: code status without a code", ErrInvalid)
		}
	}
	return db.b.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCodes)
		for _, c := range cs {
			if c.At.IsZero() {
				c.At = db.now()
			}
			if err := putJSON(b, []byte(c.Code), c); err != nil {
				return err
			}
		}
		if cursor != nil {
			return tx.Bucket(bMeta).Put(kCursor, []byte(*cursor))
		}
		return nil
	})
}

// metaPrefix keeps the keys of Meta and PutMeta apart from the store's
// own (schema version, terminal id, feed cursor).
const metaPrefix = "app."

// PutMeta stores a small value under key in the meta bucket, for state a
// till must keep across restarts (the sync engine keeps when the current
// outage began and when the last sync finished). An empty value deletes
// the key.
func (db *DB) PutMeta(key string, value []byte) error {
	if key == "" || len(key) > 128 {
		return fmt.Errorf("%w: meta key must be 1 to 128 bytes (got %d)", ErrInvalid, len(key))
	}
	return db.b.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if len(value) == 0 {
			return m.Delete([]byte(metaPrefix + key))
		}
		return m.Put([]byte(metaPrefix+key), value)
	})
}

// Meta returns the value PutMeta stored under key; nil when there is none.
func (db *DB) Meta(key string) ([]byte, error) {
	var v []byte
	err := db.b.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bMeta).Get([]byte(metaPrefix + key)); b != nil {
			v = bytes.Clone(b)
		}
		return nil
	})
	return v, err
}

// FeedCursor returns the stored hub feed cursor ("" at first).
func (db *DB) FeedCursor() (string, error) {
	var s string
	err := db.b.View(func(tx *bolt.Tx) error { s = string(tx.Bucket(bMeta).Get(kCursor)); return nil })
	return s, err
}

// CodeStatus returns the cache entry of code.
func (db *DB) CodeStatus(code string) (CodeStatus, bool, error) {
	var cs CodeStatus
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) (err error) { ok, err = getJSON(tx.Bucket(bCodes), []byte(code), &cs); return })
	return cs, ok, err
}

// PutCard stores card metadata.
func (db *DB) PutCard(c Card) error {
	if c.CardID == "" {
		return fmt.Errorf("%w: card without card_id", ErrInvalid)
	}
	if c.At.IsZero() {
		c.At = db.now()
	}
	return db.b.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bCards), []byte(c.CardID), c) })
}

// Card returns card metadata.
func (db *DB) Card(cardID string) (Card, bool, error) {
	var c Card
	var ok bool
	err := db.b.View(func(tx *bolt.Tx) (err error) { ok, err = getJSON(tx.Bucket(bCards), []byte(cardID), &c); return })
	return c, ok, err
}

// ---- operating ----

// Size returns the file size and the configured maximum (0: none).
func (db *DB) Size() (size, max int64, err error) {
	err = db.b.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	return size, db.o.MaxSize, err
}

func (db *DB) roomForOffline() error {
	if db.o.MaxSize <= 0 {
		return nil
	}
	size, max, err := db.Size()
	if err != nil {
		return err
	}
	if size >= max {
		return fmt.Errorf("%w (%s is %d bytes, max %d): sync the queue, then run cardtill db compact or raise [store] max_size_mb", ErrFull, db.path, size, max)
	}
	return nil
}

// Backup writes a consistent copy of the journal to w while it stays in use.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.b.View(func(tx *bolt.Tx) (err error) { n, err = tx.WriteTo(w); return })
	return n, err
}

// BackupFile writes a consistent copy to path (which must not exist), synced, mode 0600.
func (db *DB) BackupFile(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	n, err := db.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return 0, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return n, nil
}

// Compact rewrites the journal at path into a fresh file and swaps it in,
// keeping the old one as path+".bak" until the new one is in place. The
// journal must not be open (it takes the lock like Open).
func Compact(path string, o Options) (before, after int64, err error) {
	db, err := Open(path, o)
	if err != nil {
		return 0, 0, err
	}
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		db.Close()
		return 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	cerr := bolt.Compact(dst, db.b, 64<<20)
	if cerr == nil {
		cerr = dst.Sync()
	}
	dst.Close()
	if fi, e := os.Stat(path); e == nil {
		before = fi.Size()
	}
	if cerr != nil {
		db.Close()
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: %w (the journal was not changed)", cerr)
	}
	// Verify the copy before swapping it in.
	chk, err := Open(tmp, Options{LockTimeout: time.Second, Logger: o.Logger})
	if err == nil {
		err = chk.Check()
		chk.Close()
	}
	if err != nil {
		db.Close()
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: the copy failed its check: %w (the journal was not changed)", err)
	}
	// Rename while still holding the lock on the old file, and sync the
	// folder before letting go of it: an Open waiting for the lock finds
	// the new file at the path (openSame) and must not write to it while
	// a power cut could still bring the old one back.
	if testHookCompactBeforeRename != nil {
		testHookCompactBeforeRename()
	}
	if err := os.Rename(tmp, path); err != nil {
		db.Close()
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: %w (the journal was not changed)", err)
	}
	syncDir(filepath.Dir(path))
	db.Close()
	if fi, e := os.Stat(path); e == nil {
		after = fi.Size()
	}
	return before, after, nil
}

// missingDirs lists dir and those of its parents that do not exist, in
// the order MkdirAll creates them (outermost first).
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

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
