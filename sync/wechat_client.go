package sync

import (
	"context"
	"errors"

	"cardtill/wechat"
)

// NewWeChat adapts the WeChat API client to the engine, classifying its
// errors (see classifyWeChat): an *wechat.APIError by its Class, a hub
// refusing the terminal key as WeChatConfig, anything else (no errcode:
// wechat.ErrOutcomeUnknown, no token, a cancelled context) as
// WeChatUnreachable, which for a consume means "maybe applied".
func NewWeChat(c *wechat.Client) WeChat { return wxClient{c} }

type wxClient struct{ c *wechat.Client }

func (w wxClient) GetCode(ctx context.Context, cardID, code string) (CodeInfo, error) {
	info, err := w.c.GetCode(ctx, cardID, code, false)
	if err != nil {
		return CodeInfo{}, classifyWeChat(err)
	}
	return CodeInfo{CardID: info.CardID, OpenID: info.OpenID, Status: string(info.Status),
		CanConsume: info.CanConsume, Begin: info.BeginTime, End: info.EndTime}, nil
}

func (w wxClient) Consume(ctx context.Context, cardID, code string) (ConsumeResult, error) {
	res, err := w.c.Consume(ctx, cardID, code)
	if err != nil {
		return ConsumeResult{}, classifyWeChat(err)
	}
	return ConsumeResult{CardID: res.CardID, OpenID: res.OpenID}, nil
}

func (w wxClient) Decrypt(ctx context.Context, enc string) (string, error) {
	code, err := w.c.Decrypt(ctx, enc)
	if err != nil {
		return "", classifyWeChat(err)
	}
	return code, nil
}

func (w wxClient) CardTitle(ctx context.Context, cardID string) (string, error) {
	card, err := w.c.GetCard(ctx, cardID)
	if err != nil {
		return "", classifyWeChat(err)
	}
	return card.Title, nil
}

func (w wxClient) Ping(ctx context.Context) error {
	if err := w.c.Ping(ctx); err != nil {
		return classifyWeChat(err)
	}
	return nil
}

// HubRefusedText is the text of a scan refused because the hub refused
// this till's terminal key (a *wechat.HubError with Refused): a
// configuration problem for the store's IT, not an outage.
const HubRefusedText = "terminal key refused by the hub: HQ must add this till's key on the hub, and the till must hold it"

// classifyWeChat turns a wechat error into a *WeChatError. The hub refusing
// this till's terminal key (HTTP 401/403) is WeChatConfig without an
// errcode: the scan is refused with ReasonConfig, never taken offline. Any
// other failure to get a token from the hub (it is down, has no AppSecret,
// cannot reach WeChat) is WeChatUnreachable: the offline policy applies.
func classifyWeChat(err error) error {
	var he *wechat.HubError
	if errors.As(err, &he) && he.Refused() {
		return &WeChatError{Kind: WeChatConfig, Msg: HubRefusedText, Err: err}
	}
	var ae *wechat.APIError
	if !errors.As(err, &ae) {
		return &WeChatError{Kind: WeChatUnreachable, Msg: err.Error(), Err: err}
	}
	we := &WeChatError{Code: ae.Code, Msg: ae.Msg, Local: ae.Local, Err: err}
	switch ae.Class() {
	case wechat.ClassToken:
		we.Kind = WeChatToken
	case wechat.ClassRetryable:
		we.Kind = WeChatBusy
		if ae.Code == wechat.CodeDailyQuota {
			we.Kind = WeChatQuota
		}
	case wechat.ClassConfig:
		we.Kind = WeChatConfig
	default:
		we.Kind = WeChatRejected
	}
	return we
}
