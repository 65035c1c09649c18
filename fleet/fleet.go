// Package fleet is the till's side of the fleet reports (docs/ARCHITECTURE.md,
// "Fleet reports"): a Reporter that, in its own goroutine, sends the hub a
// heartbeat every interval, each closed shift's Z report and each conflict
// with its resolution, and records in the journal what the hub confirmed
// (store.FleetPending, store.FleetAck). A report waits in the journal until
// the hub confirms it; a hub that is down, slow or older than this till
// never delays a scan and loses nothing: the reports wait and go, oldest
// first, when it answers again. The hub's resolutions of this till's
// conflicts, in its answers, are recorded in the journal.
//
// It reads the engine's clock (sync.Clock) for the time now and its timer,
// and nothing else; per-request deadlines are contexts.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	stdsync "sync"
	"time"
	"unicode/utf8"

	"cardtill/hub"
	"cardtill/store"
	"cardtill/sync"
)

// DefaultInterval is [fleet] interval's default.
const DefaultInterval = 60 * time.Second

// Sender is the hub's side: hub.Client.
type Sender interface {
	Report(ctx context.Context, b hub.FleetBatch) (hub.FleetAnswer, error)
}

// State is the till's state a heartbeat carries, read when it is sent.
type State struct {
	Version  string
	Store    string // terminal.store_name
	Terminal string // terminal.id
	Status   sync.Status
	// Scanner: "connected", "disconnected", or "" (no serial scanner).
	Scanner string
}

// Options configures a Reporter.
type Options struct {
	DB     *store.DB
	Hub    Sender
	Clock  sync.Clock // the engine's (the PC's when nil)
	State  func() State
	Logger *slog.Logger
	// Interval between heartbeats (DefaultInterval when 0).
	Interval time.Duration
	// Timeout bounds one request to the hub (10 s when 0).
	Timeout time.Duration
	// Batch is the most reports in one request (100 when 0; at most
	// hub.MaxFleetReports).
	Batch int
}

// Reporter sends the reports. Safe for concurrent use.
type Reporter struct {
	o    Options
	kick chan struct{}

	mu      stdsync.Mutex
	lastErr string // what was logged of the last failure ("" after a success)
	sent    int    // reports the hub confirmed (tests, status)
}

// New checks o and returns a Reporter.
func New(o Options) (*Reporter, error) {
	if o.DB == nil || o.Hub == nil || o.State == nil {
		return nil, errors.New("fleet: Options.DB, Hub and State are required")
	}
	if o.Clock == nil {
		o.Clock = pcClock{time.Now()}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Batch <= 0 || o.Batch > hub.MaxFleetReports {
		o.Batch = min(100, hub.MaxFleetReports)
	}
	return &Reporter{o: o, kick: make(chan struct{}, 1)}, nil
}

// Run exchanges with the hub at once and then every interval (or when
// Kick asks), until ctx ends.
func (r *Reporter) Run(ctx context.Context) error {
	for {
		_ = r.Exchange(ctx)
		t := r.o.Clock.NewTimer(r.o.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		case <-r.kick:
			t.Stop()
		}
	}
}

// Kick asks Run for an exchange now (a shift just closed, say); it never
// blocks.
func (r *Reporter) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Sent is how many reports the hub confirmed since New.
func (r *Reporter) Sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent
}

// Exchange sends what waits, oldest first in batches, the heartbeat with
// the last batch, and records what the hub confirmed and the resolutions
// it answered. It stops at the first batch the hub does not store (the
// rest waits for the next exchange) and returns why.
func (r *Reporter) Exchange(ctx context.Context) error {
	err := r.exchange(ctx)
	r.note(err)
	return err
}

func (r *Reporter) exchange(ctx context.Context) error {
	for round := 0; round < 2; round++ {
		heard, err := r.sendAll(ctx)
		if err != nil || heard == 0 {
			return err
		}
		// Resolutions recorded from HQ: report them at once, so HQ sees
		// the till has them.
	}
	return nil
}

// sendAll sends every pending report and one heartbeat; it returns how many
// of HQ's resolutions were newly recorded.
func (r *Reporter) sendAll(ctx context.Context) (int, error) {
	items, _, err := r.o.DB.FleetPending(0)
	if err != nil {
		return 0, fmt.Errorf("fleet: read the journal: %w", err)
	}
	st := r.o.State()
	heard := 0
	for {
		n := min(len(items), r.o.Batch-1)
		batch, rest := items[:n], items[n:]
		reps := make([]hub.FleetReport, 0, n+1)
		for _, it := range batch {
			reps = append(reps, report(it, st))
		}
		if len(rest) == 0 {
			hb, err := r.heartbeat(st, 0)
			if err != nil {
				return heard, err
			}
			reps = append(reps, hb)
		}
		ans, err := r.send(ctx, reps)
		var se *hub.StatusError
		if err != nil && len(batch) > 0 && errors.As(err, &se) && (se.Status == http.StatusBadRequest || se.Status == http.StatusRequestEntityTooLarge) {
			// A report the hub refuses waits (logged once), and those
			// after it; the heartbeat still goes, so HQ sees the till and
			// how many wait.
			if hb, herr := r.heartbeat(st, len(items)); herr == nil {
				_, _ = r.send(ctx, []hub.FleetReport{hb})
			}
		}
		if err != nil {
			return heard, err
		}
		if err := r.o.DB.FleetAck(batch); err != nil {
			return heard, fmt.Errorf("fleet: record the hub's confirmation: %w", err)
		}
		r.mu.Lock()
		r.sent += len(reps)
		r.mu.Unlock()
		heard += r.record(ans.Resolutions)
		items = rest
		if len(items) == 0 {
			return heard, nil
		}
	}
}

func (r *Reporter) send(ctx context.Context, reps []hub.FleetReport) (hub.FleetAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	return r.o.Hub.Report(ctx, hub.FleetBatch{Format: hub.FleetFormat, Reports: reps})
}

// record writes HQ's resolutions into the journal; it returns how many
// were new there.
func (r *Reporter) record(rs []hub.HQResolution) int {
	n := 0
	for _, res := range rs {
		by := res.By
		if len([]rune(by)) > store.MaxResolutionBy-5 {
			by = string([]rune(by)[:store.MaxResolutionBy-5])
		}
		_, err := r.o.DB.ResolveConflict(res.ID, by+" (HQ)", res.Note)
		switch {
		case err == nil:
			n++
			r.o.Logger.Info("conflict resolved at HQ recorded", "id", res.ID, "by", res.By)
		case errors.Is(err, store.ErrResolved):
			n++ // resolved here too: the next report says so
		default:
			r.o.Logger.Warn("conflict resolved at HQ not recorded", "id", res.ID, "err", err)
		}
	}
	return n
}

// note logs a failure once (until it changes or an exchange succeeds).
func (r *Reporter) note(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		if r.lastErr != "" {
			r.o.Logger.Info("fleet reports: the hub takes them again")
		}
		r.lastErr = ""
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	kind, msg := "other", "fleet reports not sent; they wait in the journal"
	var se *hub.StatusError
	switch {
	case errors.Is(err, hub.ErrUnauthorized):
		kind, msg = "key", "fleet reports: the hub refused this till's terminal key; they wait in the journal"
	case errors.As(err, &se) && se.Code == hub.HubCodeFleetFormat:
		kind, msg = "format", "fleet reports: the hub is older than this till's report format; they wait in the journal until the hub is upgraded"
	case errors.As(err, &se):
		kind = fmt.Sprint("status", se.Status)
	}
	if kind == r.lastErr {
		return
	}
	r.lastErr = kind
	r.o.Logger.Warn(msg, "err", err)
}

// heartbeat is the till's state now.
func (r *Reporter) heartbeat(st State, pending int) (hub.FleetReport, error) {
	now := r.o.Clock.Now()
	s := st.Status
	hb := &hub.Heartbeat{
		Version: clip(st.Version), Store: clip(st.Store), Terminal: clip(st.Terminal), Interval: hub.Seconds(r.o.Interval / time.Second),
		Online: s.Online, OfflineSince: s.OfflineSince, LastSync: s.LastSync, QueueDepth: s.QueueDepth,
		JournalUse: s.JournalUse, Scanner: st.Scanner, Pending: pending,
	}
	if oldest, ok, err := r.o.DB.OldestWaiting(); err != nil {
		return hub.FleetReport{}, fmt.Errorf("fleet: read the journal: %w", err)
	} else if ok {
		hb.OldestQueued = oldest
	}
	conflicts, err := r.o.DB.Count(store.Query{Index: store.ByState, State: store.Conflict})
	if err != nil {
		return hub.FleetReport{}, fmt.Errorf("fleet: read the journal: %w", err)
	}
	resolved, err := r.o.DB.CountResolved()
	if err != nil {
		return hub.FleetReport{}, fmt.Errorf("fleet: read the journal: %w", err)
	}
	hb.OpenConflicts = max(conflicts-resolved, 0)
	if sh, ok, err := r.o.DB.CurrentShift(st.Terminal); err != nil {
		return hub.FleetReport{}, fmt.Errorf("fleet: read the journal: %w", err)
	} else if ok {
		c, err := r.o.DB.ShiftCounters(sh.ID)
		if err != nil {
			return hub.FleetReport{}, fmt.Errorf("fleet: read the journal: %w", err)
		}
		hb.Shift = &hub.OpenShift{ID: sh.ID, Cashier: clip(sh.Cashier), OpenedAt: sh.OpenedAt, Total: c.Total, Counts: c.ByOutcome}
	}
	rep := hub.FleetReport{Kind: hub.KindHeartbeat, At: now, Heartbeat: hb}
	rep.ID = rep.Key()
	return rep, nil
}

// clip cuts s to what the hub takes of a text field.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= hub.MaxFleetText {
		return s
	}
	return string([]rune(s)[:hub.MaxFleetText-1]) + "…"
}

// report is a journal item as the hub's report, its texts clipped to what
// the hub takes.
func report(it store.FleetItem, st State) hub.FleetReport {
	rep := hub.FleetReport{At: it.At}
	switch it.Kind {
	case store.FleetZ:
		s, z := it.Shift, it.Shift.Z
		rep.Kind = hub.KindZ
		rep.Shift = &hub.ShiftReport{ShiftID: s.ID, Store: clip(st.Store), Terminal: clip(s.Terminal), Cashier: clip(s.Cashier), OpenedAt: s.OpenedAt, ClosedAt: s.ClosedAt,
			Z: hub.ZCounts{Total: z.Total, ByOutcome: z.ByOutcome, OfflineAccepted: z.OfflineAccepted, RefusedByReason: z.RefusedByReason,
				ConsumedByReason: z.ConsumedByReason, ByCard: z.ByCard, ByHour: z.ByHour, ByCashier: z.ByCashier}}
	case store.FleetConflict:
		e := it.Conflict
		rep.Kind = hub.KindConflict
		rep.Conflict = &hub.ConflictReport{ID: e.ID, ShiftID: e.ShiftID, Store: clip(st.Store), Code: clip(e.Code), CardID: clip(e.CardID), CardTitle: clip(e.CardTitle),
			Cashier: clip(e.Cashier), ScannedAt: e.ScannedAt, AcceptedAt: e.AcceptedAt, At: e.At, Errcode: e.Errcode, Reason: clip(e.Reason),
			ReasonText: clip(e.ReasonText), WeChatStatus: clip(e.WeChatStatus), AfterClose: e.AfterClose}
		if res := e.Resolution; res != nil {
			rep.Conflict.Resolution = &hub.FleetResolution{By: clip(res.By), At: res.At, Note: clip(res.Note)}
		}
	}
	rep.ID = rep.Key()
	return rep
}

// pcClock is the PC's clock, when Options.Clock is nil.
type pcClock struct{ origin time.Time }

func (pcClock) Now() time.Time                      { return time.Now() }
func (c pcClock) Mono() time.Duration               { return time.Since(c.origin) }
func (pcClock) NewTimer(d time.Duration) sync.Timer { return pcTimer{time.NewTimer(d)} }

type pcTimer struct{ t *time.Timer }

func (t pcTimer) C() <-chan time.Time { return t.t.C }
func (t pcTimer) Stop() bool          { return t.t.Stop() }
