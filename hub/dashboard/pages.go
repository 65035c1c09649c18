package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"cardtill/hub"
)

// FleetReader is what the pages read and write of the tills' reports
// (hub.FleetStore: BoltStore and PGStore).
type FleetReader interface {
	FleetTills() ([]hub.TillRecord, error)
	FleetShifts(q hub.ShiftQuery) ([]hub.ShiftRecord, error)
	FleetConflicts(open bool) ([]hub.ConflictRecord, error)
	ResolveFleetConflict(till string, id uint64, res hub.FleetResolution) error
}

var _ FleetReader = hub.FleetStore(nil)

// tillRow is one row of the tills page, its words already in the page's
// language: a flat struct of strings, since the template's field lookups
// through embedded structs (reflection, per row and field) were most of
// the page's cost (BenchmarkTillsPage).
type tillRow struct {
	Till, Store, Terminal, Version string
	Never, Online, Marked          bool
	Status                         string // "online", "offline since ..."
	LastReport, LastAgo            string
	Queue, Conflicts               int
	Oldest, Journal                string
	Marks                          []string
}

func (d *Dashboard) tillRows(lang string, now time.Time, views []hub.TillView) []tillRow {
	rows := make([]tillRow, 0, len(views))
	for _, v := range views {
		hb := v.Heartbeat
		r := tillRow{Till: v.Till, Store: v.StoreName(), Terminal: hb.Terminal, Version: hb.Version, Never: v.Never, Online: hb.Online, Marked: v.Marked()}
		if v.Never {
			r.Marks = append(r.Marks, tr(lang, "never"))
			rows = append(rows, r)
			continue
		}
		if hb.Online {
			r.Status = tr(lang, "online")
		} else {
			r.Status = trf(lang, "offline_since", d.tm(hb.OfflineSince))
		}
		r.LastReport, r.LastAgo = d.tm(v.Received), trf(lang, "ago", hub.Ago(now, v.Received))
		r.Queue, r.Conflicts = hb.QueueDepth, hb.OpenConflicts
		if !hb.OldestQueued.IsZero() {
			r.Oldest = trf(lang, "oldest", hub.Ago(now, hb.OldestQueued))
		}
		r.Journal = strconv.FormatFloat(hb.JournalUse*100, 'f', 0, 64) + "%"
		if v.Silent {
			r.Marks = append(r.Marks, trf(lang, "silent", hub.Ago(now, v.Received)))
		}
		if v.QueueOld {
			r.Marks = append(r.Marks, trf(lang, "queue_old", hub.Ago(now, hb.OldestQueued)))
		}
		rows = append(rows, r)
	}
	return rows
}

func (d *Dashboard) tillsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if d.o.Fleet == nil {
		d.refuse(w, r, c.lang, http.StatusNotImplemented, "err_nofleet")
		return
	}
	tills, err := d.o.Fleet.FleetTills()
	var terms []hub.Terminal
	if err == nil && d.o.Terminals != nil {
		terms, err = d.o.Terminals.Terminals()
	}
	if err != nil {
		d.log.Error("dashboard: tills not read", "err", err)
		d.refuse(w, r, c.lang, http.StatusServiceUnavailable, "err_read")
		return
	}
	now := d.now()
	d.render(w, r, http.StatusOK, "tills", c.lang, c, d.tillRows(c.lang, now, hub.ViewTills(now, tills, terms)))
}

type conflictsData struct {
	Open bool
	Rows []hub.ConflictRecord
}

func (d *Dashboard) conflictsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if d.o.Fleet == nil {
		d.refuse(w, r, c.lang, http.StatusNotImplemented, "err_nofleet")
		return
	}
	open := r.URL.Query().Get("all") == ""
	rows, err := d.o.Fleet.FleetConflicts(open)
	if err != nil {
		d.log.Error("dashboard: conflicts not read", "err", err)
		d.refuse(w, r, c.lang, http.StatusServiceUnavailable, "err_read")
		return
	}
	slices.SortStableFunc(rows, func(a, b hub.ConflictRecord) int { return b.At.Compare(a.At) })
	d.render(w, r, http.StatusOK, "conflicts", c.lang, c, conflictsData{Open: open, Rows: rows})
}

type conflictData struct {
	C     hub.ConflictRecord
	Done  bool
	Error string
	Note  string
}

// findConflict is the conflict the path names.
func (d *Dashboard) findConflict(r *http.Request) (hub.ConflictRecord, bool, error) {
	till := r.PathValue("till")
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return hub.ConflictRecord{}, false, nil
	}
	all, err := d.o.Fleet.FleetConflicts(false)
	if err != nil {
		return hub.ConflictRecord{}, false, err
	}
	for _, c := range all {
		if c.Till == till && c.ID == id {
			return c, true, nil
		}
	}
	return hub.ConflictRecord{}, false, nil
}

func (d *Dashboard) conflictPage(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	d.showConflict(w, r, c, http.StatusOK, "", "")
}

func (d *Dashboard) showConflict(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, msg, note string) {
	if d.o.Fleet == nil {
		d.refuse(w, r, c.lang, http.StatusNotImplemented, "err_nofleet")
		return
	}
	cf, ok, err := d.findConflict(r)
	if err != nil {
		d.log.Error("dashboard: conflicts not read", "err", err)
		d.refuse(w, r, c.lang, http.StatusServiceUnavailable, "err_read")
		return
	}
	if !ok {
		d.refuse(w, r, c.lang, http.StatusNotFound, "err_notfound")
		return
	}
	d.render(w, r, status, "conflict", c.lang, c, conflictData{C: cf, Done: r.URL.Query().Get("done") != "", Error: msg, Note: note})
}

// resolve is POST .../resolve (CSRF checked by post): HQ's resolution,
// which the till hears at its next exchange with the hub.
func (d *Dashboard) resolve(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if d.o.Fleet == nil {
		d.refuse(w, r, c.lang, http.StatusNotImplemented, "err_nofleet")
		return
	}
	till := r.PathValue("till")
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		d.refuse(w, r, c.lang, http.StatusNotFound, "err_notfound")
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if note == "" {
		d.showConflict(w, r, c, http.StatusBadRequest, tr(c.lang, "err_note"), "")
		return
	}
	err = d.o.Fleet.ResolveFleetConflict(till, id, hub.FleetResolution{By: c.account, At: d.now().UTC(), Note: note, AtHQ: true})
	switch {
	case errors.Is(err, hub.ErrNoConflict):
		d.refuse(w, r, c.lang, http.StatusNotFound, "err_notfound")
	case errors.Is(err, hub.ErrConflictResolved):
		d.showConflict(w, r, c, http.StatusConflict, tr(c.lang, "err_resolved"), "")
	case err != nil:
		d.log.Error("dashboard: resolution not stored", "till", till, "id", id, "err", err)
		d.showConflict(w, r, c, http.StatusBadRequest, err.Error(), note)
	default:
		d.log.Info("dashboard: conflict resolved at HQ", "account", c.account, "till", till, "id", id)
		http.Redirect(w, r, Prefix+"conflicts/"+till+"/"+strconv.FormatUint(id, 10)+"?done=1", http.StatusSeeOther)
	}
}

// dayRange reads ?from=&to= (dates, inclusive) and ?store=; by default the
// last seven days.
func (d *Dashboard) dayRange(r *http.Request) (q hub.ShiftQuery, from, to string) {
	today := d.now().In(d.loc)
	day := func(s string, def time.Time) time.Time {
		if t, err := time.ParseInLocation("2006-01-02", s, d.loc); err == nil {
			return t
		}
		return time.Date(def.Year(), def.Month(), def.Day(), 0, 0, 0, 0, d.loc)
	}
	qs := r.URL.Query()
	f := day(qs.Get("from"), today.AddDate(0, 0, -6))
	t := day(qs.Get("to"), today)
	if t.Before(f) {
		f, t = t, f
	}
	return hub.ShiftQuery{Store: qs.Get("store"), From: f, To: t.AddDate(0, 0, 1)}, f.Format("2006-01-02"), t.Format("2006-01-02")
}
