package till

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"cardtill/hub"
	"cardtill/report"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/tui"
)

// ShiftReportView is the till screen's ShiftReport hook (F4): the X
// report of the open shift as text at most 60 cells wide, then its
// per-hour bars. The screen scrolls it.
func ShiftReportView(db *store.DB) func(id uint64, lang string, width int) (string, error) {
	return func(id uint64, lang string, width int) (string, error) {
		r, err := report.Build(db, id, report.BuildOptions{})
		if err != nil {
			return "", err
		}
		w := min(width, 60)
		return report.Text(r, report.Options{Lang: lang, Width: w}) + "\n" + report.Bars(r, w), nil
	}
}

// JournalBacklog is the till screen's Backlog hook on the journal: what
// waits for WeChat (queued, consuming, in doubt) and the conflicts, newest
// first, at most limit of each, including those of earlier runs, and
// which conflicts came after the manager last marked them seen (F6,
// ackConflicts); and the latest redemptions consumed as confirmed by a
// query, at most queriedShown. It only reads, walking the state index and
// the consumed-by-reason index backwards (store.LatestByState,
// store.LatestConsumedByReason); the totals come from the lists unless
// one is cut, then from the index's own keys (store.CountState,
// store.CountConsumedByReason).
func JournalBacklog(db *store.DB) func(limit int) (tui.Backlog, error) {
	return func(limit int) (tui.Backlog, error) {
		var b tui.Backlog
		titles := map[string]string{}
		add := func(to *[]sync.Outcome, s store.State) (cut bool, err error) {
			rs, err := db.Find(store.Query{Index: store.ByState, State: s, Newest: true, Limit: limit})
			if err != nil {
				return false, err
			}
			for _, r := range rs {
				*to = append(*to, backlogOutcome(r, cardTitle(db, titles, r)))
			}
			return len(rs) == limit, nil
		}
		var cut bool
		for _, s := range []store.State{store.Queued, store.Consuming, store.InDoubt} {
			c, err := add(&b.Waiting, s)
			if err != nil {
				return tui.Backlog{}, err
			}
			cut = cut || c
		}
		// newest first across the three states; keep limit
		sortNewestFirst(b.Waiting)
		if len(b.Waiting) > limit {
			b.Waiting, cut = b.Waiting[:limit], true
		}
		conflicts, err := db.Find(store.Query{Index: store.ByState, State: store.Conflict, Newest: true, Limit: limit})
		if err != nil {
			return tui.Backlog{}, err
		}
		seen, err := conflictsSeenMark(db)
		if err != nil {
			return tui.Backlog{}, err
		}
		for _, r := range conflicts {
			b.Conflicts = append(b.Conflicts, backlogOutcome(r, cardTitle(db, titles, r)))
			if res, err := db.Resolution(r.ID); err != nil {
				return tui.Backlog{}, err
			} else if res != nil {
				if b.Resolved == nil {
					b.Resolved = map[uint64]bool{}
				}
				b.Resolved[r.ID] = true
			}
			if r.FinishedAt.After(seen.At) {
				if b.New == nil {
					b.New = map[uint64]bool{}
				}
				b.New[r.ID] = true
			}
		}
		b.WaitingTotal, b.ConflictsTotal = len(b.Waiting), len(b.Conflicts)
		if cut {
			b.WaitingTotal = 0
			for _, s := range []store.State{store.Queued, store.Consuming, store.InDoubt} {
				n, err := db.Count(store.Query{Index: store.ByState, State: s})
				if err != nil {
					return tui.Backlog{}, err
				}
				b.WaitingTotal += n
			}
		}
		if len(conflicts) == limit {
			if b.ConflictsTotal, err = db.Count(store.Query{Index: store.ByState, State: store.Conflict}); err != nil {
				return tui.Backlog{}, err
			}
		}
		b.Unseen = max(0, b.ConflictsTotal-seen.Count)
		n := min(limit, queriedShown)
		queried, err := db.Find(store.Query{Index: store.ConsumedByReason, Reason: string(sync.ReasonConfirmedByQuery), Newest: true, Limit: n})
		if err != nil {
			return tui.Backlog{}, err
		}
		for _, r := range queried {
			b.Queried = append(b.Queried, backlogOutcome(r, cardTitle(db, titles, r)))
		}
		b.QueriedTotal = len(b.Queried)
		if len(queried) == n {
			if b.QueriedTotal, err = db.Count(store.Query{Index: store.ConsumedByReason, Reason: string(sync.ReasonConfirmedByQuery)}); err != nil {
				return tui.Backlog{}, err
			}
		}
		return b, nil
	}
}

// queriedShown bounds the queue screen's list of redemptions consumed as
// confirmed by a query: a short section for the manager to follow up.
const queriedShown = 20

// ConflictsSeenKey is the journal's meta key of the manager's last "conflicts
// seen" (F6): when, and how many conflicts there were then. Conflicts are
// final and never pruned, so the ones after are the total less that count,
// and those that became conflicts after that time.
const ConflictsSeenKey = "screen.conflicts_seen"

type conflictsSeen struct {
	At    time.Time `json:"at"`
	Count int       `json:"count"`
}

func conflictsSeenMark(db *store.DB) (conflictsSeen, error) {
	var s conflictsSeen
	v, err := db.Meta(ConflictsSeenKey)
	if err != nil || v == nil {
		return s, err
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return conflictsSeen{}, fmt.Errorf("the journal's %s is damaged (%v): press F6 to mark the conflicts seen again", ConflictsSeenKey, err)
	}
	return s, nil
}

// AckConflicts is the till screen's AckConflicts hook: it journals that the
// manager saw every conflict there is now.
func AckConflicts(db *store.DB, now func() time.Time) func() error {
	return func() error {
		at := now() // before the count: a conflict between the two is still new by time
		n, err := db.Count(store.Query{Index: store.ByState, State: store.Conflict})
		if err != nil {
			return err
		}
		v, err := json.Marshal(conflictsSeen{At: at, Count: n})
		if err != nil {
			return err
		}
		return db.PutMeta(ConflictsSeenKey, v)
	}
}

// sortNewestFirst orders outcomes by journal id, newest first (an
// insertion sort: the lists are short and mostly sorted).
func sortNewestFirst(os []sync.Outcome) {
	for i := 1; i < len(os); i++ {
		for j := i; j > 0 && os[j].ID > os[j-1].ID; j-- {
			os[j], os[j-1] = os[j-1], os[j]
		}
	}
}

// cardTitle is a redemption's card title: its own, else the card cache's
// (looked up once per card).
func cardTitle(db *store.DB, seen map[string]string, r store.Redemption) string {
	if r.CardTitle != "" || r.CardID == "" {
		return r.CardTitle
	}
	if t, ok := seen[r.CardID]; ok {
		return t
	}
	c, _, _ := db.Card(r.CardID) // a missing title only costs the title
	seen[r.CardID] = c.Title
	return c.Title
}

// backlogOutcome is a journaled redemption as the queue screen lists it;
// its time is when the cashier scanned it (accepted it offline), the time
// a manager looks for on the receipt.
func backlogOutcome(r store.Redemption, title string) sync.Outcome {
	o := sync.OutcomeOf(r)
	o.CardTitle, o.At = title, r.OfflineAcceptedAt
	if o.At.IsZero() {
		o.At = r.CreatedAt
	}
	return o
}

// NoticeRelay hands the hub's notices, as the engine's feed pulls them,
// to the till screen, and keeps the latest in the journal (meta
// screen.notices) so a restarted screen still lists them. It never blocks
// the feed: when the screen is not reading the oldest waiting notice gives
// way; a notice it cannot keep is still shown.
type NoticeRelay struct {
	c      chan tui.Notice
	db     *store.DB // nil: nothing kept
	logger *slog.Logger
	kept   []tui.Notice // what the journal holds, newest last (the feed's goroutine)
	start  []tui.Notice // what it held at start
}

// notices kept in the journal for the screen.
const (
	noticesKey  = "screen.notices"
	noticesKept = 50
)

// NewNoticeRelay reads the notices kept in db (the screen's past ones);
// make it before the engine first pulls the feed, so none is both.
func NewNoticeRelay(db *store.DB, logger *slog.Logger) *NoticeRelay {
	r := &NoticeRelay{c: make(chan tui.Notice, 64), db: db, logger: logger}
	if db == nil {
		return r
	}
	v, err := db.Meta(noticesKey)
	if err == nil && v != nil {
		err = json.Unmarshal(v, &r.kept)
	}
	if err != nil {
		r.kept = nil
		logger.Warn("the hub notices kept in the journal cannot be read; the screen starts without them", "err", err)
	}
	r.start = append([]tui.Notice(nil), r.kept...)
	return r
}

// Past is what the journal held at start, oldest first.
func (r *NoticeRelay) Past() []tui.Notice {
	if r == nil {
		return nil
	}
	return r.start
}

// Deliver hands a page of the feed's notices to the screen and keeps
// them in the journal; it never blocks the feed.
func (r *NoticeRelay) Deliver(ns []hub.Notice) {
	if r == nil || len(ns) == 0 {
		return
	}
	for _, n := range ns {
		tn := tui.Notice{Event: n.Event, CardID: n.CardID, Code: n.Code, Detail: n.Detail, At: n.At.Local()}
		r.kept = append(r.kept, tn)
		for {
			select {
			case r.c <- tn:
			default:
				select {
				case <-r.c:
				default:
				}
				continue
			}
			break
		}
	}
	if r.db == nil {
		return
	}
	r.kept = r.kept[max(0, len(r.kept)-noticesKept):]
	v, err := json.Marshal(r.kept)
	if err == nil {
		err = r.db.PutMeta(noticesKey, v)
	}
	if err != nil {
		r.logger.Warn("keeping the hub's notices in the journal", "err", err)
	}
}

// Notices is the screen's end (nil without a hub).
func (r *NoticeRelay) Notices() <-chan tui.Notice {
	if r == nil {
		return nil
	}
	return r.c
}

// shutdownWait bounds how long a closing till waits in Engine.Shutdown for
// what the engine still runs (a consume already sent gets its answer, at
// most wechat.timeout, and its commit); what is left then is resolved by
// the next start.
const shutdownWait = 10 * time.Second

// Shutdown stops e before the journal closes: the answer shows before the
// engine's last commit, so Ctrl+C may come first.
func Shutdown(e *sync.Engine, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		logger.Warn("closing with work of the engine still running; the journal resolves it at the next start", "err", err)
	}
}
