package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
)

// The outage banner: a line across the screen under the header for as
// long as WeChat is unreachable, with how long it has been and how many
// offline acceptances the shift has left, so the cashier knows before the
// next customer what the till will do.

// outage reports whether the banner shows.
func (m Model) outage() bool {
	st := m.status.st
	return !st.Online && !st.OfflineSince.IsZero()
}

func (m Model) banner(w int) string {
	tx, st := m.tx, m.status.st
	left := ""
	switch n := st.MaxPerShift - st.OfflineAcceptedInShift; {
	case st.MaxPerShift < 0:
		left = tx.BannerNoLimit
	case st.MaxPerShift == 0:
		left = tx.BannerNoOffline
	case n <= 0:
		left = tx.BannerLimitReached
	default:
		left = fmt.Sprintf(tx.BannerLeftFmt, n)
	}
	line := " ○ " + fmt.Sprintf(tx.BannerFmt, m.outageFor(m.now.Sub(st.OfflineSince))) + " · " + left
	line = clip(line, w)
	return m.st.Banner.Render(line + strings.Repeat(" ", max(0, w-lipgloss.Width(line))))
}

// outageFor is an outage's length in minutes (hours and minutes past an
// hour), never negative.
func (m Model) outageFor(d time.Duration) string {
	mins := int(max(0, d) / time.Minute)
	if mins < 60 {
		return fmt.Sprintf(m.tx.MinutesFmt, mins)
	}
	return fmt.Sprintf(m.tx.HoursMinutesFmt, mins/60, mins%60)
}
