package store

import (
	"path/filepath"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"
)

// Compact cannot lose writes: a till that opened the journal while
// Compact held the lock (it waits for the lock on the file it opened,
// which the rename then replaces) opens the new file once it has the lock,
// and what it writes is in the file at the path. Without the check in
// openSame the write goes to the deleted old file.
func TestCompactWhileATillOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	clk := newClock()
	db, err := Open(path, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	before, err := db.Create(Redemption{Code: "BEFORE", State: Consumed}, "t", Path(Consumed)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	var waiting atomic.Bool // set once Compact holds the lock and is about to rename
	opened := make(chan struct{})
	var once stdsync.Once
	type result struct {
		db  *DB
		err error
	}
	till := make(chan result, 1)
	testHookOpened = func(name string) {
		if name == path && waiting.Load() {
			once.Do(func() { close(opened) })
		}
	}
	testHookCompactBeforeRename = func() {
		waiting.Store(true)
		go func() {
			d, err := Open(path, Options{Now: clk.Now, LockTimeout: time.Minute})
			till <- result{d, err}
		}()
		<-opened // the till has the old file open and waits for its lock
	}
	defer func() { testHookOpened, testHookCompactBeforeRename = nil, nil }()
	if _, _, err := Compact(path, Options{Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	r := <-till
	if r.err != nil {
		t.Fatal(r.err)
	}
	after, err := r.db.Create(Redemption{Code: "AFTER", State: Consumed}, "t", Path(Consumed)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, want := range []Redemption{before, after} {
		if got, err := db.Get(want.ID); err != nil || got.Code != want.Code {
			t.Errorf("redemption %d (%s) in the file at the path: %+v %v", want.ID, want.Code, got, err)
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
