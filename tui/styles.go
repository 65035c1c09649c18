package tui

import (
	"os"

	"github.com/charmbracelet/lipgloss"
)

// Theme is the palette of the till screen. Colours are adaptive so the
// screen reads on light and dark terminals.
type Theme struct {
	Good, Bad, Warn, Muted, Accent, Border lipgloss.AdaptiveColor
}

// DefaultTheme is green for consumed, red for refused, amber for accepted
// offline, grey for duplicates.
func DefaultTheme() Theme {
	return Theme{
		Good:   lipgloss.AdaptiveColor{Light: "#006e00", Dark: "#3ddc57"},
		Bad:    lipgloss.AdaptiveColor{Light: "#b00000", Dark: "#ff5f5f"},
		Warn:   lipgloss.AdaptiveColor{Light: "#8a5a00", Dark: "#ffb000"},
		Muted:  lipgloss.AdaptiveColor{Light: "#666666", Dark: "#8a8a8a"},
		Accent: lipgloss.AdaptiveColor{Light: "#005f87", Dark: "#5fafff"},
		Border: lipgloss.AdaptiveColor{Light: "#999999", Dark: "#585858"},
	}
}

// Styles holds every style the screen uses; View never builds a style.
type Styles struct {
	Header, HeaderRight, Rule         lipgloss.Style
	Panel                             lipgloss.Style
	PanelGood, PanelBad, PanelWarn    lipgloss.Style
	PanelMuted                        lipgloss.Style
	Good, Bad, Warn, Muted, Bold      lipgloss.Style
	Prompt, Input, Error              lipgloss.Style
	SectionTitle, StatusBar, Dialog   lipgloss.Style
	OnlineDot, OfflineDot, PendingDot lipgloss.Style
	Banner                            lipgloss.Style // the outage banner
}

// NewStyles builds the styles of t. When noColor is set (NO_COLOR) the
// styles keep weight and borders but use no colour.
func NewStyles(t Theme, noColor bool) Styles {
	c := func(s lipgloss.Style, col lipgloss.AdaptiveColor) lipgloss.Style {
		if noColor {
			return s
		}
		return s.Foreground(col)
	}
	bc := func(s lipgloss.Style, col lipgloss.AdaptiveColor) lipgloss.Style {
		if noColor {
			return s
		}
		return s.BorderForeground(col)
	}
	panel := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 2)
	return Styles{
		Header:       lipgloss.NewStyle().Bold(true),
		HeaderRight:  lipgloss.NewStyle(),
		Rule:         c(lipgloss.NewStyle(), t.Border),
		Panel:        bc(panel, t.Border),
		PanelGood:    bc(panel, t.Good),
		PanelBad:     bc(panel, t.Bad),
		PanelWarn:    bc(panel, t.Warn),
		PanelMuted:   bc(panel, t.Muted),
		Good:         c(lipgloss.NewStyle().Bold(true), t.Good),
		Bad:          c(lipgloss.NewStyle().Bold(true), t.Bad),
		Warn:         c(lipgloss.NewStyle().Bold(true), t.Warn),
		Muted:        c(lipgloss.NewStyle(), t.Muted),
		Bold:         lipgloss.NewStyle().Bold(true),
		Prompt:       c(lipgloss.NewStyle().Bold(true), t.Accent),
		Input:        lipgloss.NewStyle(),
		Error:        c(lipgloss.NewStyle(), t.Bad),
		SectionTitle: lipgloss.NewStyle().Bold(true).Underline(!noColor),
		StatusBar:    lipgloss.NewStyle(),
		Dialog:       bc(lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).Padding(0, 1), t.Warn),
		OnlineDot:    c(lipgloss.NewStyle(), t.Good),
		OfflineDot:   c(lipgloss.NewStyle(), t.Bad),
		PendingDot:   c(lipgloss.NewStyle(), t.Warn),
		Banner:       c(lipgloss.NewStyle().Bold(true).Reverse(true), t.Bad),
	}
}

// NoColor reports whether the NO_COLOR convention asks for no colour.
func NoColor() bool { return os.Getenv("NO_COLOR") != "" }
