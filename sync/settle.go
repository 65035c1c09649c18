package sync

import (
	"fmt"
	"time"
)

// Call is what the engine sent to WeChat for a redemption.
type Call int

// Calls whose answer settle reads.
const (
	// CallQuery is card/code/get with check_consume false.
	CallQuery Call = iota + 1
	// CallConsume is card/code/consume, sent from a committed consuming.
	CallConsume
)

// Context is who waits for the answer.
type Context int

// Contexts of a settle.
const (
	// Cashier: a scan, the cashier waiting (Redeem).
	Cashier Context = iota + 1
	// Drain: a code accepted offline, now drained (queued, then the
	// consume that followed its query).
	Drain
	// Resolving: a consume whose answer was lost (consuming or in doubt),
	// settled by a query after the quiet period, and the consume sent again
	// when that query found the code NORMAL.
	Resolving
)

// Next is what the engine does after a settle.
type Next int

// What follows a settle.
const (
	// Commit moves the redemption to Settlement.To with its fields.
	Commit Next = iota + 1
	// ConsumeNext commits the consume intent (To: consuming) and sends the
	// consume: the query said the code can be consumed.
	ConsumeNext
	// AskPolicy: the cashier's query did not reach WeChat; the offline
	// policy decides (queued or rejected).
	AskPolicy
	// Retry leaves the redemption in its state, due again after a backoff.
	Retry
	// Leave leaves it as it was: the engine is stopping, the failure says
	// nothing of WeChat.
	Leave
)

// Settle is what settle reads: what was sent, in which context, and what
// came back.
type Settle struct {
	Call    Call
	Context Context
	// Offline: the redemption was accepted offline (the customer was
	// served); a refusal of it after the fact is a conflict.
	Offline bool
	// Info is the query's answer and Result the consume's, when Err is nil.
	Info   CodeInfo
	Result ConsumeResult
	Err    *WeChatError
	// Stopping: the call was cut short because the engine stops (the
	// drain's context ended), not by WeChat.
	Stopping bool
	Now      time.Time
}

// Settlement is what settle decides: the next step, the journal change,
// and what the answer says of WeChat.
type Settlement struct {
	Next Next
	// To is the state Commit moves to (ConsumeNext: consuming).
	To           State
	Reason       Reason
	Text         string
	Errcode      int
	WeChatStatus string // the query's user_card_status, when it answered
	// Early: the answer is final before its commit (a confirmed consume, a
	// lost answer): the cashier may be told at once (Request.OnAnswer).
	Early bool
	// Reached: WeChat itself answered, which ends an outage. Lost: WeChat
	// could not be reached (an outage). Neither: the answer says nothing of
	// WeChat (the hub refused the key, the engine stopping).
	Reached, Lost bool
	// Throttle: WeChat asked to slow down (-1, 45011, 45009).
	Throttle bool
	// Problem: an answer the till cannot act on by itself (a configuration
	// refusal, an errcode not in the table): retried with the longest
	// backoff and logged once.
	Problem bool
}

// knownErrcode reports whether WeChat's errcode is in the till's table
// (docs: the errcodes that matter at the till); any other is a problem to
// retry and show, never a final refusal of an accepted code.
func knownErrcode(code int) bool { return reasonForErrcode(code) != ReasonRejected }

// settle is the one place an answer of WeChat becomes the next state of a
// redemption, online and in the drain alike. It is pure.
func settle(in Settle) Settlement {
	w := in.Err
	var s Settlement
	if w != nil {
		switch {
		case in.Stopping:
		case w.Kind == WeChatUnreachable || w.Kind == WeChatToken:
			s.Lost = true
		case w.unsent():
		default:
			s.Reached = true
		}
		s.Throttle = w.Kind == WeChatBusy || w.Kind == WeChatQuota
	} else {
		s.Reached = true
	}
	if in.Call == CallConsume {
		return settleConsume(in, s)
	}
	return settleQuery(in, s)
}

func settleConsume(in Settle, s Settlement) Settlement {
	w := in.Err
	refused := func() Settlement {
		s.Next, s.To, s.Errcode, s.Reason, s.Text = Commit, StateRejected, w.Code, reasonFor(w), refusalText(w)
		if in.Offline {
			s.To, s.Text = StateConflict, "accepted offline, then refused by WeChat: "+s.Text
		}
		return s
	}
	inDoubt := func(text string) Settlement {
		s.Next, s.To, s.Reason, s.Early = Commit, StateInDoubt, ReasonInDoubt, true
		s.Errcode = w.Code
		s.Text = text
		return s
	}
	switch {
	case w == nil:
		s.Next, s.To, s.Reason, s.Text, s.Early = Commit, StateConsumed, ReasonOK, "consumed", true
		return s
	case in.Stopping:
		// Cut short by the engine stopping: it may have been applied.
		return inDoubt("the consume was cut short as the till stopped (" + w.Msg + "); resolved by a query after the quiet period")
	case w.unsent():
		if in.Context == Cashier {
			// Never sent, nothing applied, and the cashier hears no now.
			return refused()
		}
		// A code already served (or a lost consume being settled) is not
		// refused for a problem of this till: a query settles it once the
		// hub takes the key again.
		return inDoubt("the consume was not sent (" + w.Msg + "); resolved by a query later")
	case w.Kind == WeChatRejected && w.Code == 40099 && in.Context == Resolving:
		// Consumed: perhaps by our own first consume after all. The query
		// settles it (confirmed by query).
		return inDoubt("WeChat says already consumed while a lost consume of ours is being settled; resolved by a query")
	case (w.Kind == WeChatRejected || w.Kind == WeChatConfig) && knownErrcode(w.Code):
		return refused()
	case w.Kind == WeChatRejected || w.Kind == WeChatConfig:
		// An errcode the till does not know: whether it was applied is
		// not known either. Never served; settled by a query.
		s.Problem = true
		if in.Context == Cashier {
			s.Next, s.To, s.Errcode, s.Reason, s.Text = Commit, StateInDoubt, w.Code, ReasonInDoubt, fmt.Sprintf("WeChat answered the consume with errcode %d (%s), which the till does not know: do not honour it; it is checked with WeChat automatically", w.Code, w.Msg)
			s.Early = true
			return s
		}
		return inDoubt(fmt.Sprintf("WeChat answered the consume with errcode %d (%s), which the till does not know; resolved by a query", w.Code, w.Msg))
	}
	// The answer is lost, or WeChat was busy: the consume may or may not
	// have been applied. Never resend blindly (invariant 2).
	return inDoubt("checking with WeChat — the answer to the consume was lost (" + w.Msg + "); do not honour twice, it is resolved automatically")
}

func settleQuery(in Settle, s Settlement) Settlement {
	w := in.Err
	if w != nil && w.Kind == WeChatRejected && w.Code == 40099 && in.Context == Resolving {
		// "This code has consumed", answered to the query instead of the
		// state: the same as CONSUMED, not a refusal of ours.
		in.Info, w, in.Err = CodeInfo{Status: "CONSUMED"}, nil, nil
	}
	if w != nil {
		switch {
		case in.Stopping:
			s.Next = Leave
			return s
		case w.Kind == WeChatUnreachable || w.Kind == WeChatToken || w.Kind == WeChatBusy || w.Kind == WeChatQuota:
			if in.Context == Cashier {
				s.Next = AskPolicy
			} else {
				s.Next = Retry
			}
			return s
		case in.Context == Cashier:
			// WeChat (or the hub) said no to the query: refused, with the
			// errcode in words when the till does not know it.
			s.Next, s.To, s.Errcode, s.Reason, s.Text = Commit, StateRejected, w.Code, reasonFor(w), refusalText(w)
			return s
		case w.Kind == WeChatConfig || !knownErrcode(w.Code):
			// Not the code's fault: it stays as it is, retried with the
			// longest backoff, and shown.
			s.Next, s.Problem, s.Errcode = Retry, true, w.Code
			return s
		}
		s.Next, s.To, s.Errcode, s.Reason, s.Text = Commit, StateConflict, w.Code, reasonForErrcode(w.Code), refusalText(w)
		if in.Context == Resolving {
			s.Text = "checking a lost consume: " + s.Text
		}
		return s
	}
	s.WeChatStatus = in.Info.Status
	if in.Context == Resolving {
		switch {
		case in.Info.Status == "CONSUMED":
			s.Next, s.To, s.Reason = Commit, StateConsumed, ReasonConfirmedByQuery
			s.Text = "consumed (confirmed by a query after the answer was lost; WeChat does not say whether this till or another use wrote it off)"
			return s
		case in.Info.Status == "NORMAL" && in.Info.CanConsume:
			s.Next, s.To = ConsumeNext, StateConsuming
			return s
		}
		_, reason, text := consumable(in.Info, in.Now)
		s.Next, s.To, s.Reason, s.Text = Commit, StateConflict, reason, "checking a lost consume: "+text
		return s
	}
	ok, reason, text := consumable(in.Info, in.Now)
	if ok {
		s.Next, s.To = ConsumeNext, StateConsuming
		return s
	}
	s.Next, s.To, s.Reason, s.Text = Commit, StateRejected, reason, text
	if in.Context == Drain {
		s.To = StateConflict
	}
	return s
}
