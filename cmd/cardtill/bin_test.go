package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/store"
)

// The tests that run the real binary (TestSyncCrash, TestPowerCut) share
// one build of it, made by the first that asks, in a folder TestMain
// removes.
var built struct {
	once stdsync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// cardtillBinary builds the binary once and returns its path.
func cardtillBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "cardtill-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "cardtill")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// untilDue waits until the first redemption waiting in the journal at
// path comes due (at most until limit), at once when none waits or it is
// due already: what a
// `sync --once` that left some in doubt inside their quiet period (exit 1)
// waits for before another pass can finish them. The binary runs on the
// wall clock, so this is a wait for that moment, not for an event.
func untilDue(t *testing.T, path string, limit time.Time) {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("the journal does not open: %v", err)
	}
	next, err := db.Find(store.Query{Index: store.Outbox, Limit: 1}) // the outbox runs by due time
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	ok := len(next) == 1
	if ok {
		at = next[0].DueAt
	}
	if ok && at.After(limit) {
		at = limit
	}
	if d := time.Until(at); ok && d > 0 {
		<-time.After(d)
	}
}
