package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/scanner"
	"cardtill/wechat"
)

// newCodeCmd is `cardtill code get|decrypt`: read-only look-ups for store
// IT. They ask WeChat with check_consume false, never consume, and do not
// open the journal, so they run beside a till that holds it.
func newCodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "code",
		Short: "Look a code up at WeChat, read-only (get, decrypt); never consumes",
		Long: `cardtill code get and cardtill code decrypt ask WeChat about a code without
writing it off (card/code/get with check_consume false, card/code/decrypt).
They do not open the journal, so they work while the till runs.

Exit status: 0 WeChat answered (whatever the code's status), 1 WeChat refused
the look-up (for example errcode 40056: it does not know the code), 2 a usage,
configuration or network problem (the message says what to check).`,
		Args: exactArgs(0, "a subcommand: get or decrypt"),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCodeGetCmd(g), newCodeDecryptCmd(g))
	return cmd
}

// codeInfoJSON is what `code get --json` prints when WeChat answered.
type codeInfoJSON struct {
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

// codeRefusedJSON is what --json prints when WeChat refused the look-up
// (exit 1).
type codeRefusedJSON struct {
	Code        string `json:"code,omitempty"`
	EncryptCode string `json:"encrypt_code,omitempty"`
	CardID      string `json:"card_id,omitempty"`
	Errcode     int    `json:"errcode"`
	Errmsg      string `json:"errmsg"`
	Reason      string `json:"reason"`
}

func newCodeGetCmd(g *globals) *cobra.Command {
	var cardID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get CODE [--card-id ID] [--json]",
		Short: "Ask WeChat for a code's status, card, owner and validity (never consumes)",
		Long: `cardtill code get asks WeChat about one code with check_consume false: it
never writes the code off. CODE may be a plain code, or a scanned URL or query
string carrying code, card_id or encrypt_code (an encrypt_code is decrypted
first). A custom-code card needs its card_id: give --card-id, or list the card
in wechat.custom_code_cards and those are tried when WeChat does not know the
plain code.

The answer shows the status in plain words, the card_id (and the card's title
when WeChat gives it), the customer's openid, the validity window and whether
a write-off would be accepted now.

With --json one object is printed:
  code          the code looked up
  card_id       the card it belongs to
  card_title    the card's title (omitted when card/get gave none)
  card_type     GROUPON, CASH, DISCOUNT, GIFT, GENERAL_COUPON, MEMBER_CARD...
  status        WeChat's user_card_status: NORMAL, CONSUMED, EXPIRE, GIFTING,
                GIFT_TIMEOUT, DELETE, UNAVAILABLE
  status_text   the status in plain words
  can_consume   true when a write-off would be accepted now
  openid        the customer's openid
  begin_time    start of the validity window (RFC 3339), null when none
  end_time      end of the validity window (RFC 3339), null when none
When WeChat refuses the look-up (exit 1) the object is
  {"code", "card_id", "errcode", "errmsg", "reason"}, reason in plain words
  (with "encrypt_code" instead of "code" when a link's encrypt_code could not
  be decrypted; card_id only when one was given).
Usage, configuration and network problems (exit 2) print no JSON: the message
on stderr says what to check.

Exit status: 0 WeChat answered (any status), 1 WeChat refused the look-up,
2 usage, configuration or network problem.`,
		Args: exactArgs(1, "one CODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCodeGet(cmd.Context(), g, args[0], cardID, asJSON)
		},
	}
	cmd.Flags().StringVar(&cardID, "card-id", "", "card_id of a custom-code card")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as one JSON object (fields in --help)")
	return cmd
}

func newCodeDecryptCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "decrypt ENCRYPTED [--json]",
		Short: "Turn an encrypt_code (from a QR link) into the code, at WeChat",
		Long: `cardtill code decrypt asks WeChat (card/code/decrypt) for the code behind an
encrypt_code. ENCRYPTED may be the encrypt_code itself, URL-encoded or not, or
the whole scanned link carrying it. Nothing is written off; follow with
'cardtill code get CODE' to see the code's status.

With --json one object is printed: {"encrypt_code", "code"}; when WeChat
refuses (exit 1): {"encrypt_code", "errcode", "errmsg", "reason"}.

Exit status: 0 decrypted, 1 WeChat refused (errcode 40075: not an encrypt_code
of this AppID, or damaged), 2 usage, configuration or network problem.`,
		Args: exactArgs(1, "one ENCRYPTED code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCodeDecrypt(cmd.Context(), g, args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"encrypt_code","code"} as JSON`)
	return cmd
}

// codeClient loads the config and builds the WeChat client. Look-ups log
// nothing: their answer is the output, and a log file written by whoever
// runs this (often root) could lock the till's own user out of it.
func codeClient(g *globals) (*wechat.Client, *config.Config, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, nil, err
	}
	wx, err := config.NewWeChatClient(cfg, g.env, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	return wx, cfg, nil
}

func runCodeGet(ctx context.Context, g *globals, arg, cardID string, asJSON bool) error {
	p, err := scanner.Parse(arg)
	if err != nil {
		return usageError(fmt.Errorf("code get: %w", err))
	}
	if cardID == "" {
		cardID = p.CardID
	}
	wx, cfg, err := codeClient(g)
	if err != nil {
		return err
	}
	code := p.Code
	if code == "" {
		if code, err = wx.Decrypt(ctx, p.EncryptCode); err != nil {
			return codeFailed(g, cfg, err, asJSON, codeRefusedJSON{EncryptCode: p.EncryptCode, CardID: cardID})
		}
	}
	info, usedCard, err := lookUpCode(ctx, wx, cfg, code, cardID)
	if err != nil {
		return codeFailed(g, cfg, err, asJSON, codeRefusedJSON{Code: code, CardID: cardID})
	}
	if info.CardID == "" {
		info.CardID = usedCard
	}
	out := codeInfoJSON{
		Code: code, CardID: info.CardID, Status: string(info.Status), StatusText: statusText(info),
		CanConsume: info.CanConsume, OpenID: info.OpenID,
		BeginTime: timeOrNil(info.BeginTime), EndTime: timeOrNil(info.EndTime),
	}
	if info.CardID != "" {
		// The title only helps; a failure costs nothing but the title.
		cctx, cancel := context.WithTimeout(ctx, cfg.WeChat.Timeout.Duration)
		if card, err := wx.GetCard(cctx, info.CardID); err == nil {
			out.CardTitle, out.CardType = card.Title, card.Type
		}
		cancel()
	}
	if asJSON {
		return json.NewEncoder(g.stdout).Encode(out)
	}
	return printCodeInfo(g.stdout, out)
}

// lookUpCode queries with check_consume false. Like the till, when WeChat
// does not know a plain code and no card_id was given, it tries each of
// wechat.custom_code_cards.
func lookUpCode(ctx context.Context, wx *wechat.Client, cfg *config.Config, code, cardID string) (wechat.CodeInfo, string, error) {
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

func runCodeDecrypt(ctx context.Context, g *globals, arg string, asJSON bool) error {
	enc, err := encryptCodeArg(arg)
	if err != nil {
		return usageError(fmt.Errorf("code decrypt: %w", err))
	}
	wx, cfg, err := codeClient(g)
	if err != nil {
		return err
	}
	code, err := wx.Decrypt(ctx, enc)
	if err != nil {
		return codeFailed(g, cfg, err, asJSON, codeRefusedJSON{EncryptCode: enc})
	}
	if asJSON {
		return json.NewEncoder(g.stdout).Encode(struct {
			EncryptCode string `json:"encrypt_code"`
			Code        string `json:"code"`
		}{enc, code})
	}
	_, err = fmt.Fprintf(g.stdout, "code  %s\n      (see its status with: cardtill code get %s)\n", code, code)
	return err
}

// encryptCodeArg takes the encrypt_code out of a scanned link or query
// string, and URL-decodes one that was copied from a link.
func encryptCodeArg(arg string) (string, error) {
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

// codeFailed reports a failed look-up: WeChat's refusal exits 1 (with the
// refusal as JSON under --json), anything else exits 2 with what to check.
func codeFailed(g *globals, cfg *config.Config, err error, asJSON bool, refused codeRefusedJSON) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		return err
	}
	// A refusal of the look-up itself (not of the token fetch before it).
	var ae *wechat.APIError
	if errors.As(err, &ae) && ae.Class() == wechat.ClassRejected && strings.HasPrefix(ae.Op, "card/") {
		reason := refusalText(ae.Code, refused.CardID != "")
		if asJSON {
			refused.Errcode, refused.Errmsg, refused.Reason = ae.Code, ae.Msg, reason
			if werr := json.NewEncoder(g.stdout).Encode(refused); werr != nil {
				return werr
			}
			return withExit(exitFailure, nil)
		}
		return withExit(exitFailure, fmt.Errorf("WeChat refused: %s (errcode %d: %s)", reason, ae.Code, ae.Msg))
	}
	return usageError(fmt.Errorf("%v\n  check: %s", err, whatToCheck(cfg, err)))
}

// refusalText says in plain words why WeChat refused a look-up.
func refusalText(code int, withCard bool) string {
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

// whatToCheck says what to look at when a look-up got no answer or was
// refused for a reason of the setup.
func whatToCheck(cfg *config.Config, err error) string {
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

// statusText is a code's status in plain words.
func statusText(info wechat.CodeInfo) string {
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

func printCodeInfo(w io.Writer, c codeInfoJSON) error {
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
