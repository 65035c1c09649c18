package hubrun

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"cardtill/hub"
	"cardtill/internal/csvsafe"
	"cardtill/store"
	"cardtill/wechat"
)

// ParseSince reads --since: a duration back from now, or a date/time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %q: use a positive duration such as 24h", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: write a duration (24h, 30m) or a time (2026-11-22, 2026-11-22T10:00:00+08:00)", s)
}

// Events prints the hub's events as a table, oldest first, the managers'
// notices marked NOTICE.
func Events(w io.Writer, evs []hub.EventRecord) error {
	if len(evs) == 0 {
		fmt.Fprintln(w, "no events in that period")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tMODE\tEVENT\tCARD\tCODE\tNOTICE\tDETAIL")
	for _, r := range evs {
		ev, err := r.Parsed()
		card, code, detail := "", "", ""
		if err != nil {
			detail = "unreadable: " + err.Error()
		} else {
			h := ev.Head()
			card, code, detail = h.CardID, h.UserCardCode, eventDetail(ev)
		}
		name, mark := r.Event, ""
		if name == "" {
			name = "(message)"
		}
		if r.Notice {
			mark = "NOTICE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Received.Local().Format("2006-01-02 15:04:05"), r.Mode, name, card, code, mark, detail)
	}
	return tw.Flush()
}

// eventDetail is the one-line gist of an event for the listing.
func eventDetail(ev wechat.Event) string {
	switch e := ev.(type) {
	case *wechat.CardSkuRemind:
		return e.Detail
	case *wechat.CardNotPassCheck:
		return "refused: " + e.RefuseReason
	case *wechat.CardPassCheck:
		return "passed review"
	case *wechat.UpdateMemberCard:
		return fmt.Sprintf("bonus %+d, balance %+d", e.ModifyBonus, e.ModifyBalance)
	case *wechat.CardPayOrder:
		return fmt.Sprintf("order %s %s (%s) %s", e.OrderID, e.Status, e.OrderType, e.Memo)
	case *wechat.UserGetCard:
		if e.OldUserCardCode != "" {
			return "gift received, replaces code " + e.OldUserCardCode
		}
	case *wechat.UserGiftingCard:
		return "being given to a friend"
	case *wechat.UserConsumeCard:
		return "consumed via " + e.ConsumeSource
	case *wechat.UserPayFromPayCell:
		return fmt.Sprintf("paid %d of %d fen", e.Fee, e.OriginalFee)
	}
	if u := ev.Head().Unknown; len(u) > 0 {
		keys := make([]string, 0, len(u))
		for k := range u {
			keys = append(keys, k)
		}
		return "other fields: " + strings.Join(keys, ",")
	}
	return ""
}

// EventsJSON prints one JSON object per event: the record, the typed
// event and its raw XML (or why it could not be read).
func EventsJSON(w io.Writer, evs []hub.EventRecord) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // raw XML stays readable
	for _, r := range evs {
		ev, err := r.Parsed()
		line := struct {
			hub.EventRecord
			Record wechat.Event `json:"record,omitempty"`
			Error  string       `json:"error,omitempty"`
		}{EventRecord: r, Record: ev}
		if err != nil {
			line.Error = err.Error()
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// Tills prints the tills as hub.ViewTills orders them, those that need a
// look first and marked !, with how many they are.
func Tills(w io.Writer, now time.Time, views []hub.TillView) error {
	if len(views) == 0 {
		fmt.Fprintln(w, "no tills: add a terminal key with 'cardtill hub terminal add NAME' and set the till's wechat.hub_url")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tSTORE\tTILL\tVERSION\tWECHAT\tLAST REPORT\tQUEUE\tOLDEST\tCONFLICTS\tJOURNAL\tSHIFT\tNOTE")
	marked := 0
	for _, v := range views {
		mark := ""
		if v.Marked() {
			mark, marked = "!", marked+1
		}
		if v.Never {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\t\t\t\t%s\n", mark, v.StoreName(), v.Till, v.Marks(now))
			continue
		}
		hb := v.Heartbeat
		state := "online"
		if !hb.Online {
			state = "offline"
			if !hb.OfflineSince.IsZero() {
				state += " " + hub.Ago(now, hb.OfflineSince)
			}
		}
		journal := "-"
		if hb.JournalUse > 0 {
			journal = fmt.Sprintf("%.0f%%", hb.JournalUse*100)
		}
		shift := "-"
		if hb.Shift != nil {
			shift = fmt.Sprintf("#%d %s (%d)", hb.Shift.ID, hb.Shift.Cashier, hb.Shift.Total)
		}
		oldest := "-"
		if hb.QueueDepth > 0 {
			oldest = hub.Ago(now, hb.OldestQueued)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\t%d\t%s\t%d\t%s\t%s\t%s\n", mark, v.StoreName(), v.Till, hb.Version, state,
			hub.Ago(now, v.Received), hb.QueueDepth, oldest, hb.OpenConflicts, journal, shift, v.Marks(now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if marked > 0 {
		fmt.Fprintf(w, "%d of %d tills need a look (!)\n", marked, len(views))
	}
	return nil
}

// ParseDay reads --from/--to: a date (local midnight; for --to the end of
// that day) or an RFC 3339 time.
func ParseDay(flag, s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: write a date (2026-11-22) or a time (2026-11-22T10:00:00+08:00)", flag, s)
}

var shiftColumns = []string{"closed", "store", "till", "shift", "cashier", "opened", "total", "consumed_online", "offline_consumed", "offline_accepted", "conflicts", "refused", "pending"}

func shiftRow(r hub.ShiftRecord, at func(time.Time) string) []string {
	z := r.Z
	n := func(k string) string { return strconv.Itoa(z.ByOutcome[k]) }
	st := r.Store
	if st == "" {
		st = r.Till
	}
	return []string{at(r.ClosedAt), st, r.Till, strconv.FormatUint(r.ShiftID, 10), r.Cashier, at(r.OpenedAt), strconv.Itoa(z.Total),
		n(store.OutcomeConsumedOnline), n(store.OutcomeOfflineConsumed), strconv.Itoa(z.OfflineAccepted), n(store.OutcomeConflict), n(store.OutcomeRefused), n(store.OutcomePending)}
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

// Shifts prints the tills' closed shifts as a table, with the totals.
func Shifts(w io.Writer, rs []hub.ShiftRecord) error {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no shifts reported in that period")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.ReplaceAll(strings.Join(shiftColumns, "\t"), "_", " ")))
	total := 0
	for _, r := range rs {
		fmt.Fprintln(tw, strings.Join(shiftRow(r, localTime), "\t"))
		total += r.Z.Total
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d shifts, %d redemptions\n", len(rs), total)
	return nil
}

// ShiftsCSV prints the closed shifts as CSV with a header line (RFC 3339
// times).
func ShiftsCSV(w io.Writer, rs []hub.ShiftRecord) error {
	return writeCSV(w, shiftColumns, rs, shiftRow)
}

// writeCSV writes a header and one row per item, times in RFC 3339 (none:
// empty), every field safe for a spreadsheet.
func writeCSV[T any](w io.Writer, columns []string, items []T, row func(T, func(time.Time) string) []string) error {
	rfc3339 := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	cw := csvsafe.NewWriter(w)
	_ = cw.Write(columns)
	for _, it := range items {
		_ = cw.Write(row(it, rfc3339))
	}
	cw.Flush()
	return cw.Error()
}

// ConflictRef names a conflict across tills: TILL/ID, as `hub conflicts
// resolve` takes it.
func ConflictRef(c hub.ConflictRecord) string { return c.Till + "/" + strconv.FormatUint(c.ID, 10) }

var conflictColumns = []string{"at", "ref", "store", "till", "code", "card", "cashier", "reason", "status", "resolved_by", "resolved_at", "note"}

func conflictRow(c hub.ConflictRecord, at func(time.Time) string) []string {
	st := c.Store
	if st == "" {
		st = c.Till
	}
	card := c.CardTitle
	if card == "" {
		card = c.CardID
	}
	reason := c.ReasonText
	if reason == "" {
		reason = c.Reason
	}
	status, by, when, note := "open", "", "", ""
	if r := c.Resolution; r != nil {
		status, by, when, note = "resolved", r.By, at(r.At), r.Note
		if r.AtHQ {
			status = "resolved at HQ"
			if c.Unheard {
				status += " (till not told yet)"
			}
		}
	}
	return []string{at(c.At), ConflictRef(c), st, c.Till, c.Code, card, c.Cashier, reason, status, by, when, note}
}

// Conflicts prints the tills' conflicts as a table, with how many are
// open; open says the list holds only the open ones.
func Conflicts(w io.Writer, cs []hub.ConflictRecord, open bool) error {
	if len(cs) == 0 {
		if open {
			fmt.Fprintln(w, "no open conflicts")
		} else {
			fmt.Fprintln(w, "no conflicts reported")
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tREF\tSTORE\tCODE\tCARD\tCASHIER\tREASON\tSTATUS")
	n := 0
	for _, c := range cs {
		row := conflictRow(c, localTime)
		status := row[8]
		if c.Resolution != nil {
			status += ": " + c.Resolution.By + ": " + c.Resolution.Note
		} else {
			n++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[4], row[5], row[6], row[7], status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d conflicts, %d open\n", len(cs), n)
	return nil
}

// ConflictsCSV prints the conflicts as CSV with a header line (RFC 3339
// times).
func ConflictsCSV(w io.Writer, cs []hub.ConflictRecord) error {
	return writeCSV(w, conflictColumns, cs, conflictRow)
}
