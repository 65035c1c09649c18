package sim

import (
	"context"
	"testing"
	"time"

	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// Scenarios: the shortest plays of each bug the seeded days found, through
// the same world and checks; they stay as regression tests:
// encrypted-unreadable (29f8c2c), conflict-forgotten (27bea81), and the two
// in-doubt plays, where a lost consume is settled consumed by a query and
// marked sync.ReasonConfirmedByQuery (26ad070).

func scenarioWorld(t *testing.T) *world {
	pol := sync.Policy{Mode: sync.ModeAccept, MaxPerShift: -1}
	return newWorld(t, 1, config{policy: &pol})
}

// A till's consume is lost before it reaches WeChat (nothing applied);
// meanwhile the customer uses the code elsewhere. The in-doubt resolution
// finds it CONSUMED; WeChat cannot say by whom, so the till journals it
// consumed with ReasonConfirmedByQuery for the manager to see.
func TestSimScenarioInDoubtConsumedElsewhere(t *testing.T) {
	t.Parallel()
	w := scenarioWorld(t)
	ctx := context.Background()
	t1 := w.tills[0]
	c := w.newCode(kindFresh)
	w.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropBefore: true})
	w.redeem(ctx, t1, c, sync.Request{Code: c.code})
	wantAnswers(t, t1, sync.Checking)
	w.srv.SetStatus(c.code, wechat.StatusConsumed) // used at another store
	w.clk.Advance(time.Minute)
	if _, err := t1.p.eng.DrainOnce(ctx); err != nil {
		t.Fatal(err)
	}
	w.checkAll(true)
	if rs := w.allRecords(t1); len(rs) != 1 || rs[0].State != "consumed" || rs[0].Reason != string(sync.ReasonConfirmedByQuery) {
		t.Fatalf("the lost consume should settle consumed, marked confirmed by a query (who consumed it is unknown): %+v", rs)
	}
}

// Both tills scan one code at once; both consume answers are lost (one was
// applied, the other refused as consumed). Both resolve to consumed.
func TestSimScenarioInDoubtAtTwoTills(t *testing.T) {
	t.Parallel()
	w := scenarioWorld(t)
	ctx := context.Background()
	t1, t2 := w.tills[0], w.tills[1]
	c := w.newCode(kindFresh)
	w.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true, Times: 2})
	t1.p.setHook("consume:"+c.code, func() { w.redeem(ctx, t2, c, sync.Request{Code: c.code}) })
	w.redeem(ctx, t1, c, sync.Request{Code: c.code})
	wantAnswers(t, t1, sync.Checking)
	wantAnswers(t, t2, sync.Checking)
	w.clk.Advance(time.Minute)
	for _, tl := range w.tills {
		if _, err := tl.p.eng.DrainOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w.checkAll(true)
}

// An encrypted scan while WeChat is unreachable is refused ("cannot read
// an encrypted code offline") and journaled without a code (it was: the
// store refused a record without a code, and the cashier got a journal
// error).
func TestSimScenarioEncryptedOffline(t *testing.T) {
	t.Parallel()
	w := scenarioWorld(t)
	c := w.newCode(kindFresh)
	c.enc = w.srv.Encrypt(c.code)
	w.srv.SetOutage(true)
	w.redeem(context.Background(), w.tills[0], c, sync.Request{EncryptCode: c.enc})
	wantAnswers(t, w.tills[0], sync.Refused)
	w.srv.SetOutage(false)
	w.checkAll(true)
}

// A code accepted offline becomes a conflict (the customer had deleted
// it); scanned again at the same till while offline, it is refused as used
// here (it was accepted offline again: the till honoured it twice).
func TestSimScenarioConflictForgotten(t *testing.T) {
	t.Parallel()
	w := scenarioWorld(t)
	ctx := context.Background()
	t1 := w.tills[0]
	c := w.newCode(kindFresh)
	w.srv.SetOutage(true)
	w.redeem(ctx, t1, c, sync.Request{Code: c.code})
	wantAnswers(t, t1, sync.AcceptedOffline)
	w.srv.SetStatus(c.code, wechat.StatusDelete)
	w.srv.SetOutage(false)
	w.clk.Advance(time.Minute)
	if _, err := t1.p.eng.DrainOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.allRecords(t1)) != 1 || w.allRecords(t1)[0].State != "conflict" {
		t.Fatalf("the first redemption did not become a conflict: %+v", w.allRecords(t1))
	}
	w.srv.SetOutage(true)
	w.clk.Advance(time.Minute)
	w.redeem(ctx, t1, c, sync.Request{Code: c.code})
	if a := t1.answers[2]; a.kind != sync.Refused {
		t.Fatalf("the code scanned again offline was answered %v", a.kind)
	}
	w.srv.SetOutage(false)
	w.clk.Advance(time.Minute)
	if _, err := t1.p.eng.DrainOnce(ctx); err != nil {
		t.Fatal(err)
	}
	w.checkAll(true)
}

// wantAnswers: the till's cashier was told exactly these kinds.
func wantAnswers(t *testing.T, tl *till, kinds ...sync.OutcomeKind) {
	t.Helper()
	var got []sync.OutcomeKind
	for _, a := range tl.answers {
		got = append(got, a.kind)
	}
	if len(got) != len(kinds) {
		t.Fatalf("%s answered %v, want %v", tl.name, got, kinds)
	}
	for i := range got {
		if got[i] != kinds[i] {
			t.Fatalf("%s answered %v, want %v", tl.name, got, kinds)
		}
	}
}
