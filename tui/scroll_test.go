package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"cardtill/scanner"
	"cardtill/sync"
)

// The shift report scrolls with PgDn/PgUp, ↓/↑, Home/End; it says what is
// below until the end shows; it never scrolls past either end; typing a
// code takes the till back.
func TestReportScrolls(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := longReport(newTestModel(lang, 80, 24, Options{}))
		more, end := "more ↓", "end"
		if lang == "zh" {
			more, end = "下面还有", "已到底"
		}
		mustShow(t, m, "X report · shift #31", more)
		if s := shown(m); strings.Contains(s, "end of report") {
			t.Fatalf("%s: the whole long report on one 24-line screen?\n%s", lang, s)
		}
		m = send(m, press(tea.KeyUp), press(tea.KeyPgUp)) // at the top already
		if m.rep.scroll.off != 0 {
			t.Fatalf("%s: scrolled above the top: %d", lang, m.rep.scroll.off)
		}
		m = send(m, press(tea.KeyDown))
		if m.rep.scroll.off != 1 {
			t.Fatalf("%s: ↓ moved to %d", lang, m.rep.scroll.off)
		}
		for range 10 {
			m = send(m, press(tea.KeyPgDown))
		}
		mustShow(t, m, "end of report", end, "conflict 冲突 12")
		if s := shown(m); strings.Contains(s, more) {
			t.Fatalf("%s: says more below at the end:\n%s", lang, s)
		}
		last := m.rep.scroll.off
		if want := len(m.rep.lines) - (m.bodyRows() - 2); last != want {
			t.Fatalf("%s: end offset %d, want %d", lang, last, want)
		}
		m = send(m, press(tea.KeyDown))
		if m.rep.scroll.off != last {
			t.Fatalf("%s: scrolled past the end", lang)
		}
		m = send(m, press(tea.KeyHome))
		mustShow(t, m, "X report · shift #31", more)

		// F4 again closes it; opening again starts at the top
		m = send(m, press(tea.KeyEnd), press(tea.KeyF4))
		if m.screen != screenTill {
			t.Fatalf("%s: F4 did not close the report", lang)
		}
		m = longReport(m)
		if m.rep.scroll.off != 0 {
			t.Fatalf("%s: reopened at %d", lang, m.rep.scroll.off)
		}
		// a wedge scanner typing lands on the till
		m = send(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("4529")})
		if m.screen != screenTill || m.input.Value() != "4529" {
			t.Fatalf("%s: typing on the report: screen %d input %q", lang, m.screen, m.input.Value())
		}
	}
}

// A taller terminal shows more of the report at once, and a report that
// fits shows no scroll line.
func TestReportFitsOrScrollsBySize(t *testing.T) {
	t.Parallel()
	m := longReport(newTestModel("en", 120, 60, Options{}))
	mustShow(t, m, "X report", "end of report")
	if s := shown(m); strings.Contains(s, "more ↓") || strings.Contains(s, "lines 1–") {
		t.Fatalf("a fitting report shows a scroll line:\n%s", s)
	}
	m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	mustShow(t, m, "more ↓", "lines 1–18 of 41") // the first line is the title
	m = send(m, press(tea.KeyEnd), tea.WindowSizeMsg{Width: 120, Height: 60})
	mustShow(t, m, "X report", "end of report") // the offset is clamped to the new size
}

// A resized terminal asks for the report again at its new width.
func TestReportLaidOutAgainOnResize(t *testing.T) {
	t.Parallel()
	var widths []int
	m := newTestModel("en", 80, 24, Options{})
	m.o.ShiftReport = func(id uint64, lang string, width int) (string, error) {
		widths = append(widths, width)
		return longReportText(id, lang), nil
	}
	mm, cmd := m.Update(press(tea.KeyF4))
	m = send(mm.(Model), cmd(), press(tea.KeyPgDown))
	mm, cmd = m.Update(tea.WindowSizeMsg{Width: 120, Height: 24})
	if cmd == nil {
		t.Fatal("no new report for the new width")
	}
	m = send(mm.(Model), cmd())
	if len(widths) != 2 || widths[0] != 78 || widths[1] != 118 || m.rep.scroll.off == 0 {
		t.Fatalf("report widths %v, offset %d", widths, m.rep.scroll.off)
	}
	if _, cmd := m.Update(tea.WindowSizeMsg{Width: 120, Height: 40}); cmd != nil {
		t.Fatal("a taller terminal of the same width asks for the report again")
	}
}

// The queue screen lists the journal's backlog (items of earlier runs
// too), reads it when F3 opens and again when the status's counts change
// while it shows, keeps the last list with the error when a read fails,
// and scrolls.
func TestQueueFromJournalHook(t *testing.T) {
	t.Parallel()
	reads := 0
	var fail error
	b := journalBacklog()
	m := newTestModel("en", 80, 24, Options{Backlog: func(limit int) (Backlog, error) {
		reads++
		if limit != backlogLimit {
			t.Errorf("limit %d", limit)
		}
		return b, fail
	}})
	m.status.st.QueueDepth, m.status.st.InDoubt, m.status.st.Conflicts = 3, 1, 42
	mm, cmd := m.Update(press(tea.KeyF3))
	m = mm.(Model)
	mustShow(t, m, "Waiting for WeChat", "…")
	m = send(m, findMsg[backlogMsg](cmd))
	mustShow(t, m, "11-21 12:32 1102 0120 1246", "? CHECKING", "used elsewhere", "more ↓")
	if reads != 1 {
		t.Fatalf("%d reads on F3", reads)
	}
	// the same counts: no new read; other counts: a new read
	if _, cmd := m.Update(statusMsg(m.status.st)); cmd != nil {
		if _, ok := lookFor[backlogMsg](cmd); ok {
			t.Fatal("read again with unchanged counts")
		}
	}
	st := m.status.st
	st.QueueDepth, st.Conflicts = 2, 43
	b.Waiting, b.WaitingTotal, b.ConflictsTotal = b.Waiting[1:], 2, 43
	mm, cmd = m.Update(statusMsg(st))
	m = send(mm.(Model), findMsg[backlogMsg](cmd))
	if reads != 2 {
		t.Fatalf("%d reads after the counts changed", reads)
	}
	if s := shown(m); strings.Contains(s, "1102 0120 1247") {
		t.Fatalf("an item gone from the journal is still shown:\n%s", s)
	}
	// a failing read keeps the last list and says so
	fail = errors.New("journal busy")
	st.QueueDepth = 1
	mm, cmd = m.Update(statusMsg(st))
	m = send(mm.(Model), findMsg[backlogMsg](cmd))
	mustShow(t, m, "ERROR: journal busy", "? CHECKING")
	m = send(m, press(tea.KeyEnd))
	mustShow(t, m, "the latest 30 of 43", "end")
	// on the till too a change of counts reads it (the status bar counts
	// new conflicts from it), unchanged counts do not
	m = send(m, press(tea.KeyEsc))
	fail = nil
	st.QueueDepth = 0
	mm, cmd = m.Update(statusMsg(st))
	if _, ok := lookFor[backlogMsg](cmd); !ok {
		t.Fatal("counts changed on the till and the backlog was not read")
	}
	m = mm.(Model)
	m.queue.backlog.loading = false
	if _, cmd := m.Update(statusMsg(st)); cmd != nil {
		if _, ok := lookFor[backlogMsg](cmd); ok {
			t.Fatal("read again with unchanged counts on the till")
		}
	}
}

// Hub notices show on the till's notice line as they arrive and stay
// listed, newest first and bounded, on the queue screen.
func TestNoticesShown(t *testing.T) {
	t.Parallel()
	c := make(chan Notice, 1)
	m := newTestModel("zh", 80, 24, Options{Notices: c})
	c <- Notice{Event: "card_sku_remind", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", Detail: "库存不足 100", At: t0}
	mm, next := m.Update(findMsg[noticeMsg](waitNotice(c)))
	m = mm.(Model)
	mustShow(t, m, "⚑ 库存告警 · 库存不足 100")
	if next == nil {
		t.Fatal("stopped listening after one notice")
	}
	for i := range maxNotices + 5 {
		m = send(m, noticeMsg{Event: "update_member_card", Code: "110201201245", Detail: "bonus=" + string(rune('0'+i%10)) + " balance=0", At: t0.Add(time.Duration(i) * time.Second)})
	}
	if len(m.queue.notices) != maxNotices {
		t.Fatalf("%d notices kept, want the bound %d", len(m.queue.notices), maxNotices)
	}
	mustShow(t, m, "积分 / 余额变动", "券码 1102 0120 1245")
	m = send(m, press(tea.KeyF3))
	mustShow(t, m, "总部通知  50", "bonus=4 balance=0") // newest first
	m = send(m, press(tea.KeyEnd))
	mustShow(t, m, "已到底", "bonus=5 balance=0")
}

// The session list stands in for the journal without the hook.
func TestQueueWithoutHookListsSession(t *testing.T) {
	t.Parallel()
	m := newTestModel("en", 80, 24, Options{})
	c := outcome(sync.Conflict, sync.ReasonAlreadyUsed, "226009850808", "Member card")
	c.Errcode = 40099
	m = send(m, redeemedMsg{out: c}, press(tea.KeyF3))
	mustShow(t, m, "! used elsewhere")
}

func TestNoticeEventsInBothCatalogues(t *testing.T) {
	t.Parallel()
	en, zh := Catalogue("en"), Catalogue("zh")
	for _, ev := range []string{"card_sku_remind", "update_member_card", "card_pass_check", "card_not_pass_check", "card_pay_order"} {
		if en.NoticeEvents[ev] == "" || zh.NoticeEvents[ev] == "" {
			t.Errorf("notice %s lacks a name in en or zh", ev)
		}
	}
	if len(en.NoticeEvents) != len(zh.NoticeEvents) {
		t.Errorf("en names %d notices, zh %d", len(en.NoticeEvents), len(zh.NoticeEvents))
	}
}

// A crowded status bar (scanner port, items in doubt, conflicts, the
// journal nearly full, a sync running) keeps every warning and count at
// 80 columns, in both languages: it gives up gaps, the port name and the
// "syncing" word first, and the last sync only with a "…".
func TestStatusBarCrowded(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := newTestModel(lang, 80, 24, Options{ScannerPort: "/dev/ttyACM0"})
		m = send(m, scannerMsg{Kind: scanner.EventConnected, Port: "/dev/ttyACM0"})
		m.status.st = sync.Status{Online: true, LastContact: t0, LastSync: t0, QueueDepth: 12, InDoubt: 2, Conflicts: 3,
			Syncing: true, JournalUse: 0.92, JournalNearlyFull: true}
		tx := Catalogue(lang)
		line := m.statusLine(80)
		if w := ansi.StringWidth(line); w > 80 {
			t.Fatalf("%s: %d cells: %q", lang, w, line)
		}
		for _, want := range []string{tx.Queue + " 12", tx.InDoubt + " 2", tx.Conflicts + " 3", fmt.Sprintf(tx.JournalFullFmt, 92), tx.Scanner + " ●", "14:32"} {
			if !strings.Contains(line, want) {
				t.Errorf("%s: crowded status lacks %q: %q", lang, want, line)
			}
		}
		// unplugged is a warning: it stays however crowded
		m = send(m, scannerMsg{Kind: scanner.EventDisconnected, Port: "/dev/ttyACM0"})
		if line := m.statusLine(80); !strings.Contains(line, tx.ScannerDisconnected) || !strings.Contains(line, fmt.Sprintf(tx.JournalFullFmt, 92)) {
			t.Errorf("%s: crowded and unplugged: %q", lang, line)
		}
		m = send(m, scannerMsg{Kind: scanner.EventConnected, Port: "/dev/ttyACM0"})
		// a sync running on an otherwise quiet till: "syncing" gives way
		// before the port name does
		m.status.st = sync.Status{Online: true, LastContact: t0, LastSync: t0, Syncing: true}
		if line := m.statusLine(80); !strings.Contains(line, "/dev/ttyACM0") {
			t.Errorf("%s: the port name gave way before 'syncing': %q", lang, line)
		}
		m.status.st = sync.Status{Online: true, LastContact: t0, LastSync: t0, QueueDepth: 12, InDoubt: 2, Conflicts: 3,
			Syncing: true, JournalUse: 0.92, JournalNearlyFull: true}
		// roomy: everything, with the port
		wide := m.statusLine(160)
		for _, want := range []string{"/dev/ttyACM0", tx.Syncing, tx.LastSync + " 14:32"} {
			if !strings.Contains(wide, want) {
				t.Errorf("%s: wide status lacks %q: %q", lang, want, wide)
			}
		}
	}
}

// The manager marks the conflicts seen with F6 on the queue screen: the
// hook journals it, the backlog is read again, and the status bar then
// flags only conflicts that arrive later. F6 elsewhere does nothing; a
// failing hook says so and changes nothing.
func TestAckConflicts(t *testing.T) {
	t.Parallel()
	acks := 0
	var ackErr error
	b := journalBacklog()
	m := newTestModel("en", 80, 24, Options{
		Backlog: func(int) (Backlog, error) { return b, nil },
		AckConflicts: func() error {
			if ackErr != nil {
				return ackErr
			}
			acks++
			b.Unseen, b.New = 0, nil
			return nil
		},
	})
	m.status.st.QueueDepth, m.status.st.InDoubt, m.status.st.Conflicts = 3, 1, 42
	mm, cmd := m.Update(statusMsg(m.status.st)) // counts changed: read for the status bar
	m = send(mm.(Model), findMsg[backlogMsg](cmd))
	if s := m.statusLine(80); !strings.Contains(s, "conflicts 42 (2 new)") {
		t.Fatalf("status %q", s)
	}
	if _, cmd := m.Update(press(tea.KeyF6)); cmd != nil || acks != 0 {
		t.Fatal("F6 on the till marked conflicts seen")
	}
	m = send(m, press(tea.KeyF3))
	mustShow(t, m, "WeChat)  42 · 2 new", "2260 0985 0800   Member card 会员卡 ! new used elsewhere", "F6 seen")
	ackErr = errors.New("journal is read-only")
	mm, cmd = m.Update(press(tea.KeyF6))
	m = send(mm.(Model), cmd())
	mustShow(t, m, "ERROR: journal is read-only", "2 new")
	ackErr = nil
	mm, cmd = m.Update(press(tea.KeyF6))
	mm, cmd = mm.(Model).Update(cmd())
	m = send(mm.(Model), findMsg[backlogMsg](cmd))
	if acks != 1 {
		t.Fatalf("%d acks", acks)
	}
	if s := shown(m); strings.Contains(s, "new") || strings.Contains(s, "F6 seen") || !strings.Contains(s, "2260 0985 0800") || m.notice != "Conflicts marked seen" {
		t.Fatalf("after F6 (notice %q):\n%s", m.notice, s)
	}
	if s := m.statusLine(80); strings.Contains(s, "new") || !strings.Contains(s, "conflicts 42") {
		t.Fatalf("status after F6 %q", s)
	}
	if _, cmd := m.Update(press(tea.KeyF6)); cmd != nil {
		t.Fatal("F6 with nothing new journals again")
	}
}

// Notices of earlier runs are listed on F3 but not announced again on
// the till's notice line; at most maxNotices of them, the newest.
func TestPastNotices(t *testing.T) {
	t.Parallel()
	var past []Notice
	for i := range maxNotices + 3 {
		past = append(past, Notice{Event: "card_sku_remind", Detail: fmt.Sprint("alarm ", i), At: t0.Add(-time.Hour)})
	}
	m := newTestModel("en", 80, 24, Options{PastNotices: past})
	if m.notice != "" {
		t.Fatalf("a past notice announced: %q", m.notice)
	}
	if len(m.queue.notices) != maxNotices || m.queue.notices[0].Detail != "alarm 3" {
		t.Fatalf("%d past notices kept, first %q", len(m.queue.notices), m.queue.notices[0].Detail)
	}
	m = send(m, press(tea.KeyF3))
	mustShow(t, m, "Notices from the hub  50", "13:32  ⚑ Stock alarm · alarm 52")
}

// The queue screen lists the latest redemptions consumed as confirmed by
// a query in their own section after the conflicts, with how many there
// are, and no such section when there are none.
func TestQueueListsConfirmedByQuery(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		b := journalBacklog()
		m := newTestModel(lang, 120, 32, Options{Backlog: func(int) (Backlog, error) { return b, nil }})
		mm, cmd := m.Update(press(tea.KeyF3))
		m = send(mm.(Model), findMsg[backlogMsg](cmd), press(tea.KeyEnd))
		title, word, showing := "Redeemed, confirmed by query  5", "✔ redeemed · by query", "the latest 3 of 5"
		if lang == "zh" {
			title, word, showing = "经查询确认的核销  5", "✔ 已核销 · 经查询确认", "最近 3 条，共 5 条"
		}
		mustShow(t, m, title, "4529 9853 0320", "4529 9853 0318", word, showing)
		if s := shown(m); strings.Index(s, title) < strings.Index(s, "2260 0985 0829") {
			t.Fatalf("%s: the section is not after the conflicts:\n%s", lang, s)
		}
		b.Queried, b.QueriedTotal = nil, 0
		m = send(m, m.backlogRead())
		if s := shown(m); strings.Contains(s, title) {
			t.Fatalf("%s: a section with none:\n%s", lang, s)
		}
	}
}

// backlogRead reads the backlog as the model would (test helper).
func (m Model) backlogRead() tea.Msg {
	_, cmd := m.queue.load(m.queueEnv())
	return cmd()
}

// A backlog read while the counts changed is read again when it arrives
// (it may predate the change); one read for unchanged counts is not.
func TestBacklogReadAgainWhenCountsChangedMeanwhile(t *testing.T) {
	t.Parallel()
	reads := 0
	m := newTestModel("en", 80, 24, Options{Backlog: func(int) (Backlog, error) { reads++; return Backlog{}, nil }})
	mm, cmd := m.Update(press(tea.KeyF3))
	m = mm.(Model)
	first := findMsg[backlogMsg](cmd)
	st := m.status.st
	st.InDoubt = 1 // a lost consume, while the first read runs
	mm, cmd = m.Update(statusMsg(st))
	if _, ok := lookFor[backlogMsg](cmd); ok {
		t.Fatal("two reads at once")
	}
	mm, cmd = mm.(Model).Update(first)
	again, ok := lookFor[backlogMsg](cmd)
	if !ok {
		t.Fatal("the read that began before the counts changed was not followed by another")
	}
	_, cmd = mm.(Model).Update(again)
	if cmd != nil || reads != 2 {
		t.Fatalf("read again with counts unchanged since (%d reads)", reads)
	}
}

// F4 follows the drain while it shows: a status with other counts (or
// another last sync) reads the report again, in the same scroll place; the
// same status does not; a status that changes while a read runs reads
// again after it; a failed read keeps the last report and says why; once
// F4 is closed nothing is read.
func TestReportFollowsTheDrain(t *testing.T) {
	t.Parallel()
	reads := 0
	var fail error
	m := newTestModel("en", 80, 24, Options{})
	m.o.ShiftReport = func(id uint64, lang string, width int) (string, error) {
		reads++
		return fmt.Sprintf("read %d\n", reads) + longReportText(id, lang), fail
	}
	mm, cmd := m.Update(press(tea.KeyF4))
	m = send(mm.(Model), cmd(), press(tea.KeyPgDown), press(tea.KeyDown))
	off := m.rep.scroll.off
	if reads != 1 || off == 0 || m.rep.lines[0] != "read 1" {
		t.Fatalf("%d reads, offset %d", reads, off)
	}
	if _, cmd := m.Update(statusMsg(m.status.st)); cmd != nil {
		if _, ok := lookFor[reportMsg](cmd); ok {
			t.Fatal("the same status read the report again")
		}
	}
	st := m.status.st
	st.InDoubt = 1
	m = send(m, statusMsg(st))
	st.InDoubt, st.QueueDepth = 0, 0 // settled by a query
	mm, cmd = m.Update(statusMsg(st))
	if _, ok := lookFor[reportMsg](cmd); ok {
		t.Fatal("two reads at once")
	}
	// the first read (for InDoubt 1) arrives, and one for the settled status follows
	m = mm.(Model)
	_, first := m.rep.reread(m.reportEnv())
	mm, cmd = m.Update(first())
	m = mm.(Model)
	if m.rep.lines[0] != "read 2" {
		t.Fatalf("report not replaced: %q", m.rep.lines[0])
	}
	again, ok := lookFor[reportMsg](cmd)
	if !ok {
		t.Fatal("a status that changed during the read did not read again")
	}
	m = send(m, again)
	if m.screen != screenReport || m.rep.scroll.off != off || m.rep.lines[0] != "read 3" {
		t.Fatalf("screen %d offset %d (want %d) first line %q", m.screen, m.rep.scroll.off, off, m.rep.lines[0])
	}
	mustShow(t, m, "lines ")
	// a failed read keeps the report
	fail = errors.New("journal busy")
	st.LastSync = st.LastSync.Add(time.Minute)
	mm, cmd = m.Update(statusMsg(st))
	m = send(mm.(Model), findMsg[reportMsg](cmd))
	if m.screen != screenReport || len(m.rep.lines) < 10 || m.rep.scroll.off != off {
		t.Fatalf("a failed refresh left the report: screen %d, %d lines, offset %d", m.screen, len(m.rep.lines), m.rep.scroll.off)
	}
	mustShow(t, m, "journal busy")
	// closed: no reads
	fail = nil
	m = send(m, press(tea.KeyF4))
	n := reads
	st.Conflicts++
	if _, cmd := m.Update(statusMsg(st)); cmd != nil {
		if _, ok := lookFor[reportMsg](cmd); ok || reads != n {
			t.Fatal("the report was read with F4 closed")
		}
	}
}
