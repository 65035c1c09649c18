package store

import (
	"errors"
	"fmt"
	"time"
)

// usedHere reports whether a redemption in s means this till used its code:
// consumed, accepted offline, or a conflict (accepted offline or consumed in
// doubt, then refused by WeChat). A code used here is refused locally when
// it is scanned again; a conflict in particular, so that a code WeChat
// refused after the customer was served offline is not honoured twice.
func (s State) usedHere() bool { return s == Consumed || s == Queued || s == Conflict }

// outboxed reports whether a redemption in s waits for WeChat.
func (s State) outboxed() bool { return s == Queued || s == Consuming || s == InDoubt }

// Redemption is one journaled scan. The store keeps every field unchanged
// and maintains ID, UpdatedAt and History itself.
type Redemption struct {
	ID                        uint64
	Code, CardID, EncryptCode string
	Source                    string // scanner, keyboard, demo, ...
	RawScan                   string // sanitised by the caller
	Terminal, Cashier         string
	ShiftID                   uint64
	State                     State
	Reason                    string // machine reason (sync.Reason)
	ReasonText                string
	Errcode                   int
	WeChatStatus, OpenID      string
	CardTitle                 string
	ValidFrom, ValidUntil     time.Time
	CreatedAt, UpdatedAt      time.Time
	// OfflineAcceptedAt is set when the redemption was accepted offline.
	OfflineAcceptedAt time.Time
	// FinishedAt is set by the store when the redemption reaches a final state.
	FinishedAt time.Time
	// SettledAfterClose is set by the store when the redemption reached a
	// final state after its shift had closed.
	SettledAfterClose bool `json:",omitempty"`
	// DueAt is when the outbox should next try it (queued, consuming, in_doubt).
	DueAt     time.Time
	Attempts  int
	LastError string
	History   []Transition
}

// Transition is one entry of a redemption's history.
type Transition struct {
	At           time.Time
	From, To     State // From is "" for the creation path
	By           string
	Errcode      int    `json:",omitempty"`
	WeChatStatus string `json:",omitempty"`
	Reason       string `json:",omitempty"`
	Err          string `json:",omitempty"`
}

// Change describes why a transition happens; its fields go into the
// history entry. Update, if set, edits the stored record (it must not
// change ID, Code or State; it is given the record without its History,
// which the store keeps) and may run more than once.
type Change struct {
	By           string
	Errcode      int
	WeChatStatus string
	Reason       string
	Err          string
	// Via lists states the redemption went through between from and to
	// without a commit of their own (e.g. checked, between received and
	// consuming); each becomes a history entry before the last one, in the
	// same transaction, the way Create's path does.
	Via []State
	// MaxOfflineInShift, when set, bounds a transition to queued: it fails
	// with ErrOfflineLimit when the redemption's shift already counts that
	// many offline acceptances plus the Extra of the shift's journaled
	// overrides (AddOfflineOverride). Checked in the transaction that
	// accepts, so two scans that read the count at the same moment cannot
	// both pass.
	MaxOfflineInShift *int
	Update            func(*Redemption)
}

// FinishedCode says this till already used a code: consumed, or accepted
// offline (queued). Engines use it to refuse "already used at 13:05, shift #31".
type FinishedCode struct {
	Code    string
	ID      uint64
	State   State
	At      time.Time
	ShiftID uint64
	// Pruned says retention deleted the redemption: this is its
	// tombstone, which also keeps the card, terminal and cashier (the
	// used-by-code index leaves them to the record).
	Pruned                    bool   `json:",omitempty"`
	CardID, Terminal, Cashier string `json:",omitempty"`
}

// CodeStatus is the local code-status cache entry.
type CodeStatus struct {
	Code   string
	Status string // NORMAL, CONSUMED, ...
	CardID string
	Source string // "wechat", "hub-feed"
	At     time.Time
}

// Card is the card metadata cache entry.
type Card struct {
	CardID string
	Title  string
	Type   string
	At     time.Time
}

// Shift is a cashier's shift on a terminal.
type Shift struct {
	ID       uint64
	Terminal string
	Cashier  string
	OpenedAt time.Time
	ClosedAt time.Time // zero while open
	// Z is the counters frozen at close (the Z report); nil while open.
	Z *Counters `json:",omitempty"`
}

// Open reports whether the shift is still open.
func (s Shift) Open() bool { return s.ClosedAt.IsZero() }

// Outcomes counted per shift.
const (
	OutcomeConsumedOnline  = "consumed_online"
	OutcomeOfflineConsumed = "offline_consumed" // accepted offline and since consumed
	OutcomeConflict        = "conflict"
	OutcomeRefused         = "refused"
	OutcomePending         = "pending"
)

// Counters are the per-shift numbers a report needs; maintained in the
// same transaction as every change, so reading them is O(1).
type Counters struct {
	Total     int
	ByOutcome map[string]int
	// OfflineAccepted counts redemptions accepted offline (whatever came after).
	OfflineAccepted int
	// RefusedByReason counts rejected redemptions by Reason.
	RefusedByReason map[string]int
	// ConsumedByReason counts consumed redemptions by Reason (e.g. "ok";
	// "confirmed_by_query": a lost answer settled by a query that found
	// the code consumed, which WeChat cannot attribute to this till).
	// Schema 3 on; the migration recounts it from the records.
	ConsumedByReason map[string]int `json:",omitempty"`
	// ByCard counts card_id -> outcome -> n.
	ByCard map[string]map[string]int
	// ByHour counts redemptions by the local hour they were created
	// ("2006-01-02T15" in the store's time zone).
	ByHour map[string]int
	// ByCashier counts redemptions by cashier.
	ByCashier map[string]int
	// SettledAfterClose counts redemptions that reached a final state after
	// their shift closed, by outcome.
	SettledAfterClose map[string]int
}

// Errors.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrStateConflict = errors.New("store: redemption changed state meanwhile")
	ErrActiveExists  = errors.New("store: code has an active redemption")
	ErrFull          = errors.New("store: journal file reached its configured maximum size; offline acceptance refused")
	ErrLocked        = errors.New("store: journal is locked by another process")
	ErrNewerSchema   = errors.New("store: journal written by a newer version")
	ErrShiftClosed   = errors.New("store: shift is closed")
	ErrShiftOpen     = errors.New("store: a shift is already open on this terminal")
	ErrInvalid       = errors.New("store: invalid input")
	ErrOfflineLimit  = errors.New("store: the shift reached its limit of offline acceptances")
)

// DuplicateError is returned by Create when the code already has an active
// redemption (invariant 3). errors.Is(err, ErrActiveExists) is true.
type DuplicateError struct{ Active Redemption }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("store: code already has active redemption %d (%s)", e.Active.ID, e.Active.State)
}

// Is makes errors.Is(err, ErrActiveExists) work.
func (e *DuplicateError) Is(target error) bool { return target == ErrActiveExists }

// StateError is returned by a compare-and-set transition that found the
// redemption in another state. errors.Is(err, ErrStateConflict) is true.
type StateError struct {
	ID           uint64
	Want, Actual State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("store: redemption %d is %s, not %s", e.ID, e.Actual, e.Want)
}

// Is makes errors.Is(err, ErrStateConflict) work.
func (e *StateError) Is(target error) bool { return target == ErrStateConflict }
