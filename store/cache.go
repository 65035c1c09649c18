package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

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
