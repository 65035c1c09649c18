package hub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"
)

// The fleet reports through the admin socket (admin.go), for the CLI while
// the hub runs and holds its bbolt file.

// FleetReader is what HQ reads and does of the fleet: a FleetStore (the
// hub stopped, or PostgreSQL) or the running hub (*AdminClient).
type FleetReader interface {
	FleetTills() ([]TillRecord, error)
	FleetShifts(q ShiftQuery) ([]ShiftRecord, error)
	FleetConflicts(open bool) ([]ConflictRecord, error)
	ResolveFleetConflict(till string, id uint64, res FleetResolution) error
}

var _ FleetReader = (*AdminClient)(nil)

// Error codes of the admin socket's fleet answers.
const (
	adminCodeNoConflict = "no_conflict"
	adminCodeResolved   = "conflict_resolved"
)

type resolveBody struct {
	Till string `json:"till"`
	ID   uint64 `json:"id"`
	FleetResolution
}

func (s *Server) fleetAdmin(mux *http.ServeMux) {
	need := func(w http.ResponseWriter) bool {
		if s.fleet == nil {
			jsonError(w, http.StatusNotImplemented, "this hub's store keeps no fleet reports")
			return false
		}
		return true
	}
	mux.HandleFunc("GET /fleet/tills", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		ts, err := s.fleet.FleetTills()
		if err != nil {
			jsonError(w, 500, err.Error())
			return
		}
		writeJSON(w, 200, ts)
	})
	mux.HandleFunc("GET /fleet/shifts", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		q := ShiftQuery{Store: r.URL.Query().Get("store")}
		for name, t := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
			if v := r.URL.Query().Get(name); v != "" {
				p, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					jsonError(w, 400, name+" must be RFC 3339")
					return
				}
				*t = p
			}
		}
		rs, err := s.fleet.FleetShifts(q)
		if err != nil {
			jsonError(w, 500, err.Error())
			return
		}
		writeJSON(w, 200, rs)
	})
	mux.HandleFunc("GET /fleet/conflicts", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		cs, err := s.fleet.FleetConflicts(r.URL.Query().Get("open") == "1")
		if err != nil {
			jsonError(w, 500, err.Error())
			return
		}
		writeJSON(w, 200, cs)
	})
	mux.HandleFunc("POST /fleet/conflicts/resolve", func(w http.ResponseWriter, r *http.Request) {
		if !need(w) {
			return
		}
		var b resolveBody
		if err := json.NewDecoder(io.LimitReader(r.Body, 8192)).Decode(&b); err != nil {
			jsonError(w, 400, "want {\"till\":..,\"id\":..,\"by\":..,\"at\":..,\"note\":..}")
			return
		}
		err := s.fleet.ResolveFleetConflict(b.Till, b.ID, b.FleetResolution)
		switch {
		case errors.Is(err, ErrNoConflict):
			jsonCodeError(w, 404, adminCodeNoConflict, err.Error())
		case errors.Is(err, ErrConflictResolved):
			jsonCodeError(w, 409, adminCodeResolved, err.Error())
		case err != nil:
			jsonError(w, 400, err.Error())
		default:
			s.log.Info("conflict resolved at HQ", "terminal", b.Till, "id", b.ID, "by", b.By)
			writeJSON(w, 200, struct{}{})
		}
	})
}

// FleetTills is FleetStore.FleetTills on the running hub.
func (c *AdminClient) FleetTills() ([]TillRecord, error) {
	var out []TillRecord
	err := c.do(context.Background(), http.MethodGet, "/fleet/tills", nil, &out)
	return out, err
}

// FleetShifts is FleetStore.FleetShifts on the running hub.
func (c *AdminClient) FleetShifts(q ShiftQuery) ([]ShiftRecord, error) {
	v := url.Values{}
	if q.Store != "" {
		v.Set("store", q.Store)
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339Nano))
	}
	var out []ShiftRecord
	err := c.do(context.Background(), http.MethodGet, "/fleet/shifts?"+v.Encode(), nil, &out)
	return out, err
}

// FleetConflicts is FleetStore.FleetConflicts on the running hub.
func (c *AdminClient) FleetConflicts(open bool) ([]ConflictRecord, error) {
	var out []ConflictRecord
	q := "0"
	if open {
		q = "1"
	}
	err := c.do(context.Background(), http.MethodGet, "/fleet/conflicts?open="+q, nil, &out)
	return out, err
}

// ResolveFleetConflict is FleetStore.ResolveFleetConflict on the running hub.
func (c *AdminClient) ResolveFleetConflict(till string, id uint64, res FleetResolution) error {
	return c.do(context.Background(), http.MethodPost, "/fleet/conflicts/resolve", resolveBody{Till: till, ID: id, FleetResolution: res}, nil)
}
