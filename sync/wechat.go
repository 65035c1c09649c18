package sync

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WeChat is what the engine needs of the WeChat card API. The wiring
// adapts *wechat.Client to it and classifies its errors into *WeChatError.
type WeChat interface {
	// GetCode queries a code with check_consume=false.
	GetCode(ctx context.Context, cardID, code string) (CodeInfo, error)
	// Consume writes a code off. It is never retried by the implementation.
	Consume(ctx context.Context, cardID, code string) (ConsumeResult, error)
	// Decrypt turns an encrypt_code into a code.
	Decrypt(ctx context.Context, encryptCode string) (string, error)
	// CardTitle returns a card's title.
	CardTitle(ctx context.Context, cardID string) (string, error)
	// Ping tells whether a call could reach WeChat now, without reading
	// or changing any code or card and without using the API quota: nil
	// only when WeChat itself answered and an access token can be had.
	// Errors are classified as for the other calls (WeChatUnreachable,
	// WeChatToken when no token can be had). Run uses it while offline to
	// learn that WeChat is back when no scan or drain asks.
	Ping(ctx context.Context) error
}

// CodeInfo is the answer of a code query.
type CodeInfo struct {
	CardID, OpenID string
	// Status is user_card_status: NORMAL, CONSUMED, EXPIRE, GIFTING,
	// GIFT_TIMEOUT, DELETE, UNAVAILABLE.
	Status     string
	CanConsume bool
	// Begin and End bound the validity window (zero when not given).
	Begin, End time.Time
}

// ConsumeResult is the answer of a consume.
type ConsumeResult struct{ CardID, OpenID string }

// WeChatErrorKind classifies a failed WeChat call.
type WeChatErrorKind int

// Kinds of WeChat failures.
const (
	// WeChatUnreachable: network error, timeout, HTTP 5xx, non-JSON: the
	// outcome is unknown (a consume may have been applied).
	WeChatUnreachable WeChatErrorKind = iota
	// WeChatBusy: errcode -1 or 45011; retry later, slower.
	WeChatBusy
	// WeChatQuota: errcode 45009, the daily quota; retry much later.
	WeChatQuota
	// WeChatToken: no valid access token could be had (after one refresh).
	WeChatToken
	// WeChatRejected: WeChat said no (Code says why).
	WeChatRejected
	// WeChatConfig: a configuration problem (permissions, whitelist,
	// card_id), not the customer's fault. With Code 0 the request never
	// reached WeChat: the hub refused this till's terminal key, and Msg says
	// what to do (see unsent).
	WeChatConfig
)

// WeChatError is a classified failure of a WeChat call. An error of any
// other type is taken as WeChatUnreachable, the safe assumption.
type WeChatError struct {
	Kind WeChatErrorKind
	Code int    // errcode, 0 when WeChat gave none
	Msg  string // errmsg or the network error; never carries a token
	// Local: refused by the till's own client before anything was sent;
	// it says nothing of WeChat (see unsent).
	Local bool
	Err   error
}

func (e *WeChatError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg)
	}
	return "wechat: " + e.Msg
}

func (e *WeChatError) Unwrap() error { return e.Err }

// unsent reports a configuration refusal before WeChat was asked (no
// errcode: the hub refused this till's terminal key). Nothing was applied,
// and it says nothing about whether WeChat can be reached.
//
// A refusal by the till's own client (Local) was not sent either.
func (e *WeChatError) unsent() bool { return e.Local || (e.Kind == WeChatConfig && e.Code == 0) }

// reasonFor is the reason a refusal (WeChatRejected, WeChatConfig) is
// journaled with.
func reasonFor(w *WeChatError) Reason {
	if w.unsent() && w.Code == 0 {
		return ReasonConfig
	}
	return reasonForErrcode(w.Code)
}

func classify(err error) *WeChatError {
	if err == nil {
		return nil
	}
	var we *WeChatError
	if errors.As(err, &we) {
		if we.Msg == "" {
			we.Msg = err.Error()
		}
		return we
	}
	return &WeChatError{Kind: WeChatUnreachable, Msg: err.Error(), Err: err}
}

// keyState keeps Status.TerminalKeyRefused: set by a hub refusing the
// terminal key, cleared by a call that got a token (success or any WeChat
// errcode); an outage says nothing about the key. It returns w.
func (e *Engine) keyState(w *WeChatError) *WeChatError {
	var refused bool
	switch {
	case w != nil && w.Kind == WeChatConfig && w.Code == 0:
		refused = true
	case w == nil || (w.Code != 0 && !w.Local):
	default:
		return w
	}
	e.mu.Lock()
	changed := e.keyRefused != refused
	e.keyRefused = refused
	e.mu.Unlock()
	if changed {
		if refused {
			e.log.Error("the hub refused this till's terminal key: scans are refused until HQ adds this till (cardtill hub terminal add NAME)")
		}
		e.notify()
	}
	return w
}

func (e *Engine) getCode(ctx context.Context, cardID, code string) (CodeInfo, *WeChatError) {
	info, err := e.wx.GetCode(ctx, cardID, code)
	return info, e.keyState(classify(err))
}

func (e *Engine) consumeCall(ctx context.Context, r Record) (ConsumeResult, *WeChatError) {
	res, err := e.wx.Consume(ctx, r.CardID, r.Code)
	return res, e.keyState(classify(err))
}

func (e *Engine) decrypt(ctx context.Context, enc string) (string, *WeChatError) {
	code, err := e.wx.Decrypt(ctx, enc)
	return code, e.keyState(classify(err))
}

func (e *Engine) getCardTitle(ctx context.Context, cardID string) (string, *WeChatError) {
	t, err := e.wx.CardTitle(ctx, cardID)
	return t, e.keyState(classify(err))
}

func (e *Engine) ping(ctx context.Context) *WeChatError {
	return e.keyState(classify(e.wx.Ping(ctx)))
}
