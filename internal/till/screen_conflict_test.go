package till

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/store"
)

// The screen's conflict hooks on a real journal: the detail says WeChat's
// refusal and what the feed said since in the screen's language, a
// resolution is kept across a restart, and F3's backlog marks it.
func TestConflictHooksOnTheJournal(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := store.Open(path, store.Options{Terminal: "till-1"})
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := db.OpenShift("till-1", "王小明")
	_ = db.PutCard(store.Card{CardID: "pCard", Title: "满100减20优惠券"})
	q, err := db.Create(store.Redemption{Code: "123412341234", CardID: "pCard", ShiftID: sh.ID, Cashier: "王小明", State: store.Queued}, "till", store.Received)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(q.ID, store.Queued, store.Consuming, store.Change{By: "drain"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(q.ID, store.Consuming, store.Conflict, store.Change{By: "drain", Errcode: 40099,
		Update: func(r *store.Redemption) { r.Errcode, r.Reason, r.ReasonText = 40099, "already_used", "already used" }}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutCodeStatus(store.CodeStatus{Code: "123412341234", Status: "CONSUMED", Source: "hub-feed", At: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	d, err := ConflictDetail(db)(q.ID, "zh")
	if err != nil || d.Refusal != "已在别处使用" || d.Feed != "已核销" || d.CardTitle != "满100减20优惠券" || d.Cashier != "王小明" || d.ShiftID != sh.ID || d.Resolution != nil {
		t.Fatalf("detail %+v %v", d, err)
	}
	if err := ResolveConflict(db)(q.ID, "店长李", "顾客补付 20 元"); err != nil {
		t.Fatal(err)
	}
	if err := ResolveConflict(db)(q.ID, "店长李", "again"); err == nil || !strings.Contains(err.Error(), "already resolved") {
		t.Fatalf("second resolve: %v", err)
	}
	db.Close()
	db, err = store.Open(path, store.Options{Terminal: "till-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err = ConflictDetail(db)(q.ID, "en")
	if err != nil || d.Resolution == nil || d.Resolution.By != "店长李" || d.Resolution.Note != "顾客补付 20 元" || d.Refusal != "Already used elsewhere" {
		t.Fatalf("after restart: %+v %v", d, err)
	}
	b, err := JournalBacklog(db)(100)
	if err != nil || len(b.Conflicts) != 1 || !b.Resolved[q.ID] {
		t.Fatalf("backlog %+v %v", b, err)
	}
}
