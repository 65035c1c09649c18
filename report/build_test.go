package report

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"cardtill/store"
)

// clock is a settable clock for the store.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openDB(t testing.TB, path string, c *clock) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{Now: c.now, Terminal: "till-01", NoSync: true, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustT(t testing.TB, db *store.DB, id uint64, path ...store.State) store.Redemption {
	t.Helper()
	var r store.Redemption
	var err error
	for i := 1; i < len(path); i++ {
		ch := store.Change{By: "test"}
		if path[i] == store.Conflict {
			ch.Errcode, ch.Err = 40099, "invalid code, has been consumed"
			ch.Update = func(r *store.Redemption) { r.Errcode, r.ReasonText = 40099, "invalid code, has been consumed" }
		}
		if r, err = db.Transition(id, path[i-1], path[i], ch); err != nil {
			t.Fatalf("transition %d %s->%s: %v", id, path[i-1], path[i], err)
		}
	}
	return r
}

func create(t testing.TB, db *store.DB, shift uint64, code, card string, st store.State, reason string) store.Redemption {
	t.Helper()
	r, err := db.Create(store.Redemption{Code: code, CardID: card, ShiftID: shift, Cashier: "王小明", Terminal: "till-01", State: st, Reason: reason}, "test", store.Path(st)...)
	if err != nil {
		t.Fatalf("create %s: %v", code, err)
	}
	return r
}

// recount counts a shift's redemptions from their records, the way the
// counters should.
func recount(t testing.TB, db *store.DB, shift uint64) map[string]int {
	t.Helper()
	rs, err := db.Find(store.Query{Index: store.ByShift, Shift: shift})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, r := range rs {
		m[store.Outcome(r)]++
	}
	return m
}

func nonzero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// TestBuildEveryOutcomeAcrossMidnight drives a shift over midnight through
// the real journal: consumed online, accepted offline then consumed,
// conflict, refused, pending at close and settled after close.
func TestBuildEveryOutcomeAcrossMidnight(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	c := &clock{t: time.Date(2026, 11, 22, 23, 30, 0, 0, loc)}
	path := filepath.Join(t.TempDir(), "journal.db")
	db := openDB(t, path, c)
	defer db.Close()
	if err := db.PutCard(store.Card{CardID: "cardA", Title: "满100减20优惠券"}); err != nil {
		t.Fatal(err)
	}
	s, err := db.OpenShift("till-01", "王小明")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30: consumed online, refused.
	r := create(t, db, s.ID, "111111111111", "cardA", store.Checked, "")
	mustT(t, db, r.ID, store.Checked, store.Consuming, store.Consumed)
	create(t, db, s.ID, "222222222222", "cardA", store.Rejected, "already_used")
	// 00:10 next day: offline accepted then consumed; offline then conflict.
	c.t = time.Date(2026, 11, 23, 0, 10, 0, 0, loc)
	q1 := create(t, db, s.ID, "333333333333", "cardB", store.Queued, "")
	q2 := create(t, db, s.ID, "444444444444", "cardB", store.Queued, "")
	q3 := create(t, db, s.ID, "555555555555", "cardB", store.Queued, "")
	mustT(t, db, q1.ID, store.Queued, store.Consuming, store.Consumed)
	mustT(t, db, q2.ID, store.Queued, store.Consuming, store.Conflict)

	x, err := Build(db, s.ID, BuildOptions{Loc: loc, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	want := Outcomes{ConsumedOnline: 1, OfflineConsumed: 1, Conflict: 1, Refused: 1, Pending: 1}
	if x.Kind != KindX || x.Outcomes != want || x.Total != 5 || x.OfflineAccepted != 3 {
		t.Fatalf("X report: kind %s outcomes %+v total %d offline %d", x.Kind, x.Outcomes, x.Total, x.OfflineAccepted)
	}
	if _, err := Build(db, s.ID, BuildOptions{Loc: loc, Z: true}); !errors.Is(err, ErrShiftOpen) {
		t.Fatalf("Z of an open shift: %v, want ErrShiftOpen", err)
	}
	var hours []string
	for _, h := range x.ByHour {
		hours = append(hours, h.Hour.Format("01-02 15")+"="+itoa(h.Count))
	}
	if !reflect.DeepEqual(hours, []string{"11-22 23=2", "11-23 00=3"}) {
		t.Fatalf("hours over midnight: %v", hours)
	}
	if len(x.Conflicts) != 1 || x.Conflicts[0].Code != "444444444444" || x.Conflicts[0].Errcode != 40099 || !strings.Contains(x.Conflicts[0].Reason, "consumed") {
		t.Fatalf("conflicts: %+v", x.Conflicts)
	}
	if x.ByCard[0].CardID != "cardB" || x.ByCard[1].Title != "满100减20优惠券" {
		t.Fatalf("by card: %+v", x.ByCard)
	}
	if !reflect.DeepEqual(x.RefusedByReason, []Count{{"already_used", 1}}) {
		t.Fatalf("refused by reason: %+v", x.RefusedByReason)
	}

	// Close with one pending; it settles later.
	c.t = c.t.Add(time.Hour)
	if _, err := db.CloseShift(s.ID); err != nil {
		t.Fatal(err)
	}
	z1, err := Build(db, s.ID, BuildOptions{Loc: loc, Now: c.now, Z: true})
	if err != nil {
		t.Fatal(err)
	}
	if z1.Kind != KindZ || z1.PendingAtClose != 1 || z1.SettledAfterClose != (Outcomes{}) {
		t.Fatalf("Z at close: %+v", z1)
	}
	c.t = c.t.Add(time.Hour)
	mustT(t, db, q3.ID, store.Queued, store.Consuming, store.Consumed)
	z2, err := Build(db, s.ID, BuildOptions{Loc: loc, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if z2.Outcomes != z1.Outcomes || z2.PendingAtClose != 1 || z2.Total != z1.Total {
		t.Fatalf("Z changed after close: %+v then %+v", z1.Outcomes, z2.Outcomes)
	}
	if len(z2.Conflicts) != 1 || z2.Conflicts[0].AfterClose {
		t.Fatalf("conflict before close marked after close: %+v", z2.Conflicts)
	}
	if z2.SettledAfterClose != (Outcomes{OfflineConsumed: 1}) {
		t.Fatalf("settled after close: %+v", z2.SettledAfterClose)
	}
	txt := Text(z2, Options{Lang: "en", Width: 48})
	if !strings.Contains(txt, "Closed with 1 pending") {
		t.Fatalf("Z text does not say it closed with pending:\n%s", txt)
	}

	// Counters equal a recount from records, before and after a reopen.
	live, err := db.ShiftCounters(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := nonzero(live.ByOutcome), recount(t, db, s.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("counters %v, recount %v", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, path, c)
	z3, err := Build(db, s.ID, BuildOptions{Loc: loc, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z3, z2) {
		t.Fatalf("report changed over a reopen:\n%+v\n%+v", z2, z3)
	}

	// A manager resolves the conflict with a note: after a restart the Z
	// report (text and JSON) shows it resolved, who, when and what.
	if z3.ConflictsOpen != 1 || z3.Conflicts[0].Resolved {
		t.Fatalf("conflict open before resolving: %+v", z3.Conflicts)
	}
	if _, err := db.ResolveConflict(q2.ID, "店长李", "顾客回店补付 20 元"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, path, c)
	z4, err := Build(db, s.ID, BuildOptions{Loc: loc, Now: c.now, Z: true})
	if err != nil {
		t.Fatal(err)
	}
	if z4.ConflictsOpen != 0 || !z4.Conflicts[0].Resolved || z4.Conflicts[0].Resolution.By != "店长李" || z4.Conflicts[0].Resolution.Note != "顾客回店补付 20 元" || z4.Outcomes != z2.Outcomes {
		t.Fatalf("resolved conflict in the Z report: %+v", z4.Conflicts)
	}
	if txt := Text(z4, Options{Lang: "zh", Width: 32}); !strings.Contains(txt, "已处理：店长李") || !strings.Contains(txt, "顾客回店补付 20 元") {
		t.Fatalf("zh Z text lacks the resolution:\n%s", txt)
	}
	var jb strings.Builder
	if err := JSON(&jb, z4); err != nil || !strings.Contains(jb.String(), `"resolved": true`) || !strings.Contains(jb.String(), `"note": "顾客回店补付 20 元"`) {
		t.Fatalf("JSON lacks the resolution (%v):\n%s", err, jb.String())
	}
	if err := db.Check(); err != nil {
		t.Fatalf("db check: %v", err)
	}
}

func TestBuildUnknownShift(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	db := openDB(t, filepath.Join(t.TempDir(), "j.db"), c)
	defer db.Close()
	if _, err := Build(db, 99, BuildOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown shift: %v, want ErrNotFound", err)
	}
}

// byQuery settles an in-doubt redemption as the engine does when a query
// finds the code consumed.
func byQuery(t testing.TB, db *store.DB, id uint64) {
	t.Helper()
	if _, err := db.Transition(id, store.InDoubt, store.Consumed, store.Change{By: "drain", Reason: ReasonConfirmedByQuery,
		Update: func(r *store.Redemption) { r.Reason = ReasonConfirmedByQuery }}); err != nil {
		t.Fatal(err)
	}
}

// Redemptions consumed as confirmed by a query are counted and listed from
// the real journal: one before the close (in the frozen Z), one settled by
// a query after it (counted apart, listed with after_close); plain
// consumes are not listed; a shift without any lists none.
func TestBuildConfirmedByQuery(t *testing.T) {
	t.Parallel()
	loc := shanghai(t)
	c := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, loc)}
	db := openDB(t, filepath.Join(t.TempDir(), "journal.db"), c)
	defer db.Close()
	s, err := db.OpenShift("till-01", "王小明")
	if err != nil {
		t.Fatal(err)
	}
	ok := create(t, db, s.ID, "100000000001", "cardA", store.Checked, "")
	mustT(t, db, ok.ID, store.Checked, store.Consuming, store.Consumed)
	d1 := create(t, db, s.ID, "100000000002", "cardA", store.InDoubt, "in_doubt")
	c.t = c.t.Add(time.Minute)
	byQuery(t, db, d1.ID)
	d2 := create(t, db, s.ID, "100000000003", "cardA", store.InDoubt, "in_doubt")

	x, err := Build(db, s.ID, BuildOptions{Loc: loc, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if x.ConfirmedByQuery != 1 || len(x.ConfirmedByQueryList) != 1 || x.ConfirmedByQueryList[0].Code != "100000000002" ||
		!x.ConfirmedByQueryList[0].ScannedAt.Equal(d1.CreatedAt) || !x.ConfirmedByQueryList[0].At.Equal(c.t) {
		t.Fatalf("X: %d %+v", x.ConfirmedByQuery, x.ConfirmedByQueryList)
	}
	c.t = c.t.Add(time.Hour)
	if _, err := db.CloseShift(s.ID); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Minute)
	byQuery(t, db, d2.ID)
	z, err := Build(db, s.ID, BuildOptions{Loc: loc, Now: c.now, Z: true})
	if err != nil {
		t.Fatal(err)
	}
	l := z.ConfirmedByQueryList
	if z.ConfirmedByQuery != 1 || z.ConfirmedByQueryAfterClose != 1 || len(l) != 2 || l[0].AfterClose || !l[1].AfterClose || l[1].Code != "100000000003" {
		t.Fatalf("Z: %d, after close %d, %+v", z.ConfirmedByQuery, z.ConfirmedByQueryAfterClose, l)
	}
	if z.Outcomes.ConsumedOnline != 2 || z.SettledAfterClose.ConsumedOnline != 1 {
		t.Fatalf("Z outcomes %+v, settled after close %+v", z.Outcomes, z.SettledAfterClose)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	s2, err := db.OpenShift("till-01", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	e := create(t, db, s2.ID, "100000000004", "cardA", store.Checked, "")
	mustT(t, db, e.ID, store.Checked, store.Consuming, store.Consumed)
	x2, err := Build(db, s2.ID, BuildOptions{Loc: loc, Now: c.now})
	if err != nil || x2.ConfirmedByQuery != 0 || len(x2.ConfirmedByQueryList) != 0 {
		t.Fatalf("a shift without any: %d %+v %v", x2.ConfirmedByQuery, x2.ConfirmedByQueryList, err)
	}
}

// TestBuildShowsOfflineOverrides: a manager's override journaled through
// the engine on the real journal is in the X report, survives a restart,
// and is in the Z report after the close (text, JSON and CSV), with the
// offline acceptances it allowed; another shift's report has none.
func TestBuildShowsOfflineOverrides(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("CST", 8*3600)
	c := &clock{t: time.Date(2026, 12, 2, 14, 0, 0, 0, loc)}
	path := filepath.Join(t.TempDir(), "j.db")
	db := openDB(t, path, c)
	sh, err := db.OpenShift("till-01", "王小明")
	if err != nil {
		t.Fatal(err)
	}
	limit := 1
	accept := func(code string) error {
		r := create(t, db, sh.ID, code, "pCard", store.Received, "")
		_, err := db.Transition(r.ID, store.Received, store.Queued, store.Change{By: "test", MaxOfflineInShift: &limit})
		return err
	}
	if err := accept("100000000001"); err != nil {
		t.Fatal(err)
	}
	if err := accept("100000000002"); !errors.Is(err, store.ErrOfflineLimit) {
		t.Fatalf("at the limit: %v", err)
	}
	c.t = c.t.Add(5 * time.Minute)
	if _, err := db.AddOfflineOverride(store.OfflineOverride{ShiftID: sh.ID, By: "王经理", Extra: 1, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if err := accept("100000000003"); err != nil {
		t.Fatal(err)
	}
	x, err := Build(db, sh.ID, BuildOptions{Loc: loc, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	want := []OverrideLine{{By: "王经理", Cashier: "王小明", Extra: 1, At: time.Date(2026, 12, 2, 14, 5, 0, 0, loc), Limit: 1}}
	if !reflect.DeepEqual(x.OfflineOverrides, want) || x.OfflineOverride != 1 || x.OfflineAccepted != 2 {
		t.Fatalf("X report: %+v, override %d, accepted offline %d", x.OfflineOverrides, x.OfflineOverride, x.OfflineAccepted)
	}
	if _, err := db.CloseShift(sh.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, path, c)
	defer db.Close()
	z, err := Build(db, sh.ID, BuildOptions{Z: true, Loc: loc, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z.OfflineOverrides, want) || z.OfflineOverride != 1 {
		t.Fatalf("Z report after a restart: %+v", z.OfflineOverrides)
	}
	for _, lang := range []string{"en", "zh"} {
		if txt := Text(z, Options{Lang: lang, Width: 32}); !strings.Contains(txt, "+1 ") || !strings.Contains(txt, "王经理") || !strings.Contains(txt, "1->2") {
			t.Errorf("%s Z text lacks the override:\n%s", lang, txt)
		}
	}
	var js, cs strings.Builder
	if err := JSON(&js, z); err != nil || !strings.Contains(js.String(), `"offline_overrides": [`) || !strings.Contains(js.String(), `"by": "王经理"`) {
		t.Errorf("JSON: %v\n%s", err, js.String())
	}
	if err := CSV(&cs, z); err != nil || !strings.Contains(cs.String(), "offline_override_by,王经理,1 2026-12-02T14:05:00+08:00 王小明") {
		t.Errorf("CSV: %v\n%s", err, cs.String())
	}
	sh2, err := db.OpenShift("till-01", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Build(db, sh2.ID, BuildOptions{Loc: loc, Now: c.now}); err != nil || len(r.OfflineOverrides) != 0 || r.OfflineOverride != 0 {
		t.Fatalf("another shift: %+v %v", r.OfflineOverrides, err)
	}
}
