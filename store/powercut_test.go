//go:build linux

package store

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"cardtill/internal/powercut"
)

// TestPowerCutNewJournal: a new journal's first acknowledged redemption
// survives a power cut. bbolt syncs the new file but not its name, so
// before Open synced the folder (and the folders it made) the cut took
// the whole journal (found by TestPowerCut/till in cmd/cardtill).
func TestPowerCutNewJournal(t *testing.T) {
	t.Parallel()
	pc := powercut.Mount(t)
	path := filepath.Join(pc.Dir, "var", "cardtill", "journal.db")
	db, err := Open(path, Options{Terminal: "till-1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Create(Redemption{Code: "110201201245", State: Queued, Terminal: "till-1", DueAt: time.Now()}, "test", Received)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Cut(powercut.CutOptions{}); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("the journal is gone after the cut: %v", err)
	}
	defer db.Close()
	got, err := db.Get(r.ID)
	if err != nil || got.State != Queued {
		t.Fatalf("the accepted redemption after the cut: %+v %v", got, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestHotBackupWhileCommittingOnThePowerCutMount is
// TestHotBackupWhileCommitting on the power-cut mount, which serves every
// read and write through FUSE.
func TestHotBackupWhileCommittingOnThePowerCutMount(t *testing.T) {
	t.Parallel()
	hotBackup(t, powercut.Mount(t).Dir)
}
