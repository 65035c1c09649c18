package store

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TransitionBatch's group commit: writes that arrive while a commit runs
// share the next transaction (one commit for all of them, not one each:
// the drain's throughput, BenchmarkDrainStore), each write gets its own
// result, and a write that fails (here a stale compare-and-set) gets its
// own error while the others of its group still commit.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	for _, withStale := range []bool{false, true} {
		t.Run(fmt.Sprint("stale=", withStale), func(t *testing.T) {
			db := openTest(t, Options{NoSync: true})
			const n = 10
			ids := make([]uint64, n)
			for i := range ids {
				r, err := db.Create(Redemption{Code: fmt.Sprintf("GROUP-%d", i), State: Queued}, "test", Path(Queued)...)
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = r.ID
			}
			// Hold bbolt's writer lock, so the first write's commit waits
			// and the others arrive while it runs.
			hold, held := make(chan struct{}), make(chan struct{})
			go db.b.Update(func(*bolt.Tx) error { close(held); <-hold; return nil })
			<-held
			before := db.group.commits.Load()
			errs := make(chan error, n)
			write := func(i int) {
				from, to := Queued, Queued
				if withStale && i == 5 {
					from, to = InDoubt, InDoubt // not its state: refused, alone
				}
				_, err := db.TransitionBatch(ids[i], from, to, Change{By: "test", Update: func(r *Redemption) { r.Attempts = i + 1 }})
				errs <- err
			}
			go write(0)
			waitFor(t, "the first write to lead", func() bool {
				db.group.mu.Lock()
				defer db.group.mu.Unlock()
				return db.group.busy && len(db.group.pending) == 0
			})
			for i := 1; i < n; i++ {
				go write(i)
			}
			waitFor(t, "the others to wait for the next commit", func() bool {
				db.group.mu.Lock()
				defer db.group.mu.Unlock()
				return len(db.group.pending) == n-1
			})
			close(hold)
			var stale int
			for range n {
				if err := <-errs; err != nil {
					if !withStale || !errors.Is(err, ErrStateConflict) {
						t.Fatalf("write: %v", err)
					}
					stale++
				}
			}
			if withStale && stale != 1 {
				t.Fatalf("%d stale writes, want 1", stale)
			}
			for i, id := range ids {
				r, err := db.Get(id)
				if err != nil {
					t.Fatal(err)
				}
				want := i + 1
				if withStale && i == 5 {
					want = 0
				}
				if r.Attempts != want {
					t.Fatalf("redemption %d: attempts %d, want %d", i, r.Attempts, want)
				}
			}
			// One commit for the first write, one for the nine after it;
			// with a stale one: its group's failed try, its own, and the
			// other eight again.
			want := int64(2)
			if withStale {
				want = 4
			}
			if got := db.group.commits.Load() - before; got != want {
				t.Fatalf("%d transactions for %d writes, want %d", got, n, want)
			}
		})
	}
}

// waitFor polls cond (the group's state, which nothing signals) until it
// holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}
