// Package lookup owns what `cardtill code get|decrypt` ask WeChat and how
// they show the answer: a code's status, card and validity in plain words,
// why WeChat refused a look-up, and what to check when no answer came.
// It never writes a code off (check_consume is false). Package main keeps
// the flags and exit codes.
package lookup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"cardtill/internal/config"
	"cardtill/scanner"
	"cardtill/wechat"
)

// Info is what `code get --json` prints when WeChat answered.
type Info struct {
	Code       string     `json:"code"`
	CardID     string     `json:"card_id"`
	CardTitle  string     `json:"card_title,omitempty"`
	CardType   string     `json:"card_type,omitempty"`
	Status     string     `json:"status"`
	StatusText string     `json:"status_text"`
	CanConsume bool       `json:"can_consume"`
	OpenID     string     `json:"openid"`
	BeginTime  *time.Time `json:"begin_time"`
	EndTime    *time.Time `json:"end_time"`
}

// Refused is what --json prints when WeChat refused the look-up
// (exit 1).
type Refused struct {
	Code        string `json:"code,omitempty"`
	EncryptCode string `json:"encrypt_code,omitempty"`
	CardID      string `json:"card_id,omitempty"`
	Errcode     int    `json:"errcode"`
	Errmsg      string `json:"errmsg"`
	Reason      string `json:"reason"`
}

// Get asks WeChat about code with check_consume false and fills in the
// card's title when card/get gives it (a failure there costs only the
// title). Like the till, when WeChat does not know a plain code and no
// cardID was given, it tries each of wechat.custom_code_cards.
func Get(ctx context.Context, wx *wechat.Client, cfg *config.Config, code, cardID string) (Info, error) {
	info, usedCard, err := getCode(ctx, wx, cfg, code, cardID)
	if err != nil {
		return Info{}, err
	}
	if info.CardID == "" {
		info.CardID = usedCard
	}
	out := Info{
		Code: code, CardID: info.CardID, Status: string(info.Status), StatusText: StatusText(info),
		CanConsume: info.CanConsume, OpenID: info.OpenID,
		BeginTime: timeOrNil(info.BeginTime), EndTime: timeOrNil(info.EndTime),
	}
	if info.CardID != "" {
		cctx, cancel := context.WithTimeout(ctx, cfg.WeChat.Timeout.Duration)
		if card, err := wx.GetCard(cctx, info.CardID); err == nil {
			out.CardTitle, out.CardType = card.Title, card.Type
		}
		cancel()
	}
	return out, nil
}

// getCode is card/code/get, then each custom-code card in turn.
func getCode(ctx context.Context, wx *wechat.Client, cfg *config.Config, code, cardID string) (wechat.CodeInfo, string, error) {
	info, err := wx.GetCode(ctx, cardID, code, false)
	if err == nil || cardID != "" || wechat.Code(err) != wechat.CodeInvalidSerial {
		return info, cardID, err
	}
	for _, c := range cfg.WeChat.CustomCodeCards {
		info, err2 := wx.GetCode(ctx, c, code, false)
		if err2 == nil {
			return info, c, nil
		}
		if wechat.Code(err2) != wechat.CodeInvalidSerial {
			return info, c, err2
		}
	}
	return info, "", err
}

// EncryptCode takes the encrypt_code out of a scanned link or query
// string, and URL-decodes one that was copied from a link.
func EncryptCode(arg string) (string, error) {
	s := strings.TrimSpace(arg)
	if s == "" {
		return "", errors.New("ENCRYPTED is empty: give the encrypt_code, or the scanned link carrying it")
	}
	if strings.Contains(s, "encrypt_code=") {
		p, err := scanner.Parse(s)
		if err != nil {
			return "", err
		}
		if p.EncryptCode == "" {
			return "", errors.New("the link carries no encrypt_code")
		}
		return p.EncryptCode, nil
	}
	if strings.Contains(s, "%") {
		d, err := url.QueryUnescape(s)
		if err != nil {
			return "", fmt.Errorf("%q is neither an encrypt_code nor a URL-encoded one: %v", s, err)
		}
		s = d
	}
	return s, nil
}

// RefusalText says in plain words why WeChat refused a look-up.
func RefusalText(code int, withCard bool) string {
	switch code {
	case wechat.CodeInvalidSerial:
		if withCard {
			return "WeChat does not know this code for that card_id: check the code's digits and the card_id"
		}
		return "WeChat does not know this code: check its digits; a custom-code card needs --card-id (or the card in wechat.custom_code_cards)"
	case wechat.CodeInvalidCode:
		return "this is not a valid code: WeChat codes are 1 to 20 characters"
	case wechat.CodeEncryptCode:
		return "WeChat cannot decrypt this: it is not an encrypt_code of this AppID, or it was damaged or cut short (URL-decode it if it came from a link)"
	case wechat.CodeCardStatus:
		return "the card itself is not in a usable state (check it in the WeChat admin console)"
	}
	return "WeChat refused the look-up"
}

// WhatToCheck says what to look at when a look-up got no answer or was
// refused for a reason of the setup.
func WhatToCheck(cfg *config.Config, err error) string {
	var he *wechat.HubError
	if errors.As(err, &he) {
		if he.Refused() {
			return "the terminal key: ask HQ to add this till (cardtill hub terminal add " + cmp.Or(cfg.Terminal.ID, "NAME") + ") and put the key in wechat.terminal_key_file"
		}
		return "the hub (" + cfg.WeChat.HubURL + "): it could not hand out a token; 'cardtill doctor' says why"
	}
	if ue := (*wechat.UnknownError)(nil); errors.As(err, &ue) && ue.Op == wechat.OpHubToken {
		return "the network to the hub: can this PC reach " + cfg.WeChat.HubURL + " (DNS, proxy, firewall), and does the hub run? 'cardtill doctor' checks it"
	}
	if errors.Is(err, wechat.ErrOutcomeUnknown) || errors.Is(err, context.DeadlineExceeded) {
		return "the network: can this PC reach " + cfg.WeChat.APIBase + " (DNS, proxy, firewall)? 'cardtill doctor' checks it"
	}
	switch c, _ := wechat.ClassOf(err); c {
	case wechat.ClassToken:
		return "the access token: wechat.token_source and its credentials; 'cardtill doctor' checks them"
	case wechat.ClassRetryable:
		return "nothing on this side: WeChat is busy or a quota is reached; try again in a few minutes"
	case wechat.ClassConfig:
		switch wechat.Code(err) {
		case wechat.CodeInvalidCardID, wechat.CodeMissingCardID:
			return "the card_id (--card-id or wechat.custom_code_cards): WeChat does not know it for this AppID"
		case wechat.CodeIPNotWhitelisted:
			return "the AppID's IP whitelist in the WeChat admin console, or use token_source = \"hub\""
		case wechat.CodeInvalidAppID, wechat.CodeInvalidAppSecret:
			return "wechat.appid and the AppSecret (or the terminal key for token_source = \"hub\"); 'cardtill doctor' checks them"
		}
		return "the AppID's card API permissions in the WeChat admin console"
	}
	return "the [wechat] section of the config; 'cardtill doctor' checks it"
}

// StatusText is a code's status in plain words.
func StatusText(info wechat.CodeInfo) string {
	switch info.Status {
	case wechat.StatusNormal:
		if info.CanConsume {
			return "valid: can be written off now"
		}
		if !info.BeginTime.IsZero() && time.Now().Before(info.BeginTime) {
			return "valid but not yet: its validity window has not begun"
		}
		return "valid but WeChat would not write it off now"
	case wechat.StatusConsumed:
		return "already written off"
	case wechat.StatusExpire:
		return "expired"
	case wechat.StatusGifting:
		return "being given to a friend (not usable while the gift is pending)"
	case wechat.StatusGiftTimeout:
		return "a gift that was not accepted in time"
	case wechat.StatusDelete:
		return "deleted by the customer"
	case wechat.StatusUnavailable:
		return "made unavailable by the merchant"
	}
	return "status " + string(info.Status) + " (not one cardtill knows)"
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Print writes the answer as a short table: code, status in words, card,
// owner, validity, whether a write-off would be accepted now.
func Print(w io.Writer, c Info) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "code\t%s\n", c.Code)
	fmt.Fprintf(tw, "status\t%s: %s\n", c.Status, c.StatusText)
	card := c.CardID
	if c.CardTitle != "" {
		card += "  (" + c.CardTitle + ")"
	}
	fmt.Fprintf(tw, "card_id\t%s\n", card)
	fmt.Fprintf(tw, "openid\t%s\n", cmp.Or(c.OpenID, "(none)"))
	fmt.Fprintf(tw, "valid\t%s\n", validity(c.BeginTime, c.EndTime))
	yes := "no"
	if c.CanConsume {
		yes = "yes"
	}
	fmt.Fprintf(tw, "can_consume\t%s\n", yes)
	return tw.Flush()
}

func validity(begin, end *time.Time) string {
	const layout = "2006-01-02 15:04 MST"
	switch {
	case begin == nil && end == nil:
		return "no window given"
	case begin == nil:
		return "until " + end.Local().Format(layout)
	case end == nil:
		return "from " + begin.Local().Format(layout)
	}
	return begin.Local().Format(layout) + " to " + end.Local().Format(layout)
}
