package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"
)

func TestCreateTransitionHistory(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	sh, err := db.OpenShift("T1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Create(Redemption{Code: "111", CardID: "pCARD", Source: "scanner", RawScan: "111", Terminal: "T1", Cashier: "alice", ShiftID: sh.ID, State: Checked}, "alice", Path(Checked)...)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != 1 || len(r.History) != 2 || r.History[0].To != Received || r.History[1].From != Received {
		t.Fatalf("created %+v", r)
	}
	if _, err := db.Transition(r.ID, Consuming, Consumed, Change{}); !errors.Is(err, ErrStateConflict) {
		t.Fatalf("CAS from wrong state: %v", err)
	}
	if _, err := db.Transition(r.ID, Checked, Consuming, Change{By: "alice"}); err != nil {
		t.Fatal(err)
	}
	r, err = db.Transition(r.ID, Consuming, Consumed, Change{By: "alice", Errcode: 0, WeChatStatus: "CONSUMED", Update: func(r *Redemption) { r.OpenID = "o1" }})
	if err != nil {
		t.Fatal(err)
	}
	if r.OpenID != "o1" || r.FinishedAt.IsZero() || len(r.History) != 4 || r.History[3].WeChatStatus != "CONSUMED" {
		t.Fatalf("after consume %+v", r)
	}
	if _, ok, _ := db.ActiveByCode("111"); ok {
		t.Fatal("consumed redemption still active")
	}
	fc, ok, err := db.FinishedByCode("111")
	if err != nil || !ok || fc.ID != r.ID || fc.ShiftID != sh.ID || fc.State != Consumed {
		t.Fatalf("finished by code: %+v %v %v", fc, ok, err)
	}
	c, err := db.ShiftCounters(sh.ID)
	if err != nil || c.Total != 1 || c.ByOutcome[OutcomeConsumedOnline] != 1 || c.ByCard["pCARD"][OutcomeConsumedOnline] != 1 || c.ByCashier["alice"] != 1 {
		t.Fatalf("counters %+v %v", c, err)
	}
	db.Reopen()
	got, err := db.Get(r.ID)
	if err != nil || got.State != Consumed || len(got.History) != 4 {
		t.Fatalf("after reopen %+v %v", got, err)
	}
	if _, err := db.Get(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}

// Invariant 3: two goroutines creating the same code yield one redemption
// and one typed duplicate error carrying it.
func TestCreateSameCodeConcurrently(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	for round := 0; round < 20; round++ {
		code := "C" + string(rune('a'+round))
		var wg stdsync.WaitGroup
		res := make([]Redemption, 8)
		errs := make([]error, 8)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i], errs[i] = db.Create(Redemption{Code: code, State: Received}, "t", Path(Received)...)
			}()
		}
		wg.Wait()
		var won Redemption
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				won = res[i]
			}
		}
		if ok != 1 {
			t.Fatalf("%d creations succeeded", ok)
		}
		for _, err := range errs {
			var de *DuplicateError
			if err != nil && (!errors.As(err, &de) || !errors.Is(err, ErrActiveExists) || de.Active.ID != won.ID) {
				t.Fatalf("duplicate error %v", err)
			}
		}
	}
}

func TestOutboxAndShiftSettledAfterClose(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now})
	sh, _ := db.OpenShift("T1", "bob")
	if _, err := db.OpenShift("T1", "eve"); !errors.Is(err, ErrShiftOpen) {
		t.Fatalf("second open shift: %v", err)
	}
	q, err := db.Create(Redemption{Code: "Q1", CardID: "c", ShiftID: sh.ID, State: Queued, DueAt: clk.t.Add(time.Minute)}, "bob", Path(Queued)...)
	if err != nil {
		t.Fatal(err)
	}
	if due, _ := db.Find(Query{Index: Outbox, Until: clk.t, Limit: 10}); len(due) != 0 {
		t.Fatalf("due early: %v", due)
	}
	if next, _ := db.Find(Query{Index: Outbox, Limit: 1}); len(next) != 1 || !next[0].DueAt.Equal(q.DueAt) {
		t.Fatalf("next due %v", next)
	}
	if n, _ := db.Count(Query{Index: Outbox}); n != 1 {
		t.Fatalf("queue depth %d", n)
	}
	closed, err := db.CloseShift(sh.ID)
	if err != nil || closed.Z == nil || closed.Z.ByOutcome[OutcomePending] != 1 {
		t.Fatalf("close %+v %v", closed, err)
	}
	if _, ok, _ := db.CurrentShift("T1"); ok {
		t.Fatal("shift still current")
	}
	clk.t = clk.t.Add(2 * time.Minute)
	due, _ := db.Find(Query{Index: Outbox, Until: clk.t, Limit: 10})
	if len(due) != 1 || due[0].ID != q.ID {
		t.Fatalf("due %v", due)
	}
	if _, err := db.TransitionBatch(q.ID, Queued, Conflict, Change{By: "drain", Errcode: 40099, Reason: "already_consumed"}); err != nil {
		t.Fatal(err)
	}
	if fc, ok, _ := db.FinishedByCode("Q1"); !ok || fc.ID != q.ID || fc.State != Conflict {
		t.Fatalf("a conflict must stay listed as used here (honoured offline, then refused): %+v %v", fc, ok)
	}
	c, _ := db.ShiftCounters(sh.ID)
	if c.ByOutcome[OutcomeConflict] != 1 || c.SettledAfterClose[OutcomeConflict] != 1 || c.OfflineAccepted != 1 || c.ByOutcome[OutcomePending] != 0 {
		t.Fatalf("counters %+v", c)
	}
	s, _ := db.Shift(sh.ID)
	if s.Z.ByOutcome[OutcomePending] != 1 {
		t.Fatalf("Z report changed after close: %+v", s.Z)
	}
	if conf, _ := db.Find(Query{Index: ByState, State: Conflict}); len(conf) != 1 {
		t.Fatalf("conflicts %v", conf)
	}
}

func TestSizeGuardRefusesOffline(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{MaxSize: 1})
	_, err := db.Create(Redemption{Code: "X", State: Queued}, "t", Path(Queued)...)
	var fe *FullError
	if !errors.Is(err, ErrFull) || !errors.As(err, &fe) || fe.Max != 1 || fe.Size < 1 || fe.Path != db.path {
		t.Fatalf("want ErrFull, got %v", err)
	}
	if _, err := db.Create(Redemption{Code: "X", State: Received}, "t", Path(Received)...); err != nil {
		t.Fatalf("online work must go on: %v", err)
	}
	if n, _ := db.CountByState(); n[Queued] != 0 {
		t.Fatal("queued despite full")
	}
}

func TestLockedBySecondOpen(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	start := time.Now()
	_, err := Open(db.path, Options{LockTimeout: 100 * time.Millisecond})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.Path != db.path || le.Waited != 100*time.Millisecond ||
		!bytes.Contains([]byte(err.Error()), []byte(db.path)) || !bytes.Contains([]byte(err.Error()), []byte("another process")) {
		t.Fatalf("second open: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("second open hung")
	}
}

func TestFileModes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	db, err := Open(filepath.Join(dir, "j.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, _ := os.Stat(filepath.Join(dir, "j.db"))
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes file %v dir %v", fi.Mode(), di.Mode())
	}
}

func TestBadFiles(t *testing.T) {
	t.Parallel()
	good := openTest(t, Options{})
	good.Create(Redemption{Code: "A", State: Received}, "t", Path(Received)...)
	var buf bytes.Buffer
	if _, err := good.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	img := buf.Bytes()
	cases := map[string][]byte{
		"text":      []byte("this is not a journal\n"),
		"zeros":     make([]byte, 64<<10),
		"truncated": img[:len(img)/2],
		"short":     img[:100],
		"garbage":   bytes.Repeat([]byte{0xA5}, 32<<10),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "j.db")
			os.WriteFile(p, data, 0o600)
			db, err := Open(p, Options{LockTimeout: 100 * time.Millisecond})
			if err != nil && !errors.Is(err, ErrNotJournal) {
				t.Errorf("open: %v, want ErrNotJournal", err)
			}
			if err == nil {
				err = db.Check()
				db.Close()
			}
			if err == nil {
				t.Fatal("bad file accepted")
			}
			after, _ := os.ReadFile(p)
			if !bytes.Equal(after, data) {
				t.Fatal("bad file was changed")
			}
			t.Log(err)
		})
	}
	t.Run("newer schema", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "j.db")
		db, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.b.Update(func(tx *boltTx) error { return tx.Bucket(bMeta).Put(kSchema, u64(SchemaVersion+1)) })
		db.Close()
		before, _ := os.ReadFile(p)
		_, err = Open(p, Options{})
		var se *SchemaError
		if !errors.Is(err, ErrNewerSchema) || !errors.As(err, &se) || se.Have != SchemaVersion+1 || se.Knows != SchemaVersion {
			t.Fatalf("newer schema: %v", err)
		}
		after, _ := os.ReadFile(p)
		if !bytes.Equal(before, after) {
			t.Fatal("newer file changed")
		}
	})
	t.Run("folder is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "plain")
		os.WriteFile(f, []byte("x"), 0o600)
		_, err := Open(filepath.Join(f, "j.db"), Options{})
		var fe *FolderError
		if !errors.As(err, &fe) || !bytes.Contains([]byte(err.Error()), []byte("journal folder")) {
			t.Fatalf("open under a file: %v", err)
		}
		if b, _ := os.ReadFile(f); string(b) != "x" {
			t.Fatal("file changed")
		}
	})
	t.Run("path is a folder", func(t *testing.T) {
		_, err := Open(t.TempDir(), Options{})
		var ne *NotJournalError
		if !errors.Is(err, ErrNotJournal) || !errors.As(err, &ne) || ne.Kind != NotJournalFolder || !bytes.Contains([]byte(err.Error()), []byte("is a directory")) {
			t.Fatalf("open of a folder: %v", err)
		}
	})
}

func TestBackupCompactPrune(t *testing.T) {
	t.Parallel()
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	sh, _ := db.OpenShift("T", "a")
	for i := 0; i < 300; i++ {
		r, err := db.Create(Redemption{Code: string(rune(0x4e00 + i)), ShiftID: sh.ID, State: Consuming}, "a", Path(Consuming)...)
		if err != nil {
			t.Fatal(err)
		}
		to := Consumed
		if i%3 == 0 {
			to = Rejected
		}
		if i%10 == 0 {
			continue
		}
		db.Transition(r.ID, Consuming, to, Change{Reason: "x"})
	}
	before, _ := db.ShiftCounters(sh.ID)
	bk := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.BackupFile(bk); err != nil {
		t.Fatal(err)
	}
	b2, err := Open(bk, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Check(); err != nil {
		t.Fatal(err)
	}
	b2.Close()
	n, err := db.Prune(clk.t.Add(time.Hour))
	if err != nil || n != 270 {
		t.Fatalf("pruned %d %v", n, err)
	}
	after, _ := db.ShiftCounters(sh.ID)
	if after.Total != before.Total || after.ByOutcome[OutcomeConsumedOnline] != before.ByOutcome[OutcomeConsumedOnline] {
		t.Fatalf("counters pruned: %+v vs %+v", after, before)
	}
	if left, _ := db.Find(Query{Index: ByShift, Shift: sh.ID}); len(left) != 30 {
		t.Fatalf("left %d (unfinished must stay)", len(left))
	}
	db.mustCheck()
	db.DB.Close()
	if _, _, err := Compact(db.path, Options{}); err != nil {
		t.Fatal(err)
	}
	db.DB = nil
	db.Reopen2()
	db.mustCheck()
}

// A transition can record states passed without a commit of their own
// (received -> checked -> consuming in one transaction), like Create's path.
func TestTransitionVia(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	sh, err := db.OpenShift("T1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Create(Redemption{Code: "222", Terminal: "T1", ShiftID: sh.ID, State: Received}, "engine", Path(Received)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(r.ID, Received, Consuming, Change{Via: []State{"nonsense"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad via state: %v", err)
	}
	r, err = db.Transition(r.ID, Received, Consuming, Change{By: "engine", Via: []State{Checked}, WeChatStatus: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for i, h := range r.History {
		path = append(path, string(h.To))
		if i > 0 && h.From != r.History[i-1].To {
			t.Fatalf("history does not chain: %+v", r.History)
		}
	}
	if got := strings.Join(path, ","); got != "received,checked,consuming" {
		t.Fatalf("history %s", got)
	}
	if last := r.History[2]; last.WeChatStatus != "NORMAL" || r.History[1].WeChatStatus != "" {
		t.Fatalf("the change's details belong to the last entry: %+v", r.History)
	}
	if _, ok, _ := db.ActiveByCode("222"); !ok {
		t.Fatal("consuming redemption not active")
	}
}

func TestMeta(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{Terminal: "T1"})
	if v, err := db.Meta("offline_since"); err != nil || v != nil {
		t.Fatalf("unset key: %q %v", v, err)
	}
	if err := db.PutMeta("offline_since", []byte("2026-11-22T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	// The store's own keys are apart: same names do not collide.
	if err := db.PutMeta("terminal_id", []byte("evil")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMeta("", []byte("x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	db.Reopen()
	if v, err := db.Meta("offline_since"); err != nil || string(v) != "2026-11-22T14:00:00Z" {
		t.Fatalf("after reopen: %q %v", v, err)
	}
	if term, _ := db.Terminal(); term != "T1" {
		t.Fatalf("terminal %q overwritten by a meta key", term)
	}
	if err := db.PutMeta("offline_since", nil); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Meta("offline_since"); err != nil || v != nil {
		t.Fatalf("deleted key: %q %v", v, err)
	}
}

// Check and CheckSnapshot agree with writers running beside them: bbolt's
// own check is only safe beside writers in a write transaction (Check takes
// one on a writable journal) or on a copy (CheckSnapshot). A read-only
// check here reported "page N: reachable freed" now and then.
func TestCheckBesideWriters(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, err := db.OpenShift("T", "a")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			r, err := db.Create(Redemption{Code: fmt.Sprintf("W%08d", i), ShiftID: sh.ID, State: Consuming}, "w", Path(Consuming)...)
			if err == nil {
				_, err = db.Transition(r.ID, Consuming, Consumed, Change{})
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	for range 30 {
		if err := db.Check(); err != nil {
			t.Fatalf("check beside a writer: %v", err)
		}
		if err := db.CheckSnapshot(); err != nil {
			t.Fatalf("snapshot check beside a writer: %v", err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(db.path)); len(ents) != 1 {
		t.Fatalf("the snapshot was not removed: %v", ents)
	}
}
