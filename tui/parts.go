package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"cardtill/scanner"
	"cardtill/sync"
)

// resultPanel is the big answer for the last scan.
type resultPanel struct {
	shown   bool
	working bool
	// confirming: WeChat allowed the consume and the dialog waits for the
	// cashier ([ui] confirm)
	confirming bool
	// repeat: a double read; the answer shown is the earlier one, shown
	// again at since (the panel clears from then on)
	repeat bool
	since  time.Time
	// settled: the answer changed in place after it was shown
	settled  bool
	rejected scanner.Scan
	out      sync.Outcome
	err      error
	code     string
	at       time.Time
}

// panelView is what the answer panel shows: its border, the headline (a
// mark and a word in the headline's style) and the detail lines. The
// panel draws it small (one headline line, at 80x24) or big (bigpanel.go).
type panelView struct {
	box, head  lipgloss.Style
	mark, word string
	detail     []string
}

// lines returns the panel's border style and its text lines; a double
// read says so after the headline.
func (r resultPanel) lines(tx *Text, st Styles) (lipgloss.Style, []string) {
	v := r.view(tx, st)
	head := v.head.Render(v.mark + "  " + v.word)
	if v.mark == "" {
		head = v.head.Render(v.word)
	}
	if r.repeat {
		head += "   " + st.Bold.Render("↻ "+tx.ReadTwice)
	}
	if r.settled {
		head += "   " + st.Muted.Render(tx.SettledMark)
	}
	return v.box, append([]string{head}, v.detail...)
}

func (r resultPanel) view(tx *Text, st Styles) panelView {
	pv := func(box, head lipgloss.Style, mark, word string, detail ...string) panelView {
		return panelView{box: box, head: head, mark: mark, word: word, detail: detail}
	}
	switch {
	case !r.shown:
		return pv(st.Panel, st.Muted, "", tx.Ready)
	case r.working:
		return pv(st.Panel, st.Bold, "…", tx.Working, tx.CodeLabel+" "+formatCode(r.code))
	case r.confirming:
		return pv(st.Panel, st.Bold, "…", tx.Confirming, firstNonEmpty(r.out.CardTitle, r.out.CardID), tx.CodeLabel+" "+formatCode(r.code))
	case r.rejected.Err != nil:
		return pv(st.PanelBad, st.Bad, "✖", tx.Refused, rejectText(tx, r.rejected.Err), st.Muted.Render(clip(r.rejected.Raw, 40)))
	case r.err != nil:
		return pv(st.PanelBad, st.Bad, "✖", tx.Error, r.err.Error())
	}
	o := r.out
	card := formatCode(r.code)
	if o.CardTitle != "" {
		card = o.CardTitle + "  ·  " + tx.CodeLabel + " " + card
	} else {
		card = tx.CodeLabel + " " + card
	}
	when := r.at.Format("15:04:05")
	if o.OpenID != "" {
		when += "  ·  " + tx.CustomerLabel + " " + maskOpenID(o.OpenID)
	}
	switch o.Kind {
	case sync.Consumed:
		return pv(st.PanelGood, st.Good, "✔", tx.Consumed, card, when)
	case sync.AcceptedOffline:
		v := pv(st.PanelWarn, st.Warn, "⏸", tx.AcceptedOffline, tx.AcceptedOfflineHint, card, when)
		if o.MaxPerShift > 0 {
			v.detail = append(v.detail, fmt.Sprintf(tx.OfflineCountFmt, o.OfflineInShift, o.MaxPerShift))
		}
		return v
	case sync.Duplicate:
		return pv(st.PanelMuted, st.Muted, "≡", tx.Duplicate, reasonText(tx, o), card)
	case sync.Checking:
		return pv(st.PanelWarn, st.Warn, "?", tx.Checking, tx.CheckingHint, card, when)
	case sync.Conflict:
		return pv(st.PanelBad, st.Bad, "!", tx.Conflict, reasonText(tx, o), card, when)
	}
	if o.Reason == sync.ReasonCancelled { // the cashier's own choice: neutral
		return pv(st.PanelMuted, st.Muted, "–", tx.Cancelled, reasonText(tx, o), card, when)
	}
	return pv(st.PanelBad, st.Bad, "✖", tx.Refused, st.Bold.Render(reasonText(tx, o)), card, when)
}

// reasonText is the cashier's words for an outcome's reason.
func reasonText(tx *Text, o sync.Outcome) string {
	switch o.Reason {
	case sync.ReasonUsedHere:
		// a queued code is accepted offline here, not yet redeemed
		if p := o.Previous; p != nil && !p.At.IsZero() {
			switch p.State {
			case sync.StateQueued:
				return fmt.Sprintf(tx.AcceptedHereFmt, p.At.Format("15:04"))
			case sync.StateConflict:
				return fmt.Sprintf(tx.ConflictHereFmt, p.At.Format("15:04"))
			}
		}
		fallthrough
	case sync.ReasonAlreadyUsed:
		s := tx.Reasons[o.Reason]
		if p := o.Previous; p != nil && !p.At.IsZero() {
			s += " " + fmt.Sprintf(tx.UsedAtFmt, p.At.Format("01-02 15:04"), firstNonEmpty(p.Terminal, "?"))
		}
		return s
	case sync.ReasonExpired:
		if !o.ValidUntil.IsZero() {
			return fmt.Sprintf(tx.ExpiredFmt, o.ValidUntil.Format("2006-01-02"))
		}
	case sync.ReasonNotYetValid:
		if !o.ValidFrom.IsZero() {
			return fmt.Sprintf(tx.NotYetFmt, o.ValidFrom.Format("2006-01-02"))
		}
	case sync.ReasonOfflineShiftLimit:
		if o.MaxPerShift > 0 {
			return fmt.Sprintf(tx.OfflineLimitFmt, o.OfflineInShift, o.MaxPerShift)
		}
	}
	if s, ok := tx.Reasons[o.Reason]; ok {
		return s
	}
	return firstNonEmpty(o.ReasonText, string(o.Reason))
}

func rejectText(tx *Text, err error) string {
	var re *scanner.RejectError
	if errors.As(err, &re) {
		if s, ok := tx.Rejects[re.Kind]; ok {
			return s
		}
	}
	return tx.Rejects[scanner.RejectNotACode]
}

// formatCode groups an all-digit code by four, as printed on coupons.
func formatCode(c string) string {
	if len(c) < 8 || strings.Trim(c, "0123456789") != "" {
		return c
	}
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(c[i])
	}
	return b.String()
}

func maskOpenID(s string) string {
	if len(s) <= 8 {
		return s
	}
	return s[:4] + "…" + s[len(s)-4:]
}

// clip cuts s to w terminal cells (wide characters count two).
func clip(s string, w int) string { return ansi.Truncate(s, w, "…") }

// recentList keeps the last max outcomes and the session's shift counts.
type recentList struct {
	max       int
	items     []sync.Outcome // newest last
	ok, notOK int
}

func (r *recentList) add(o sync.Outcome) {
	if o.Kind == sync.Duplicate {
		return
	}
	r.count(o)
	if len(r.items) == r.max {
		copy(r.items, r.items[1:])
		r.items = r.items[:len(r.items)-1]
	}
	r.items = append(r.items, o)
}

func (r *recentList) resetCounts() { r.ok, r.notOK = 0, 0 }

// statusBar holds what the status line shows.
type statusBar struct {
	st                sync.Status
	terminal, cashier string
	shiftID           uint64
	port              string
	connected         bool
}
