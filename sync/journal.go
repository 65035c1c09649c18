package sync

import "time"

// Journal is what the engine needs of the durable journal. Every method
// that changes something commits one transaction before it returns; none
// is ever called with a network request in flight inside it.
type Journal interface {
	// Find returns the active redemption of code (received, checked,
	// consuming, in_doubt or queued), and the latest consumed, queued or
	// conflict redemption of code on this till (a code honoured here, even
	// if WeChat refused it afterwards); nil when there is none.
	Find(code string) (active, used *Record, err error)
	// Create journals a new redemption that went through the states of
	// path, in order, in one transaction; r.State equals the last of path.
	// It assigns ID and UpdatedAt. It fails with ErrActive when the new
	// redemption would be active and code already has an active one.
	Create(r Record, path ...State) (Record, error)
	// Transition moves redemption id from state from to state to (which
	// may equal from), applying update to the stored record, in one
	// transaction, and returns the result. It fails with ErrStale when the
	// redemption is no longer in from. It sets UpdatedAt.
	Transition(id uint64, from, to State, update func(*Record)) (Record, error)
	// TransitionBatch is Transition that may share one commit with
	// concurrent calls (group commit without a delay: the writes that
	// arrive while a commit runs go together in the next, store's
	// group.go); update may run more than once, which is safe because a
	// rolled-back compare-and-set can simply run again. The drain uses it
	// for every commit, its consume intents too; a cashier's scan uses
	// Transition.
	TransitionBatch(id uint64, from, to State, update func(*Record)) (Record, error)
	// Get returns one redemption.
	Get(id uint64) (Record, error)
	// Due returns up to limit queued, consuming and in-doubt redemptions
	// whose NextAttempt is not after now, earliest first.
	Due(now time.Time, limit int) ([]Record, error)
	// NextDue returns the earliest NextAttempt of those; ok is false when
	// there are none.
	NextDue() (at time.Time, ok bool, err error)
	// ByState returns every redemption in one of states.
	ByState(states ...State) ([]Record, error)
	// Counts returns how many redemptions wait for WeChat (queued,
	// consuming, in doubt), how many are in doubt, and the conflicts.
	Counts() (pending, inDoubt, conflicts int, err error)
	// CurrentShift returns the open shift, if any.
	CurrentShift() (id uint64, cashier string, ok bool, err error)
	// OpenShift opens a shift for cashier.
	OpenShift(cashier string, at time.Time) (uint64, error)
	// OfflineAccepted counts the offline acceptances of a shift.
	OfflineAccepted(shiftID uint64) (int, error)
	// CodeStatus returns the code-status cache entry of code; nil if none.
	CodeStatus(code string) (*CachedStatus, error)
	// PutCodeStatuses stores feed changes and the feed cursor after them,
	// in one transaction.
	PutCodeStatuses(changes []CodeChange, cursor string) error
	// FeedCursor returns the stored feed cursor ("" at first).
	FeedCursor() (string, error)
	// CardTitle returns a card's title from the card cache.
	CardTitle(cardID string) (title string, ok bool)
	// PutCard stores a card's title in the card cache.
	PutCard(cardID, title string) error
	// TransitionVia is Transition whose history also lists via, in order,
	// between from and to: states a redemption passed without a commit of
	// their own (received -> checked -> consuming: the query's answer is
	// kept in the same commit as the consume intent).
	TransitionVia(id uint64, from State, via []State, to State, update func(*Record)) (Record, error)
	// AcceptOffline is Transition(id, from, queued, update) that fails with
	// ErrOfflineLimit when the redemption's shift already counts max plus
	// the Extra of its overrides (AddOfflineOverride) offline acceptances:
	// the limit is checked in the commit that accepts, so two scans that
	// read the shift's count at the same moment cannot both be accepted
	// past offline.max_per_shift and what managers allowed.
	AcceptOffline(id uint64, from State, max int, update func(*Record)) (Record, error)
	// AddOfflineOverride journals a manager's override of the open shift
	// o.ShiftID in one commit, assigning Seq and At (and Cashier when
	// empty); it fails (store.ErrShiftClosed, store.ErrInvalid) changing
	// nothing. OfflineOverrides returns a shift's, oldest first.
	AddOfflineOverride(o Override) (Override, error)
	OfflineOverrides(shiftID uint64) ([]Override, error)
	// Meta returns the small value kept under key across restarts ("" when
	// none); PutMeta stores it in one commit ("" deletes it). The engine
	// keeps its connectivity there (when the current outage began, for
	// offline.max_age; the last contact and the last sync).
	Meta(key string) (string, error)
	PutMeta(key, value string) error
}
