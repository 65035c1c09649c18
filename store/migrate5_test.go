package store

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fixtureJournal gunzips testdata/schema5.db.gz to dir/journal.db.
func fixtureJournal(t testing.TB, dir string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "schema5.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "journal.db")
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// dumpFile is every key and value of the bbolt file at path, bucket by
// bucket (nested buckets by their path), opened read-only.
func dumpFile(t testing.TB, path string) map[string]string {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := map[string]string{}
	var walk func(prefix string, bk *bolt.Bucket)
	walk = func(prefix string, bk *bolt.Bucket) {
		_ = bk.ForEach(func(k, v []byte) error {
			if v == nil {
				walk(prefix+hex.EncodeToString(k)+"/", bk.Bucket(k))
				return nil
			}
			out[prefix+hex.EncodeToString(k)] = string(v)
			return nil
		})
	}
	if err := b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error { walk(string(name)+"/", bk); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameDump reports the first difference of two dumps ("" if none).
func sameDump(a, b map[string]string) string {
	for k, v := range a {
		if w, ok := b[k]; !ok {
			return k + " missing"
		} else if w != v {
			return k + " differs"
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			return k + " added"
		}
	}
	return ""
}

// logBuffer is a Logger's output, safe to read while it is written.
type logBuffer struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func checkReadOnly(t testing.TB, path string, wantSchema int) {
	t.Helper()
	ro, err := Open(path, Options{ReadOnly: true, LockTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if v, err := ro.SchemaVersion(); err != nil || v != wantSchema {
		t.Fatalf("%s: schema %d %v, want %d", path, v, err, wantSchema)
	}
	if err := ro.Check(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The fixture a cardtill of schema 5 wrote (format-1 records) opens with
// this one: it is backed up beside itself, migrated to SchemaVersion, its
// counters and indexes check, and it reads as what was journaled: the
// states, the shifts and their Z, the conflict's resolution, the override,
// the pruned code's tombstone refusing it offline, the caches, the fleet
// reports waiting. The backup is the schema-5 file as it was; a second
// open makes no second backup.
func TestMigrateSchema5Fixture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := fixtureJournal(t, dir)
	before := dumpFile(t, path)
	for k, v := range before { // what the fixture is: schema 5, format 1
		if strings.HasPrefix(k, string(bRed)+"/") && v[0] != '{' || strings.HasPrefix(k, string(bUsed)+"/") && v[0] != '[' {
			t.Fatalf("fixture entry %s is not format 1: %q", k, v)
		}
	}
	if got := before[string(bMeta)+"/"+hex.EncodeToString(kSchema)]; got != string(u64(5)) {
		t.Fatalf("fixture schema %x", got)
	}
	checkReadOnly(t, path, 5)

	var logs logBuffer
	clk := &fixtureClock{t: time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)}
	o := Options{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)), LockTimeout: time.Second}
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	f := fixture5
	if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("schema %d %v, want %d", v, err, SchemaVersion)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	bak := MigrationBackupPath(path, 5)
	if l := logs.String(); !strings.Contains(l, "journal backed up before migration") || !strings.Contains(l, "journal="+path) || !strings.Contains(l, "backup="+bak) {
		t.Fatalf("the backup is not logged with both paths:\n%s", l)
	}

	counts, err := db.CountByState()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range AllStates {
		if counts[s] != f.counts[s] {
			t.Errorf("%s: %d, want %d", s, counts[s], f.counts[s])
		}
	}
	if term, _ := db.Terminal(); term != f.terminal {
		t.Errorf("terminal %q", term)
	}
	// The pruned consumed code is refused from its tombstone; the pruned
	// refusal left none.
	if fc, ok, err := db.FinishedByCode(f.prunedCode); err != nil || !ok || !fc.Pruned || fc.State != Consumed || fc.ShiftID != 1 || fc.Terminal != f.terminal {
		t.Errorf("tombstone of %s: %+v %v %v", f.prunedCode, fc, ok, err)
	}
	if fc, ok, err := db.FinishedByCode(f.prunedRefusal); err != nil || ok {
		t.Errorf("a pruned refusal is listed as used: %+v %v", fc, err)
	}
	// The conflict, its index entry and the manager's resolution.
	cs, err := db.Find(Query{Index: ByState, State: Conflict})
	if err != nil || len(cs) != 1 || cs[0].Code != f.conflictCode {
		t.Fatalf("conflicts %+v %v", cs, err)
	}
	if res, err := db.Resolution(cs[0].ID); err != nil || res == nil || res.By != "manager Li" || res.Note != f.conflictNote {
		t.Errorf("resolution %+v %v", res, err)
	}
	if ce, err := db.ShiftConflicts(1); err != nil || len(ce) != 1 || ce[0].ID != cs[0].ID || ce[0].Resolution == nil {
		t.Errorf("shift 1's conflicts %+v %v", ce, err)
	}
	if fc, ok, err := db.FinishedByCode(f.conflictCode); err != nil || !ok || fc.State != Conflict {
		t.Errorf("the conflict's code is not used here: %+v %v %v", fc, ok, err)
	}
	// Shifts: two closed with their Z, one open.
	shifts, err := db.Shifts(0)
	if err != nil || len(shifts) != f.shifts {
		t.Fatalf("shifts %d %v", len(shifts), err)
	}
	slices.SortFunc(shifts, func(a, b Shift) int { return int(a.ID) - int(b.ID) })
	s1, s2, s3 := shifts[0], shifts[1], shifts[2]
	if s1.Open() || s1.Z == nil || s2.Open() || s2.Z == nil || !s3.Open() || s3.Z != nil {
		t.Fatalf("shifts %+v", shifts)
	}
	// Shift 1's Z at its close: 29 scans, of which the lost consume still
	// pending; 4 accepted offline (one became the conflict).
	z := s1.Z
	if z.Total != 29 || z.OfflineAccepted != 4 || z.ByOutcome[OutcomeConsumedOnline] != 21 || z.ByOutcome[OutcomeOfflineConsumed] != 3 ||
		z.ByOutcome[OutcomeConflict] != 1 || z.ByOutcome[OutcomeRefused] != 3 || z.ByOutcome[OutcomePending] != 1 || z.ConsumedByReason["ok"] != 24 {
		t.Errorf("shift 1's Z %+v", *z)
	}
	c1, err := db.ShiftCounters(1)
	if err != nil || c1.Total != 29 || c1.ByOutcome[OutcomePending] != 0 || c1.SettledAfterClose[OutcomeConsumedOnline] != 1 || c1.ConsumedByReason["confirmed_by_query"] != 1 {
		t.Errorf("shift 1's live counters %+v %v", c1, err)
	}
	if z2 := s2.Z; z2.Total != 18 || z2.ByOutcome[OutcomeRefused] != 2 || z2.ConsumedByReason["confirmed_by_query"] != 1 {
		t.Errorf("shift 2's Z %+v", *z2)
	}
	if c3, err := db.ShiftCounters(3); err != nil || c3.Total != 18 || c3.ByOutcome[OutcomePending] != 5 || c3.OfflineAccepted != 1 {
		t.Errorf("shift 3's counters %+v %v", c3, err)
	}
	if ov, err := db.OfflineOverrides(1); err != nil || len(ov) != 1 || ov[0].Extra != f.overrideExtra || ov[0].By != "manager Li" {
		t.Errorf("overrides %+v %v", ov, err)
	}
	// The outbox: queued, in doubt and the consume to retry.
	if due, err := db.Find(Query{Index: Outbox, Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil || len(due) != 3 {
		t.Errorf("due %d %v", len(due), err)
	}
	if cur, err := db.FeedCursor(); err != nil || cur != "feed-0001" {
		t.Errorf("feed cursor %q %v", cur, err)
	}
	if cs, ok, err := db.CodeStatus("452998539901"); err != nil || !ok || cs.Status != "CONSUMED" {
		t.Errorf("code status %+v %v %v", cs, ok, err)
	}
	if c, ok, err := db.Card("pDEMO_cake_free_0"); err != nil || !ok || c.Title == "" {
		t.Errorf("card %+v %v %v", c, ok, err)
	}
	// The hub confirmed shift 1's Z: shift 2's and the conflict wait.
	if items, n, err := db.FleetPending(0); err != nil || n != 2 {
		t.Errorf("fleet pending %d %+v %v", n, items, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The backup: the schema-5 file as it was, whole.
	checkReadOnly(t, bak, 5)
	if d := sameDump(before, dumpFile(t, bak)); d != "" {
		t.Fatalf("the backup is not the journal as it was: %s", d)
	}

	// Another open: nothing to migrate, no second backup; the journal
	// takes writes and still checks.
	n := len(logs.String())
	db, err = Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if l := logs.String()[n:]; strings.Contains(l, "backed up") || strings.Contains(l, "migrated") {
		t.Fatalf("a second open logged %s", l)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"journal.db", "journal.db.schema5.bak"}) {
		t.Fatalf("beside the journal: %v", names)
	}
	q, err := db.Find(Query{Index: ByState, State: Queued})
	if err != nil || len(q) != 1 {
		t.Fatalf("queued %+v %v", q, err)
	}
	if _, err := db.Transition(q[0].ID, Queued, Consuming, Change{By: "drain"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// A backup that cannot be written stops the open with a typed error and
// leaves the journal as it was; a file already at the backup's name that
// is not a copy of the journal is left alone and the backup goes beside it.
func TestMigrationBackup(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.DiscardHandler)
	t.Run("fails", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := fixtureJournal(t, dir)
		before := dumpFile(t, path)
		// The temporary file's name is taken by a folder that cannot be
		// removed: the backup cannot be written.
		tmp := MigrationBackupPath(path, 5) + ".tmp"
		if err := os.MkdirAll(filepath.Join(tmp, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, Options{Logger: quiet, LockTimeout: time.Second})
		var be *MigrationBackupError
		if !errors.Is(err, ErrMigrationBackup) || !errors.As(err, &be) || be.Path != path || be.Schema != 5 || be.Backup != MigrationBackupPath(path, 5) {
			t.Fatalf("open: %v", err)
		}
		if !strings.Contains(err.Error(), "the journal was not changed") {
			t.Fatalf("text: %v", err)
		}
		if d := sameDump(before, dumpFile(t, path)); d != "" {
			t.Fatalf("the journal changed: %s", d)
		}
		if _, err := os.Stat(MigrationBackupPath(path, 5)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a backup was left: %v", err)
		}
		// Once the name is free the open backs up and migrates.
		if err := os.RemoveAll(tmp); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{Logger: quiet, LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		checkReadOnly(t, MigrationBackupPath(path, 5), 5)
	})
	t.Run("name taken", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := fixtureJournal(t, dir)
		before := dumpFile(t, path)
		other := []byte(strings.Repeat("someone else's file ", 500))
		if err := os.WriteFile(MigrationBackupPath(path, 5), other, 0o600); err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		db, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if got, _ := os.ReadFile(MigrationBackupPath(path, 5)); !bytes.Equal(got, other) {
			t.Fatal("the file at the backup's name was overwritten")
		}
		var beside string
		for _, n := range dirNames(t, dir) {
			if strings.HasPrefix(n, "journal.db.schema5.tx") && strings.HasSuffix(n, ".bak") {
				beside = filepath.Join(dir, n)
			}
		}
		if beside == "" || !strings.Contains(logs.String(), "backup="+beside) {
			t.Fatalf("no backup beside it: %v\n%s", dirNames(t, dir), logs.String())
		}
		checkReadOnly(t, beside, 5)
		if d := sameDump(before, dumpFile(t, beside)); d != "" {
			t.Fatalf("the backup is not the journal as it was: %s", d)
		}
	})
}
