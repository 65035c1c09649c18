package store

import (
	bolt "go.etcd.io/bbolt"
	"path/filepath"
	"testing"
	"time"
)

// clock is an injected clock that moves one second per reading.
type clock struct{ t time.Time }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.t = c.t.Add(time.Second); return c.t }

// testDB is an open journal in a temp dir, in the style of bbolt's
// internal/btesting: Check runs on cleanup, Reopen simulates a restart.
type testDB struct {
	*DB
	t    testing.TB
	path string
	o    Options
}

func openTest(t testing.TB, o Options) *testDB {
	t.Helper()
	if o.Now == nil {
		o.Now = newClock().Now
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 200 * time.Millisecond
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	tdb := &testDB{DB: db, t: t, path: path, o: o}
	t.Cleanup(func() {
		if tdb.DB == nil {
			return
		}
		if err := tdb.Check(); err != nil {
			t.Errorf("check on cleanup: %v", err)
		}
		tdb.Close()
	})
	return tdb
}

// Reopen closes and reopens the file (a restart).
func (d *testDB) Reopen() {
	d.t.Helper()
	if err := d.DB.Close(); err != nil {
		d.t.Fatal(err)
	}
	db, err := Open(d.path, d.o)
	if err != nil {
		d.t.Fatal(err)
	}
	d.DB = db
}

func (d *testDB) mustCheck() {
	d.t.Helper()
	if err := d.Check(); err != nil {
		d.t.Fatal(err)
	}
}

// Reopen2 opens the file again after it was closed elsewhere.
func (d *testDB) Reopen2() {
	d.t.Helper()
	db, err := Open(d.path, d.o)
	if err != nil {
		d.t.Fatal(err)
	}
	d.DB = db
}

type boltTx = bolt.Tx
