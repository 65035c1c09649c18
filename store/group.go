package store

import (
	stdsync "sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// groupCommit runs concurrent writes (TransitionBatch) in shared bbolt
// transactions without a timer: a write that finds no commit running
// commits at once, alone or with whatever joined it; writes that arrive
// while a commit runs wait and go together in the next one. So a write
// never waits for a delay, and concurrent writers (the drain's workers)
// pay one commit, and its fsyncs, per group instead of one each: a
// journal commit costs several milliseconds, and one at a time they
// bounded the drain below its network's pace.
//
// bolt.DB.Batch did not: it starts a batch's commit after a fixed delay
// (MaxBatchDelay), so while one commit runs the writes arriving meanwhile
// start commits of one or two writes each, which then queue for bbolt's
// writer lock.
type groupCommit struct {
	mu      stdsync.Mutex
	pending []*groupWrite
	busy    bool         // a leader is committing
	commits atomic.Int64 // transactions run (tests)
}

type groupWrite struct {
	fn   func(*bolt.Tx) error
	done chan error    // the write's result
	lead chan struct{} // this write's goroutine commits the next group
}

// grouped runs fn in a transaction it may share with concurrent calls. As
// with bolt.DB.Batch, fn may run more than once and must only change the
// transaction: a group whose write fails is rolled back, the failed write
// runs alone (its error is its own) and the others commit again together.
func (db *DB) grouped(fn func(*bolt.Tx) error) error {
	g := &db.group
	w := &groupWrite{fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	if g.busy {
		g.mu.Unlock()
		select {
		case err := <-w.done:
			return err
		case <-w.lead:
		}
	} else {
		g.busy = true
		g.mu.Unlock()
	}
	// Leading: commit everything waiting (w with it), then hand the lead
	// to the first write that arrived meanwhile, if any.
	g.mu.Lock()
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()
	db.commitGroup(batch)
	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].lead <- struct{}{}
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return <-w.done
}

// commitGroup commits ws in one transaction; a write that fails is taken
// out and run alone, and the rest are tried again together.
func (db *DB) commitGroup(ws []*groupWrite) {
	for len(ws) > 0 {
		failed := -1
		db.group.commits.Add(1)
		err := db.b.Update(func(tx *bolt.Tx) error {
			for i, w := range ws {
				if err := w.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range ws {
				w.done <- err // nil, or the commit's own failure for all
			}
			return
		}
		w := ws[failed]
		db.group.commits.Add(1)
		w.done <- db.b.Update(w.fn)
		ws = append(ws[:failed:failed], ws[failed+1:]...)
	}
}
