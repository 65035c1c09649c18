package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"cardtill/internal/advice"
	"cardtill/internal/till"
	"cardtill/scanner"
	"cardtill/sync"
)

func newRedeemCmd(g *globals) *cobra.Command {
	var (
		cardID string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "redeem [--card-id ID] [--json] CODE",
		Short: "Check and consume one code, headless (exit 0 honoured, 1 refused, 2 error)",
		Long: `redeem runs one code through the same engine as the till screen: it is
journaled, checked with WeChat and consumed when WeChat allows it; when WeChat
is unreachable the [offline] policy decides.

CODE may be a plain code, or a URL or query string carrying code, card_id or
encrypt_code, as a scanner would send it.

Exit status: 0 when the coupon is honoured (consumed, or accepted offline),
1 when it is refused (or still being checked), 2 on a usage, configuration or
database error. With --json one object is printed with at least id, code,
card_id, state, reason and errcode.`,
		Args: exactArgs(1, "one CODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRedeem(cmd, g, args[0], cardID, asJSON)
		},
	}
	cmd.Flags().StringVar(&cardID, "card-id", "", "card_id of a custom-code card")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcome as one JSON object")
	return cmd
}

func runRedeem(cmd *cobra.Command, g *globals, arg, cardID string, asJSON bool) error {
	p, err := scanner.Parse(arg)
	if err != nil {
		return usageError(fmt.Errorf("redeem: %w", err))
	}
	cfg, err := g.config()
	if err != nil {
		return err
	}
	logger, err := g.logger(cfg, true)
	if err != nil {
		return err
	}
	t, err := till.Open(cfg, g.env, logger, nil)
	if err != nil {
		return usageError(err)
	}
	defer t.Close()
	if cardID == "" {
		cardID = p.CardID
	}
	out, err := t.Engine.Redeem(cmd.Context(), sync.Request{
		Code: p.Code, CardID: cardID, EncryptCode: p.EncryptCode,
		Source: "cli", RawScan: arg, Cashier: cfg.Shift.DefaultCashier,
	})
	if errors.Is(err, sync.ErrBadScan) || errors.Is(err, sync.ErrNoShift) {
		return usageError(fmt.Errorf("redeem: %w", err))
	}
	if err != nil {
		return usageError(err)
	}
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(g.stdout, describeOutcome(out, advice.ForRefusal(out, t.Engine.Status().TerminalKeyRefused, cfg.Terminal.ID)))
	}
	if out.Kind.Honoured() {
		return nil
	}
	return withExit(exitFailure, nil)
}

// describeOutcome is the one-line text answer of `cardtill redeem`, with
// the setting a refusal of the till's own comes from (a: advice.ForRefusal).
func describeOutcome(o sync.Outcome, a string) string {
	var b strings.Builder
	switch o.Kind {
	case sync.Consumed:
		b.WriteString("CONSUMED")
	case sync.AcceptedOffline:
		b.WriteString("ACCEPTED OFFLINE (will be consumed when WeChat is reachable)")
	case sync.Checking:
		b.WriteString("CHECKING (answer lost; do not honour twice)")
	case sync.Duplicate:
		b.WriteString("DUPLICATE READ")
	case sync.Conflict:
		b.WriteString("CONFLICT")
	default:
		b.WriteString("REFUSED")
	}
	fmt.Fprintf(&b, "  code %s", o.Code)
	if o.CardTitle != "" {
		fmt.Fprintf(&b, "  %s", o.CardTitle)
	} else if o.CardID != "" {
		fmt.Fprintf(&b, "  card %s", o.CardID)
	}
	fmt.Fprintf(&b, "  #%d", o.ID)
	if o.ReasonText != "" && o.Kind != sync.Consumed {
		fmt.Fprintf(&b, "\n  %s", o.ReasonText)
	}
	if o.Errcode != 0 {
		fmt.Fprintf(&b, " (errcode %d)", o.Errcode)
	}
	if a != "" {
		fmt.Fprintf(&b, "\n  setting: %s", a)
	}
	return b.String()
}
