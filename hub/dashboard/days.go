package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"cardtill/hub"
	"cardtill/internal/csvsafe"
	"cardtill/store"
)

// dayRow is one store's day (or one card's, on the card table).
type dayRow struct {
	Date, Store, Card string
	Scans             int
	Redeemed          int // consumed online, and accepted offline then consumed
	OfflineAccepted   int
	Conflicts         int
	Refused           int
}

// OfflineShare is the share of scans accepted offline.
func (r dayRow) OfflineShare() float64 {
	if r.Scans == 0 {
		return 0
	}
	return float64(r.OfflineAccepted) / float64(r.Scans)
}

type daysData struct {
	From, To, Store string
	Stores          []string
	Days            []dayRow
	Cards           []dayRow
	Chart           chart
	CSVQuery        string
}

// days sums the Z reports of q by (closing day, store) and by card, and
// their scans by hour of the day.
func (d *Dashboard) days(q hub.ShiftQuery) (days, cards []dayRow, hours [24]int, err error) {
	shifts, err := d.o.Fleet.FleetShifts(q)
	if err != nil {
		return nil, nil, hours, err
	}
	byDay := map[[2]string]*dayRow{}
	byCard := map[string]*dayRow{}
	for _, s := range shifts {
		st := s.Store
		if st == "" {
			st = s.Till
		}
		k := [2]string{s.ClosedAt.In(d.loc).Format("2006-01-02"), st}
		r := byDay[k]
		if r == nil {
			r = &dayRow{Date: k[0], Store: k[1]}
			byDay[k] = r
		}
		z := s.Z
		r.Scans += z.Total
		r.Redeemed += z.ByOutcome[store.OutcomeConsumedOnline] + z.ByOutcome[store.OutcomeOfflineConsumed]
		r.OfflineAccepted += z.OfflineAccepted
		r.Conflicts += z.ByOutcome[store.OutcomeConflict]
		r.Refused += z.ByOutcome[store.OutcomeRefused]
		for card, m := range z.ByCard {
			c := byCard[card]
			if c == nil {
				c = &dayRow{Card: card}
				byCard[card] = c
			}
			for _, n := range m {
				c.Scans += n
			}
			c.Redeemed += m[store.OutcomeConsumedOnline] + m[store.OutcomeOfflineConsumed]
			c.OfflineAccepted += m[store.OutcomeOfflineConsumed] + m[store.OutcomeConflict] // what WeChat settled after an offline acceptance
			c.Conflicts += m[store.OutcomeConflict]
			c.Refused += m[store.OutcomeRefused]
		}
		for hk, n := range z.ByHour {
			t, err := time.Parse("2006-01-02T15Z", hk)
			if err != nil {
				continue
			}
			hours[t.In(d.loc).Hour()] += n
		}
	}
	for _, r := range byDay {
		days = append(days, *r)
	}
	slices.SortFunc(days, func(a, b dayRow) int {
		if a.Date != b.Date {
			if a.Date > b.Date {
				return -1
			}
			return 1
		}
		if a.Store < b.Store {
			return -1
		}
		if a.Store > b.Store {
			return 1
		}
		return 0
	})
	for _, r := range byCard {
		cards = append(cards, *r)
	}
	slices.SortFunc(cards, func(a, b dayRow) int { return b.Scans - a.Scans })
	return days, cards, hours, nil
}

func (d *Dashboard) daysPage(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if d.o.Fleet == nil {
		d.refuse(w, r, c.lang, http.StatusNotImplemented, "err_nofleet")
		return
	}
	q, from, to := d.dayRange(r)
	days, cards, hours, err := d.days(q)
	var all []hub.ShiftRecord
	if err == nil {
		all, err = d.o.Fleet.FleetShifts(hub.ShiftQuery{})
	}
	if err != nil {
		d.log.Error("dashboard: shifts not read", "err", err)
		d.refuse(w, r, c.lang, http.StatusServiceUnavailable, "err_read")
		return
	}
	seen := map[string]bool{}
	var stores []string
	for _, s := range all {
		st := s.Store
		if st == "" {
			st = s.Till
		}
		if !seen[st] {
			seen[st] = true
			stores = append(stores, st)
		}
	}
	slices.Sort(stores)
	v := r.URL.Query()
	v.Set("from", from)
	v.Set("to", to)
	d.render(w, r, http.StatusOK, "days", c.lang, c, daysData{From: from, To: to, Store: q.Store, Stores: stores, Days: days, Cards: cards,
		Chart: hourChart(hours), CSVQuery: v.Encode()})
}

// daysCSV is GET days.csv: the days table (by=store) or the cards table
// (by=card) of the same selection.
func (d *Dashboard) daysCSV(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if d.o.Fleet == nil {
		d.refuse(w, r, c.lang, http.StatusNotImplemented, "err_nofleet")
		return
	}
	q, from, to := d.dayRange(r)
	days, cards, _, err := d.days(q)
	if err != nil {
		d.log.Error("dashboard: shifts not read", "err", err)
		d.refuse(w, r, c.lang, http.StatusServiceUnavailable, "err_read")
		return
	}
	byCard := r.URL.Query().Get("by") == "card"
	name := "cardtill-days-" + from + "-" + to + ".csv"
	if byCard {
		name = "cardtill-cards-" + from + "-" + to + ".csv"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csvsafe.NewWriter(w)
	n := strconv.Itoa
	if byCard {
		_ = cw.Write([]string{"card_id", "scans", "redeemed", "settled_after_offline", "conflicts", "refused"})
		for _, r := range cards {
			_ = cw.Write([]string{r.Card, n(r.Scans), n(r.Redeemed), n(r.OfflineAccepted), n(r.Conflicts), n(r.Refused)})
		}
	} else {
		_ = cw.Write([]string{"date", "store", "scans", "redeemed", "offline_accepted", "offline_share", "conflicts", "refused"})
		for _, r := range days {
			_ = cw.Write([]string{r.Date, r.Store, n(r.Scans), n(r.Redeemed), n(r.OfflineAccepted), strconv.FormatFloat(r.OfflineShare(), 'f', 3, 64), n(r.Conflicts), n(r.Refused)})
		}
	}
	cw.Flush()
}
