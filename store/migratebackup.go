package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Before a writable Open migrates an existing journal (schema > 0 and
// older than SchemaVersion), it copies the file as it is beside itself,
// <journal>.schema<N>.bak (docs/ARCHITECTURE.md, "Migrations"): a
// consistent copy from one read transaction (bbolt's Tx.WriteTo) into
// <backup>.tmp, fsynced, renamed into place, the folder fsynced; only then
// does the migration's transaction start. A kill before the rename leaves
// the journal untouched and at most a .tmp, which the next open removes
// and writes again; a kill after it leaves a whole backup.
//
// An existing file at the backup's name is never overwritten. When it is
// the copy of exactly the journal's present state (the same schema,
// bbolt transaction id and size: an earlier open was killed after its
// backup and before its migration committed, and nothing was written
// since), it is kept and no new copy is made. Otherwise (an older cardtill
// wrote to the journal in between, or it is not a backup), the copy goes
// to <journal>.schema<N>.tx<txid>.bak beside it.

// ErrMigrationBackup: the journal could not be backed up before its
// migration, so it was not migrated (errors.Is(err, ErrMigrationBackup)).
var ErrMigrationBackup = errors.New("store: no backup before migration")

// MigrationBackupError says why the backup before a migration failed.
// The journal was not changed.
type MigrationBackupError struct {
	Path   string // the journal
	Backup string // the backup's path ("" when no name was free)
	Schema uint64 // the journal's schema, which it keeps
	Err    error
}

func (e *MigrationBackupError) Error() string {
	if e.Backup == "" {
		return fmt.Sprintf("store: cannot back up %s (schema %d) before migrating it: %v; the journal was not changed", e.Path, e.Schema, e.Err)
	}
	return fmt.Sprintf("store: cannot back up %s (schema %d) to %s before migrating it: %v; the journal was not changed", e.Path, e.Schema, e.Backup, e.Err)
}

func (e *MigrationBackupError) Unwrap() []error { return []error{ErrMigrationBackup, e.Err} }

// MigrationBackupPath is where Open backs up a journal of schema ver
// before migrating it (unless a backup of another state of the journal is
// already there; see above).
func MigrationBackupPath(journal string, ver uint64) string {
	return fmt.Sprintf("%s.schema%d.bak", journal, ver)
}

// testHookMigrate (nil in production) is called at the named steps of
// the backup and the migration, so that a test can kill the process at
// each of them (migratecrash_test.go).
var testHookMigrate func(step string)

func migrateStep(step string) {
	if testHookMigrate != nil {
		testHookMigrate(step)
	}
}

// backupBeforeMigration makes sure a backup of the journal as it is (at
// schema ver) is beside it, durable, before init migrates it.
func (db *DB) backupBeforeMigration(ver uint64) error {
	migrateStep("backup-start")
	var txid int
	var size int64
	if err := db.b.View(func(tx *bolt.Tx) error { txid, size = tx.ID(), tx.Size(); return nil }); err != nil {
		return &MigrationBackupError{Path: db.path, Schema: ver, Err: err}
	}
	stable := MigrationBackupPath(db.path, ver)
	names := []string{stable, fmt.Sprintf("%s.schema%d.tx%d.bak", db.path, ver, txid)}
	dst := ""
	for _, name := range names {
		_, err := os.Lstat(name)
		if errors.Is(err, os.ErrNotExist) {
			dst = name
			break
		}
		if err != nil {
			return &MigrationBackupError{Path: db.path, Backup: name, Schema: ver, Err: err}
		}
		if backupOf(name, ver, txid, size) {
			db.log.Info("journal backup before migration already there", "journal", db.path, "backup", name, "schema", ver)
			migrateStep("backup-kept")
			return nil
		}
	}
	if dst == "" {
		return &MigrationBackupError{Path: db.path, Schema: ver, Err: fmt.Errorf("%s and %s exist and are not a copy of it", names[0], names[1])}
	}
	tmp := dst + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) { // a killed backup's
		return &MigrationBackupError{Path: db.path, Backup: dst, Schema: ver, Err: err}
	}
	n, err := db.writeBackup(tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return &MigrationBackupError{Path: db.path, Backup: dst, Schema: ver, Err: err}
	}
	migrateStep("backup-synced")
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return &MigrationBackupError{Path: db.path, Backup: dst, Schema: ver, Err: err}
	}
	migrateStep("backup-renamed")
	syncDir(filepath.Dir(dst))
	db.log.Info("journal backed up before migration", "journal", db.path, "backup", dst, "schema", ver, "bytes", n)
	migrateStep("backup-done")
	return nil
}

// writeBackup writes a consistent copy of the journal to the new file
// tmp and fsyncs it.
func (db *DB) writeBackup(tmp string) (int64, error) {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	var w io.Writer = f
	if testHookMigrate != nil {
		w = stepWriter{f}
	}
	n, err := db.Backup(w)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// stepWriter calls the test hook after every write of the backup.
type stepWriter struct{ w io.Writer }

func (s stepWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	migrateStep("backup-write")
	return n, err
}

// backupOf reports whether the file at name is a whole bbolt file holding
// the journal's present state: schema ver, transaction txid, size bytes.
func backupOf(name string, ver uint64, txid int, size int64) bool {
	fi, err := os.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < 4096 {
		return false
	}
	if preflight(name) != nil {
		return false
	}
	b, err := openBolt(name, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return false
	}
	defer b.Close()
	ok := false
	_ = b.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil || tx.ID() != txid || tx.Size() != size {
			return nil
		}
		v := m.Get(kSchema)
		ok = len(v) == 8 && binary.BigEndian.Uint64(v) == ver
		return nil
	})
	return ok
}
