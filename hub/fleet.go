package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Fleet reports (docs/ARCHITECTURE.md, "Fleet reports"): every till with a
// hub POSTs what HQ needs to see of it to PathFleet, with its terminal key:
// a heartbeat (the latest replaces the one before), each closed shift's Z
// report and each conflict with its resolution. The till's identity is the
// terminal its key names, never a field of the body. A report's ID is
// derived from what it reports (FleetReport.Key), so a retry of it, or of a
// batch the hub stored but whose answer was lost, is stored once.

// PathFleet is where tills POST their reports (FleetBatch, terminal key).
const PathFleet = "/v1/fleet/reports"

// FleetFormat is the newest report format this hub reads. A batch of a
// newer format is refused with 422 and HubCodeFleetFormat: the till keeps
// it and sends it again after the hub is upgraded.
const FleetFormat = 1

// HubCodeFleetFormat is the error code of a batch whose format this hub
// does not know.
const HubCodeFleetFormat = "fleet_format_unknown"

// Limits of a batch.
const (
	MaxFleetBody    = 1 << 20 // bytes of one POST; more is answered 413
	MaxFleetReports = 200     // reports in one batch
	MaxFleetText    = 512     // characters of any one text field (the till clips longer ones)
)

// Report kinds.
const (
	KindHeartbeat = "heartbeat"
	KindZ         = "z"
	KindConflict  = "conflict"
)

// FleetBatch is one POST of a till: reports in the order they happened.
type FleetBatch struct {
	Format  int           `json:"format"`
	Reports []FleetReport `json:"reports"`
}

// FleetReport is one report; exactly the field of its Kind is set.
type FleetReport struct {
	ID        string          `json:"id"` // Key(): a retry is stored once
	Kind      string          `json:"kind"`
	At        time.Time       `json:"at"` // when it happened on the till
	Heartbeat *Heartbeat      `json:"heartbeat,omitempty"`
	Shift     *ShiftReport    `json:"shift,omitempty"`
	Conflict  *ConflictReport `json:"conflict,omitempty"`
}

// Key is the report's idempotent id, from what it reports: the shift's Z
// report is "z/SHIFT" (once), a conflict "conflict/ID" and, once resolved,
// "conflict/ID/resolved"; a heartbeat "heartbeat/UNIXNANO" (the latest is
// kept).
func (r FleetReport) Key() string {
	switch {
	case r.Kind == KindHeartbeat:
		return "heartbeat/" + strconv.FormatInt(r.At.UnixNano(), 10)
	case r.Kind == KindZ && r.Shift != nil:
		return "z/" + strconv.FormatUint(r.Shift.ShiftID, 10)
	case r.Kind == KindConflict && r.Conflict != nil:
		k := "conflict/" + strconv.FormatUint(r.Conflict.ID, 10)
		if r.Conflict.Resolution != nil {
			k += "/resolved"
		}
		return k
	}
	return ""
}

// Heartbeat is a till's state now.
type Heartbeat struct {
	Version  string `json:"version"`
	Store    string `json:"store,omitempty"`    // terminal.store_name
	Terminal string `json:"terminal,omitempty"` // terminal.id as the till calls itself
	// Interval is the till's [fleet] interval: a till silent for three is
	// marked.
	Interval     Seconds   `json:"interval"`
	Online       bool      `json:"online"`
	OfflineSince time.Time `json:"offline_since,omitzero"`
	LastSync     time.Time `json:"last_sync,omitzero"`
	QueueDepth   int       `json:"queue_depth"`
	// OldestQueued is when the oldest code still waiting for WeChat was
	// scanned (zero: none waits).
	OldestQueued  time.Time `json:"oldest_queued,omitzero"`
	OpenConflicts int       `json:"open_conflicts"`
	JournalUse    float64   `json:"journal_use"` // 0..1 of [store] max_size_mb (0: no limit)
	// Scanner is "connected", "disconnected", or "" (keyboard only).
	Scanner string     `json:"scanner,omitempty"`
	Shift   *OpenShift `json:"shift,omitempty"`
	// Pending counts the Z reports and conflicts still waiting to be sent
	// after this batch.
	Pending int `json:"pending,omitempty"`
}

// Seconds is a duration written as whole seconds.
type Seconds int64

// Duration is s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) * time.Second }

// OpenShift is the shift open on a till.
type OpenShift struct {
	ID       uint64         `json:"id"`
	Cashier  string         `json:"cashier"`
	OpenedAt time.Time      `json:"opened_at"`
	Total    int            `json:"total"`
	Counts   map[string]int `json:"counts,omitempty"` // by outcome
}

// ShiftReport is a closed shift's Z report.
type ShiftReport struct {
	ShiftID  uint64    `json:"shift_id"`
	Store    string    `json:"store,omitempty"`
	Terminal string    `json:"terminal,omitempty"`
	Cashier  string    `json:"cashier"`
	OpenedAt time.Time `json:"opened_at"`
	ClosedAt time.Time `json:"closed_at"`
	Z        ZCounts   `json:"z"`
}

// ZCounts are a shift's counters frozen at its close (store.Counters).
type ZCounts struct {
	Total            int                       `json:"total"`
	ByOutcome        map[string]int            `json:"by_outcome,omitempty"`
	OfflineAccepted  int                       `json:"offline_accepted"`
	RefusedByReason  map[string]int            `json:"refused_by_reason,omitempty"`
	ConsumedByReason map[string]int            `json:"consumed_by_reason,omitempty"`
	ByCard           map[string]map[string]int `json:"by_card,omitempty"`
	ByHour           map[string]int            `json:"by_hour,omitempty"`
	ByCashier        map[string]int            `json:"by_cashier,omitempty"`
}

// ConflictReport is a conflict (a code accepted offline that WeChat then
// refused) with what the manager recorded of it.
type ConflictReport struct {
	ID           uint64    `json:"id"` // the till's redemption id
	ShiftID      uint64    `json:"shift_id"`
	Store        string    `json:"store,omitempty"`
	Code         string    `json:"code"`
	CardID       string    `json:"card_id"`
	CardTitle    string    `json:"card_title,omitempty"`
	Cashier      string    `json:"cashier,omitempty"`
	ScannedAt    time.Time `json:"scanned_at"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	At           time.Time `json:"at"`
	Errcode      int       `json:"errcode,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	ReasonText   string    `json:"reason_text,omitempty"`
	WeChatStatus string    `json:"wechat_status,omitempty"`
	AfterClose   bool      `json:"after_close,omitempty"`
	// Resolution is the manager's, nil while open.
	Resolution *FleetResolution `json:"resolution,omitempty"`
}

// FleetResolution is who resolved a conflict, when, and what they did.
type FleetResolution struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note"`
	// AtHQ: recorded on the hub, not on the till.
	AtHQ bool `json:"at_hq,omitempty"`
}

// FleetAnswer is the hub's answer to a stored batch: every report in it is
// stored (Stored new ones, Duplicates already there).
type FleetAnswer struct {
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	// Resolutions are this till's conflicts resolved at HQ that its
	// reports have not yet shown resolved: the till records them.
	Resolutions []HQResolution `json:"resolutions,omitempty"`
}

// HQResolution is a conflict resolved at HQ, for its till.
type HQResolution struct {
	ID uint64 `json:"id"` // the till's redemption id
	FleetResolution
}

// FleetStore keeps the tills' reports: BoltStore and PGStore. One batch is
// one transaction: stored whole or not at all.
type FleetStore interface {
	// AddFleet stores till's reports (validated) received at received.
	// stored counts the new ones; the others were already there.
	AddFleet(till string, received time.Time, reps []FleetReport) (stored, dup int, err error)
	// FleetTills lists every till that reported, by name.
	FleetTills() ([]TillRecord, error)
	// FleetShifts lists the Z reports matching q, by close time.
	FleetShifts(q ShiftQuery) ([]ShiftRecord, error)
	// FleetConflicts lists the conflicts (open only: unresolved), by time.
	FleetConflicts(open bool) ([]ConflictRecord, error)
	// ResolveFleetConflict records HQ's resolution of till's conflict id;
	// ErrNoConflict when there is none, ErrConflictResolved when it is
	// resolved already.
	ResolveFleetConflict(till string, id uint64, res FleetResolution) error
	// HQResolutions are till's conflicts resolved at HQ that the till has
	// not yet reported resolved.
	HQResolutions(till string) ([]HQResolution, error)
}

// Errors of ResolveFleetConflict.
var (
	ErrNoConflict       = errors.New("no such conflict")
	ErrConflictResolved = errors.New("conflict already resolved")
)

// TillRecord is what the hub knows of one till: its latest heartbeat.
type TillRecord struct {
	Till      string    `json:"till"` // the terminal key's name
	Received  time.Time `json:"received"`
	Heartbeat Heartbeat `json:"heartbeat"`
	At        time.Time `json:"at"` // the heartbeat's time on the till
}

// ShiftRecord is a stored Z report.
type ShiftRecord struct {
	Till     string    `json:"till"`
	Received time.Time `json:"received"`
	ShiftReport
}

// ConflictRecord is a stored conflict.
type ConflictRecord struct {
	Till     string    `json:"till"`
	Received time.Time `json:"received"`
	// Unheard: resolved at HQ, and the till has not yet reported it
	// resolved (it will after its next exchange).
	Unheard bool `json:"unheard,omitempty"`
	ConflictReport
}

// ShiftQuery selects Z reports: of one store (terminal.store_name, or the
// till's name when it has none; "" = all), closed in [From, To) (zero =
// unbounded).
type ShiftQuery struct {
	Store    string
	From, To time.Time
}

// Match reports whether r is selected by q.
func (q ShiftQuery) Match(r ShiftRecord) bool {
	if q.Store != "" && q.Store != r.Store && q.Store != r.Till {
		return false
	}
	if !q.From.IsZero() && r.ClosedAt.Before(q.From) {
		return false
	}
	return q.To.IsZero() || r.ClosedAt.Before(q.To)
}

// fleetRefusal is a 4xx the ingest answers.
type fleetRefusal struct {
	status int
	code   string
	msg    string
}

func (e *fleetRefusal) Error() string { return e.msg }

func refuse(status int, format string, a ...any) *fleetRefusal {
	return &fleetRefusal{status: status, msg: fmt.Sprintf(format, a...)}
}

// DecodeFleetBatch reads and checks a batch: malformed (400), too many
// reports (413), a format newer than FleetFormat (422). A check failing
// leaves nothing stored.
func DecodeFleetBatch(body []byte) (FleetBatch, error) {
	var head struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return FleetBatch{}, refuse(http.StatusBadRequest, "not a report batch (JSON object with format and reports): %v", err)
	}
	if head.Format > FleetFormat {
		e := refuse(http.StatusUnprocessableEntity, "report format %d is newer than this hub reads (%d): upgrade the hub; the till keeps its reports until then", head.Format, FleetFormat)
		e.code = HubCodeFleetFormat
		return FleetBatch{}, e
	}
	if head.Format < 1 {
		return FleetBatch{}, refuse(http.StatusBadRequest, "report batch without a format (want 1 to %d)", FleetFormat)
	}
	var b FleetBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // a field this format does not have (say, another till's name) is refused
	if err := dec.Decode(&b); err != nil {
		return FleetBatch{}, refuse(http.StatusBadRequest, "report batch: %v", err)
	}
	if dec.More() {
		return FleetBatch{}, refuse(http.StatusBadRequest, "report batch: data after the JSON object")
	}
	if len(b.Reports) == 0 {
		return FleetBatch{}, refuse(http.StatusBadRequest, "report batch without reports")
	}
	if len(b.Reports) > MaxFleetReports {
		return FleetBatch{}, refuse(http.StatusRequestEntityTooLarge, "%d reports in one batch, at most %d", len(b.Reports), MaxFleetReports)
	}
	for i, r := range b.Reports {
		if err := checkReport(r); err != nil {
			return FleetBatch{}, refuse(http.StatusBadRequest, "report %d (%s): %v", i, r.ID, err)
		}
	}
	return b, nil
}

func checkReport(r FleetReport) error {
	set := 0
	for _, p := range []bool{r.Heartbeat != nil, r.Shift != nil, r.Conflict != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return errors.New("a report holds exactly one of heartbeat, shift, conflict")
	}
	if r.At.IsZero() {
		return errors.New("no time (at)")
	}
	switch r.Kind {
	case KindHeartbeat:
		if r.Heartbeat == nil {
			return errors.New("kind heartbeat without a heartbeat")
		}
		h := r.Heartbeat
		if h.QueueDepth < 0 || h.OpenConflicts < 0 || h.Interval < 0 || h.JournalUse < 0 || h.JournalUse > 10 {
			return errors.New("negative or impossible counts")
		}
		var cashier string
		if h.Shift != nil {
			cashier = h.Shift.Cashier
		}
		if err := texts(h.Version, h.Store, h.Terminal, h.Scanner, cashier); err != nil {
			return err
		}
	case KindZ:
		if r.Shift == nil || r.Shift.ShiftID == 0 || r.Shift.ClosedAt.IsZero() {
			return errors.New("kind z without a closed shift")
		}
		if err := texts(r.Shift.Store, r.Shift.Terminal, r.Shift.Cashier); err != nil {
			return err
		}
	case KindConflict:
		c := r.Conflict
		if c == nil || c.ID == 0 {
			return errors.New("kind conflict without a conflict id")
		}
		if err := texts(c.Store, c.Code, c.CardID, c.CardTitle, c.Cashier, c.Reason, c.ReasonText, c.WeChatStatus); err != nil {
			return err
		}
		if c.Resolution != nil {
			if c.Resolution.By == "" || c.Resolution.At.IsZero() {
				return errors.New("a resolution without who or when")
			}
			if err := texts(c.Resolution.By, c.Resolution.Note); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown kind %q", r.Kind)
	}
	if r.ID != r.Key() {
		return fmt.Errorf("id %q, want %q (derived from what it reports)", r.ID, r.Key())
	}
	return nil
}

func texts(ss ...string) error {
	for _, s := range ss {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxFleetText {
			return fmt.Errorf("a text field is not UTF-8 or longer than %d characters", MaxFleetText)
		}
	}
	return nil
}

// serveFleet is POST PathFleet: the till is the terminal its key names.
func (s *Server) serveFleet(w http.ResponseWriter, r *http.Request, till string) {
	if s.fleet == nil {
		jsonError(w, http.StatusNotImplemented, "this hub's store keeps no fleet reports")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxFleetBody+1))
	if err != nil {
		jsonError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	if len(body) > MaxFleetBody {
		s.log.Warn("fleet report refused: too large", "terminal", till, "bytes", len(body))
		jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a report batch holds at most %d bytes", MaxFleetBody))
		return
	}
	b, err := DecodeFleetBatch(body)
	var fr *fleetRefusal
	if errors.As(err, &fr) {
		s.log.Warn("fleet report refused", "terminal", till, "status", fr.status, "err", fr.msg)
		if fr.code != "" {
			jsonCodeError(w, fr.status, fr.code, fr.msg)
		} else {
			jsonError(w, fr.status, fr.msg)
		}
		return
	}
	stored, dup, err := s.fleet.AddFleet(till, s.now(), b.Reports)
	if err != nil {
		s.log.Error("fleet report not stored", "terminal", till, "err", err)
		jsonError(w, http.StatusInternalServerError, "the hub cannot write its store")
		return
	}
	ans := FleetAnswer{Stored: stored, Duplicates: dup}
	if ans.Resolutions, err = s.fleet.HQResolutions(till); err != nil {
		s.log.Error("fleet: HQ resolutions not read", "terminal", till, "err", err)
		ans.Resolutions = nil // the reports are stored; the till hears next time
	}
	s.log.Debug("fleet reports stored", "terminal", till, "stored", stored, "duplicates", dup)
	writeJSON(w, http.StatusOK, ans)
}

// mergeConflict applies a report of conflict c to what is stored (old,
// nil when none): the record to store, and whether anything changed. A
// resolution is kept once recorded (HQ's or the till's); the till's report
// of a resolution marks HQ's as heard.
func mergeConflict(old *ConflictRecord, till string, received time.Time, c ConflictReport) (ConflictRecord, bool) {
	if old == nil {
		return ConflictRecord{Till: till, Received: received.UTC(), ConflictReport: c}, true
	}
	if c.Resolution == nil {
		return *old, false
	}
	out := *old
	switch {
	case old.Resolution == nil:
		out.Resolution = c.Resolution
	case old.Unheard:
		out.Unheard = false
	default:
		return *old, false
	}
	return out, true
}

// checkResolution checks HQ's resolution fields.
func checkResolution(res FleetResolution) error {
	if strings.TrimSpace(res.By) == "" || strings.TrimSpace(res.Note) == "" {
		return errors.New("say who resolved the conflict and what was done (by and note)")
	}
	return texts(res.By, res.Note)
}
