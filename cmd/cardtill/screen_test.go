package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"cardtill/hub"
	"cardtill/internal/testkit"
	"cardtill/internal/till"
	"cardtill/store"
)

// TestRunShowsJournalAndHubNotices is the manager's view end to end:
// `cardtill run` against a real hub on loopback, on a journal an earlier
// run left with conflicts and queued codes. The hub's stock alarm shows on
// the till; F4 shows the shift report, too long for 80x24, with "more ↓",
// and End reaches its last conflict; F3 lists the earlier run's queued
// codes and conflicts, newest first, and, at its end, the notice.
func TestRunShowsJournalAndHubNotices(t *testing.T) {
	t.Parallel()
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
	conflicts, queued := testkit.SeedJournal(t, journal, "till-2", 25, 3)
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
	b, err := till.JournalBacklog(db)(100)
	_ = db.Close()
	if err != nil || b.Unseen != 0 || b.ConflictsTotal != 25 {
		t.Fatalf("after F6: %d of %d conflicts unseen, %v; want the 25 seen", b.Unseen, b.ConflictsTotal, err)
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
	t.Parallel()
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
	past := till.NewNoticeRelay(db, slog.New(slog.NewTextHandler(io.Discard, nil))).Past()
	if len(past) != 1 || past[0].Event != "card_not_pass_check" || past[0].Detail != "logo unclear" || past[0].CardID != e2eCard {
		t.Fatalf("kept notices %+v", past)
	}
}
