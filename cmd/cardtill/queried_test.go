package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cardtill/internal/till"
	"cardtill/report"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// End to end on the fake WeChat: a consume whose answer is lost (WeChat
// applied it) stays in doubt; the sync's query finds the code consumed and
// journals it confirmed by query; the shift report (JSON and text) counts
// and lists it, db check agrees, and the queue screen's hook lists it in
// its own section. WeChat consumed it once.
func TestConfirmedByQueryReportedAndListed(t *testing.T) {
	t.Parallel()
	srv, cfg, dbPath := fakeTill(t)
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off any drink"})
	const code, plain = "452998530302", "452998530303"
	srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	srv.AddCode(wechattest.Code{Code: plain, CardID: "pCard"})
	if c, out, errs := runCLI(t, "redeem", "--config", cfg, "--json", plain); c != 0 {
		t.Fatalf("redeem %s: exit %d\n%s\n%s", plain, c, out, errs)
	}
	srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
	_, out, errs := runCLI(t, "redeem", "--config", cfg, "--json", code)
	var a struct{ State string }
	if err := json.Unmarshal([]byte(out), &a); err != nil || (a.State != "in_doubt" && a.State != "consuming") {
		t.Fatalf("redeem with the answer lost: %q %v\n%s", out, err, errs)
	}
	// The query waits for the quiet period (500 ms in fakeTill's config):
	// a sync before it ends leaves the item and exits 1.
	for i := 0; ; i++ {
		c, out, errs := runCLI(t, "sync", "--config", cfg, "--once", "--json")
		if c == 0 {
			break
		}
		if c != 1 || i == 20 {
			t.Fatalf("sync: exit %d\n%s\n%s", c, out, errs)
		}
		untilDue(t, dbPath, time.Now().Add(10*time.Second)) // the quiet period's end
	}
	if n := srv.ConsumeCount(code); n != 1 {
		t.Fatalf("WeChat consumed %s %d times", code, n)
	}

	c, out, errs := runCLI(t, "shift", "report", "--config", cfg, "--json")
	if c != 0 {
		t.Fatalf("shift report: exit %d\n%s", c, errs)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Outcomes.ConsumedOnline != 2 || r.ConfirmedByQuery != 1 || len(r.ConfirmedByQueryList) != 1 || r.ConfirmedByQueryList[0].Code != code {
		t.Fatalf("report: consumed online %d, confirmed by query %d %+v", r.Outcomes.ConsumedOnline, r.ConfirmedByQuery, r.ConfirmedByQueryList)
	}
	if _, out, _ := runCLI(t, "shift", "report", "--config", cfg); !strings.Contains(out, "of the consumed, confirmed by query") || !strings.Contains(out, code) {
		t.Fatalf("text report lacks the redemption confirmed by query:\n%s", out)
	}
	if _, out, _ := runCLI(t, "shift", "report", "--config", cfg, "--csv"); !strings.Contains(out, "confirmed_by_query_redemption,"+code+",") {
		t.Fatalf("csv report lacks the redemption confirmed by query:\n%s", out)
	}
	if c, out, errs := runCLI(t, "db", "check", "--config", cfg); c != 0 {
		t.Fatalf("db check: exit %d\n%s\n%s", c, out, errs)
	}

	db, err := store.Open(dbPath, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := till.JournalBacklog(db)(100)
	if err != nil {
		t.Fatal(err)
	}
	if b.QueriedTotal != 1 || len(b.Queried) != 1 {
		t.Fatalf("queue screen lists %d of %d confirmed by query", len(b.Queried), b.QueriedTotal)
	}
	if q := b.Queried[0]; q.Code != code || q.Kind != sync.Consumed || q.Reason != sync.ReasonConfirmedByQuery || q.CardTitle != "¥20 off any drink" {
		t.Fatalf("listed %+v", q)
	}
}
