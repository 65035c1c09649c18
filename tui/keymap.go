package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key of the till screen. Help lists all of them.
type KeyMap struct {
	Submit, Cancel, Shift, Report, Queue, SyncNow, Help, Quit key.Binding
	Outage                                                    key.Binding // demo only
	Ack                                                       key.Binding // conflicts seen (queue screen)
	Yes, No                                                   key.Binding
	// LineUp … Bottom scroll the shift report and the queue; Scroll is
	// all of them for the help.
	LineUp, LineDown, PageUp, PageDown, Top, Bottom, Scroll key.Binding
}

// DefaultKeyMap returns the till's keys. Function keys are used so that a
// keyboard-wedge scanner typing codes never triggers a command.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Submit:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("Enter", "submit")),
		Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("Esc", "back")),
		Shift:   key.NewBinding(key.WithKeys("f2"), key.WithHelp("F2", "shift")),
		Report:  key.NewBinding(key.WithKeys("f4"), key.WithHelp("F4", "report")),
		Queue:   key.NewBinding(key.WithKeys("f3"), key.WithHelp("F3", "queue")),
		SyncNow: key.NewBinding(key.WithKeys("f5"), key.WithHelp("F5", "sync")),
		Help:    key.NewBinding(key.WithKeys("f1"), key.WithHelp("F1", "help")),
		Quit:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("Ctrl+C", "quit")),
		Outage:  key.NewBinding(key.WithKeys("f8"), key.WithHelp("F8", "outage"), key.WithDisabled()),
		Ack:     key.NewBinding(key.WithKeys("f6"), key.WithHelp("F6", "seen"), key.WithDisabled()),
		Yes:     key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:      key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),

		LineUp:   key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "line up")),
		LineDown: key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "line down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("PgUp", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("PgDn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home"), key.WithHelp("Home", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end"), key.WithHelp("End", "bottom")),
		Scroll:   key.NewBinding(key.WithKeys("pgup", "pgdown", "up", "down", "home", "end"), key.WithHelp("PgUp/PgDn ↑/↓", "scroll")),
	}
}

// localized returns k with its help texts from tx.
func (k KeyMap) localized(tx *Text) KeyMap {
	set := func(b *key.Binding, desc string) { b.SetHelp(b.Help().Key, desc) }
	set(&k.Submit, tx.KeySubmit)
	set(&k.Cancel, tx.KeyCancel)
	set(&k.Shift, tx.KeyShift)
	set(&k.Report, tx.KeyReport)
	set(&k.Queue, tx.KeyQueue)
	set(&k.SyncNow, tx.KeySync)
	set(&k.Help, tx.KeyHelp)
	set(&k.Quit, tx.KeyQuit)
	set(&k.Outage, tx.KeyOutage)
	set(&k.Yes, tx.Yes)
	set(&k.No, tx.No)
	set(&k.Scroll, tx.KeyScroll)
	set(&k.Ack, tx.KeyAck)
	return k
}

// ShortHelp is the one-line help at the foot of the screen.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Shift, k.Queue, k.Report, k.SyncNow, k.Outage, k.Help, k.Quit}
}

// ScrollHelp is the foot of the screens that scroll (report, queue).
func (k KeyMap) ScrollHelp() []key.Binding {
	return []key.Binding{k.Scroll, k.Cancel, k.Help, k.Quit}
}

// QueueHelp is the foot of the queue screen: ScrollHelp and F6.
func (k KeyMap) QueueHelp() []key.Binding {
	return []key.Binding{k.Scroll, k.Ack, k.Cancel, k.Help, k.Quit}
}

// FullHelp is the help screen: every key.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Submit, k.Cancel, k.Help, k.Quit}, {k.Shift, k.Report, k.Queue, k.Ack, k.SyncNow, k.Outage}, {k.Scroll, k.Yes, k.No}}
}
