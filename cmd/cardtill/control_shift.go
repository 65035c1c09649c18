package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"cardtill/report"
	"cardtill/store"
)

// `cardtill shift list` and `cardtill shift report` read the journal; while
// `cardtill run` or `cardtill sync` holds it they ask that process through
// its control socket (GET /shifts, GET /report), as `db backup` does, and
// render what it answers. Both answers are built by the same functions
// (listShifts, buildShiftReport) whichever process runs them.

// shiftReportAnswer is a report, or why there is none (the caller's
// answer is then "no": exit 1).
type shiftReportAnswer struct {
	Report  *report.Report `json:"report,omitempty"`
	Refused string         `json:"refused,omitempty"`
}

// buildShiftReport builds the report of shift id (0: terminal's open
// shift, else the latest) in the local time zone; z demands a Z report.
func buildShiftReport(db *store.DB, terminal string, id uint64, z bool) (shiftReportAnswer, error) {
	if id == 0 {
		s, ok, err := db.CurrentShift(terminal)
		if err != nil {
			return shiftReportAnswer{}, fmt.Errorf("read current shift: %w", err)
		}
		if !ok {
			ss, err := db.Shifts(1)
			if err != nil {
				return shiftReportAnswer{}, fmt.Errorf("list shifts: %w", err)
			}
			if len(ss) == 0 {
				return shiftReportAnswer{Refused: "no shift to report on: open one with 'cardtill shift open --cashier NAME'"}, nil
			}
			s = ss[0]
		}
		id = s.ID
	}
	r, err := report.Build(db, id, report.BuildOptions{Loc: time.Local, Z: z})
	if errors.Is(err, report.ErrShiftOpen) || errors.Is(err, store.ErrNotFound) {
		return shiftReportAnswer{Refused: err.Error()}, nil
	}
	if err != nil {
		return shiftReportAnswer{}, err
	}
	return shiftReportAnswer{Report: &r}, nil
}

// listShifts lists up to limit shifts (0: all), newest first.
func listShifts(db *store.DB, limit int) ([]shiftJSON, error) {
	ss, err := db.Shifts(limit)
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	out := make([]shiftJSON, 0, len(ss))
	for _, s := range ss {
		j := shiftJSON{ShiftID: s.ID, Terminal: s.Terminal, Cashier: s.Cashier, OpenedAt: s.OpenedAt.Local(), Open: s.Open()}
		if !s.Open() {
			t := s.ClosedAt.Local()
			j.ClosedAt = &t
		}
		out = append(out, j)
	}
	return out, nil
}

// shiftRoutes adds GET /shifts?limit=N and GET
// /report?shift=ID&terminal=T&z=1 to the control socket. They only read.
func (s *controlServer) shiftRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /shifts", func(w http.ResponseWriter, r *http.Request) {
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit < 0 {
			controlJSON(w, 400, controlErr{"want /shifts?limit=N (0: all)"})
			return
		}
		out, err := listShifts(s.db, limit)
		if err != nil {
			controlJSON(w, 500, controlErr{err.Error()})
			return
		}
		controlJSON(w, 200, out)
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		id, err := strconv.ParseUint(q.Get("shift"), 10, 64)
		if err != nil {
			controlJSON(w, 400, controlErr{"want /report?shift=ID (0: the open or latest shift)&terminal=T&z=0|1"})
			return
		}
		out, err := buildShiftReport(s.db, q.Get("terminal"), id, q.Get("z") == "1")
		if err != nil {
			controlJSON(w, 500, controlErr{err.Error()})
			return
		}
		controlJSON(w, 200, out)
	})
}

func (c *controlClient) shifts(ctx context.Context, limit int) ([]shiftJSON, error) {
	var out []shiftJSON
	err := c.do(ctx, http.MethodGet, "/shifts?limit="+strconv.Itoa(limit), nil, &out)
	return out, err
}

func (c *controlClient) report(ctx context.Context, terminal string, id uint64, z bool) (shiftReportAnswer, error) {
	q := url.Values{"shift": {strconv.FormatUint(id, 10)}, "terminal": {terminal}, "z": {"0"}}
	if z {
		q.Set("z", "1")
	}
	var out shiftReportAnswer
	err := c.do(ctx, http.MethodGet, "/report?"+q.Encode(), nil, &out)
	return out, err
}
