package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"cardtill/internal/advice"
	"cardtill/report"
	"cardtill/store"
)

// `cardtill shift list` and `cardtill shift report` read the journal; while
// `cardtill run` or `cardtill sync` holds it they ask that process through
// its control socket (GET /shifts, GET /report), as `db backup` does, and
// render what it answers. Both answers are built by the same functions
// (ListShifts, BuildShiftReport) whichever process runs them.

// ReportAnswer is a report, or why there is none (the caller's
// answer is then "no": exit 1).
type ReportAnswer struct {
	Report  *report.Report `json:"report,omitempty"`
	Refused string         `json:"refused,omitempty"`
}

// BuildShiftReport builds the report of shift id (0: terminal's open
// shift, else the latest) in the local time zone; z demands a Z report.
func BuildShiftReport(db *store.DB, terminal string, id uint64, z bool) (ReportAnswer, error) {
	if id == 0 {
		s, ok, err := db.CurrentShift(terminal)
		if err != nil {
			return ReportAnswer{}, fmt.Errorf("read current shift: %w", err)
		}
		if !ok {
			ss, err := db.Shifts(1)
			if err != nil {
				return ReportAnswer{}, fmt.Errorf("list shifts: %w", err)
			}
			if len(ss) == 0 {
				return ReportAnswer{Refused: "no shift to report on: open one with 'cardtill shift open --cashier NAME'"}, nil
			}
			s = ss[0]
		}
		id = s.ID
	}
	r, err := report.Build(db, id, report.BuildOptions{Loc: time.Local, Z: z})
	if errors.Is(err, report.ErrShiftOpen) || errors.Is(err, store.ErrNotFound) {
		return ReportAnswer{Refused: advice.Text(err)}, nil
	}
	if err != nil {
		return ReportAnswer{}, err
	}
	return ReportAnswer{Report: &r}, nil
}

// ListShifts lists up to limit shifts (0: all), newest first.
func ListShifts(db *store.DB, limit int) ([]Shift, error) {
	ss, err := db.Shifts(limit)
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	out := make([]Shift, 0, len(ss))
	for _, s := range ss {
		j := Shift{ShiftID: s.ID, Terminal: s.Terminal, Cashier: s.Cashier, OpenedAt: s.OpenedAt.Local(), Open: s.Open()}
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
func (s *Server) shiftRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /shifts", func(w http.ResponseWriter, r *http.Request) {
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit < 0 {
			writeJSON(w, 400, errBody{"want /shifts?limit=N (0: all)"})
			return
		}
		out, err := ListShifts(s.db, limit)
		if err != nil {
			writeJSON(w, 500, errBody{err.Error()})
			return
		}
		writeJSON(w, 200, out)
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		id, err := strconv.ParseUint(q.Get("shift"), 10, 64)
		if err != nil {
			writeJSON(w, 400, errBody{"want /report?shift=ID (0: the open or latest shift)&terminal=T&z=0|1"})
			return
		}
		out, err := BuildShiftReport(s.db, q.Get("terminal"), id, q.Get("z") == "1")
		if err != nil {
			writeJSON(w, 500, errBody{err.Error()})
			return
		}
		writeJSON(w, 200, out)
	})
}

func (c *Client) Shifts(ctx context.Context, limit int) ([]Shift, error) {
	var out []Shift
	err := c.do(ctx, http.MethodGet, "/shifts?limit="+strconv.Itoa(limit), nil, &out)
	return out, err
}

func (c *Client) Report(ctx context.Context, terminal string, id uint64, z bool) (ReportAnswer, error) {
	q := url.Values{"shift": {strconv.FormatUint(id, 10)}, "terminal": {terminal}, "z": {"0"}}
	if z {
		q.Set("z", "1")
	}
	var out ReportAnswer
	err := c.do(ctx, http.MethodGet, "/report?"+q.Encode(), nil, &out)
	return out, err
}

// Shift is one line of 'shift list --json' (documented in report/JSON.md).
type Shift struct {
	ShiftID  uint64     `json:"shift_id"`
	Terminal string     `json:"terminal"`
	Cashier  string     `json:"cashier"`
	OpenedAt time.Time  `json:"opened_at"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	Open     bool       `json:"open"`
}
