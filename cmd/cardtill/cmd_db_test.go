package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/store"
)

func TestDbCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal.db")
	cfg := writeFile(t, "config.toml", fmt.Sprintf("[store]\npath = %q\nlock_timeout = \"200ms\"\n", journal))
	cardtill := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), append([]string{"--config", cfg}, args...), strings.NewReader(""), &out, &out)
		return code, out.String()
	}

	if code, out := cardtill("db", "check"); code != exitUsage || !strings.Contains(out, journal) {
		t.Fatalf("check of a missing journal: %d %s", code, out)
	}

	db, err := store.Open(journal, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := db.OpenShift("T", "ann")
	for i := 0; i < 50; i++ {
		r, err := db.Create(store.Redemption{Code: fmt.Sprint(1000 + i), ShiftID: sh.ID, State: store.Consuming}, "ann", store.Path(store.Consuming)...)
		if err != nil {
			t.Fatal(err)
		}
		db.Transition(r.ID, store.Consuming, store.Consumed, store.Change{})
	}

	// A running till holds the lock: a clear error, no hang.
	start := time.Now()
	if code, out := cardtill("db", "compact"); code != exitUsage || !strings.Contains(out, "another cardtill holds") {
		t.Fatalf("compact while open: %d %s", code, out)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("compact hung on the lock")
	}
	db.Close()

	if code, out := cardtill("db", "check"); code != exitOK || !strings.Contains(out, "50 redemptions") {
		t.Fatalf("check: %d %s", code, out)
	}
	bk := filepath.Join(dir, "backup.db")
	if code, out := cardtill("db", "backup", bk); code != exitOK || !strings.Contains(out, "checked") {
		t.Fatalf("backup: %d %s", code, out)
	}
	if code, out := cardtill("db", "backup", bk); code != exitUsage || !strings.Contains(out, "already exists") {
		t.Fatalf("backup over an existing file: %d %s", code, out)
	}
	if code, out := cardtill("db", "compact"); code != exitOK || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: %d %s", code, out)
	}
	if code, out := cardtill("db", "check"); code != exitOK {
		t.Fatalf("check after compact: %d %s", code, out)
	}

	// A file that is not a journal: a clear error, untouched.
	junk := []byte(strings.Repeat("not a journal ", 1000))
	os.WriteFile(journal, junk, 0o600)
	if code, out := cardtill("db", "check"); code != exitUsage || !strings.Contains(out, "not a usable journal") || !strings.Contains(out, "restore it from a backup (cardtill db backup)") {
		t.Fatalf("check of junk: %d %s", code, out)
	}
	if after, _ := os.ReadFile(journal); !bytes.Equal(after, junk) {
		t.Fatal("junk file changed")
	}
}

// db check on the schema-5 fixture (store/testdata, written by a cardtill
// of format-1 records) passes as it is, read-only, and after a writable
// open has backed it up and migrated it, proves its counters and indexes
// at the current schema.
func TestDbCheckMigratedFixture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal.db")
	gz, err := os.Open(filepath.Join("..", "..", "store", "testdata", "schema5.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(journal, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "config.toml", fmt.Sprintf("[store]\npath = %q\nlock_timeout = \"200ms\"\n", journal))
	cardtill := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), append([]string{"--config", cfg}, args...), strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	if code, out := cardtill("db", "check"); code != exitOK || !strings.Contains(out, "schema 5, 63 redemptions") {
		t.Fatalf("check before the migration: %d %s", code, out)
	}
	db, err := store.Open(journal, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("schema %d, 63 redemptions, received 1, checked 1, consuming 1, consumed 50, rejected 7, in_doubt 1, queued 1, conflict 1;", store.SchemaVersion)
	if code, out := cardtill("db", "check"); code != exitOK || !strings.Contains(out, want) {
		t.Fatalf("check after the migration: %d %s\nwant %s", code, out, want)
	}
	if _, err := os.Stat(store.MigrationBackupPath(journal, 5)); err != nil {
		t.Fatalf("no backup: %v", err)
	}
}
