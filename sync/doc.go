// Package sync is the redemption engine: every action cardtill takes against
// WeChat goes through it, either now (a cashier waiting at the till) or later
// (the outbox drain after an outage).
//
// It owns the query-then-consume state machine of DESIGN.md, the offline
// acceptance policy, in-doubt resolution, the drain workers and their
// backoff, and the connectivity state the till screen shows.
//
// It must never send a consume that was not committed to the journal as a
// consuming record first, never retry a consume blindly (a lost answer is
// resolved by a query after a quiet period), never hold a journal
// transaction open across a network call, and never log a token or secret.
// It knows nothing of the screen: outcomes carry a Reason the UI translates.
//
// Wiring: New(Options{Journal: NewJournal(db, terminal), WeChat:
// NewWeChat(client), ...}) on a *store.DB and a *wechat.Client; Recover once
// at start-up, Run in the background, Redeem per scan, Status for the bar.
//
// The package name shadows the standard library's sync: files needing both
// import the standard one as stdsync.
package sync
