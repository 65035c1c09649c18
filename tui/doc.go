// Package tui is the till screen: a bubbletea program that shows the
// cashier the answer for each scan (consumed, refused and why, accepted
// offline, duplicate read), a status bar that is always true (WeChat,
// scanner, queue, conflicts, last sync, shift), recent redemptions, the
// queue and conflicts, and help.
//
// It owns presentation only. It never talks to WeChat, the journal or the
// serial port itself: redemptions go through the Engine interface inside
// tea.Cmds, scanner events and status changes arrive as messages. It never
// writes to stdout except through bubbletea, and never logs.
package tui
