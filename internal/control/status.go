package control

import (
	"context"
	"net/http"
	"os"
	"time"

	"cardtill/store"
)

// TillStatus is what doctor reads from a journal: its size against the
// configured maximum and the queue waiting for WeChat. The control
// socket's GET /status answers it for a running till; it reads indexes
// only, never the whole journal, so it is cheap while the till serves.
type TillStatus struct {
	Journal string `json:"journal"`
	Size    int64  `json:"size"`
	Max     int64  `json:"max"`
	// Waiting is how many redemptions wait for WeChat (queued offline,
	// consuming, in doubt).
	Waiting int `json:"waiting"`
	// InDoubt: consumes whose answer was lost, waiting to be resolved by a query.
	InDoubt int `json:"in_doubt"`
	// Oldest is when the oldest waiting redemption was scanned (zero: none).
	Oldest time.Time `json:"oldest,omitzero"`
	// NextDue is the next time the drain will try one (zero: none).
	NextDue time.Time `json:"next_due,omitzero"`
	// Conflicts are offline acceptances WeChat refused later; a manager
	// must look at them.
	Conflicts int `json:"conflicts"`
	// ConflictsResolved counts those of Conflicts a manager resolved
	// with a note (F3 on the till); the rest are open.
	ConflictsResolved int `json:"conflicts_resolved"`
	// PID of the cardtill that answered on the control socket (0: doctor
	// read the file itself).
	PID int `json:"pid,omitempty"`
}

// ReadTillStatus reads the journal's size and queue from its indexes.
func ReadTillStatus(db *store.DB) (TillStatus, error) {
	st := TillStatus{Journal: db.Path()}
	var err error
	if st.Size, st.Max, err = db.Size(); err != nil {
		return st, err
	}
	n, err := db.Counts(store.Query{Index: store.Outbox}, store.Query{Index: store.ByState, State: store.InDoubt},
		store.Query{Index: store.ByState, State: store.Conflict})
	if err != nil {
		return st, err
	}
	st.Waiting, st.InDoubt, st.Conflicts = n[0], n[1], n[2]
	if st.Oldest, _, err = db.OldestWaiting(); err != nil {
		return st, err
	}
	if st.ConflictsResolved, err = db.CountResolved(); err != nil {
		return st, err
	}
	next, err := db.Find(store.Query{Index: store.Outbox, Limit: 1}) // the outbox runs by due time
	if err != nil {
		return st, err
	}
	if len(next) == 1 {
		st.NextDue = next[0].DueAt
	}
	return st, nil
}

// serveStatus answers GET /status on the control socket.
func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	st, err := ReadTillStatus(s.db)
	if err != nil {
		writeJSON(w, 500, errBody{err.Error()})
		return
	}
	st.PID = os.Getpid()
	writeJSON(w, 200, st)
}

// status asks the running cardtill for its journal's status.
func (c *Client) Status(ctx context.Context) (TillStatus, error) {
	var out TillStatus
	err := c.do(ctx, http.MethodGet, "/status", nil, &out)
	return out, err
}
