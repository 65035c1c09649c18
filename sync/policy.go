package sync

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Offline policy modes and unknown-code handling, as written in [offline].
const (
	ModeAccept = "accept"
	ModeRefuse = "refuse"
)

// Policy is the merchant's offline acceptance policy ([offline] in the
// config).
type Policy struct {
	// Mode is "accept" (default when empty) or "refuse".
	Mode string
	// MaxPerShift bounds offline acceptances per shift. As in the config,
	// 0 means no offline acceptance at all; a negative value means no bound.
	MaxPerShift int
	// MaxAge bounds how long after an outage began offline acceptance is
	// still allowed; 0 means no bound.
	MaxAge time.Duration
	// AllowCards lists the card_ids accepted offline; empty means all.
	AllowCards []string
	// UnknownCodes is "accept" (default when empty) or "refuse": what to do
	// with a code the local code-status cache knows nothing about.
	UnknownCodes string
	// CodePattern is what a code must match to be accepted offline
	// ([offline] code_pattern); nil means DefaultCodePattern: WeChat's own
	// codes are 12 digits, so anything typed ("abc") would only become a
	// conflict later.
	CodePattern *regexp.Regexp
}

// DefaultCodePattern is the offline format check without [offline]
// code_pattern: 10 to 20 digits.
const DefaultCodePattern = `^[0-9]{10,20}$`

var defaultCodeRE = regexp.MustCompile(DefaultCodePattern)

// Validate reports a policy the engine cannot apply.
func (p Policy) Validate() error {
	var errs []error
	if p.Mode != "" && p.Mode != ModeAccept && p.Mode != ModeRefuse {
		errs = append(errs, &OptionError{Field: "Policy.Mode", Msg: fmt.Sprintf("is %q: use \"accept\" or \"refuse\"", p.Mode)})
	}
	if p.UnknownCodes != "" && p.UnknownCodes != ModeAccept && p.UnknownCodes != ModeRefuse {
		errs = append(errs, &OptionError{Field: "Policy.UnknownCodes", Msg: fmt.Sprintf("is %q: use \"accept\" or \"refuse\"", p.UnknownCodes)})
	}
	if p.MaxAge < 0 {
		errs = append(errs, &OptionError{Field: "Policy.MaxAge", Msg: fmt.Sprintf("is %s: use 0 (no limit) or a positive duration", p.MaxAge)})
	}
	return errors.Join(errs...)
}

// CachedStatus is what the local code-status cache (fed by the hub) knows
// about a code.
type CachedStatus struct {
	Status string // NORMAL, DELETE, GIFTING, CONSUMED, GIFTED, ...
	CardID string
	At     time.Time
}

// PolicyInput is everything an offline decision looks at.
type PolicyInput struct {
	Now time.Time
	// OfflineSince is when the outage began (zero: now).
	OfflineSince time.Time
	// CardID is the scan's card_id, if it carried one.
	CardID string
	// AcceptedInShift counts offline acceptances already in this shift.
	AcceptedInShift int
	// Overrides is what managers allowed beyond MaxPerShift in this
	// shift (the sum of its overrides' Extra).
	Overrides int
	// Cached is the code-status cache entry; nil when the code is unknown.
	Cached *CachedStatus
	// Code is the scanned code, for the format check.
	Code string
}

// Decision is the policy's answer. A refusal names the limit in Text.
type Decision struct {
	Accept bool
	Reason Reason
	Text   string
}

// Decide applies the policy. It is a pure function of p and in.
func (p Policy) Decide(in PolicyInput) Decision {
	if p.Mode == ModeRefuse {
		return Decision{Reason: ReasonOfflineRefused, Text: "WeChat unreachable and this till does not accept coupons offline"}
	}
	if re := p.codeRE(); !re.MatchString(in.Code) {
		return Decision{Reason: ReasonOfflineNotACode, Text: fmt.Sprintf("WeChat unreachable and %q does not look like a coupon code (pattern %s): not accepted offline", in.Code, re)}
	}
	if c := in.Cached; c != nil {
		// Deleted, used, given away (being given: GIFTING; given, the code
		// was replaced: GIFTED), expired or disabled: WeChat would refuse it.
		switch st := strings.ToUpper(strings.TrimSpace(c.Status)); st {
		case "DELETE", "CONSUMED", "GIFTING", "GIFTED", "EXPIRE", "GIFT_TIMEOUT", "UNAVAILABLE":
			return Decision{Reason: ReasonOfflineKnownBad, Text: fmt.Sprintf("WeChat unreachable and this code was last seen %s (%s): %s", st, c.At.Format(time.DateTime), describeStatus(st))}
		}
	}
	cardID := in.CardID
	if cardID == "" && in.Cached != nil {
		cardID = in.Cached.CardID
	}
	if len(p.AllowCards) > 0 {
		if cardID == "" {
			return Decision{Reason: ReasonOfflineCard, Text: "WeChat unreachable and the card of this code is unknown; offline acceptance is limited to some cards"}
		}
		if !slices.Contains(p.AllowCards, cardID) {
			return Decision{Reason: ReasonOfflineCard, Text: fmt.Sprintf("WeChat unreachable and card %s is not among the cards accepted offline", cardID)}
		}
	}
	if in.Cached == nil && p.UnknownCodes == ModeRefuse {
		return Decision{Reason: ReasonOfflineUnknownCode, Text: "WeChat unreachable and this code is not in the local cache: unknown codes are not accepted offline"}
	}
	if p.MaxAge > 0 && !in.OfflineSince.IsZero() {
		if age := in.Now.Sub(in.OfflineSince); age > p.MaxAge {
			return Decision{Reason: ReasonOfflineTooLong, Text: fmt.Sprintf("offline since %s, longer than the %s allowed — ask a manager", in.OfflineSince.Format("15:04"), p.MaxAge)}
		}
	}
	if limit := p.MaxPerShift + in.Overrides; p.MaxPerShift >= 0 && in.AcceptedInShift >= limit {
		return Decision{Reason: ReasonOfflineShiftLimit, Text: limitText(in.AcceptedInShift, p.MaxPerShift, in.Overrides)}
	}
	return Decision{Accept: true, Reason: ReasonAcceptedOffline, Text: "WeChat unreachable: accepted offline, it will be checked and consumed when the network is back"}
}

// limitText is the refusal at the shift's offline limit.
func limitText(accepted, max, overrides int) string {
	if overrides > 0 {
		return fmt.Sprintf("offline limit reached (%d of %d this shift: %d + %d allowed by a manager) — ask a manager", accepted, max+overrides, max, overrides)
	}
	return fmt.Sprintf("offline limit reached (%d of %d this shift) — ask a manager", accepted, max)
}

func (p Policy) codeRE() *regexp.Regexp {
	if p.CodePattern != nil {
		return p.CodePattern
	}
	return defaultCodeRE
}

func describeStatus(s string) string {
	switch s {
	case "DELETE":
		return "deleted by the customer"
	case "CONSUMED":
		return "already used"
	case "GIFTING":
		return "being given to a friend"
	case "GIFTED":
		return "given to a friend (the code changed)"
	case "EXPIRE":
		return "expired"
	case "GIFT_TIMEOUT":
		return "gift timed out"
	case "UNAVAILABLE":
		return "not usable"
	}
	return "not usable"
}
