package store

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The schema-5 fixture (testdata/schema5.db.gz, testdata/README.md) is a
// journal written by commit 92bc19c, the last one before format-2 records
// and schema 6: every record and used-by-code list in it is format 1
// (record.go). TestMakeSchema5Fixture below made it, run in a worktree of
// that commit; it uses only store API that commit and this one share, so
// it builds here too, but run here it would write the current schema and
// format (it refuses to).
//
//	git worktree add /tmp/old 92bc19c
//	cp store/fixture_schema5_test.go /tmp/old/store/
//	(cd /tmp/old && CARDTILL_MAKE_FIXTURE=$PWD/store/testdata/schema5.db.gz go test ./store -run '^TestMakeSchema5Fixture$' -count=1)
//
// What it holds, and what TestMigrateSchema5Fixture expects of it after
// migration, is fixture5 below.
const fixtureEnv = "CARDTILL_MAKE_FIXTURE"

// fixture5 is what the generator journals and the migration test expects.
var fixture5 = struct {
	terminal                   string
	shifts                     int // 1 and 2 closed with their Z, 3 open
	prunedCode, prunedRefusal  string
	conflictCode, conflictNote string
	overrideExtra              int
	counts                     map[State]int // after the prune
	prunedBefore               time.Time
}{
	terminal:      "store12-till1",
	shifts:        3,
	prunedCode:    "452998530001",
	prunedRefusal: "452998530002",
	conflictCode:  "452998539003",
	conflictNote:  "customer called back, paid at the counter",
	overrideExtra: 5,
	counts: map[State]int{
		Received: 1, Checked: 1, Consuming: 1, InDoubt: 1, Queued: 1,
		Consumed: 50, Rejected: 7, Conflict: 1,
	},
	prunedBefore: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
}

// fixtureClock is the generator's clock: 250 ms a reading, set forward
// between scenes.
type fixtureClock struct{ t time.Time }

func (c *fixtureClock) Now() time.Time { c.t = c.t.Add(250 * time.Millisecond); return c.t }

// TestMakeSchema5Fixture writes the fixture to $CARDTILL_MAKE_FIXTURE
// (gzipped). It does nothing without it.
func TestMakeSchema5Fixture(t *testing.T) {
	out := os.Getenv(fixtureEnv)
	if out == "" {
		t.Skip("makes testdata/schema5.db.gz; set " + fixtureEnv + " (see the comment above)")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	clk := &fixtureClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	f := fixture5
	db, err := Open(path, Options{Now: clk.Now, Terminal: f.terminal, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(); err != nil || v != 5 {
		t.Fatalf("schema %d %v: the fixture is made by commit 92bc19c (schema 5), see the comment above", v, err)
	}
	must := func(r Redemption, err error) Redemption {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	at := func(day, hour, min int) { clk.t = time.Date(2026, 3, day, hour, min, 0, 0, time.UTC) }
	n := 0
	code := func() string { n++; return fmt.Sprintf("45299850%04d", n) }
	base := func(sh Shift, c string) Redemption {
		return Redemption{Code: c, RawScan: c, CardID: "pDEMO_cake_free_" + fmt.Sprint(n%3), Source: "scanner",
			Terminal: f.terminal, Cashier: sh.Cashier, ShiftID: sh.ID, CardTitle: "¥20 off any drink",
			ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
	}
	online := func(sh Shift, c string) Redemption {
		r := base(sh, c)
		r.State = Checked
		r = must(db.Create(r, "engine", Path(Checked)...))
		r = must(db.Transition(r.ID, Checked, Consuming, Change{By: "engine", Update: func(r *Redemption) { r.OpenID = "oUSER_" + c }}))
		return must(db.Transition(r.ID, Consuming, Consumed, Change{By: "engine", Reason: "ok", WeChatStatus: "CONSUMED",
			Update: func(r *Redemption) { r.Reason, r.WeChatStatus = "ok", "CONSUMED" }}))
	}
	refused := func(sh Shift, c, reason string, errcode int) Redemption {
		r := base(sh, c)
		r.State, r.Reason, r.ReasonText, r.Errcode = Rejected, reason, "refused: "+reason, errcode
		return must(db.Create(r, "engine", Path(Rejected)...))
	}
	limit := 3
	offline := func(sh Shift, c string) Redemption {
		r := base(sh, c)
		r.State = Received
		r = must(db.Create(r, "engine"))
		return must(db.Transition(r.ID, Received, Queued, Change{By: "engine", Reason: "accepted_offline", MaxOfflineInShift: &limit,
			Update: func(r *Redemption) { r.Reason, r.DueAt = "accepted_offline", clk.t.Add(30*time.Second) }}))
	}
	drain := func(r Redemption) Redemption {
		r = must(db.Transition(r.ID, Queued, Consuming, Change{By: "drain"}))
		return must(db.Transition(r.ID, Consuming, Consumed, Change{By: "drain", Reason: "ok", WeChatStatus: "CONSUMED",
			Update: func(r *Redemption) { r.Reason, r.WeChatStatus, r.DueAt = "ok", "CONSUMED", time.Time{} }}))
	}
	lost := func(sh Shift, c string) Redemption { // a consume whose answer was lost
		r := base(sh, c)
		r.State = Checked
		r = must(db.Create(r, "engine", Path(Checked)...))
		r = must(db.Transition(r.ID, Checked, Consuming, Change{By: "engine"}))
		return must(db.Transition(r.ID, Consuming, InDoubt, Change{By: "engine", Err: "context deadline exceeded",
			Update: func(r *Redemption) {
				r.Reason, r.LastError, r.Attempts, r.DueAt = "in_doubt", "context deadline exceeded", 1, clk.t.Add(20*time.Second)
			}}))
	}
	settleByQuery := func(r Redemption) Redemption {
		r = must(db.Transition(r.ID, InDoubt, Consumed, Change{By: "resolver", Reason: "confirmed_by_query", WeChatStatus: "CONSUMED",
			Update: func(r *Redemption) {
				r.Reason, r.WeChatStatus, r.DueAt, r.LastError = "confirmed_by_query", "CONSUMED", time.Time{}, ""
			}}))
		return r
	}

	if err := db.PutCard(Card{CardID: "pDEMO_cake_free_0", Title: "¥20 off any drink", Type: "CASH", At: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	cursor := "feed-0001"
	if err := db.PutCodeStatuses([]CodeStatus{{Code: "452998539901", Status: "CONSUMED", CardID: "pDEMO_cake_free_0", Source: "hub-feed", At: clk.Now()}}, &cursor); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMeta("sync.conn", []byte(`{"online":true}`)); err != nil {
		t.Fatal(err)
	}

	// Shift 1, day 1 at 08:00: the first two redemptions are pruned later
	// (one consumed: a tombstone; one refused: no tombstone).
	at(2, 8, 0)
	s1, err := db.OpenShift(f.terminal, "Wang Fang")
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	if r := online(s1, f.prunedCode); r.State != Consumed {
		t.Fatal(r.State)
	}
	refused(s1, f.prunedRefusal, "already_used", 40099)
	at(2, 10, 0)
	n = 100
	for i := 0; i < 20; i++ {
		online(s1, code())
	}
	refused(s1, code(), "expired", 40079)
	refused(s1, code(), "already_used", 40099)
	// WeChat goes away: two accepted offline and drained, one becomes a
	// conflict a manager resolves, the limit is raised by an override.
	at(2, 11, 0)
	q1, q2 := offline(s1, code()), offline(s1, code())
	q3 := base(s1, f.conflictCode)
	q3.State = Received
	q3 = must(db.Create(q3, "engine"))
	q3 = must(db.Transition(q3.ID, Received, Queued, Change{By: "engine", Reason: "accepted_offline", MaxOfflineInShift: &limit,
		Update: func(r *Redemption) { r.Reason = "accepted_offline" }}))
	ov, err := db.AddOfflineOverride(OfflineOverride{ShiftID: s1.ID, By: "manager Li", Extra: f.overrideExtra, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	limit += ov.Extra
	q4 := offline(s1, code())
	at(2, 11, 40)
	drain(q1)
	drain(q2)
	drain(q4)
	q3 = must(db.Transition(q3.ID, Queued, Consuming, Change{By: "drain"}))
	q3 = must(db.Transition(q3.ID, Consuming, Conflict, Change{By: "drain", Errcode: 40099, WeChatStatus: "CONSUMED", Reason: "conflict",
		Update: func(r *Redemption) {
			r.Reason, r.Errcode, r.WeChatStatus, r.DueAt = "conflict", 40099, "CONSUMED", time.Time{}
		}}))
	limit = 3
	// A consume whose answer is lost just before the close: settled by a
	// query after the shift closed (SettledAfterClose).
	at(2, 13, 59)
	late := lost(s1, code())
	at(2, 14, 0)
	if _, err := db.CloseShift(s1.ID); err != nil {
		t.Fatal(err)
	}

	// Shift 2, day 1 afternoon; closed; its Z not yet confirmed by the hub.
	s2, err := db.OpenShift(f.terminal, "Zhang Wei")
	if err != nil {
		t.Fatal(err)
	}
	settleByQuery(late)
	n = 200
	for i := 0; i < 15; i++ {
		online(s2, code())
	}
	refused(s2, code(), "not_consumable", 0)
	c := base(s2, code()) // the cashier cancelled at the confirm step
	c.State = Checked
	c = must(db.Create(c, "engine", Path(Checked)...))
	must(db.Transition(c.ID, Checked, Rejected, Change{By: "cashier", Reason: "cancelled", Update: func(r *Redemption) { r.Reason = "cancelled" }}))
	settleByQuery(lost(s2, code()))
	at(2, 20, 0)
	if _, err := db.CloseShift(s2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResolveConflict(q3.ID, "manager Li", f.conflictNote); err != nil {
		t.Fatal(err)
	}

	// The hub confirmed shift 1's Z; shift 2's Z and the conflict wait.
	items, _, err := db.FleetPending(0)
	if err != nil {
		t.Fatal(err)
	}
	var acked []FleetItem
	for _, it := range items {
		if it.Kind == FleetZ && it.Shift.ID == s1.ID {
			acked = append(acked, it)
		}
	}
	if len(acked) != 1 {
		t.Fatalf("fleet items %+v", items)
	}
	if err := db.FleetAck(acked); err != nil {
		t.Fatal(err)
	}

	// Shift 3, day 2, open: work in every active state.
	at(3, 8, 0)
	s3, err := db.OpenShift(f.terminal, "Wang Fang")
	if err != nil {
		t.Fatal(err)
	}
	n = 300
	for i := 0; i < 10; i++ {
		online(s3, code())
	}
	for _, reason := range []string{"already_used", "expired", "used_here"} {
		refused(s3, code(), reason, 0)
	}
	q5 := offline(s3, code()) // still queued
	lost(s3, code())          // still in doubt
	r := base(s3, code())     // consuming, retried once
	r.State = Checked
	r = must(db.Create(r, "engine", Path(Checked)...))
	r = must(db.Transition(r.ID, Checked, Consuming, Change{By: "engine"}))
	must(db.Transition(r.ID, Consuming, Consuming, Change{By: "engine", Err: "busy (-1)", Errcode: -1,
		Update: func(r *Redemption) { r.Attempts, r.LastError, r.DueAt = 1, "busy (-1)", clk.t.Add(5*time.Second) }}))
	ch := base(s3, code()) // checked, the consume intent not yet written
	ch.State = Checked
	must(db.Create(ch, "engine", Path(Checked)...))
	rc := base(s3, code()) // received, nothing else yet
	rc.State = Received
	must(db.Create(rc, "engine"))
	_ = q5

	// Retention on day 2 with the cut at day 1 09:00: the two first
	// redemptions go, the consumed one leaves its tombstone.
	pruned, err := db.Prune(f.prunedBefore)
	if err != nil || pruned != 2 {
		t.Fatalf("pruned %d %v", pruned, err)
	}
	if fc, ok, err := db.FinishedByCode(f.prunedCode); err != nil || !ok || !fc.Pruned {
		t.Fatalf("tombstone %+v %v %v", fc, ok, err)
	}
	got, err := db.CountByState()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range AllStates {
		if got[s] != f.counts[s] {
			t.Fatalf("%s: %d, fixture5 says %d", s, got[s], f.counts[s])
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := compactFile(path, path+".c"); err != nil {
		t.Fatal(err)
	}
	if err := gzipFile(path+".c", out); err != nil {
		t.Fatal(err)
	}
}

// compactFile writes a compacted copy of the journal at src to dst
// through the store's own Compact on a copy, so the fixture has no free
// pages to gzip.
func compactFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		return err
	}
	_, _, err = Compact(dst, Options{NoSync: true})
	return err
}

func gzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	if _, err := io.Copy(zw, in); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}
