package report

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"cardtill/internal/csvsafe"
)

// JSON writes r as indented JSON; field names are documented in JSON.md.
func JSON(w io.Writer, r Report) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// CSV writes r as one row per metric: "metric,key,value" with a header.
// Metrics: shift_id, kind, terminal, cashier, opened_at, closed_at,
// total, outcome (key: outcome name), offline_accepted,
// offline_override (the sum of the managers' overrides of the offline
// limit), offline_override_by (key: who allowed it, value: extra, RFC 3339
// time and the cashier on shift; one row per override),
// refused_by_reason (key: reason), card (key: card_id), card_title
// (key: card_id, value: title), hour (key: RFC 3339 start of the local
// hour), cashier_count (key: cashier), conflict (key: code, value:
// errcode and reason), conflict_status (key: code, value: open or
// resolved), conflict_resolution (key: code, value: by, RFC 3339 time and
// note), card_honoured and card_refused (key: card_id), confirmed_by_query, confirmed_by_query_redemption
// (key: code, value: RFC 3339 time scanned), pending_at_close,
// settled_after_close (key: outcome name), confirmed_by_query_after_close.
func CSV(w io.Writer, r Report) error {
	cw := csvsafe.NewWriter(w)
	row := func(m, k, v string) { _ = cw.Write([]string{m, k, v}) }
	n := strconv.Itoa
	row("metric", "key", "value")
	row("shift_id", "", strconv.FormatUint(r.ShiftID, 10))
	row("kind", "", string(r.Kind))
	row("terminal", "", r.Terminal)
	row("cashier", "", r.Cashier)
	row("opened_at", "", r.OpenedAt.Format(time.RFC3339))
	if r.ClosedAt != nil {
		row("closed_at", "", r.ClosedAt.Format(time.RFC3339))
	}
	row("total", "", n(r.Total))
	outs := func(m string, o Outcomes) {
		row(m, "consumed_online", n(o.ConsumedOnline))
		row(m, "offline_consumed", n(o.OfflineConsumed))
		row(m, "conflict", n(o.Conflict))
		row(m, "refused", n(o.Refused))
		row(m, "pending", n(o.Pending))
	}
	outs("outcome", r.Outcomes)
	row("offline_accepted", "", n(r.OfflineAccepted))
	row("offline_override", "", n(r.OfflineOverride))
	for _, x := range r.OfflineOverrides {
		row("offline_override_by", x.By, n(x.Extra)+" "+x.At.Format(time.RFC3339)+" "+x.Cashier)
	}
	for _, x := range r.RefusedByReason {
		row("refused_by_reason", x.Name, n(x.Count))
	}
	for _, x := range r.ByCard {
		row("card", x.CardID, n(x.Total))
		row("card_honoured", x.CardID, n(x.Honoured))
		row("card_refused", x.CardID, n(x.Refused))
		if x.Title != "" {
			row("card_title", x.CardID, x.Title)
		}
	}
	for _, x := range r.ByHour {
		row("hour", x.Hour.Format(time.RFC3339), n(x.Count))
	}
	for _, x := range r.ByCashier {
		row("cashier_count", x.Name, n(x.Count))
	}
	for _, x := range r.Conflicts {
		row("conflict", x.Code, n(x.Errcode)+" "+x.Reason)
		if x.Resolution != nil {
			row("conflict_status", x.Code, "resolved")
			row("conflict_resolution", x.Code, x.Resolution.By+" "+x.Resolution.At.Format(time.RFC3339)+" "+x.Resolution.Note)
		} else {
			row("conflict_status", x.Code, "open")
		}
	}
	row("confirmed_by_query", "", n(r.ConfirmedByQuery))
	for _, x := range r.ConfirmedByQueryList {
		row("confirmed_by_query_redemption", x.Code, x.ScannedAt.Format(time.RFC3339))
	}
	if r.Kind == KindZ {
		row("pending_at_close", "", n(r.PendingAtClose))
		outs("settled_after_close", r.SettledAfterClose)
		row("confirmed_by_query_after_close", "", n(r.ConfirmedByQueryAfterClose))
	}
	cw.Flush()
	return cw.Error()
}
