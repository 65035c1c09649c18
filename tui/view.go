package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"cardtill/sync"
)

// View draws the screen. It is pure: it reads the model and nothing else.
func (m Model) View() string {
	w := max(m.width, 40)
	avail := m.bodyRows()
	var dlg []string
	if m.dialog.kind != dialogNone {
		dlg = m.dialogView(w)
	}
	rows := max(0, avail-len(dlg)) // what the screen under a dialog has
	var body []string
	switch m.screen {
	case screenHelp:
		body = m.helpView(w)
	case screenQueue:
		body = m.queue.View(m, w, rows)
	case screenReport:
		body = m.rep.View(m, w, rows)
	case screenConflict:
		body = m.conflictView(w, rows)
	default:
		body = m.tillView(w)
	}
	head := []string{m.header(w), m.st.Rule.Render(strings.Repeat("─", w))}
	if m.outage() {
		head = append(head, m.banner(w))
	}
	foot := []string{m.statusLine(w), m.footer(w)}
	body = append(dlg, body...)
	if len(body) > avail {
		body = body[:avail]
	}
	for len(body) < avail {
		body = append(body, "")
	}
	lines := append(append(head, body...), foot...)
	for i, l := range lines {
		lines[i] = m.memo.fit(l, w)
	}
	if m.o.ASCII { // a console that cannot draw Chinese nor symbols (console.go)
		return asciiOnly(strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n")
}

// spread puts left and right on one line of width w.
func spread(left, right string, w int) string {
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return ansi.Truncate(left, max(0, w-lipgloss.Width(right)-1), "…") + " " + right
	}
	return left + strings.Repeat(" ", gap) + right
}

// header is the product, the till (store and terminal), the cashier and
// the shift on the left, WeChat's status and the time on the right. When
// it does not fit, the product name goes first, then the till's name is
// cut: the shift, the cashier and the WeChat status always stay.
func (m Model) header(w int) string {
	tx, s := m.tx, m.status
	shift := tx.NoShift
	if s.shiftID != 0 {
		shift = fmt.Sprintf(tx.ShiftFmt, s.shiftID)
	}
	right := m.wechat() + "  " + m.now.Format("15:04") + " "
	join := func(product bool, till string) string {
		parts := []string{}
		if product {
			parts = append(parts, "cardtill")
		}
		if till != "" {
			parts = append(parts, till)
		}
		if s.cashier != "" {
			parts = append(parts, s.cashier)
		}
		return " " + strings.Join(append(parts, shift), " · ")
	}
	room := w - lipgloss.Width(right) - 1
	left := join(true, s.terminal)
	if lipgloss.Width(left) > room {
		left = join(false, s.terminal)
	}
	if over := lipgloss.Width(left) - room; over > 0 && s.terminal != "" {
		keep := lipgloss.Width(s.terminal) - over - 1 // "…"
		if keep >= 4 {
			left = join(false, ansi.Truncate(s.terminal, keep+1, "…"))
		} else {
			left = join(false, "")
		}
	}
	return spread(m.st.Header.Render(left), right, w)
}

// wechat is the connectivity word; it never says online without saying
// that items still wait.
func (m Model) wechat() string {
	tx, st := m.tx, m.status.st
	switch {
	case st.Online && st.WeChatBusy:
		// Reached, but not doing the work: offline.max_age counts from then.
		return m.st.OfflineDot.Render("●") + " " + m.st.Bad.Render(tx.WeChatBusy) + " " + fmt.Sprintf(tx.OfflineSinceFmt, st.BusySince.Format("15:04"))
	case st.Online && st.QueueDepth > 0:
		return m.st.PendingDot.Render("●") + " " + tx.WeChatOnline + " · " + fmt.Sprintf(tx.SendingFmt, st.QueueDepth)
	case st.Online && st.LastContact.IsZero():
		return m.st.PendingDot.Render("○") + " " + tx.WeChatUnknown
	case st.Online:
		return m.st.OnlineDot.Render("●") + " " + tx.WeChatOnline
	case !st.OfflineSince.IsZero():
		return m.st.OfflineDot.Render("○") + " " + m.st.Bad.Render(tx.WeChatOffline) + " " + fmt.Sprintf(tx.OfflineSinceFmt, st.OfflineSince.Format("15:04"))
	}
	return m.st.PendingDot.Render("○") + " " + tx.WeChatUnknown
}

// statusLine is the status bar. Counts and warnings are never dropped for
// room: when the parts do not fit w it first narrows the gaps, then
// leaves out the word "syncing" (transient), then the scanner's port
// name, then the word "connected" after the scanner's green dot (UNPLUGGED always
// stays), then shortens the last-sync label, and only then cuts the end
// (the last sync) with "…". Warnings come before the last sync.
func (m Model) statusLine(w int) string {
	tx, s := m.tx, m.status
	scanner := func(port, connectedWord bool) string {
		p := ""
		if port {
			p = " " + s.port
		}
		switch {
		case s.port == "":
			return tx.ScannerKeyboard
		case s.connected && !connectedWord:
			return tx.Scanner + " " + m.st.OnlineDot.Render("●") + p
		case s.connected:
			return tx.Scanner + " " + m.st.OnlineDot.Render("●") + p + " " + tx.ScannerConnected
		}
		return tx.Scanner + " " + m.st.OfflineDot.Render("○") + p + " " + m.st.Bad.Render(tx.ScannerDisconnected)
	}
	last := ""
	if !s.st.LastSync.IsZero() && !s.st.LastContact.IsZero() { // no sync without ever reaching WeChat
		last = s.st.LastSync.Format("15:04")
	}
	counts := []string{fmt.Sprintf("%s %d", tx.Queue, s.st.QueueDepth)}
	if s.st.InDoubt > 0 {
		counts = append(counts, fmt.Sprintf("%s %d", tx.InDoubt, s.st.InDoubt))
	}
	c := fmt.Sprintf("%s %d", tx.Conflicts, s.st.Conflicts)
	switch {
	case m.o.AckConflicts != nil && m.queue.backlog.loaded:
		// the manager marks conflicts seen: only new ones are red
		if n := m.queue.backlog.b.Unseen; n > 0 {
			c = m.st.Bad.Render(c + " (" + fmt.Sprintf(tx.UnseenFmt, n) + ")")
		}
	case s.st.Conflicts > 0:
		c = m.st.Bad.Render(c)
	}
	counts = append(counts, c)
	if s.st.JournalNearlyFull {
		counts = append(counts, m.st.Bad.Render(fmt.Sprintf(tx.JournalFullFmt, int(s.st.JournalUse*100))))
	}
	if s.st.TerminalKeyRefused {
		counts = append(counts, m.st.Bad.Render(tx.KeyRefused))
	}
	line := func(sep string, port, syncing, connectedWord bool, lastLabel string) string {
		synced := tx.NeverSynced
		if last != "" {
			synced = lastLabel + " " + last
		}
		parts := append(append([]string{scanner(port, connectedWord)}, counts...), synced)
		if syncing && s.st.Syncing {
			parts = append(parts, tx.Syncing)
		}
		return " " + strings.Join(parts, sep)
	}
	for _, try := range []string{
		line("   ", true, true, true, tx.LastSync),
		line("  ", true, true, true, tx.LastSync),
		line("  ", true, false, true, tx.LastSync),
		line("  ", false, false, true, tx.LastSync),
		line("  ", false, false, false, tx.LastSync),
		line("  ", false, false, false, tx.LastSyncShort),
	} {
		if lipgloss.Width(try) <= w {
			return try
		}
	}
	return ansi.Truncate(line("  ", false, false, false, tx.LastSyncShort), w, "…")
}

func (m Model) footer(w int) string {
	h := m.help
	h.Width = w - 1
	switch m.screen {
	case screenQueue:
		return " " + h.ShortHelpView(m.queue.help(m.queueEnv()))
	case screenReport:
		return " " + h.ShortHelpView(m.rep.help(m.reportEnv()))
	case screenConflict:
		r, p := keyResolve, queueKeys.Pick
		r.SetHelp("F7", m.mtx().KeyResolve)
		p.SetHelp("Tab", m.mtx().KeyPick)
		pr := reportKeys.Print
		pr.SetHelp("F9", m.mtx().KeyPrint)
		return " " + h.ShortHelpView([]key.Binding{r, p, pr, m.keys.Cancel, m.keys.Quit})
	}
	return " " + h.ShortHelpView(m.keys.ShortHelp())
}

func (m Model) tillView(w int) []string {
	res := m.result
	if m.cleared() {
		res = resultPanel{}
	}
	style, lines := res.lines(m.tx, m.st)
	inner := w - 1 - m.st.Panel.GetHorizontalFrameSize()
	if m.big() {
		style, lines = res.bigLines(m.tx, m.st, m.memo, inner)
	}
	for len(lines) < 4 {
		lines = append(lines, "")
	}
	panel := m.memo.drawPanel(style, inner, w-1-style.GetHorizontalBorderSize(), lines)
	out := []string{}
	for _, l := range strings.Split(panel, "\n") {
		out = append(out, " "+l)
	}
	out = append(out, " "+m.input.View())
	if m.notice != "" {
		out = append(out, " "+m.st.Muted.Render(m.notice))
	} else {
		out = append(out, "")
	}
	if len(m.o.Demo) > 0 && w >= 100 {
		return append(out, m.withDemo(m.recentLines(w-demoWidth), w)...)
	}
	rec := m.recentLines(w)
	if len(m.o.Demo) > 0 {
		rec = m.withDemo(rec, w)
	}
	return append(out, rec...)
}

func (m Model) recentLines(w int) []string {
	tx := m.tx
	out := []string{spread(" "+m.st.SectionTitle.Render(tx.Recent), fmt.Sprintf(tx.ShiftCountsFmt, m.recent.ok, m.recent.notOK)+" ", w)}
	if len(m.recent.items) == 0 {
		return append(out, " "+m.st.Muted.Render(tx.RecentEmpty))
	}
	for i := len(m.recent.items) - 1; i >= 0 && len(out) < 16; i-- {
		out = append(out, m.recentRow(m.recent.items[i], w))
	}
	return out
}

func (m Model) recentRow(o sync.Outcome, w int) string {
	mark, word := "✖", reasonText(m.tx, o)
	switch o.Kind {
	case sync.Consumed:
		mark, word = "✔", m.tx.RedeemedWord
	case sync.AcceptedOffline:
		mark, word = "⏸", m.tx.AcceptedOffline
	case sync.Checking:
		mark, word = "?", m.tx.Checking
	case sync.Conflict: // accepted offline, then refused: for the manager
		mark, word = "!", m.tx.Conflict+" · "+reasonText(m.tx, o)
	}
	if o.Reason == sync.ReasonCancelled {
		mark = "–"
	}
	at := o.At.Format("15:04")
	return m.memo.row(rowKey{tx: m.tx, at: at, code: o.Code, title: o.CardTitle, mark: mark, word: word, width: w}, func() string {
		col := func(s string, n int) string { s = clip(s, n); return s + strings.Repeat(" ", n-lipgloss.Width(s)) }
		titleW := 22
		if w >= 100 {
			titleW = 34
		}
		row := " " + at + "  " + col(formatCode(o.Code), 16) + " " + col(o.CardTitle, titleW) + " " + mark + " " + word
		return clip(row, w)
	})
}

// demoWidth is the demo codes column on wide screens.
const demoWidth = 44

// withDemo puts the demo codes beside (wide) or under (narrow) the recent list.
func (m Model) withDemo(rec []string, w int) []string {
	demo := []string{" " + m.st.SectionTitle.Render(m.tx.DemoTitle) + " " + m.st.Muted.Render("("+m.tx.DemoHint+")")}
	for _, d := range m.o.Demo {
		demo = append(demo, "  "+d.Code+"  "+m.st.Muted.Render(d.Note))
	}
	if w < 100 {
		// two columns under the recent list
		half := (len(m.o.Demo) + 1) / 2
		rows := []string{demo[0]}
		for i := 0; i < half; i++ {
			l := demo[1+i]
			r := ""
			if 1+half+i < len(demo) {
				r = demo[1+half+i]
			}
			rows = append(rows, l+strings.Repeat(" ", max(1, w/2-lipgloss.Width(l)))+r)
		}
		keep := max(0, m.height-4-8-len(rows))
		return append(rec[:min(len(rec), keep)], rows...)
	}
	left := w - demoWidth
	out := []string{}
	for i := 0; i < max(len(rec), len(demo)); i++ {
		l, r := "", ""
		if i < len(rec) {
			l = clip(rec[i], left)
		}
		if i < len(demo) {
			r = demo[i]
		}
		out = append(out, l+strings.Repeat(" ", max(0, left-lipgloss.Width(l)))+"│"+r)
	}
	return out
}

func (m Model) helpView(w int) []string {
	out := []string{" " + m.st.SectionTitle.Render(m.tx.HelpTitle)}
	for _, l := range strings.Split(ansi.Wrap(m.tx.HelpIntro, w-2, " "), "\n") {
		out = append(out, " "+l)
	}
	out = append(out, "")
	kw := 8 // the key column fits the widest key
	for _, col := range m.keys.FullHelp() {
		for _, b := range col {
			kw = max(kw, lipgloss.Width(b.Help().Key))
		}
	}
	for _, col := range m.keys.FullHelp() {
		for _, b := range col {
			if !b.Enabled() {
				continue
			}
			h := b.Help()
			desc := h.Desc
			if long, ok := m.tx.KeyLong[h.Key]; ok {
				desc = long
			}
			k := h.Key + strings.Repeat(" ", kw+2-lipgloss.Width(h.Key))
			out = append(out, "   "+m.st.Bold.Render(k)+desc)
		}
	}
	if m.o.Override != nil { // at the offline limit (override.go)
		k := keyOverride.Help().Key
		out = append(out, "   "+m.st.Bold.Render(k+strings.Repeat(" ", kw+2-lipgloss.Width(k)))+m.mtx().OverrideKeyHelp)
	}
	return out
}

func (m Model) dialogView(w int) []string {
	tx := m.tx
	var lines []string
	switch m.dialog.kind {
	case dialogQuit:
		lines = []string{m.st.Warn.Render(tx.QuitTitle)}
		if m.inFlight > 0 {
			lines = append(lines, tx.QuitInFlight)
		}
		if m.status.st.QueueDepth > 0 {
			lines = append(lines, fmt.Sprintf(tx.QuitQueuedFmt, m.status.st.QueueDepth))
		}
		lines = append(lines, tx.QuitAsk)
	case dialogConfirm:
		o := m.dialog.confirm.out
		lines = []string{m.st.Warn.Render(tx.ConfirmTitle), firstNonEmpty(o.CardTitle, o.CardID), tx.CodeLabel + " " + formatCode(o.Code), tx.ConfirmHint}
	case dialogShiftOpen:
		lines = []string{m.st.Warn.Render(tx.ShiftOpenTitle), tx.ShiftOpenAsk, m.dialog.name.View()}
	case dialogResolve:
		lines = m.resolveDialogLines()
	case dialogOverride:
		lines = m.overrideDialogLines()
	case dialogShiftClose:
		lines = []string{m.st.Warn.Render(tx.ShiftCloseTitle), fmt.Sprintf(tx.ShiftCloseAskFmt, m.status.shiftID, m.status.cashier)}
		if d := m.dialog; d.pending > 0 {
			lines = append(lines, m.st.Bad.Render(fmt.Sprintf(m.mtx().ClosePendingFmt, d.pending)))
			if d.again {
				lines = append(lines, m.st.Bold.Render(m.mtx().CloseAgain))
			}
		}
	}
	inner := w - 6
	for i, l := range lines {
		lines[i] = ansi.Wordwrap(l, inner, " ")
	}
	box := m.st.Dialog.Width(w - 1 - m.st.Dialog.GetHorizontalBorderSize()).Render(strings.Join(lines, "\n"))
	out := []string{}
	for _, l := range strings.Split(box, "\n") {
		out = append(out, " "+l)
	}
	return out
}
