package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"cardtill/hub"
	"cardtill/store"
	"cardtill/sync"
)

// seedJournal leaves in a journal what an earlier run would have: an open
// shift with conflicts and codes still queued (due tomorrow, so the drain
// of the run under test leaves them), codes consumed, and a card title in
// the cache. It returns the codes, oldest first.
func seedJournal(t *testing.T, path, terminal string, conflicts, queued int) (conflictCodes, queuedCodes []string) {
	t.Helper()
	db, err := store.Open(path, store.Options{Terminal: terminal, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh, err := db.OpenShift(terminal, "Wang Fang")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutCard(store.Card{CardID: "pSeedCard", Title: "¥20 off any drink"}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-30 * time.Hour) // yesterday: before the restart
	for i := range conflicts {
		code := fmt.Sprintf("7700%08d", i)
		_, err := db.Create(store.Redemption{Code: code, CardID: "pSeedCard", ShiftID: sh.ID, Terminal: terminal, Cashier: "Wang Fang",
			State: store.Conflict, Reason: string(sync.ReasonAlreadyUsed), ReasonText: "invalid code, has been consumed", Errcode: 40099,
			CreatedAt: at, OfflineAcceptedAt: at.Add(time.Duration(i) * time.Minute)}, "seed", store.Received, store.Queued)
		if err != nil {
			t.Fatal(err)
		}
		conflictCodes = append(conflictCodes, code)
	}
	for i := range queued {
		code := fmt.Sprintf("8800%08d", i)
		_, err := db.Create(store.Redemption{Code: code, CardID: "pSeedCard", ShiftID: sh.ID, Terminal: terminal, Cashier: "Wang Fang",
			State: store.Queued, Reason: string(sync.ReasonAcceptedOffline), CreatedAt: at, OfflineAcceptedAt: at.Add(time.Duration(i) * time.Minute),
			DueAt: time.Now().Add(24 * time.Hour)}, "seed", store.Received)
		if err != nil {
			t.Fatal(err)
		}
		queuedCodes = append(queuedCodes, code)
	}
	if _, err := db.Create(store.Redemption{Code: "990000000001", ShiftID: sh.ID, Terminal: terminal, State: store.Consumed, CreatedAt: at},
		"seed", store.Received, store.Checked, store.Consuming); err != nil {
		t.Fatal(err)
	}
	return conflictCodes, queuedCodes
}

// The queue screen's hook reads every waiting item and conflict of the
// journal (earlier runs included), newest first across the waiting
// states, bounded, with the totals counted when a list is cut; consumed
// redemptions are not listed; titles come from the card cache.
func TestJournalBacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	conflicts, queued := seedJournal(t, path, "till-2", 7, 5)
	db, err := store.Open(path, store.Options{Terminal: "till-2", LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// one in doubt, newer than the queued ones
	sh, _, _ := db.CurrentShift("till-2")
	if _, err := db.Create(store.Redemption{Code: "660000000001", ShiftID: sh.ID, Terminal: "till-2", State: store.InDoubt,
		CreatedAt: time.Now()}, "seed", store.Received, store.Checked, store.Consuming); err != nil {
		t.Fatal(err)
	}
	read := journalBacklog(db)
	b, err := read(100)
	if err != nil {
		t.Fatal(err)
	}
	if b.WaitingTotal != 6 || len(b.Waiting) != 6 || b.ConflictsTotal != 7 || len(b.Conflicts) != 7 {
		t.Fatalf("waiting %d/%d conflicts %d/%d, want 6/6 and 7/7", len(b.Waiting), b.WaitingTotal, len(b.Conflicts), b.ConflictsTotal)
	}
	if w := b.Waiting[0]; w.Code != "660000000001" || w.Kind != sync.Checking {
		t.Fatalf("newest waiting %+v, want the in-doubt one", w)
	}
	if w := b.Waiting[1]; w.Code != queued[4] || w.Kind != sync.AcceptedOffline || w.CardTitle != "¥20 off any drink" {
		t.Fatalf("second waiting %+v, want the newest queued with its card title", w)
	}
	c := b.Conflicts[0]
	if c.Code != conflicts[6] || c.Kind != sync.Conflict || c.Errcode != 40099 || c.Reason != sync.ReasonAlreadyUsed || c.At.IsZero() {
		t.Fatalf("newest conflict %+v", c)
	}
	for _, o := range append(b.Waiting, b.Conflicts...) {
		if o.Code == "990000000001" {
			t.Fatal("a consumed redemption is listed")
		}
	}
	// cut at the limit: the newest, and the totals of the whole journal
	b, err = read(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Waiting) != 3 || b.WaitingTotal != 6 || len(b.Conflicts) != 3 || b.ConflictsTotal != 7 || b.Conflicts[2].Code != conflicts[4] {
		t.Fatalf("limit 3: waiting %d/%d conflicts %d/%d (%s)", len(b.Waiting), b.WaitingTotal, len(b.Conflicts), b.ConflictsTotal, b.Conflicts[2].Code)
	}
}

// The manager's "conflicts seen" (F6) is journaled: before it every
// conflict is new; after it none; a conflict that comes later is new
// again, counted and marked, also after a restart of the till.
func TestConflictsSeenJournaled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	seedJournal(t, path, "till-2", 4, 1)
	open := func() *store.DB {
		db, err := store.Open(path, store.Options{Terminal: "till-2", LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	b, err := journalBacklog(db)(100)
	if err != nil || b.Unseen != 4 || len(b.New) != 4 {
		t.Fatalf("before any F6: unseen %d, new %v, %v", b.Unseen, b.New, err)
	}
	if err := ackConflicts(db, time.Now)(); err != nil {
		t.Fatal(err)
	}
	if b, err = journalBacklog(db)(100); err != nil || b.Unseen != 0 || len(b.New) != 0 || b.ConflictsTotal != 4 {
		t.Fatalf("after F6: unseen %d, new %v, total %d, %v", b.Unseen, b.New, b.ConflictsTotal, err)
	}
	// a queued code WeChat refuses later becomes a conflict
	sh, _, _ := db.CurrentShift("till-2")
	q, err := db.Create(store.Redemption{Code: "550000000001", ShiftID: sh.ID, Terminal: "till-2", State: store.Queued,
		OfflineAcceptedAt: time.Now(), DueAt: time.Now()}, "seed", store.Received)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(q.ID, store.Queued, store.Conflict, store.Change{By: "engine", Errcode: 40099}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db = open() // a restart
	defer db.Close()
	b, err = journalBacklog(db)(100)
	if err != nil || b.Unseen != 1 || !b.New[q.ID] || len(b.New) != 1 {
		t.Fatalf("a later conflict after a restart: unseen %d, new %v, %v", b.Unseen, b.New, err)
	}
	// a damaged mark says what to do
	if err := db.PutMeta(conflictsSeenKey, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := journalBacklog(db)(100); err == nil || !strings.Contains(err.Error(), "press F6") {
		t.Fatalf("damaged mark: %v", err)
	}
}

// The relay never blocks the feed: when the screen does not read, the
// oldest notices give way to the newest.
func TestNoticeRelayNeverBlocks(t *testing.T) {
	r := newNoticeRelay(nil, nil)
	var ns []hub.Notice
	for i := range 200 {
		ns = append(ns, hub.Notice{Event: "update_member_card", Detail: fmt.Sprint(i)})
	}
	r.deliver(ns) // returns: nothing reads
	var got []string
	for len(got) < cap(r.c) {
		got = append(got, (<-r.notices()).Detail)
	}
	if got[0] != "136" || got[len(got)-1] != "199" {
		t.Fatalf("kept %s..%s, want the newest 64 (136..199)", got[0], got[len(got)-1])
	}
	var none *noticeRelay
	none.deliver(ns)
	if none.notices() != nil {
		t.Fatal("no relay gives a channel")
	}
}

// The relay keeps the latest notices in the journal: a relay made on the
// reopened journal (a restarted till) hands them to the screen as past
// ones, the newest 50, oldest first.
func TestNoticesKeptInJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	open := func() *store.DB {
		db, err := store.Open(path, store.Options{Terminal: "till-2", LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := open()
	r := newNoticeRelay(db, logger)
	if len(r.past()) != 0 {
		t.Fatalf("a new journal has past notices: %v", r.past())
	}
	for i := range 60 {
		r.deliver([]hub.Notice{{Event: "card_sku_remind", Detail: fmt.Sprint(i), At: time.Unix(1764150000+int64(i), 0)}})
	}
	_ = db.Close()
	db = open()
	defer db.Close()
	past := newNoticeRelay(db, logger).past()
	if len(past) != noticesKept || past[0].Detail != "10" || past[len(past)-1].Detail != "59" || past[0].At.Unix() != 1764150010 {
		t.Fatalf("after a restart %d past notices, %s..%s", len(past), past[0].Detail, past[len(past)-1].Detail)
	}
	// damaged: the screen starts without them, the feed still relays
	if err := db.PutMeta(noticesKey, []byte("[{")); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	r = newNoticeRelay(db, slog.New(slog.NewTextHandler(&logs, nil)))
	if len(r.past()) != 0 || !strings.Contains(logs.String(), "cannot be read") {
		t.Fatalf("damaged notices: %v, log %q", r.past(), logs.String())
	}
	r.deliver([]hub.Notice{{Event: "card_pass_check"}})
	if n := <-r.notices(); n.Event != "card_pass_check" {
		t.Fatalf("relayed %+v", n)
	}
}

// TestRunShowsJournalAndHubNotices is the manager's view end to end:
// `cardtill run` against a real hub on loopback, on a journal an earlier
// run left with conflicts and queued codes. The hub's stock alarm shows on
// the till; F4 shows the shift report, too long for 80x24, with "more ↓",
// and End reaches its last conflict; F3 lists the earlier run's queued
// codes and conflicts, newest first, and, at its end, the notice.
func TestRunShowsJournalAndHubNotices(t *testing.T) {
	h := newHubRig(t)
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-2", key); err != nil {
		t.Fatal(err)
	}
	h.send(t, `<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[oE2EUser]]></FromUserName>`+
		`<CreateTime>1764150005</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[card_sku_remind]]></Event>`+
		`<CardId><![CDATA[`+e2eCard+`]]></CardId><Detail><![CDATA[the card's stock is below 100]]></Detail></xml>`)
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal.db")
	conflicts, queued := seedJournal(t, journal, "till-2", 25, 3)
	cfg := h.tillConfig(t, "till-2", key, journal, `
[ui]
lang = "en"`)

	in, typed := io.Pipe()
	defer typed.Close()
	out := &screenBuffer{}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), []string{"--config", cfg, "run"}, in, out, &errb) }()
	waitFor := func(want ...string) {
		t.Helper()
		teatest.WaitFor(t, out, func(b []byte) bool {
			s := ansi.Strip(string(b))
			for _, w := range want {
				if !strings.Contains(s, w) {
					return false
				}
			}
			return true
		}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	}
	keys := func(s string) {
		t.Helper()
		if _, err := io.WriteString(typed, s); err != nil {
			t.Fatal(err)
		}
	}
	// the status bar flags the conflicts nobody has marked seen yet
	waitFor("Stock alarm · the card's stock is below 100", "conflicts 25 (25 new)")

	keys("\x1bOS") // F4
	waitFor("SHIFT REPORT", "more ↓")
	keys("\x1b[F") // End
	waitFor(conflicts[len(conflicts)-1], "end  ↑")

	keys("\x1bOR") // F3
	waitFor("Waiting for WeChat", formatCodeForTest(queued[2]), formatCodeForTest(conflicts[24]), "used elsewhere", "16 more ↓",
		"25 · 25 new")
	keys("\x1b[F") // End
	waitFor(formatCodeForTest(conflicts[0]), "Notices from the hub  1", "Stock alarm")
	keys("\x1b[17~") // F6: the manager has seen them
	waitFor("conflicts 25  ")

	// the queued codes wait: quitting asks, y confirms
	go func() { _, _ = io.WriteString(typed, "\x03y") }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("cardtill run did not quit")
	}
	db, err := store.Open(journal, store.Options{Terminal: "till-2", LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	seen, err := conflictsSeenMark(db)
	_ = db.Close()
	if err != nil || seen.Count != 25 {
		t.Fatalf("F6 journaled %+v, %v; want the 25 conflicts seen", seen, err)
	}

	// started again (the hub has nothing new): the notice comes from the
	// journal
	in2, typed2 := io.Pipe()
	defer typed2.Close()
	out = &screenBuffer{}
	go func() { done <- run(context.Background(), []string{"--config", cfg, "run"}, in2, out, &errb) }()
	typed = typed2
	keys("\x1bOR")                                                               // F3
	waitFor("Waiting for WeChat", formatCodeForTest(conflicts[24]), "16 more ↓") // a line says Tab picks a conflict
	keys("\x1b[F")                                                               // End
	waitFor("Notices from the hub  1", "Stock alarm · the card's stock is below 100")
	go func() { _, _ = io.WriteString(typed2, "\x03y") }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("second run: exit %d; stderr: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("second run did not quit")
	}
}

// formatCodeForTest groups a 12-digit code by four, as the screen shows it.
func formatCodeForTest(c string) string { return c[:4] + " " + c[4:8] + " " + c[8:] }

// Notices that `cardtill sync` pulls (a till run headless, or sync --once)
// are kept in the journal for the screen too.
func TestSyncKeepsHubNotices(t *testing.T) {
	h := newHubRig(t)
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-2", key); err != nil {
		t.Fatal(err)
	}
	h.send(t, `<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[oE2EUser]]></FromUserName>`+
		`<CreateTime>1764150005</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[card_not_pass_check]]></Event>`+
		`<CardId><![CDATA[`+e2eCard+`]]></CardId><RefuseReason><![CDATA[logo unclear]]></RefuseReason></xml>`)
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal.db")
	cfg := h.tillConfig(t, "till-2", key, journal, "")
	if code, _, errOut := runCmd(t, "--config", cfg, "sync", "--once"); code != 0 {
		t.Fatalf("sync --once: exit %d: %s", code, errOut)
	}
	db, err := store.Open(journal, store.Options{Terminal: "till-2", LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	past := newNoticeRelay(db, slog.New(slog.NewTextHandler(io.Discard, nil))).past()
	if len(past) != 1 || past[0].Event != "card_not_pass_check" || past[0].Detail != "logo unclear" || past[0].CardID != e2eCard {
		t.Fatalf("kept notices %+v", past)
	}
}
