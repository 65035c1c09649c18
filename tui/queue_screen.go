package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"cardtill/sync"
)

// queueScreen is F3 as a sub-model: the journal's backlog as last read
// (what waits for WeChat, the conflicts, those confirmed by a query), the
// scroll, the conflict picked, the settled history and the hub's notices.
// It has its own update (its reads and keys), view, key map and size; the
// root routes to it while F3 shows (the backlog's reads at every status
// change, since the status bar counts new conflicts from it) and acts on
// what it asks for (queueOut).
type queueScreen struct {
	backlog backlogView
	scroll  scroller
	sel     int       // the conflict picked, an index into those listed
	settled []settled // F3's settled history, newest last (settle.go)
	notices []Notice  // the hub's notices, newest last, at most maxNotices
}

// queueEnv is what the queue screen reads of the root: the hooks, the
// words and keys, the engine's status, this session's answers, whether
// the cashier has typed something, and its size.
type queueEnv struct {
	read   func(limit int) (Backlog, error) // Options.Backlog
	ack    func() error                     // Options.AckConflicts
	detail bool                             // Options.ConflictDetail is set
	tx     *Text
	keys   KeyMap
	status sync.Status
	recent []sync.Outcome
	typed  bool
	rows   int
	lines  func() int // the screen's lines below its title, for scrolling
}

// queueOut is what the queue screen asks of the root after an update.
type queueOut struct {
	notice string // a word for the status line ("": none)
	open   uint64 // open this conflict's detail (0: none)
}

// queueKeys is the queue screen's own key map: picking a conflict and
// opening its detail; F6 (marking conflicts seen) and the scroll keys are
// the root's KeyMap's.
var queueKeys = struct{ Pick, PickUp, Open key.Binding }{
	Pick:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("Tab", "pick")),
	PickUp: key.NewBinding(key.WithKeys("shift+tab")),
	Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("Enter", "detail")),
}

// ackMsg: the conflicts were marked seen (or not: err).
type ackMsg struct{ err error }

// open is F3 pressed: back at the top, the backlog read again.
func (q queueScreen) open(e queueEnv) (queueScreen, tea.Cmd) {
	q.scroll = scroller{}
	return q.load(e)
}

// load reads the backlog in a command (nil without the hook).
func (q queueScreen) load(e queueEnv) (queueScreen, tea.Cmd) {
	f := e.read
	if f == nil {
		return q, nil
	}
	q.backlog.loading, q.backlog.seen = true, counts(e.status)
	return q, func() tea.Msg {
		b, err := f(backlogLimit)
		return backlogMsg{b: b, err: err}
	}
}

// conflicts are the conflicts the queue screen lists: the journal's, or
// without the hook this session's.
func (q queueScreen) conflicts(e queueEnv) []sync.Outcome {
	if e.read != nil {
		return q.backlog.b.Conflicts
	}
	_, c := sessionBacklog(e.recent)
	return c
}

// next picks the conflict after the one picked; ok is false when none is
// listed.
func (q queueScreen) next(e queueEnv) (_ queueScreen, id uint64, ok bool) {
	cs := q.conflicts(e)
	if len(cs) == 0 {
		return q, 0, false
	}
	q.sel = (q.sel + 1) % len(cs)
	return q, cs[q.sel].ID, true
}

// Update answers the queue screen's messages and keys: a backlog read, the
// conflicts marked seen, the status changed (the backlog is read again
// when its counts did), a key. ok is false for a key that is not the
// queue screen's.
func (q queueScreen) Update(msg tea.Msg, e queueEnv) (_ queueScreen, cmd tea.Cmd, out queueOut, ok bool) {
	switch msg := msg.(type) {
	case backlogMsg:
		// kept; when the status's counts changed while it was read, it may
		// already be behind, and it is read again
		q.backlog.loading = false
		if msg.err != nil {
			q.backlog.err = msg.err // the last list stays, with the error above it
		} else {
			q.backlog.b, q.backlog.err, q.backlog.loaded = msg.b, nil, true
		}
		if q.backlog.stale(e.status) {
			q, cmd = q.load(e)
		}
		return q, cmd, out, true
	case ackMsg:
		if msg.err != nil {
			out.notice = fmt.Sprintf("%s: %v", e.tx.Error, msg.err)
			q.backlog.err = msg.err
			return q, nil, out, true
		}
		out.notice = e.tx.ConflictsSeen
		q, cmd = q.load(e)
		return q, cmd, out, true
	case statusMsg:
		if q.backlog.stale(e.status) {
			q, cmd = q.load(e)
		}
		return q, cmd, out, true
	case tea.KeyMsg:
		cs := q.conflicts(e)
		switch {
		case len(cs) > 0 && key.Matches(msg, queueKeys.Pick):
			q.sel = (q.sel + 1) % len(cs)
			return q, nil, out, true
		case len(cs) > 0 && key.Matches(msg, queueKeys.PickUp):
			q.sel = (q.sel - 1 + len(cs)) % len(cs)
			return q, nil, out, true
		case len(cs) > 0 && key.Matches(msg, queueKeys.Open) && !e.typed && e.detail:
			q.sel = min(max(q.sel, 0), len(cs)-1)
			out.open = cs[q.sel].ID
			return q, nil, out, true
		case key.Matches(msg, e.keys.Ack):
			// every conflict marked seen (journaled by the hook), then the
			// backlog read again
			f := e.ack
			if f == nil || q.backlog.b.Unseen == 0 {
				return q, nil, out, true
			}
			return q, func() tea.Msg { return ackMsg{err: f()} }, out, true
		}
		var moved bool
		q.scroll, moved = q.scroll.update(msg, e.keys, e.lines(), max(1, e.rows-2))
		return q, nil, out, moved
	}
	return q, nil, out, false
}

// View is the manager's screen (F3): what waits for WeChat, the
// conflicts, the settled history and the hub's notices, in w columns and
// rows lines, drawn with the root's styles and words.
func (q queueScreen) View(m Model, w, rows int) []string {
	tx, st := m.tx, m.status.st
	title := " " + m.st.SectionTitle.Render(tx.QueueTitle) + fmt.Sprintf("  %s %d · %s %d · %s %d", tx.Queue, st.QueueDepth, tx.InDoubt, st.InDoubt, tx.Conflicts, st.Conflicts)
	content := m.queueContent()
	return m.scrolled(title, len(content), func(i int) string { return m.drawQueueLine(content[i], w) }, q.scroll, rows)
}

// help is the queue screen's keys for the footer.
func (q queueScreen) help(e queueEnv) []key.Binding {
	k := e.keys
	k.Ack.SetEnabled(k.Ack.Enabled() && q.backlog.b.Unseen > 0) // F6 only when there is something new
	return k.QueueHelp()
}
