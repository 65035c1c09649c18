package sync

import (
	"context"
	"time"
)

// OutcomeKind is what the cashier is told, in one word.
type OutcomeKind int

// Outcome kinds.
const (
	// Consumed: WeChat confirmed the write-off. Honour the coupon.
	Consumed OutcomeKind = iota + 1
	// AcceptedOffline: WeChat unreachable, the policy accepted it; it is
	// queued and will be consumed when the network is back. Honour it.
	AcceptedOffline
	// Refused: do not honour it; Reason says why.
	Refused
	// Duplicate: the same code is being redeemed right now (a double read
	// of the scanner). Nothing new happened.
	Duplicate
	// Checking: the consume was sent and its answer was lost (in doubt).
	// The engine resolves it by a query after the quiet period; until then
	// do not honour it a second time.
	Checking
	// Conflict: accepted offline earlier and then refused by WeChat.
	Conflict
)

var kindNames = [...]string{"", "consumed", "accepted_offline", "refused", "duplicate", "checking", "conflict"}

func (k OutcomeKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Honoured reports whether the cashier should give the customer the
// coupon's benefit.
func (k OutcomeKind) Honoured() bool { return k == Consumed || k == AcceptedOffline }

// MarshalText makes kinds readable in JSON.
func (k OutcomeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Request is one scan to redeem.
type Request struct {
	// Code is the plain code; empty when only EncryptCode is known.
	Code string
	// CardID is the scan's card_id (custom-code cards), if any.
	CardID string
	// EncryptCode is an encrypt_code to decrypt first, if any.
	EncryptCode string
	// Source says where the scan came from ("serial", "keyboard", "cli").
	Source string
	// RawScan is what the scanner sent (kept in the journal, for disputes).
	RawScan string
	// Cashier and ShiftID place the redemption in a shift. ShiftID 0 means
	// "the shift open now" (opened for Cashier if none is and the engine's
	// OpenShiftOnScan is set).
	Cashier string
	ShiftID uint64
	// Confirm, when set, is called after the query says the code can be
	// consumed and before the consume is sent; returning false ends the
	// redemption as refused (cancelled by the cashier) without consuming.
	// ctx is done when the scan stops waiting (the caller's context, or
	// Shutdown): Confirm must then return (its answer is ignored), so that
	// nothing of the scan is left running; Shutdown waits for it.
	Confirm func(ctx context.Context, o Outcome) bool
	// OnAnswer, when set, is called once with the answer as soon as it is
	// final, from Redeem's goroutine. For most answers that is just before
	// Redeem returns. After WeChat confirmed a consume it is earlier, before
	// the consumed commit: the answer is final then whatever happens to
	// the journal (a consuming record found after a crash is resolved by a
	// query, which finds it CONSUMED). So a cashier waits for at most two
	// fsync'd commits (the scan received, the consume intent) on the online
	// path. Redeem still returns only after the final commit, with the same
	// outcome; if that commit fails it returns the journal error, and the
	// answer given stands. OnAnswer is not called when Redeem fails before
	// any answer (bad scan, no shift, the caller's context done, a journal
	// failure). It must not block for long.
	OnAnswer func(Outcome)
}

// PreviousUse is an earlier consume or offline acceptance of the same code
// on this till.
type PreviousUse struct {
	ID       uint64    `json:"id"`
	State    State     `json:"state"`
	At       time.Time `json:"at"`
	ShiftID  uint64    `json:"shift_id"`
	Cashier  string    `json:"cashier,omitempty"`
	Terminal string    `json:"terminal,omitempty"`
}

// Outcome is the answer for one scan.
type Outcome struct {
	ID     uint64      `json:"id"`
	Kind   OutcomeKind `json:"kind"`
	State  State       `json:"state"`
	Code   string      `json:"code"`
	CardID string      `json:"card_id"`
	// CardTitle is the card's title when known (from the card cache).
	CardTitle string `json:"card_title,omitempty"`
	OpenID    string `json:"openid,omitempty"`
	// Reason is for the UI's catalogue; ReasonText is plain English.
	Reason     Reason `json:"reason"`
	ReasonText string `json:"reason_text,omitempty"`
	// Errcode is WeChat's errcode when WeChat refused (0 otherwise).
	Errcode int `json:"errcode"`
	// WeChatStatus is the user_card_status WeChat reported, if queried.
	WeChatStatus string    `json:"wechat_status,omitempty"`
	ValidFrom    time.Time `json:"valid_from,omitzero"`
	ValidUntil   time.Time `json:"valid_until,omitzero"`
	// Previous is set for a code this till already used (ReasonUsedHere)
	// and for duplicates.
	Previous *PreviousUse `json:"previous,omitempty"`
	ShiftID  uint64       `json:"shift_id,omitempty"`
	// OfflineInShift / MaxPerShift are set for offline decisions, for the
	// "3 / 20 this shift" line; MaxPerShift is the shift's effective limit
	// (with managers' overrides).
	OfflineInShift int       `json:"offline_in_shift,omitempty"`
	MaxPerShift    int       `json:"max_per_shift,omitempty"`
	At             time.Time `json:"at"`
}

// Status is the connectivity and queue state for the status bar.
type Status struct {
	Online bool `json:"online"`
	// OfflineSince is when the current outage began (zero when online).
	// It, LastContact and LastSync are kept in the journal across
	// restarts: a till restarted during an outage shows it offline since
	// the outage began until WeChat answers again.
	OfflineSince time.Time `json:"offline_since,omitzero"`
	// WeChatBusy: WeChat answers busy or over quota (-1, 45009, 45011)
	// since BusySince, its first such answer (kept across restarts); the
	// offline policy counts offline.max_age from then, as from an outage.
	WeChatBusy bool      `json:"wechat_busy,omitempty"`
	BusySince  time.Time `json:"busy_since,omitzero"`
	// LastContact is the last time WeChat answered anything.
	LastContact time.Time `json:"last_contact,omitzero"`
	// LastSync is the end of the last drain that left nothing due.
	LastSync time.Time `json:"last_sync,omitzero"`
	// QueueDepth counts redemptions waiting for WeChat (queued and
	// consuming/in doubt); InDoubt and Conflicts count those states.
	QueueDepth int `json:"queue_depth"`
	InDoubt    int `json:"in_doubt"`
	Conflicts  int `json:"conflicts"`
	// OfflineAcceptedInShift is the current shift's count of offline
	// acceptances, MaxPerShift its limit (0 = none; with the managers'
	// overrides of the shift, OfflineOverride, when it is open).
	OfflineAcceptedInShift int    `json:"offline_accepted_in_shift"`
	MaxPerShift            int    `json:"max_per_shift"`
	OfflineOverride        int    `json:"offline_override,omitempty"`
	ShiftID                uint64 `json:"shift_id,omitempty"`
	// Syncing is true while a drain runs.
	Syncing bool `json:"syncing"`
	// JournalUse is the journal file's size as a fraction of its maximum
	// ([store] max_size_mb; 0 when there is none), and JournalNearlyFull is
	// set from the warning threshold `cardtill doctor` uses. The engine
	// leaves both zero: the program's wiring (cmd/cardtill), which owns
	// the file, fills them. At 1 offline acceptance is refused.
	JournalUse        float64 `json:"journal_use,omitempty"`
	JournalNearlyFull bool    `json:"journal_nearly_full,omitempty"`
	// TerminalKeyRefused: the hub refused this till's terminal key when
	// the engine last needed a token (a configuration problem: scans are
	// refused with ReasonConfig, not accepted offline). Cleared by the next
	// call that got a token.
	TerminalKeyRefused bool `json:"terminal_key_refused,omitempty"`
}

// DrainReport says what one pass of the drain did.
type DrainReport struct {
	Attempted int `json:"attempted"`
	Consumed  int `json:"consumed"`
	Conflicts int `json:"conflicts"`
	Rejected  int `json:"rejected"`
	// Deferred were tried and left for later (offline, busy, quiet period).
	Deferred int `json:"deferred"`
	// Remaining is the queue depth after the pass.
	Remaining int `json:"remaining"`
	// Offline is set when WeChat could not be reached during the pass.
	Offline bool `json:"offline"`
	// ThrottledUntil is set when WeChat asked to slow down (-1, 45011,
	// 45009): the pass stopped and the drain resumes then.
	ThrottledUntil time.Time `json:"throttled_until,omitzero"`
}
