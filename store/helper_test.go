package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
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

// toSchema turns the closed journal at path into what schema v wrote, as
// far as buckets go: the buckets later migrations create are deleted
// (with what they hold) and the version is set to v, in one commit.
func toSchema(t testing.TB, path string, v uint64) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(func(tx *bolt.Tx) error {
		if live := tx.Bucket(bLive); live != nil && v < 9 { // before schema 9 every record was in redemptions
			red := tx.Bucket(bRed)
			if err := live.ForEach(func(k, rec []byte) error { return red.Put(bytes.Clone(k), bytes.Clone(rec)) }); err != nil {
				return err
			}
			if err := red.SetSequence(live.Sequence()); err != nil {
				return err
			}
		}
		for _, g := range bucketsSince {
			if g.ver <= v {
				continue
			}
			for _, name := range g.names {
				if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
					return err
				}
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, u64(v))
	}); err != nil {
		t.Fatal(err)
	}
}

// holding is the bucket that holds redemption id's record (live.go).
func holding(tx *bolt.Tx, id uint64) *bolt.Bucket {
	if tx.Bucket(bLive).Get(u64(id)) != nil {
		return tx.Bucket(bLive)
	}
	return tx.Bucket(bRed)
}
