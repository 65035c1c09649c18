// Package store owns the one bbolt file on a till: the redemption state
// machine (State and its table of allowed moves, Moves; every state change
// is one of them, see docs/ARCHITECTURE.md), the journal of redemptions
// with their transition history, the indexes over it (active
// redemption by code, codes this till already used, outbox by due time,
// redemptions by state and by shift, consumed ones by reason), per-shift
// counters, shifts, the code-status and card caches, and the meta bucket
// (schema version, terminal id, feed cursor).
//
// Every change (a redemption, its history entry, its index entries and its
// shift counters) is committed in one transaction; transitions are
// compare-and-set on the state. The package never makes a network call,
// knows nothing of HTTP or WeChat beyond the strings it stores, and never
// prunes counters or unfinished work.
package store
