// Package sync is the redemption engine: every action cardtill takes against
// WeChat goes through it, either now (a cashier waiting at the till) or later
// (the outbox drain after an outage).
//
// It drives the query-then-consume state machine (its states and moves are
// store.Moves, docs/ARCHITECTURE.md), the offline acceptance policy,
// in-doubt resolution, the drain workers and their backoff, and the
// connectivity state the till screen shows.
//
// It must never send a consume that was not committed to the journal as a
// consuming record first, never retry a consume blindly (a lost answer is
// resolved by a query after a quiet period), never hold a journal
// transaction open across a network call, and never log a token or secret.
// It knows nothing of the screen: outcomes carry a Reason the UI translates.
//
// # A scan while the cashier waits
//
// Redeem first refuses what needs no journal and no WeChat (a bad scan, a
// double read of a code being redeemed, a code this till already used:
// the last one journaled as rejected in one commit). Otherwise the scan is
// journaled as received before anything else happens (commit 1; only an
// encrypt_code is decrypted first, since the journal keys a redemption by
// its code, and a decrypt changes nothing at WeChat): from then
// on the journal's one-active-redemption-per-code index turns the same code
// from another goroutine, or another engine on the same journal, into a
// duplicate read. Then WeChat is queried, and the answer either ends the
// redemption (rejected, or queued/rejected by the offline policy: commit 2)
// or becomes the consume intent, received -> checked -> consuming in one
// commit (commit 2), before the consume is sent.
//
// The cashier's answer is final as soon as WeChat confirmed the consume,
// before the consumed commit: a consuming record found after a crash is
// resolved by a query, which finds the code CONSUMED. So Request.OnAnswer
// hands the answer over at that moment, after two fsync'd commits, and
// Redeem returns after the third (consumed) with the same outcome, still
// holding its claim on the code until then so a rescan is a duplicate
// read. A lost consume answer (checking) is handed over the same way; a
// refusal of the consume only after it is committed. The first scan of a
// shift or of a card, and the scan that finds an outage beginning or
// ending, pay one more commit each (the shift, the card title cache, the
// connectivity kept in the journal).
//
// A received (or checked) redemption found by Recover means the till
// stopped before the cashier saw an answer: the customer may have left
// without the benefit, so it is never consumed later. It ends rejected with
// ReasonInterrupted and the code is free to scan again. A till that scans
// without recovering first (`cardtill redeem`) sets such a record aside
// the same way when its code is scanned again: one journaled before the
// engine started cannot be an answer still on its way, since one process
// owns the journal file. A caller whose
// context ends before an answer gets the same: Redeem journals the scan
// rejected/interrupted and returns the context's error (nothing at all is
// journaled when the context was done before the scan began).
//
// # Connectivity across restarts
//
// The engine keeps when the current outage began, the last contact and the
// last sync in the journal (Journal.Meta): a till restarted during an
// outage goes on
// counting offline.max_age from the outage's real beginning, and the
// status bar says the truth after a restart. While offline with nothing
// to drain, Run probes WeChat (WeChat.Ping: no code, no card, no quota;
// from about the drain interval up to MaxBackoff, never more often than
// every 5 s), so a till without scans learns that WeChat is back, says
// so, pulls the hub's feed and drains; a failed probe leaves the outage's
// beginning as it was.
//
// Wiring: New(Options{Journal: NewJournal(db, terminal), WeChat:
// NewWeChat(client), ...}) on a *store.DB and a *wechat.Client; Recover once
// at start-up, Run in the background, Redeem per scan, Status for the bar.
//
// The package name shadows the standard library's sync: files needing both
// import the standard one as stdsync.
package sync
