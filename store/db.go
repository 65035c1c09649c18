package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the journal layout this build writes.
const SchemaVersion = 9

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

	allBuckets = [][]byte{bMeta, bRed, bActive, bUsed, bOutbox, bByState, bByShift, bShifts, bOpenShift, bCounters, bCodes, bCards, bPruned, bConsumedBy, bShiftConflicts, bResolutions, bFinished, bTombs, bTombsAt, bOverrides, bStateCounts, bLive}

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
		return nil, &NotJournalError{Path: path, Kind: NotJournalFolder}
	case statErr == nil && fi.Size() > 0 && fi.Size() < 4096:
		return nil, &NotJournalError{Path: path, Kind: NotJournalShort, Size: fi.Size()}
	case statErr == nil && fi.Size() > 0:
		if err := preflight(path); err != nil {
			return nil, &NotJournalError{Path: path, Kind: NotJournalDamaged, Err: err}
		}
	case errors.Is(statErr, os.ErrNotExist):
		if o.ReadOnly {
			return nil, fmt.Errorf("store: %s does not exist", path)
		}
		created = missingDirs(filepath.Dir(path))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, &FolderError{Path: path, Create: true, Err: err}
		}
	case statErr != nil:
		return nil, &FolderError{Path: path, Err: statErr}
	}
	b, err := openSame(path, o)
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, &LockedError{Path: path, Waited: o.LockTimeout, Err: err}
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
			return nil, &NotJournalError{Path: path, Kind: NotJournalDamaged, Err: err}
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
	if !o.ReadOnly {
		if err := db.tidyRoot(); err != nil { // live.go
			_ = b.Close()
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
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
					return &NotJournalError{Path: db.path, Kind: NotJournalForeign}
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
		return &SchemaError{Path: db.path, Have: ver, Knows: SchemaVersion}
	}
	if db.o.ReadOnly {
		if ver == 0 && existed {
			return fmt.Errorf("store: %s has no schema version; open it read-write once to initialise", db.path)
		}
		return nil
	}
	if ver > 0 && ver < SchemaVersion {
		if err := db.backupBeforeMigration(ver); err != nil { // migratebackup.go
			return err
		}
	}
	err = db.b.Update(func(tx *bolt.Tx) error {
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
				migrateStep("migrate-step")
			}
		}
		if err := m.Put(kSchema, u64(SchemaVersion)); err != nil {
			return err
		}
		if m.Get(kTerminal) == nil && db.o.Terminal != "" {
			if err := m.Put(kTerminal, []byte(db.o.Terminal)); err != nil {
				return err
			}
		}
		if ver > 0 && ver < SchemaVersion {
			migrateStep("migrate-commit")
		}
		return nil
	})
	if err == nil && ver > 0 && ver < SchemaVersion {
		migrateStep("migrated")
	}
	return err
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
