package sync

// Reason says why a redemption ended the way it did, in a form the screen
// and the reports translate (package words holds the words, in zh and en).
// Outcome.ReasonText is the plain English, with the particulars.
type Reason string

// Reasons. The string values are stable: they appear in `cardtill redeem
// --json` and in logs.
const (
	ReasonNone Reason = ""
	// ReasonOK: WeChat confirmed the consume.
	ReasonOK Reason = "ok"
	// ReasonConfirmedByQuery: consumed, as a query found the code CONSUMED
	// after the answer to this till's consume was lost. WeChat's query does
	// not say who consumed a code, so a use elsewhere at the same moment
	// (another till, another store) cannot be told apart: the manager sees
	// this reason rather than a plain consume.
	ReasonConfirmedByQuery Reason = "confirmed_by_query"
	// ReasonAcceptedOffline: WeChat unreachable, accepted by the offline
	// policy; it will be checked and consumed when the network is back.
	ReasonAcceptedOffline Reason = "accepted_offline"

	ReasonAlreadyUsed   Reason = "already_used"    // CONSUMED / 40099
	ReasonUsedHere      Reason = "used_here"       // this till already consumed or accepted it
	ReasonExpired       Reason = "expired"         // EXPIRE / 40079 past end_time
	ReasonNotYetValid   Reason = "not_yet_valid"   // begin_time in the future
	ReasonGifting       Reason = "gifting"         // GIFTING
	ReasonGiftTimeout   Reason = "gift_timeout"    // GIFT_TIMEOUT
	ReasonGifted        Reason = "gifted"          // feed: a gift replaced this code
	ReasonDeleted       Reason = "deleted"         // DELETE
	ReasonUnavailable   Reason = "unavailable"     // UNAVAILABLE / 40127
	ReasonUnknownCode   Reason = "unknown_code"    // 40056
	ReasonInvalidCode   Reason = "invalid_code"    // 40116, 40075, bad input
	ReasonCardStatus    Reason = "card_status"     // 40078
	ReasonMarked        Reason = "marked"          // 40146
	ReasonTimeLimit     Reason = "time_restricted" // 40147
	ReasonNotConsumable Reason = "not_consumable"  // can_consume false, no better reason
	ReasonConfig        Reason = "config"          // permission / card_id / whitelist problems
	ReasonRejected      Reason = "rejected"        // any other WeChat refusal

	ReasonDuplicateRead Reason = "duplicate_read" // same code active right now
	ReasonInDoubt       Reason = "in_doubt"       // answer lost; being checked
	ReasonConflict      Reason = "conflict"       // accepted offline, then refused by WeChat

	ReasonOfflineRefused     Reason = "offline_refused"      // [offline] mode = "refuse"
	ReasonOfflineShiftLimit  Reason = "offline_shift_limit"  // max_per_shift reached
	ReasonOfflineTooLong     Reason = "offline_too_long"     // max_age since the outage began
	ReasonOfflineCard        Reason = "offline_card"         // card_id not in allow_cards
	ReasonOfflineUnknownCode Reason = "offline_unknown_code" // unknown_codes = "refuse"
	ReasonOfflineKnownBad    Reason = "offline_known_bad"    // the code-status feed says it is unusable
	ReasonOfflineJournalFull Reason = "offline_journal_full" // the journal reached [store] max_size_mb
	ReasonNoShift            Reason = "no_shift"             // no shift open, and policy says ask
	// ReasonOfflineNotACode: offline, the payload does not look like a
	// coupon code ([offline] code_pattern), so it is not accepted blind.
	ReasonOfflineNotACode Reason = "offline_not_a_code"

	ReasonCancelled Reason = "cancelled" // the cashier declined at the confirm step
	// ReasonInterrupted: the scan was journaled but the till stopped (or
	// the caller gave up) before an answer was shown; nothing was consumed,
	// the code is free to scan again.
	ReasonInterrupted Reason = "interrupted"
)

// AllReasons lists every Reason but ReasonNone, for catalogues that must
// translate them all.
func AllReasons() []Reason {
	return []Reason{ReasonOK, ReasonConfirmedByQuery, ReasonAcceptedOffline,
		ReasonAlreadyUsed, ReasonUsedHere, ReasonExpired, ReasonNotYetValid, ReasonGifting, ReasonGiftTimeout,
		ReasonGifted, ReasonDeleted, ReasonUnavailable, ReasonUnknownCode, ReasonInvalidCode, ReasonCardStatus,
		ReasonMarked, ReasonTimeLimit, ReasonNotConsumable, ReasonConfig, ReasonRejected,
		ReasonDuplicateRead, ReasonInDoubt, ReasonConflict,
		ReasonOfflineRefused, ReasonOfflineShiftLimit, ReasonOfflineTooLong, ReasonOfflineCard,
		ReasonOfflineUnknownCode, ReasonOfflineKnownBad, ReasonOfflineJournalFull, ReasonNoShift,
		ReasonOfflineNotACode, ReasonCancelled, ReasonInterrupted}
}

// Offline reports whether r is a refusal by the offline policy.
func (r Reason) Offline() bool {
	switch r {
	case ReasonOfflineRefused, ReasonOfflineShiftLimit, ReasonOfflineTooLong,
		ReasonOfflineCard, ReasonOfflineUnknownCode, ReasonOfflineKnownBad, ReasonOfflineJournalFull, ReasonOfflineNotACode:
		return true
	}
	return false
}

// reasonForErrcode maps a WeChat refusal to a reason.
func reasonForErrcode(code int) Reason {
	switch code {
	case 40099:
		return ReasonAlreadyUsed
	case 40079:
		return ReasonExpired
	case 40127:
		return ReasonUnavailable
	case 40056:
		return ReasonUnknownCode
	case 40116, 40075:
		return ReasonInvalidCode
	case 40078:
		return ReasonCardStatus
	case 40146:
		return ReasonMarked
	case 40147:
		return ReasonTimeLimit
	case 40073, 41012, 43009, 45030, 48001, 40164:
		return ReasonConfig
	}
	return ReasonRejected
}
