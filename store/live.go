package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bLive (schema 9) holds the records of redemptions in an active state
// (received, checked, consuming, in doubt, queued): id(8) -> record, as
// redemptions does. A record lives here from its scan until it finishes,
// and then moves to redemptions in the commit of its final move (a
// finished state is final: a record moves once and never back). The
// bucket holds the few redemptions the engine is working on, so it is
// one page or inline in the root, and the moves of a scan before its
// answer and a queued code's retries write that page instead of the
// path through the tall redemptions tree (docs/ARCHITECTURE.md, "The
// journal's records"). Its sequence gives new redemptions their ids.
var bLive = []byte("live_redemptions")

// recordBucket is the bucket a record in state s belongs in.
func recordBucket(tx *bolt.Tx, s State) *bolt.Bucket {
	if s.Active() {
		return tx.Bucket(bLive)
	}
	b := tx.Bucket(bRed)
	// its keys are ids, put mostly in order: pages once split stay full
	b.FillPercent = appendFill
	return b
}

// rawRecord is the stored record of redemption id and the bucket that
// holds it (nil when neither does). A file not yet migrated to schema 9
// (opened read-only) has no live bucket and every record in redemptions.
func rawRecord(tx *bolt.Tx, id uint64) ([]byte, []byte) {
	k := u64(id)
	if b := tx.Bucket(bLive); b != nil {
		if v := b.Get(k); v != nil {
			return v, bLive
		}
	}
	return tx.Bucket(bRed).Get(k), bRed
}

// lastID is the highest id the journal has handed out: the live bucket's
// sequence, which took over redemptions' at the migration to schema 9.
func lastID(tx *bolt.Tx) uint64 {
	seq := tx.Bucket(bRed).Sequence()
	if b := tx.Bucket(bLive); b != nil {
		seq = max(seq, b.Sequence())
	}
	return seq
}

// migrateLive is the 8 -> 9 migration: the records of active redemptions
// move, as stored, from redemptions to live_redemptions, found through
// by_state (a till's offline backlog at most, whatever the journal's
// size), and the live bucket's sequence continues redemptions'.
func migrateLive(tx *bolt.Tx) error {
	red, live := tx.Bucket(bRed), tx.Bucket(bLive)
	if err := live.SetSequence(max(live.Sequence(), red.Sequence())); err != nil {
		return err
	}
	for _, s := range AllStates {
		if !s.Active() {
			continue
		}
		prefix := stateKey(s, 0)[:len(s)+1]
		c := tx.Bucket(bByState).Cursor()
		var ids [][]byte
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, bytes.Clone(k[len(prefix):]))
		}
		for _, k := range ids {
			v := red.Get(k)
			if v == nil {
				if live.Get(k) != nil {
					continue // moved already
				}
				return fmt.Errorf("%s index names redemption %x, which has no record", bByState, k)
			}
			if err := live.Put(k, bytes.Clone(v)); err != nil {
				return err
			}
			if err := red.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// forEachRecord calls fn with every stored record, the live ones first.
func forEachRecord(tx *bolt.Tx, fn func(bucket, k, v []byte) error) error {
	for _, name := range [][]byte{bLive, bRed} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		if err := b.ForEach(func(k, v []byte) error { return fn(name, k, v) }); err != nil {
			return err
		}
	}
	return nil
}

// rootSplit reports whether the file's top level (the buckets, the small
// ones inline) is spread over several pages under a branch.
func rootSplit(tx *bolt.Tx) (bool, error) {
	p, err := tx.Page(int(tx.Cursor().Bucket().Root()))
	if err != nil {
		return false, err
	}
	return p != nil && p.Type == "branch", nil
}

// rootBytes is about what the file's top level holds: per bucket bbolt's
// leaf element, the name and the bucket's header, and an inline bucket's
// page besides.
func rootBytes(tx *bolt.Tx) int {
	const elem, header = 16, 16 // bbolt's leafPageElement and bucket header
	n := 16                     // the page header
	c := tx.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n += elem + len(k) + header
		if b := tx.Bucket(k); b != nil && b.Root() == 0 { // inline: its page is in the value
			n += b.Stats().InlineBucketInuse
		}
	}
	return n
}

// tidyRoot puts the file's top level back into one page when it is split
// and fits in three quarters of one (so that it does not split again at
// once, and a top level that needs several pages is left as it is rather
// than rewritten at every open). Every commit writes the pages from the
// top level down to what it changed, so a split top level costs every
// commit a page (a branch) more than it needs. The top level splits early in a journal's
// life, while every bucket is small enough to be inline in it, and bbolt
// never joins its pages again by itself: it joins a page only when a key
// on it is deleted, and the top level's keys (the buckets) never are. So
// Open (read-write) gives every page of the top level a key it deletes
// again: a bucket named after each bucket with a 0 byte added (no name of
// ours holds one), created and deleted in one commit, and bbolt joins the
// pages under half full at that commit. Nothing else changes, nothing is
// copied, and a crash leaves the commit made or not.
func (db *DB) tidyRoot() error {
	var split bool
	if err := db.b.View(func(tx *bolt.Tx) (err error) {
		if split, err = rootSplit(tx); split {
			split = rootBytes(tx) <= db.b.Info().PageSize*3/4
		}
		return err
	}); err != nil || !split {
		return err
	}
	return db.b.Update(func(tx *bolt.Tx) error {
		tx.Cursor().Bucket().FillPercent = 1 // join pages up to half full, split them full
		var names [][]byte
		c := tx.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			names = append(names, bytes.Clone(k))
		}
		for _, n := range names {
			k := append(n, 0) // sorts right after n: on n's page
			if tx.Bucket(k) != nil {
				continue
			}
			if _, err := tx.CreateBucket(k); err != nil {
				return err
			}
			if err := tx.DeleteBucket(k); err != nil {
				return err
			}
		}
		return nil
	})
}
