package store

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestHotBackupWhileCommitting takes backups in one read transaction
// each while other goroutines commit moves (the sync daemon's shape: a
// control-socket backup during a drain), then checks the journal. On
// Linux it runs again on the power-cut mount (powercut_test.go).
func TestHotBackupWhileCommitting(t *testing.T) {
	t.Parallel()
	hotBackup(t, t.TempDir())
}

func hotBackup(t *testing.T, dir string) {
	db, err := Open(filepath.Join(dir, "journal.db"), Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh, err := db.OpenShift("T", "a")
	if err != nil {
		t.Fatal(err)
	}
	const n = 240
	ids := make([]uint64, n)
	for i := range n {
		r, err := db.Create(Redemption{Code: fmt.Sprintf("7000%08d", i), ShiftID: sh.ID, State: Queued, Terminal: "T"}, "a", Path(Queued)...)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ID
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if _, err := db.TransitionBatch(ids[i], Queued, Consuming, Change{}); err != nil {
					errs <- err
					return
				}
				if _, err := db.TransitionBatch(ids[i], Consuming, Consumed, Change{Reason: "x"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	backups := 0
loop:
	for {
		select {
		case <-done:
			break loop
		default:
		}
		if _, err := db.Backup(io.Discard); err != nil {
			t.Fatal(err)
		}
		backups++
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("after %d hot backups: %v", backups, err)
	}
	t.Logf("%d hot backups during %d commits", backups, 2*n)
}
