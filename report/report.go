package report

import (
	"sort"
	"time"

	"cardtill/store"
)

// Kind tells a running (X) report from a closing (Z) one.
type Kind string

// Report kinds.
const (
	KindX Kind = "X" // running: the shift is open, nothing is reset
	KindZ Kind = "Z" // closing: frozen at close, then immutable
)

// Outcomes counts redemptions by outcome. The JSON names are a contract
// (see JSON.md).
type Outcomes struct {
	ConsumedOnline  int `json:"consumed_online"`
	OfflineConsumed int `json:"offline_consumed"`
	Conflict        int `json:"conflict"`
	Refused         int `json:"refused"`
	Pending         int `json:"pending"`
}

// Count is one named number.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// CardCount is one card's line.
type CardCount struct {
	CardID   string   `json:"card_id"`
	Title    string   `json:"title"`
	Total    int      `json:"total"`
	Outcomes Outcomes `json:"outcomes"`
	// Honoured counts the redemptions the customer was given the goods
	// for: consumed (online or after offline acceptance), accepted offline
	// and still pending, and conflicts (accepted offline, then refused by
	// WeChat). Refused counts the refusals apart.
	Honoured int `json:"honoured"`
	Refused  int `json:"refused"`
}

// HourCount is the number of redemptions created in one local hour.
type HourCount struct {
	Hour  time.Time `json:"hour"` // start of the hour, in the report's time zone
	Count int       `json:"count"`
}

// ConflictLine is one conflict for a manager to look at.
type ConflictLine struct {
	ID      uint64    `json:"id"`
	Code    string    `json:"code"`
	CardID  string    `json:"card_id"`
	At      time.Time `json:"at"`
	Errcode int       `json:"errcode"`
	Reason  string    `json:"reason"` // WeChat's words (errmsg/status), else the machine reason
	// AfterClose is true for a conflict that settled after its shift closed
	// (counted under settled_after_close, not in the frozen Z numbers).
	AfterClose bool `json:"after_close"`
	// ReasonCode is the machine reason of WeChat's refusal (e.g.
	// already_used, gifting); the text report prints it in words.
	ReasonCode   string `json:"reason_code"`
	WeChatStatus string `json:"wechat_status"`
	CardTitle    string `json:"card_title"`
	Cashier      string `json:"cashier"`
	// Resolved is true once a manager recorded what was done
	// (cardtill conflict resolve, or F3 on the till); Resolution says who,
	// when and what.
	Resolved   bool        `json:"resolved"`
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Resolution is what a manager recorded of a conflict.
type Resolution struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note"`
}

// QueriedLine is one redemption consumed as confirmed by a query: its
// consume's answer was lost and a later query found the code consumed.
// WeChat does not say who consumed it, so a use at another till at the
// same moment cannot be told apart: a manager checks it like a conflict.
type QueriedLine struct {
	ID        uint64    `json:"id"`
	Code      string    `json:"code"`
	CardID    string    `json:"card_id"`
	ScannedAt time.Time `json:"scanned_at"` // when the cashier scanned it
	At        time.Time `json:"at"`         // when the query confirmed it
	// AfterClose is true when the query confirmed it after its shift
	// closed (counted in confirmed_by_query_after_close, not in the frozen
	// Z numbers).
	AfterClose bool `json:"after_close"`
}

// OverrideLine is a manager's override of the shift's offline limit
// ([offline] max_per_shift): Extra more codes allowed offline.
type OverrideLine struct {
	By      string    `json:"by"` // the manager's name, or "manager"
	Cashier string    `json:"cashier"`
	Extra   int       `json:"extra"`
	At      time.Time `json:"at"`
	// Limit is the shift's limit before this override; after it, Limit+Extra.
	Limit int `json:"limit"`
}

// ReasonConfirmedByQuery is the journal's reason for a redemption
// consumed as confirmed by a query (sync.ReasonConfirmedByQuery).
const ReasonConfirmedByQuery = "confirmed_by_query"

// Report is one shift's X or Z report.
type Report struct {
	Kind        Kind       `json:"kind"`
	ShiftID     uint64     `json:"shift_id"`
	Terminal    string     `json:"terminal"`
	Cashier     string     `json:"cashier"`
	OpenedAt    time.Time  `json:"opened_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	GeneratedAt time.Time  `json:"generated_at"`
	TimeZone    string     `json:"time_zone"`

	Total           int      `json:"total"`
	Outcomes        Outcomes `json:"outcomes"`
	OfflineAccepted int      `json:"offline_accepted"`
	// OfflineOverrides lists the managers' overrides of the shift's
	// offline limit, oldest first; OfflineOverride sums their Extra.
	OfflineOverrides []OverrideLine `json:"offline_overrides"`
	OfflineOverride  int            `json:"offline_override"`
	RefusedByReason  []Count        `json:"refused_by_reason"`
	ByCard           []CardCount    `json:"by_card"`
	ByHour           []HourCount    `json:"by_hour"`
	ByCashier        []Count        `json:"by_cashier"`
	Conflicts        []ConflictLine `json:"conflicts"`
	// ConflictsOpen counts the listed conflicts no manager has resolved yet.
	ConflictsOpen int `json:"conflicts_open"`
	// ConfirmedByQuery counts the consumed redemptions (of consumed_online
	// and offline_consumed) confirmed only by a query after the consume's
	// answer was lost; ConfirmedByQueryList lists them (those not pruned).
	ConfirmedByQuery     int           `json:"confirmed_by_query"`
	ConfirmedByQueryList []QueriedLine `json:"confirmed_by_query_redemptions"`

	// PendingAtClose is how many redemptions were still pending when the
	// shift closed (Z only; they settle later).
	PendingAtClose int `json:"pending_at_close"`
	// SettledAfterClose counts redemptions of this shift that reached a
	// final state after it closed, by outcome (Z only; never changes the
	// frozen numbers above).
	SettledAfterClose Outcomes `json:"settled_after_close"`
	// ConfirmedByQueryAfterClose counts those of settled_after_close
	// consumed as confirmed by a query (Z only).
	ConfirmedByQueryAfterClose int `json:"confirmed_by_query_after_close"`
}

// Input is what a report is built from: the shift, its counters (live for
// X; Z uses shift.Z for the frozen part and live.SettledAfterClose), the
// shift's conflicts (from its per-shift index) and card titles.
type Input struct {
	Shift     store.Shift
	Live      store.Counters
	Conflicts []store.ConflictEntry // store.ShiftConflicts
	// Queried are the shift's redemptions consumed as confirmed by a query
	// (store.ShiftConsumedByReason).
	Queried []store.Redemption
	Titles  map[string]string // card_id -> title
	// Overrides are the shift's offline-limit overrides
	// (store.OfflineOverrides).
	Overrides []store.OfflineOverride
	Loc       *time.Location // till's local time zone (default time.Local)
	Now       time.Time
}

func outcomes(m map[string]int) Outcomes {
	return Outcomes{
		ConsumedOnline:  m[store.OutcomeConsumedOnline],
		OfflineConsumed: m[store.OutcomeOfflineConsumed],
		Conflict:        m[store.OutcomeConflict],
		Refused:         m[store.OutcomeRefused],
		Pending:         m[store.OutcomePending],
	}
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		if v != 0 {
			out = append(out, Count{Name: k, Count: v})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// parseHour reads a store ByHour key: a UTC hour ("2006-01-02T15Z", see
// store.HourKey) or a local one ("2006-01-02T15"). The result is the start
// of the local hour in loc that holds it (zones with whole-hour offsets
// map exactly; others fold into the local hour containing the UTC hour's
// start).
func parseHour(k string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse("2006-01-02T15Z", k); err == nil {
		l := t.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc), true
	}
	t, err := time.ParseInLocation("2006-01-02T15", k, loc)
	return t, err == nil
}

// FromCounters builds a report from counters already read; it does no I/O.
func FromCounters(in Input) Report {
	loc := in.Loc
	if loc == nil {
		loc = time.Local
	}
	s := in.Shift
	c := in.Live
	r := Report{
		Kind:        KindX,
		ShiftID:     s.ID,
		Terminal:    s.Terminal,
		Cashier:     s.Cashier,
		OpenedAt:    s.OpenedAt.In(loc),
		GeneratedAt: in.Now.In(loc),
		TimeZone:    loc.String(),
	}
	if !s.Open() {
		r.Kind = KindZ
		t := s.ClosedAt.In(loc)
		r.ClosedAt = &t
		r.SettledAfterClose = outcomes(c.SettledAfterClose)
		if s.Z != nil {
			// consumed is final: what the live count has beyond the frozen
			// one was consumed after the close
			r.ConfirmedByQueryAfterClose = max(0, c.ConsumedByReason[ReasonConfirmedByQuery]-s.Z.ConsumedByReason[ReasonConfirmedByQuery])
			c = *s.Z
		}
		r.PendingAtClose = c.ByOutcome[store.OutcomePending]
	}
	r.Total = c.Total
	r.Outcomes = outcomes(c.ByOutcome)
	r.OfflineAccepted = c.OfflineAccepted
	r.ConfirmedByQuery = c.ConsumedByReason[ReasonConfirmedByQuery]
	r.RefusedByReason = counts(c.RefusedByReason)
	r.ByCashier = counts(c.ByCashier)
	for id, m := range c.ByCard {
		cc := CardCount{CardID: id, Title: in.Titles[id], Outcomes: outcomes(m)}
		for _, v := range m {
			cc.Total += v
		}
		cc.Refused = cc.Outcomes.Refused
		cc.Honoured = cc.Total - cc.Refused
		r.ByCard = append(r.ByCard, cc)
	}
	sort.Slice(r.ByCard, func(i, j int) bool {
		if r.ByCard[i].Honoured != r.ByCard[j].Honoured {
			return r.ByCard[i].Honoured > r.ByCard[j].Honoured
		}
		if r.ByCard[i].Total != r.ByCard[j].Total {
			return r.ByCard[i].Total > r.ByCard[j].Total
		}
		return r.ByCard[i].CardID < r.ByCard[j].CardID
	})
	hours := map[time.Time]int{}
	for k, v := range c.ByHour {
		if h, ok := parseHour(k, loc); ok && v != 0 {
			hours[h] += v
		}
	}
	for h, v := range hours {
		r.ByHour = append(r.ByHour, HourCount{Hour: h, Count: v})
	}
	sort.Slice(r.ByHour, func(i, j int) bool { return r.ByHour[i].Hour.Before(r.ByHour[j].Hour) })
	for _, e := range in.Conflicts {
		reason := e.ReasonText
		if reason == "" {
			reason = e.WeChatStatus
		}
		if reason == "" {
			reason = e.Reason
		}
		title := e.CardTitle
		if t := in.Titles[e.CardID]; t != "" {
			title = t
		}
		l := ConflictLine{ID: e.ID, Code: e.Code, CardID: e.CardID, At: e.At.In(loc), Errcode: e.Errcode, Reason: reason,
			AfterClose: !s.Open() && e.At.After(s.ClosedAt), ReasonCode: e.Reason, WeChatStatus: e.WeChatStatus, CardTitle: title, Cashier: e.Cashier}
		if e.Resolution != nil {
			l.Resolved = true
			l.Resolution = &Resolution{By: e.Resolution.By, At: e.Resolution.At.In(loc), Note: e.Resolution.Note}
		} else {
			r.ConflictsOpen++
		}
		r.Conflicts = append(r.Conflicts, l)
	}
	sort.Slice(r.Conflicts, func(i, j int) bool { return r.Conflicts[i].ID < r.Conflicts[j].ID })
	for _, red := range in.Queried {
		if red.State != store.Consumed || red.Reason != ReasonConfirmedByQuery {
			continue
		}
		at := red.FinishedAt
		if at.IsZero() {
			at = red.UpdatedAt
		}
		scanned := red.OfflineAcceptedAt
		if scanned.IsZero() {
			scanned = red.CreatedAt
		}
		r.ConfirmedByQueryList = append(r.ConfirmedByQueryList, QueriedLine{ID: red.ID, Code: red.Code, CardID: red.CardID,
			ScannedAt: scanned.In(loc), At: at.In(loc), AfterClose: red.SettledAfterClose})
	}
	sort.Slice(r.ConfirmedByQueryList, func(i, j int) bool { return r.ConfirmedByQueryList[i].ID < r.ConfirmedByQueryList[j].ID })
	r.OfflineOverrides = []OverrideLine{}
	for _, o := range in.Overrides {
		r.OfflineOverrides = append(r.OfflineOverrides, OverrideLine{By: o.By, Cashier: o.Cashier, Extra: o.Extra, At: o.At.In(loc), Limit: o.Limit})
		r.OfflineOverride += o.Extra
	}
	if r.RefusedByReason == nil {
		r.RefusedByReason = []Count{}
	}
	if r.ByCard == nil {
		r.ByCard = []CardCount{}
	}
	if r.ByHour == nil {
		r.ByHour = []HourCount{}
	}
	if r.ByCashier == nil {
		r.ByCashier = []Count{}
	}
	if r.Conflicts == nil {
		r.Conflicts = []ConflictLine{}
	}
	if r.ConfirmedByQueryList == nil {
		r.ConfirmedByQueryList = []QueriedLine{}
	}
	return r
}
