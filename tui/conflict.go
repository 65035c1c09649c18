package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"cardtill/sync"
)

// ConflictDetail is what the detail of one conflict shows (F3, Tab to
// pick it, Enter): read from the journal by Options.ConflictDetail.
type ConflictDetail struct {
	ID                      uint64
	Code, CardID, CardTitle string
	Cashier                 string
	ShiftID                 uint64
	ScannedAt, AcceptedAt   time.Time
	At                      time.Time // when WeChat refused it
	// Refusal is WeChat's refusal in words, in the screen's language.
	Refusal string
	// Feed is what the hub's code-status feed said of the code since, in
	// words ("" when nothing); FeedAt when.
	Feed   string
	FeedAt time.Time
	// Resolution is what a manager recorded, nil while open.
	Resolution *ConflictResolution
}

// ConflictResolution is who resolved a conflict, when, and what was done.
type ConflictResolution struct {
	By   string
	At   time.Time
	Note string
}

// screenConflict is one conflict's detail, opened from the queue screen.
const screenConflict screen = 100

// mgrState is the manager's follow-up of conflicts: which conflict of the
// queue screen is picked, and the detail shown.
type mgrState struct {
	detail  *ConflictDetail
	err     error
	loading bool
	// note is the last word of a print on the detail.
	note string
}

type (
	conflictMsg struct {
		d   ConflictDetail
		err error
	}
	resolvedMsg struct {
		id  uint64
		err error
	}
)

var keyResolve = key.NewBinding(key.WithKeys("f7"), key.WithHelp("F7", "resolve"))

// conflictsListed are the conflicts the queue screen lists.
func (m Model) conflictsListed() []sync.Outcome { return m.queue.conflicts(m.queueEnv()) }

// managerKey handles the keys of the conflict follow-up: on the queue
// screen Tab picks a conflict and Enter (with nothing typed) opens it; on
// the detail F7 resolves it, Tab goes to the next, Esc back to the queue.
// ok is false for a key it leaves to the screen.
func (m Model) managerKey(k tea.KeyMsg) (Model, tea.Cmd, bool) {
	switch m.screen {
	case screenQueue: // the queue screen's own keys, F6 and scrolling included
		return m.toQueueOK(k)
	case screenConflict:
		switch {
		case key.Matches(k, m.keys.Cancel):
			m.screen = screenQueue
			m.mgr.detail, m.mgr.err = nil, nil
			return m, nil, true
		case key.Matches(k, queueKeys.Pick):
			q, id, ok := m.queue.next(m.queueEnv())
			if ok {
				m.queue = q
				return m.openConflict(id)
			}
			return m, nil, true
		case key.Matches(k, keyResolve):
			return m.startResolve()
		case key.Matches(k, reportKeys.Print):
			return m.printConflict()
		}
	case screenReport: // the report screen's own keys, scrolling included
		return m.toReportOK(k)
	}
	return m, nil, false
}

func (m Model) openConflict(id uint64) (Model, tea.Cmd, bool) {
	f, lang := m.o.ConflictDetail, m.tx.Lang
	m.screen, m.mgr.loading, m.mgr.err = screenConflict, true, nil
	if m.mgr.detail != nil && m.mgr.detail.ID != id {
		m.mgr.detail = nil
	}
	return m, func() tea.Msg {
		d, err := f(id, lang)
		return conflictMsg{d: d, err: err}
	}, true
}

func (m Model) onConflict(msg conflictMsg) (Model, tea.Cmd) {
	m.mgr.loading = false
	if msg.err != nil {
		m.mgr.err = msg.err
		return m, nil
	}
	m.mgr.detail, m.mgr.err = &msg.d, nil
	return m, nil
}

// startResolve opens the resolve dialog: who (the cashier's name to begin
// with), then what was done.
func (m Model) startResolve() (Model, tea.Cmd, bool) {
	d := m.mgr.detail
	if d == nil || d.Resolution != nil {
		return m, nil, true
	}
	if m.o.ResolveConflict == nil {
		m.notice = m.mtx().ResolveUnavailable
		return m, nil, true
	}
	by := textinput.New()
	by.CharLimit = 64
	by.SetValue(m.status.cashier)
	by.Focus()
	note := textinput.New()
	note.CharLimit = 500
	m.input.Blur()
	m.dialog = dialog{kind: dialogResolve, name: by, note: note}
	return m, textinput.Blink, true
}

// updateResolve is the resolve dialog's keys: Enter moves from the name
// to the note and then saves; Esc cancels.
func (m Model) updateResolve(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	d := m.dialog
	switch {
	case key.Matches(k, m.keys.Cancel):
		return m.closeDialog(), nil
	case key.Matches(k, m.keys.Submit):
		by, note := strings.TrimSpace(d.name.Value()), strings.TrimSpace(d.note.Value())
		if !d.onNote {
			if by == "" {
				return m, nil
			}
			m.dialog.onNote = true
			m.dialog.name.Blur()
			m.dialog.note.Focus()
			return m, textinput.Blink
		}
		if note == "" || m.mgr.detail == nil {
			return m, nil
		}
		f, id := m.o.ResolveConflict, m.mgr.detail.ID
		return m.closeDialog(), func() tea.Msg { return resolvedMsg{id: id, err: f(id, by, note)} }
	}
	var cmd tea.Cmd
	if d.onNote {
		m.dialog.note, cmd = d.note.Update(k)
	} else {
		m.dialog.name, cmd = d.name.Update(k)
	}
	return m, cmd
}

func (m Model) onResolved(msg resolvedMsg) (Model, tea.Cmd) {
	if msg.err != nil {
		m.notice = fmt.Sprintf("%s: %v", m.tx.Error, msg.err)
		return m, nil
	}
	m.notice = m.mtx().ResolveSaved
	var cmds []tea.Cmd
	if m.screen == screenConflict {
		var c tea.Cmd
		m, c, _ = m.openConflict(msg.id)
		cmds = append(cmds, c)
	}
	var load tea.Cmd
	m.queue, load = m.queue.load(m.queueEnv())
	return m, tea.Batch(append(cmds, load)...)
}

func (m Model) resolveDialogLines() []string {
	mt := m.mtx()
	lines := []string{m.st.Warn.Render(mt.DetailTitle)}
	if d := m.mgr.detail; d != nil {
		lines[0] += "  " + formatCode(d.Code)
	}
	lines = append(lines, mt.ResolveByAsk, m.dialog.name.View())
	if m.dialog.onNote {
		lines = append(lines, mt.ResolveNoteAsk, m.dialog.note.View())
	}
	return lines
}

// conflictView is one conflict's detail, each field on its own line.
func (m Model) conflictView(w, rows int) []string {
	mt := m.mtx()
	out := []string{" " + m.st.SectionTitle.Render(mt.DetailTitle)}
	if m.mgr.err != nil {
		out = append(out, " "+m.st.Bad.Render(clip(fmt.Sprintf("%s: %v", m.tx.Error, m.mgr.err), w-1)))
	}
	d := m.mgr.detail
	if d == nil {
		return append(out, " "+m.st.Muted.Render("…"))
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "--"
		}
		return t.Local().Format("2006-01-02 15:04")
	}
	card := d.CardTitle
	if card == "" {
		card = d.CardID
	}
	lw := 0
	labels := []string{mt.DetailCode, mt.DetailCard, mt.DetailCashier, mt.DetailShift, mt.DetailScanned, mt.DetailAccepted, mt.DetailGiven, mt.DetailRefusal, mt.DetailFeed}
	for _, l := range labels {
		lw = max(lw, cellWidth(l))
	}
	row := func(label, value string) {
		out = append(out, clip(" "+m.st.Bold.Render(label)+strings.Repeat(" ", lw-cellWidth(label)+2)+value, w))
	}
	row(mt.DetailCode, formatCode(d.Code))
	row(mt.DetailCard, card)
	row(mt.DetailCashier, d.Cashier)
	row(mt.DetailShift, fmt.Sprintf("#%d", d.ShiftID))
	row(mt.DetailScanned, stamp(d.ScannedAt))
	row(mt.DetailAccepted, stamp(d.AcceptedAt))
	row(mt.DetailGiven, mt.DetailGivenText)
	row(mt.DetailRefusal, d.Refusal+"  "+stamp(d.At))
	feed := mt.DetailFeedNone
	if d.Feed != "" {
		feed = d.Feed + "  " + stamp(d.FeedAt)
	}
	row(mt.DetailFeed, feed)
	out = append(out, "")
	if r := d.Resolution; r != nil {
		for _, l := range wrapCells(fmt.Sprintf(mt.DetailResolvedFmt, r.By, stamp(r.At), r.Note), w-2) {
			out = append(out, " "+m.st.Good.Render(l))
		}
	} else {
		out = append(out, " "+m.st.Bad.Render(clip(mt.DetailOpen, w-1)))
	}
	out = append(out, " "+m.st.Muted.Render(clip(mt.DetailKeys, w-1)))
	if m.notice != "" {
		out = append(out, "", " "+clip(m.notice, w-1))
	}
	if len(out) > rows {
		out = out[:rows]
	}
	return out
}

func cellWidth(s string) int { return ansi.StringWidth(s) }

// wrapCells breaks s into lines of at most w cells (words where there are
// spaces, anywhere in Chinese).
func wrapCells(s string, w int) []string {
	return strings.Split(ansi.Wrap(s, max(w, 8), " "), "\n")
}

// conflictWord is a conflict's reason in a few words, for the queue
// screen's row at 80 columns.
func (m Model) conflictWord(o sync.Outcome) string {
	if s, ok := conflictShort[m.tx.Lang][o.Reason]; ok {
		return s
	}
	if s, ok := conflictShort["en"][o.Reason]; ok && m.tx.Lang != "zh" {
		return s
	}
	if o.Errcode != 0 {
		return fmt.Sprintf(conflictShort[m.tx.Lang]["errcode"], o.Errcode)
	}
	return reasonText(m.tx, o)
}

var conflictShort = map[string]map[sync.Reason]string{
	"en": {
		sync.ReasonAlreadyUsed: "used elsewhere", sync.ReasonUnknownCode: "not our coupon", sync.ReasonInvalidCode: "not a coupon code",
		sync.ReasonExpired: "expired", sync.ReasonGifting: "was being gifted", sync.ReasonGiftTimeout: "gift timed out",
		sync.ReasonGifted: "given away", sync.ReasonDeleted: "deleted", sync.ReasonUnavailable: "disabled",
		sync.ReasonCardStatus: "card not active", sync.ReasonMarked: "reserved elsewhere", sync.ReasonTimeLimit: "wrong time of day",
		sync.ReasonNotConsumable: "not usable", sync.ReasonConfig: "set-up problem", "errcode": "WeChat refused (%d)",
	},
	"zh": {
		sync.ReasonAlreadyUsed: "已在别处使用", sync.ReasonUnknownCode: "非本店卡券", sync.ReasonInvalidCode: "无效券码",
		sync.ReasonExpired: "已过期", sync.ReasonGifting: "当时转赠中", sync.ReasonGiftTimeout: "转赠超时",
		sync.ReasonGifted: "已转赠", sync.ReasonDeleted: "已删除", sync.ReasonUnavailable: "已停用",
		sync.ReasonCardStatus: "卡券未生效", sync.ReasonMarked: "他处占用", sync.ReasonTimeLimit: "不在可用时段",
		sync.ReasonNotConsumable: "不可用", sync.ReasonConfig: "配置问题", "errcode": "微信拒绝（%d）",
	},
}

// openConflictCmd reads the shown conflict again (tests).
func (m Model) openConflictCmd() tea.Cmd {
	if m.mgr.detail == nil {
		return nil
	}
	_, cmd, _ := m.openConflict(m.mgr.detail.ID)
	return cmd
}
