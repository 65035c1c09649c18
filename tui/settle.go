package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"cardtill/sync"
)

// Settle in place. The engine tells the screen when a redemption moves
// after its answer was shown (Options.Updates: a lost consume answer found
// by the query, a queued code consumed or refused by the drain). The recent
// list changes the row in place (checking → redeemed, accepted offline →
// redeemed or conflict), the shift counts follow, and the panel changes too
// while it still shows that redemption. F3 keeps the latest settled ones
// (maxSettled) so a cashier can watch the queue drain.

// maxSettled bounds the settled history of F3.
const maxSettled = 20

// updateMsg is one redemption's new state from the engine's stream.
type updateMsg sync.Outcome

// waitUpdate waits for the next update the screen can show. Steps on the
// way (received, checked, consuming) are skipped: the stream publishes
// every commit, and an online scan's own steps come on another path than
// its answer, so a late "consuming" would turn a redeemed row back to
// checking; a retried in-doubt or drained code keeps its row until it
// settles.
func waitUpdate(c <-chan sync.Update) tea.Cmd {
	return func() tea.Msg {
		for {
			u, ok := <-c
			if !ok {
				return nil
			}
			if shownState(u.State) {
				return updateMsg(u.Outcome)
			}
		}
	}
}

// shownState reports whether a redemption in state s has an answer the
// screen shows: the final states, queued and in doubt.
func shownState(s sync.State) bool {
	switch s {
	case sync.StateReceived, sync.StateChecked, sync.StateConsuming:
		return false
	}
	return true
}

// settled is one redemption that settled while the screen ran.
type settled struct {
	from sync.OutcomeKind
	out  sync.Outcome
	at   time.Time
}

// onUpdate settles a redemption in place.
func (m Model) onUpdate(o sync.Outcome) (tea.Model, tea.Cmd) {
	next := waitUpdate(m.o.Updates)
	if o.ID == 0 {
		return m, next
	}
	from, ok := m.recent.settle(o)
	if ok && from != o.Kind {
		if len(m.queue.settled) == maxSettled {
			m.queue.settled = append(m.queue.settled[:0:0], m.queue.settled[1:]...)
		}
		m.queue.settled = append(m.queue.settled, settled{from: from, out: o, at: m.o.Now()})
	}
	// the panel changes only when the answer does: the commit that
	// follows an answer (queued after "accepted offline", consumed after
	// "redeemed") is the same answer, not a settling
	if r := m.result; r.shown && !r.working && !r.confirming && r.out.ID == o.ID && r.out.Kind != o.Kind {
		o.CardTitle = firstNonEmpty(o.CardTitle, r.out.CardTitle)
		m.result.out, m.result.settled = o, true
	}
	if m.repeats.last != nil {
		if a, ok := m.repeats.last[o.Code]; ok && a.out.ID == o.ID {
			a.out = o
			m.repeats.last[o.Code] = a
		}
	}
	return m, tea.Batch(next, m.refreshStatus())
}

// settle replaces the recent row of o's redemption and moves the counts;
// it reports the kind the row had, and whether there was one.
func (r *recentList) settle(o sync.Outcome) (sync.OutcomeKind, bool) {
	for i := len(r.items) - 1; i >= 0; i-- {
		if r.items[i].ID != o.ID {
			continue
		}
		old := r.items[i]
		r.uncount(old)
		o.CardTitle = firstNonEmpty(o.CardTitle, old.CardTitle)
		o.At = old.At // the row stays where the cashier scanned it
		r.count(o)
		r.items[i] = o
		return old.Kind, true
	}
	return 0, false
}

// count adds o to the shift counts: honoured (✔) or refused (✖); a
// cancelled scan is neither, nor is one still being checked (an in-doubt
// consume: it is counted when it settles).
func (r *recentList) count(o sync.Outcome) {
	switch {
	case o.Kind == sync.Duplicate, o.Kind == sync.Checking, o.Reason == sync.ReasonCancelled:
	case o.Kind.Honoured():
		r.ok++
	default:
		r.notOK++
	}
}

func (r *recentList) uncount(o sync.Outcome) {
	switch {
	case o.Kind == sync.Duplicate, o.Kind == sync.Checking, o.Reason == sync.ReasonCancelled:
	case o.Kind.Honoured():
		r.ok--
	default:
		r.notOK--
	}
}

// settledLines is F3's settled history, newest first.
func (m Model) settledLines() []queueLine {
	if len(m.queue.settled) == 0 {
		return nil
	}
	tx := m.tx
	out := []queueLine{{text: ""}, {text: " " + m.st.SectionTitle.Render(tx.SettledTitle) + fmt.Sprintf("  %d", len(m.queue.settled))}}
	for i := len(m.queue.settled) - 1; i >= 0; i-- {
		s := m.queue.settled[i]
		was := fmt.Sprintf(tx.SettledFmt, s.at.Format("15:04"), m.kindWord(s.from))
		out = append(out, queueLine{text: m.settledRow(s.out, was)})
	}
	return out
}

// kindWord is a kind in one word, for "was checking".
func (m Model) kindWord(k sync.OutcomeKind) string {
	switch k {
	case sync.AcceptedOffline:
		return m.tx.AcceptedOffline
	case sync.Checking:
		return m.tx.Checking
	case sync.Consumed:
		return m.tx.RedeemedWord
	case sync.Conflict:
		return m.tx.Conflict
	}
	return m.tx.Refused
}

// settledRow is one line of the settled history: when, the code, what it
// became and what it was. What it became comes before the card's title,
// which gets what room is left: at 80 columns the state is never the part
// cut off. No row here is the conflict picked (that mark is the list's).
func (m Model) settledRow(o sync.Outcome, was string) string {
	w := max(40, m.width)
	mark, word := m.backlogState(o)
	col := func(s string, n int) string { s = clip(s, n); return s + strings.Repeat(" ", n-lipgloss.Width(s)) }
	row := " " + col(m.stamp(o.At), 11) + " " + col(formatCode(o.Code), 16) + " " + mark + " " + word + "  " + m.st.Muted.Render(was)
	if room := w - lipgloss.Width(row) - 3; o.CardTitle != "" && room >= 6 {
		row += "  " + clip(o.CardTitle, room)
	}
	return clip(row, w)
}
