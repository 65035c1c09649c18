package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

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
		return &FullError{Path: db.path, Size: size, Max: max}
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
