// Package tui is the till screen: a bubbletea program that shows the
// cashier the answer for each scan (consumed, refused and why, accepted
// offline, duplicate read) as soon as the engine says it is final, a
// status bar that is always true (WeChat, scanner, queue, conflicts and
// how many are new, last sync, shift, a nearly full journal), recent
// redemptions, and help; and for the manager the shift report (F4) and
// the queue, conflicts, redemptions consumed as confirmed by a query and
// hub notices (F3), both scrolling when longer than the terminal and read
// again, in the same scroll place, as the status says the drain settled
// something.
//
// It owns presentation only. It never talks to WeChat, the journal or the
// serial port itself: redemptions go through the Engine interface inside
// tea.Cmds; the report, the journal's backlog and marking conflicts seen
// go through Options hooks, also inside tea.Cmds; scanner events, status
// changes and hub notices arrive as messages. It never writes to stdout
// except through bubbletea, and never logs.
package tui
