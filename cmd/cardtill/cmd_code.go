package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/internal/lookup"
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
			return codeFailed(g, cfg, err, asJSON, lookup.Refused{EncryptCode: p.EncryptCode, CardID: cardID})
		}
	}
	out, err := lookup.Get(ctx, wx, cfg, code, cardID)
	if err != nil {
		return codeFailed(g, cfg, err, asJSON, lookup.Refused{Code: code, CardID: cardID})
	}
	if asJSON {
		return json.NewEncoder(g.stdout).Encode(out)
	}
	return lookup.Print(g.stdout, out)
}

func runCodeDecrypt(ctx context.Context, g *globals, arg string, asJSON bool) error {
	enc, err := lookup.EncryptCode(arg)
	if err != nil {
		return usageError(fmt.Errorf("code decrypt: %w", err))
	}
	wx, cfg, err := codeClient(g)
	if err != nil {
		return err
	}
	code, err := wx.Decrypt(ctx, enc)
	if err != nil {
		return codeFailed(g, cfg, err, asJSON, lookup.Refused{EncryptCode: enc})
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

// codeFailed reports a failed look-up: WeChat's refusal exits 1 (with the
// refusal as JSON under --json), anything else exits 2 with what to check.
func codeFailed(g *globals, cfg *config.Config, err error, asJSON bool, refused lookup.Refused) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		return err
	}
	// A refusal of the look-up itself (not of the token fetch before it).
	var ae *wechat.APIError
	if errors.As(err, &ae) && ae.Class() == wechat.ClassRejected && strings.HasPrefix(ae.Op, "card/") {
		reason := lookup.RefusalText(ae.Code, refused.CardID != "")
		if asJSON {
			refused.Errcode, refused.Errmsg, refused.Reason = ae.Code, ae.Msg, reason
			if werr := json.NewEncoder(g.stdout).Encode(refused); werr != nil {
				return werr
			}
			return withExit(exitFailure, nil)
		}
		return withExit(exitFailure, fmt.Errorf("WeChat refused: %s (errcode %d: %s)", reason, ae.Code, ae.Msg))
	}
	return usageError(fmt.Errorf("%v\n  check: %s", err, lookup.WhatToCheck(cfg, err)))
}
