package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"cardtill/sync"
)

// Backlog is what the manager follows up, as the journal has it: what
// waits for WeChat (queued, consuming, in doubt) and the conflicts, each
// newest first and at most the limit asked, with how many there are in all.
// Items of earlier runs are included: the queue outlives the screen.
type Backlog struct {
	Waiting, Conflicts           []sync.Outcome
	WaitingTotal, ConflictsTotal int
	// Queried are the latest redemptions consumed as confirmed by a query
	// (sync.ReasonConfirmedByQuery; Kind Consumed): the answer to the
	// consume was lost and WeChat cannot say which till consumed the code,
	// so the manager checks none was honoured twice. A short list, newest
	// first (the hook bounds it below the limit); QueriedTotal is how many
	// the journal holds.
	Queried      []sync.Outcome
	QueriedTotal int
	// Unseen counts the conflicts the manager has not yet marked seen
	// (F6, Options.AckConflicts); New holds the ids of those listed.
	Unseen int
	New    map[uint64]bool
	// Resolved holds the ids of the listed conflicts a manager resolved.
	Resolved map[uint64]bool
}

// Notice is a message for the store manager from the hub's feed.
type Notice struct {
	// Event is WeChat's event name: card_sku_remind, update_member_card,
	// card_pass_check, card_not_pass_check, card_pay_order.
	Event, CardID, Code string
	// Detail is the event's own text (the alarm, the review's reason,
	// "bonus=3 balance=0").
	Detail string
	At     time.Time
}

// backlogLimit bounds each list of the queue screen.
const backlogLimit = 100

// maxNotices bounds the notices kept on screen.
const maxNotices = 50

type (
	backlogMsg struct {
		b   Backlog
		err error
	}
	noticeMsg Notice
)

// backlogView is the queue screen's copy of the journal's backlog.
type backlogView struct {
	b       Backlog
	err     error
	loaded  bool
	loading bool
	// seen are the status counts when the last read was asked for; a
	// status with other counts asks again.
	seen [3]int
}

func counts(st sync.Status) [3]int { return [3]int{st.QueueDepth, st.InDoubt, st.Conflicts} }

// stale reports whether st's counts differ from those of the last read.
func (v backlogView) stale(st sync.Status) bool { return !v.loading && counts(st) != v.seen }

func waitNotice(c <-chan Notice) tea.Cmd {
	return func() tea.Msg {
		n, ok := <-c
		if !ok {
			return nil
		}
		return noticeMsg(n)
	}
}

// onNotice keeps a hub notice for the queue screen and shows it on the
// till's notice line.
func (m Model) onNotice(n Notice) (tea.Model, tea.Cmd) {
	if len(m.queue.notices) == maxNotices {
		m.queue.notices = append(m.queue.notices[:0:0], m.queue.notices[1:]...)
	}
	m.queue.notices = append(m.queue.notices, n)
	m.notice = m.noticeText(n)
	return m, waitNotice(m.o.Notices)
}

// noticeText is one notice in a line: time, what, detail, card and code.
func (m Model) noticeText(n Notice) string {
	what := m.tx.NoticeEvents[n.Event]
	if what == "" {
		what = n.Event
	}
	parts := []string{m.stamp(n.At) + "  ⚑ " + what}
	if n.Detail != "" {
		parts = append(parts, n.Detail)
	}
	if n.Code != "" {
		parts = append(parts, m.tx.CodeLabel+" "+formatCode(n.Code))
	}
	if n.CardID != "" {
		parts = append(parts, n.CardID)
	}
	return strings.Join(parts, " · ")
}

// stamp is a time as the queue shows it: the time of day for today, the
// date too for earlier days (items of earlier runs).
func (m Model) stamp(t time.Time) string {
	if t.IsZero() {
		return "--:--"
	}
	if y, mo, d := t.Date(); y == m.now.Year() && mo == m.now.Month() && d == m.now.Day() {
		return t.Format("15:04")
	}
	return t.Format("01-02 15:04")
}

// queueLine is one line of the queue screen below its title: a text, or
// an item or notice drawn only when it is in view (the lists are long).
type queueLine struct {
	text   string
	item   *sync.Outcome
	notice *Notice
}

func (m Model) drawQueueLine(l queueLine, w int) string {
	switch {
	case l.item != nil:
		return m.backlogRow(*l.item, w)
	case l.notice != nil:
		return " " + clip(m.noticeText(*l.notice), w-1)
	}
	return l.text
}

// queueContent is the queue screen below its title.
func (m Model) queueContent() []queueLine {
	tx, st := m.tx, m.status.st
	var out []queueLine
	text := func(s string) { out = append(out, queueLine{text: s}) }
	waiting, conflicts := sessionBacklog(m.recent.items)
	waitingTotal, conflictsTotal := st.QueueDepth, st.Conflicts
	if m.o.Backlog != nil {
		if m.queue.backlog.err != nil {
			text(" " + m.st.Bad.Render(fmt.Sprintf("%s: %v", tx.Error, m.queue.backlog.err)))
		}
		if !m.queue.backlog.loaded {
			text(" " + m.st.Muted.Render("…"))
		}
		b := m.queue.backlog.b
		waiting, conflicts, waitingTotal, conflictsTotal = b.Waiting, b.Conflicts, b.WaitingTotal, b.ConflictsTotal
	}
	if len(waiting) == 0 && waitingTotal == 0 {
		text(" " + m.st.Muted.Render(tx.QueueEmpty))
	}
	for i := range waiting {
		out = append(out, queueLine{item: &waiting[i]})
	}
	if len(waiting) < waitingTotal && m.o.Backlog != nil {
		text(" " + m.st.Muted.Render(fmt.Sprintf(tx.ShowingFmt, len(waiting), waitingTotal)))
	}
	ct := fmt.Sprintf("  %d", conflictsTotal)
	if n := m.queue.backlog.b.Unseen; n > 0 && m.o.Backlog != nil {
		ct += " · " + m.st.Bad.Render(fmt.Sprintf(tx.UnseenFmt, n)) // F6 (in the foot) marks them seen
	}
	text("")
	text(" " + m.st.SectionTitle.Render(tx.ConflictsTitle) + ct)
	if len(conflicts) > 0 && m.o.ConflictDetail != nil {
		text(" " + m.st.Muted.Render(clip(m.mtx().QueueHintKeys, max(10, m.width-2))))
	}
	for i := range conflicts {
		out = append(out, queueLine{item: &conflicts[i]})
	}
	if len(conflicts) < conflictsTotal && m.o.Backlog != nil {
		text(" " + m.st.Muted.Render(fmt.Sprintf(tx.ShowingFmt, len(conflicts), conflictsTotal)))
	}
	if q := m.queue.backlog.b; q.QueriedTotal > 0 && m.o.Backlog != nil {
		text("")
		text(" " + m.st.SectionTitle.Render(tx.QueriedTitle) + fmt.Sprintf("  %d", q.QueriedTotal))
		text(" " + m.st.Muted.Render(clip(tx.QueriedHint, max(10, m.width-2))))
		for i := range q.Queried {
			out = append(out, queueLine{item: &q.Queried[i]})
		}
		if len(q.Queried) < q.QueriedTotal {
			text(" " + m.st.Muted.Render(fmt.Sprintf(tx.ShowingFmt, len(q.Queried), q.QueriedTotal)))
		}
	}
	out = append(out, m.settledLines()...)
	if len(m.queue.notices) > 0 {
		text("")
		text(" " + m.st.SectionTitle.Render(tx.NoticesTitle) + fmt.Sprintf("  %d", len(m.queue.notices)))
		for i := len(m.queue.notices) - 1; i >= 0; i-- {
			out = append(out, queueLine{notice: &m.queue.notices[i]})
		}
	}
	return out
}

// sessionBacklog is what F3 lists without the journal hook: this
// session's items still waiting, and its conflicts, newest first.
func sessionBacklog(recent []sync.Outcome) (waiting, conflicts []sync.Outcome) {
	for i := len(recent) - 1; i >= 0; i-- {
		switch o := recent[i]; o.Kind {
		case sync.AcceptedOffline, sync.Checking:
			waiting = append(waiting, o)
		case sync.Conflict:
			conflicts = append(conflicts, o)
		}
	}
	return waiting, conflicts
}

// backlogRow is one waiting item or conflict: when (with the date for
// earlier days), code, card, and its state or WeChat's reason.
func (m Model) backlogRow(o sync.Outcome, w int) string {
	mark, word := m.backlogState(o)
	col := func(s string, n int) string { s = clip(s, n); return s + strings.Repeat(" ", n-lipgloss.Width(s)) }
	titleW := 18
	if w >= 100 {
		titleW = 30
	}
	lead := " "
	if cs := m.conflictsListed(); o.Kind == sync.Conflict && m.queue.sel >= 0 && m.queue.sel < len(cs) && cs[m.queue.sel].ID == o.ID && m.o.ConflictDetail != nil {
		lead = m.st.Bold.Render("▶")
	}
	row := lead + col(m.stamp(o.At), 11) + " " + col(formatCode(o.Code), 16) + " " + col(o.CardTitle, titleW) + " " + mark + " " + word
	return clip(row, w)
}

// backlogState is an item's mark and its state or WeChat's reason in
// words, as the queue lists it.
func (m Model) backlogState(o sync.Outcome) (mark, word string) {
	mark, word = "?", m.tx.Checking
	switch o.Kind {
	case sync.AcceptedOffline:
		mark, word = "⏸", m.tx.AcceptedOffline
	case sync.Consumed: // listed only when confirmed by a query
		mark, word = "✔", m.tx.QueriedWord
	case sync.Conflict:
		mark, word = "!", m.conflictWord(o)
		if m.queue.backlog.b.Resolved[o.ID] {
			mark, word = "✓", m.mtx().Resolved+" · "+word
		}
		if m.queue.backlog.b.New[o.ID] {
			word = m.st.Bad.Render(m.tx.NewMark) + " " + word
		}
	}
	return mark, word
}
