package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"
	"unicode"

	"cardtill/store"
)

// State is a redemption's state: the journal's own type, whose table of
// allowed moves is the state machine (docs/ARCHITECTURE.md).
type State = store.State

// Redemption states, exactly as the journal and `cardtill redeem --json`
// spell them.
const (
	StateReceived  = store.Received
	StateChecked   = store.Checked
	StateConsuming = store.Consuming
	StateConsumed  = store.Consumed
	StateRejected  = store.Rejected
	StateInDoubt   = store.InDoubt
	StateQueued    = store.Queued
	StateConflict  = store.Conflict
	// StateNone is Update.From of a redemption just created.
	StateNone = store.None
)

// Options configures an Engine. Journal and WeChat are required.
type Options struct {
	Journal Journal
	WeChat  WeChat
	// Feed is the hub's code-status feed; nil when there is no hub.
	Feed Feed
	// Policy is the offline acceptance policy.
	Policy Policy
	// Terminal is this till's id, kept on every redemption.
	Terminal string
	// CustomCodeCards are card_ids tried when a plain query answers 40056.
	CustomCodeCards []string
	// OpenShiftOnScan opens a shift for the request's cashier (else
	// DefaultCashier, else Terminal) when a code is scanned with none open.
	// When false such a scan fails with ErrNoShift.
	OpenShiftOnScan bool
	DefaultCashier  string
	// Timeout bounds each WeChat call while a cashier waits (4 s when 0);
	// SyncTimeout each call of the drain (15 s when 0).
	Timeout, SyncTimeout time.Duration
	// QuietPeriod is how long an in-doubt consume waits before the query
	// that resolves it. It must exceed Timeout and SyncTimeout (20 s when 0).
	QuietPeriod time.Duration
	// MaxBackoff caps the retry delay of one item (5 min when 0); Interval
	// is the drain period of Run (30 s when 0).
	MaxBackoff, Interval time.Duration
	// Concurrency bounds the drain's parallel items (8 when 0).
	Concurrency int
	// Clock is the engine's time: the wall time, a monotonic reading and
	// timers (the PC's clock when nil). Now, when set and Clock is nil,
	// replaces its wall time, and the monotonic reading is then Now's own
	// differences.
	Clock Clock
	Now   func() time.Time
	// Logger receives the engine's log (discarded when nil).
	Logger *slog.Logger
	// ProbeInterval is how often Run's watcher probes WeChat while idle,
	// online or offline (DefaultProbeInterval when 0; watch.go).
	ProbeInterval time.Duration
	// OnStatus, when set, is called (from the engine's goroutines) after
	// connectivity or the queue changed. It must not block.
	OnStatus func(Status)
}

// Engine redeems codes now and drains the outbox later. Its methods are
// safe for concurrent use.
type Engine struct {
	o       Options
	j       Journal
	wx      WeChat
	now     func() time.Time
	log     *slog.Logger
	conn    *connectivity
	claims  claims
	backoff Backoff
	kick    chan struct{}

	mu            stdsync.Mutex
	throttleUntil time.Time
	throttleN     int
	syncing       bool
	keyRefused    bool          // the hub refused this till's terminal key at the last token fetch
	drainMu       stdsync.Mutex // one drain pass at a time
	loggedErrs    map[string]bool

	started time.Time // New's wall time: older unanswered scans are a previous run's
	// base and mono0 are the wall time and the monotonic reading at New:
	// the engine's time is base plus the monotonic time passed (readClock).
	base    time.Time
	mono0   time.Duration
	updates broker // Subscribe: every committed transition
	// seen is the latest time the engine read (UnixNano): the clock set
	// back shows against it (clockWentBack).
	seen atomic.Int64
	// abandoned: redemptions a failed scan of this engine left received or
	// checked (under mu); a rescan of the code sets them aside.
	abandoned map[uint64]bool

	// Shutdown: life is cancelled (cause ErrClosed) and closing set; every
	// Redeem, Recover, DrainOnce and Run is counted in inflight.
	life      context.Context
	stopLife  context.CancelCauseFunc
	closing   bool // under mu
	inflight  stdsync.WaitGroup
	saveMu    stdsync.Mutex // orders the writes of the connectivity
	savedConn string        // last connectivity written to the journal
}

// metaConn is the MetaJournal key of the engine's connectivity.
const metaConn = "connectivity"

// New checks o and returns an engine. It does not touch the network.
func New(o Options) (*Engine, error) {
	if o.Journal == nil {
		return nil, errors.New("sync: Options.Journal is required")
	}
	if o.WeChat == nil {
		return nil, errors.New("sync: Options.WeChat is required")
	}
	if err := o.Policy.Validate(); err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 4 * time.Second
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = 15 * time.Second
	}
	if o.QuietPeriod <= 0 {
		o.QuietPeriod = 20 * time.Second
	}
	if o.QuietPeriod <= o.Timeout || o.QuietPeriod <= o.SyncTimeout {
		return nil, &OptionError{Field: "QuietPeriod", Msg: fmt.Sprintf("(%s) must be longer than Timeout (%s) and SyncTimeout (%s), so a lost consume cannot still land after the query that resolves it", o.QuietPeriod, o.Timeout, o.SyncTimeout)}
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.Clock == nil {
		now := o.Now
		if now == nil {
			now = time.Now
		}
		o.Clock = newSystemClock(now)
	}
	o.Now = o.Clock.Now
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	base := time.Second
	if base > o.MaxBackoff {
		base = o.MaxBackoff
	}
	e := &Engine{
		o:          o,
		wx:         o.WeChat,
		log:        o.Logger,
		conn:       newConnectivity(),
		backoff:    Backoff{Base: base, Max: o.MaxBackoff},
		kick:       make(chan struct{}, 1),
		loggedErrs: make(map[string]bool),
		abandoned:  make(map[uint64]bool),
		started:    o.Now(),
		mono0:      o.Clock.Mono(),
	}
	e.base = e.started
	e.now = e.readClock
	e.j = &publishing{Journal: o.Journal, e: e, locks: map[uint64]*idLock{}}
	e.life, e.stopLife = context.WithCancelCause(context.Background())
	if err := e.loadConn(); err != nil {
		return nil, err
	}
	return e, nil
}

// loadConn restores the connectivity a previous run kept in the journal:
// an outage that began before a restart still counts from its beginning
// (offline.max_age), and the status bar's last contact and last sync say
// the truth.
func (e *Engine) loadConn() error {
	v, err := e.j.Meta(metaConn)
	if err != nil {
		return fmt.Errorf("sync: read the connectivity kept in the journal: %w", err)
	}
	if v == "" {
		return nil
	}
	var st connState
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		// Only the status bar and the outage clock suffer: start afresh.
		e.log.Warn("the connectivity kept in the journal is unreadable; starting afresh", "err", err)
		return nil
	}
	e.conn.restore(st)
	e.savedConn = v
	if t := later(st.LastContact, st.LastSync); !t.IsZero() {
		e.seen.Store(t.UnixNano())
	}
	return nil
}

// saveConn writes the connectivity to the journal (one small commit) when
// an outage begins or ends and after a sync. Writes are serialised and
// each writes the state as it is then, so the last one wins with the
// latest state.
func (e *Engine) saveConn() {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	b, err := json.Marshal(e.conn.state())
	if err != nil || string(b) == e.savedConn {
		return
	}
	if err := e.j.PutMeta(metaConn, string(b)); err != nil {
		e.logOnce("save connectivity", "could not keep the connectivity in the journal", "err", err)
		return
	}
	e.savedConn = string(b)
}

// maxCodeLen bounds a code: WeChat codes are at most 20 characters; custom
// codes of some merchants run longer, so allow some room.
const maxCodeLen = 64

// maxEncryptCodeLen is WeChat's bound on an encrypt_code.
const maxEncryptCodeLen = 128

// checkCode rejects input that cannot be a code.
func checkCode(code string) error {
	if code == "" {
		return fmt.Errorf("%w: the scan is empty", ErrBadScan)
	}
	if len(code) > maxCodeLen {
		return fmt.Errorf("%w: %d characters is longer than any code (%d at most)", ErrBadScan, len(code), maxCodeLen)
	}
	for _, r := range code {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: it contains a space or control character", ErrBadScan)
		}
	}
	return nil
}

// Redeem runs one scan through the state machine while the cashier waits.
// After the checks that need no WeChat (a bad scan, a duplicate read, a
// code already used here) the scan is journaled as received (invariant 1;
// from then on the journal's one-active-redemption-per-code index makes
// the same code scanned again a duplicate read, invariant 3). Then WeChat
// is queried; when it allows the consume, the consume intent is committed
// (received -> checked -> consuming, one commit) and the consume sent.
// Offline, the policy decides. The error is non-nil only for a bad scan
// (ErrBadScan: nothing journaled), ErrNoShift, the caller's context done
// before an answer (the scan, if journaled, ends rejected with
// ReasonInterrupted and the outcome says so), or a journal failure; every
// answer of WeChat is an Outcome. Request.OnAnswer says when the answer is
// final: on the online path after at most two commits.
func (e *Engine) Redeem(ctx context.Context, r Request) (Outcome, error) {
	ctx, leave, err := e.enter(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem: %w", err)
	}
	defer leave()
	answered := false
	answer := func(o Outcome) {
		if r.OnAnswer != nil && !answered {
			answered = true
			r.OnAnswer(o)
		}
	}
	out, err := e.redeem(ctx, r, answer)
	if err == nil {
		answer(out)
	}
	return out, err
}

func (e *Engine) redeem(ctx context.Context, r Request, answer func(Outcome)) (_ Outcome, err error) {
	r.Code = strings.TrimSpace(r.Code)
	r.CardID = strings.TrimSpace(r.CardID)
	r.EncryptCode = strings.TrimSpace(r.EncryptCode)
	if r.Code == "" && r.EncryptCode == "" {
		return Outcome{}, fmt.Errorf("%w: the scan is empty", ErrBadScan)
	}
	if r.Code != "" {
		if err := checkCode(r.Code); err != nil {
			return Outcome{}, err
		}
	}
	if len(r.EncryptCode) > maxEncryptCodeLen {
		return Outcome{}, fmt.Errorf("%w: the encrypted code has %d characters, longer than WeChat's %d", ErrBadScan, len(r.EncryptCode), maxEncryptCodeLen)
	}
	shift, cashier, err := e.shiftFor(r)
	if err != nil {
		return Outcome{}, err
	}
	now := e.wall() // shown and journaled, not scheduled on
	base := Record{
		CardID: r.CardID, EncryptCode: r.EncryptCode, Source: r.Source, RawScan: r.RawScan,
		Cashier: cashier, ShiftID: shift, Terminal: e.o.Terminal, ReceivedAt: now,
	}
	if r.Code == "" {
		// Without the code there is nothing to journal a redemption of
		// (the active-code index needs it): the decrypt comes first. It
		// changes nothing at WeChat.
		code, out, done, err := e.decryptOnline(ctx, base)
		if done || err != nil {
			return out, err
		}
		r.Code = code
		if err := checkCode(code); err != nil {
			return Outcome{}, fmt.Errorf("decrypted code: %w", err)
		}
	}
	base.Code = r.Code
	if !e.claims.take(r.Code) {
		return Outcome{Kind: Duplicate, Code: r.Code, CardID: r.CardID, Reason: ReasonDuplicateRead,
			ReasonText: "same code just scanned — ignored", At: now}, nil
	}
	defer e.claims.release(r.Code)

	active, prev, err := e.j.Find(r.Code)
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: %w", r.Code, err)
	}
	if active != nil && active.State == StateQueued {
		prev, active = active, nil
	}
	if active != nil && (active.State == StateReceived || active.State == StateChecked) && (active.UpdatedAt.Before(e.started) || e.isAbandoned(active.ID)) {
		// Journaled before this engine started and never answered: the
		// till stopped there (the process that owns the journal file is
		// this one) and Recover has not run yet, as with `cardtill
		// redeem`. Set it aside the way Recover would; this scan goes on.
		if _, err := e.j.Transition(active.ID, active.State, StateRejected, setAside); err != nil && !errors.Is(err, ErrStale) {
			return Outcome{}, fmt.Errorf("redeem %s: set aside an unanswered scan: %w", r.Code, err)
		}
		e.forgetAbandoned(active.ID)
		active = nil
	}
	if active != nil {
		return e.duplicate(*active), nil
	}
	if prev != nil {
		base.State, base.Reason = StateRejected, ReasonUsedHere
		how := "already used here"
		switch prev.State {
		case StateQueued:
			how = "already accepted offline here"
		case StateConflict:
			how = "already honoured here, then refused by WeChat (a conflict for the manager)"
		}
		base.ReasonText = fmt.Sprintf("%s at %s (shift #%d, %s)", how, e.local(prev.usedAt()).Format("2006-01-02 15:04"), prev.ShiftID, prev.Terminal)
		base.CardID = firstNonEmpty(base.CardID, prev.CardID)
		saved, err := e.j.Create(base, StateReceived, StateRejected)
		if err != nil {
			return Outcome{}, fmt.Errorf("redeem %s: %w", r.Code, err)
		}
		out := e.outcome(saved)
		out.Previous = previousOf(*prev)
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		// The caller gave up before anything was journaled.
		return Outcome{}, fmt.Errorf("redeem %s: %w", r.Code, err)
	}

	// Invariant 1: the scan is durable before anything else happens
	// (commit 1 of the cashier's wait).
	base.State = StateReceived
	rec, err := e.j.Create(base, StateReceived)
	if err != nil {
		if errors.Is(err, ErrActive) {
			// Another engine on this journal took the code a moment ago.
			if a, _, ferr := e.j.Find(r.Code); ferr == nil && a != nil {
				return e.duplicate(*a), nil
			}
			return Outcome{Kind: Duplicate, Code: r.Code, CardID: r.CardID, Reason: ReasonDuplicateRead,
				ReasonText: "same code just scanned — ignored", At: now}, nil
		}
		return Outcome{}, fmt.Errorf("redeem %s: %w", r.Code, err)
	}
	defer func() {
		if err != nil {
			// A journal write after the received commit failed (or the
			// caller gave up): if the record is still received or
			// checked, nobody works on it any more; a rescan sets it
			// aside instead of calling it a duplicate read.
			e.abandon(rec.ID)
		}
	}()

	qctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	info, cardID, werr := e.query(qctx, r.Code, r.CardID)
	cancel()
	if werr != nil && ctx.Err() != nil {
		return e.interrupted(ctx, rec)
	}
	st := settle(Settle{Call: CallQuery, Context: Cashier, Info: info, Err: werr, Now: e.now()})
	e.effects(st, werr)
	checked := func(x *Record) {
		x.CardID = firstNonEmpty(cardID, x.CardID)
		x.applyInfo(info)
	}
	switch st.Next {
	case AskPolicy:
		return e.offlineDecision(rec)
	case Commit:
		return e.finish(rec, st.To, func(x *Record) {
			if werr == nil {
				checked(x)
			}
			x.Errcode, x.Reason, x.ReasonText = st.Errcode, st.Reason, st.Text
		})
	}
	checked(&rec)
	title := e.cardTitle(ctx, rec.CardID)
	if r.Confirm != nil {
		probe := e.outcome(rec)
		probe.State, probe.CardTitle = StateChecked, title
		ok, asked := e.confirm(ctx, r.Confirm, probe)
		if !asked {
			// Shutdown (or the caller) ended the wait for the cashier.
			return e.interrupted(ctx, rec, StateChecked)
		}
		if !ok {
			return e.finish(rec, StateRejected, func(x *Record) {
				checked(x)
				x.Reason, x.ReasonText = ReasonCancelled, "cancelled by the cashier before consuming"
			})
		}
	}
	if ctx.Err() != nil {
		// Nobody would see the answer: do not consume.
		return e.interrupted(ctx, rec, StateChecked)
	}
	// The consume intent is durable before the request leaves (invariant
	// 2; commit 2 of the cashier's wait).
	saved, err := e.transition(rec.ID, StateReceived, []State{StateChecked}, StateConsuming, func(x *Record) {
		checked(x)
		x.NextAttempt = e.quietEnd()
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: journal the consume intent: %w", r.Code, err)
	}
	withTitle := func(o Outcome) Outcome {
		o.CardTitle = firstNonEmpty(title, o.CardTitle)
		return o
	}
	out, err := e.consume(context.WithoutCancel(ctx), saved, e.o.Timeout, func(o Outcome) { answer(withTitle(o)) })
	if err != nil {
		return Outcome{}, err
	}
	return withTitle(out), nil
}

// abandon remembers a redemption a scan of this engine left received or
// checked after a failure: nobody works on it, though its code is active.
func (e *Engine) abandon(id uint64) {
	e.mu.Lock()
	e.abandoned[id] = true
	e.mu.Unlock()
}

func (e *Engine) isAbandoned(id uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.abandoned[id]
}

func (e *Engine) forgetAbandoned(id uint64) {
	e.mu.Lock()
	delete(e.abandoned, id)
	e.mu.Unlock()
}

// duplicate is the answer to a scan of a code with an active redemption.
func (e *Engine) duplicate(active Record) Outcome {
	out := e.outcome(active)
	out.Kind, out.Reason, out.ReasonText = Duplicate, ReasonDuplicateRead, "same code just scanned — ignored"
	out.Previous = previousOf(active)
	return out
}

// transition moves a redemption, recording the states of via in its
// history, in one commit.
func (e *Engine) transition(id uint64, from State, via []State, to State, update func(*Record)) (Record, error) {
	if len(via) > 0 {
		return e.j.TransitionVia(id, from, via, to, update)
	}
	return e.j.Transition(id, from, to, update)
}

// finish ends a received redemption that WeChat answered (so it passed
// checked) in state to, and returns what the cashier sees.
func (e *Engine) finish(rec Record, to State, update func(*Record)) (Outcome, error) {
	saved, err := e.transition(rec.ID, StateReceived, []State{StateChecked}, to, update)
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: %w", rec.Code, err)
	}
	return e.outcome(saved), nil
}

// setAside ends a redemption the till never answered.
func setAside(x *Record) {
	x.Reason = ReasonInterrupted
	x.ReasonText = "the till stopped before answering — nothing was consumed, scan again"
}

// interrupted ends a received redemption whose caller gave up before an
// answer: nothing was consumed, and the code is free to scan again.
func (e *Engine) interrupted(ctx context.Context, rec Record, via ...State) (Outcome, error) {
	saved, err := e.transition(rec.ID, StateReceived, via, StateRejected, func(x *Record) {
		x.Reason = ReasonInterrupted
		x.ReasonText = "the scan was abandoned before an answer (" + context.Cause(ctx).Error() + ") — nothing was consumed, scan again"
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: %w (journaling it: %w)", rec.Code, ctxErr(ctx), err)
	}
	return e.outcome(saved), fmt.Errorf("redeem %s: %w", rec.Code, ctxErr(ctx))
}

// ctxErr is ctx's error, and its cause when that says more (ErrClosed:
// Shutdown); errors.Is finds both.
func ctxErr(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil && c != ctx.Err() {
		return fmt.Errorf("%w: %w", ctx.Err(), c)
	}
	return ctx.Err()
}

// decryptOnline turns an encrypt_code into a code. done reports that the
// scan ended here (refused, journaled).
func (e *Engine) decryptOnline(ctx context.Context, base Record) (code string, out Outcome, done bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	code, werr := e.decrypt(dctx, base.EncryptCode)
	cancel()
	if werr == nil {
		return code, Outcome{}, false, nil
	}
	if ctx.Err() != nil {
		return "", Outcome{}, true, fmt.Errorf("redeem: %w", ctx.Err())
	}
	base.State = StateRejected
	switch werr.Kind {
	case WeChatRejected, WeChatConfig:
		base.Errcode, base.Reason = werr.Code, reasonFor(werr)
		if werr.Code == 40075 {
			base.Reason = ReasonInvalidCode
		}
		base.ReasonText = "WeChat cannot read this encrypted code: " + werr.Msg
		if werr.unsent() {
			base.ReasonText = werr.Msg
		}
	default:
		// Without the code nothing can be checked or counted offline.
		base.Reason = ReasonOfflineUnknownCode
		base.ReasonText = "WeChat unreachable: an encrypted code cannot be read offline — ask the customer for the plain code or try again later"
		if werr.Kind == WeChatUnreachable {
			e.lost()
		}
	}
	saved, jerr := e.j.Create(base, StateReceived, StateRejected)
	if jerr != nil {
		return "", Outcome{}, true, fmt.Errorf("redeem: %w", jerr)
	}
	return "", e.outcome(saved), true, nil
}

// offlineDecision asks the offline policy about a received redemption
// whose query did not get WeChat's answer (settle: AskPolicy).
func (e *Engine) offlineDecision(rec Record) (Outcome, error) {
	since := e.conn.outageStart() // WeChat unreachable, or busy, since then
	if since.IsZero() {
		since = e.now()
	}
	cached, err := e.j.CodeStatus(rec.Code)
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: %w", rec.Code, err)
	}
	n, err := e.j.OfflineAccepted(rec.ShiftID)
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: %w", rec.Code, err)
	}
	limit, extra, err := e.shiftLimit(rec.ShiftID)
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: %w", rec.Code, err)
	}
	in := PolicyInput{Now: e.now(), OfflineSince: since, CardID: rec.CardID, AcceptedInShift: n, Overrides: extra, Cached: cached, Code: rec.Code}
	d := e.o.Policy.Decide(in)
	decided := func(d Decision) func(*Record) {
		return func(x *Record) {
			x.Reason, x.ReasonText = d.Reason, d.Text
			if cached != nil {
				x.CardID = firstNonEmpty(x.CardID, cached.CardID)
			}
			if d.Accept {
				x.AcceptedAt = e.wall()
				x.NextAttempt = e.now()
			}
		}
	}
	var saved Record
	if !d.Accept {
		saved, err = e.j.Transition(rec.ID, StateReceived, StateRejected, decided(d))
	} else if e.o.Policy.MaxPerShift >= 0 {
		// The count read above may be stale by now (another scan accepted
		// offline meanwhile): the journal checks the limit again in the
		// commit that accepts, adding the shift's overrides as they are
		// then.
		saved, err = e.j.AcceptOffline(rec.ID, StateReceived, e.o.Policy.MaxPerShift, decided(d))
		if errors.Is(err, ErrOfflineLimit) {
			if in.AcceptedInShift, err = e.j.OfflineAccepted(rec.ShiftID); err != nil {
				return Outcome{}, fmt.Errorf("redeem %s: %w", rec.Code, err)
			}
			if limit, in.Overrides, err = e.shiftLimit(rec.ShiftID); err != nil {
				return Outcome{}, fmt.Errorf("redeem %s: %w", rec.Code, err)
			}
			n = in.AcceptedInShift
			if d = e.o.Policy.Decide(in); d.Accept { // the journal says the limit is reached
				d = Decision{Reason: ReasonOfflineShiftLimit, Text: limitText(n, e.o.Policy.MaxPerShift, in.Overrides)}
			}
			saved, err = e.j.Transition(rec.ID, StateReceived, StateRejected, decided(d))
		}
	} else {
		saved, err = e.j.Transition(rec.ID, StateReceived, StateQueued, decided(d))
	}
	if d.Accept && err == nil {
		n++
	}
	if d.Accept && errors.Is(err, ErrJournalFull) {
		// The size guard: refuse rather than grow the journal past its
		// maximum. A refusal adds no queue work, so the store takes it.
		e.logOnce("journal full", "journal full: offline acceptance refused until it is synced and compacted or [store] max_size_mb is raised", "err", err)
		saved, err = e.j.Transition(rec.ID, StateReceived, StateRejected, func(x *Record) {
			x.Reason = ReasonOfflineJournalFull
			x.ReasonText = "WeChat unreachable and the till's journal is full: offline acceptance stopped"
			if cached != nil {
				x.CardID = firstNonEmpty(x.CardID, cached.CardID)
			}
		})
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: %w", rec.Code, err)
	}
	out := e.outcome(saved)
	out.OfflineInShift, out.MaxPerShift = n, limit
	e.notify()
	return out, nil
}

// consume sends the consume for a record committed as consuming and
// journals the answer. answer, when set, gets the outcome as soon as it is
// final: a confirmed consume, or a lost answer (checking), before the
// commit that records it, since a consuming record found after a crash is
// resolved by a query to the same end. A refusal is answered only once it
// is committed.
func (e *Engine) consume(ctx context.Context, r Record, timeout time.Duration, answer func(Outcome)) (Outcome, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	res, werr := e.consumeCall(cctx, r)
	cancel()
	early := func(to State, update func(*Record)) {
		if answer == nil {
			return
		}
		x := r
		update(&x)
		x.State, x.UpdatedAt = to, e.now()
		answer(e.outcome(x))
	}
	st := settle(Settle{Call: CallConsume, Context: Cashier, Offline: !r.AcceptedAt.IsZero(), Result: res, Err: werr, Now: e.now()})
	e.effects(st, werr)
	update := e.consumeAnswer(st, res)
	if st.Early {
		early(st.To, update)
	}
	next, err := e.j.Transition(r.ID, StateConsuming, st.To, update)
	if err != nil {
		return Outcome{}, fmt.Errorf("redeem %s: journal the consume answer: %w", r.Code, err)
	}
	e.notify()
	return e.outcome(next), nil
}

// effects applies what a settle says of WeChat: an outage ended or
// begun, a request to slow down, a problem to show.
func (e *Engine) effects(st Settlement, w *WeChatError) {
	if st.Reached {
		e.reached()
	}
	if st.Lost {
		e.lost()
	}
	if st.Throttle {
		e.noteThrottle(w)
		if e.conn.busy(e.now()) {
			e.log.Warn("WeChat answers busy or over quota; offline.max_age counts from now", "errcode", w.Code)
			e.saveConn()
			e.notify()
		}
	} else if st.Reached && e.conn.unbusy() {
		e.log.Info("WeChat no longer busy")
		e.saveConn()
		e.notify()
	}
	if st.Problem && w != nil {
		e.logOnce(fmt.Sprintf("problem:%d", w.Code), "WeChat refused for a reason that is not the code's (configuration, or an errcode the till does not know); the code stays as it is and is retried", "errcode", w.Code, "errmsg", w.Msg)
	}
}

// consumeAnswer is the journal change of a settled consume answer.
func (e *Engine) consumeAnswer(st Settlement, res ConsumeResult) func(*Record) {
	return func(x *Record) {
		x.Reason, x.ReasonText, x.Errcode = st.Reason, st.Text, st.Errcode
		if st.To == StateConsumed {
			x.OpenID = firstNonEmpty(res.OpenID, x.OpenID)
			x.CardID = firstNonEmpty(x.CardID, res.CardID)
		}
		if st.To == StateInDoubt || st.To == StateConsuming {
			x.NextAttempt = e.quietEnd()
		}
	}
}

// consumable decides from a check_consume=false query whether to consume,
// and if not, why.
func consumable(info CodeInfo, now time.Time) (bool, Reason, string) {
	if !info.Begin.IsZero() && now.Before(info.Begin) {
		return false, ReasonNotYetValid, "not valid until " + info.Begin.Format(time.DateOnly)
	}
	if info.Status == "NORMAL" && info.CanConsume {
		return true, ReasonNone, ""
	}
	switch info.Status {
	case "NORMAL", "":
		if !info.End.IsZero() && now.After(info.End) {
			return false, ReasonExpired, "expired on " + info.End.Format(time.DateOnly)
		}
		return false, ReasonNotConsumable, "WeChat says this code cannot be consumed now"
	case "EXPIRE":
		t := "expired"
		if !info.End.IsZero() {
			t += " on " + info.End.Format(time.DateOnly)
		}
		return false, ReasonExpired, t
	case "CONSUMED":
		return false, ReasonAlreadyUsed, "already used"
	case "GIFTING":
		return false, ReasonGifting, "being given to a friend — ask the customer to finish or cancel"
	case "GIFT_TIMEOUT":
		return false, ReasonGiftTimeout, "gift timed out — ask the customer to reopen the card"
	case "DELETE":
		return false, ReasonDeleted, "deleted by the customer"
	case "UNAVAILABLE":
		return false, ReasonUnavailable, "not usable (disabled by the merchant)"
	}
	return false, ReasonNotConsumable, "WeChat says " + info.Status
}

func refusalText(w *WeChatError) string {
	if w.unsent() {
		return w.Msg
	}
	switch reasonForErrcode(w.Code) {
	case ReasonAlreadyUsed:
		return "already used"
	case ReasonUnknownCode:
		return "not a coupon of this store"
	case ReasonExpired:
		return "expired or outside its valid time"
	case ReasonUnavailable:
		return "not usable (deleted, given away, expired or disabled)"
	case ReasonConfig:
		return fmt.Sprintf("WeChat refused the request (errcode %d: %s): a configuration problem, not the customer's — the card_id of a custom-code card, the AppID's API permissions or its IP whitelist", w.Code, w.Msg)
	}
	return fmt.Sprintf("WeChat refused (errcode %d: %s)", w.Code, w.Msg)
}

// query asks WeChat about a code (check_consume=false), trying the custom
// code cards when a plain query answers 40056. It returns the card_id that
// worked.
func (e *Engine) query(ctx context.Context, code, cardID string) (CodeInfo, string, *WeChatError) {
	info, werr := e.getCode(ctx, cardID, code)
	if werr == nil {
		return info, firstNonEmpty(info.CardID, cardID), nil
	}
	if werr.Kind == WeChatUnreachable || werr.Kind == WeChatToken {
		return CodeInfo{}, "", werr
	}
	if werr.Code != 40056 || cardID != "" {
		return CodeInfo{}, "", werr
	}
	for _, c := range e.o.CustomCodeCards {
		info, w2 := e.getCode(ctx, c, code)
		if w2 == nil {
			return info, firstNonEmpty(info.CardID, c), nil
		}
		if w2.Code != 40056 {
			return CodeInfo{}, "", w2
		}
	}
	return CodeInfo{}, "", werr
}

// cardTitle returns the card's title from the card cache, asking WeChat
// once when it is missing. Failures only cost the title.
func (e *Engine) cardTitle(ctx context.Context, cardID string) string {
	if cardID == "" {
		return ""
	}
	if t, ok := e.j.CardTitle(cardID); ok {
		return t
	}
	cctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	defer cancel()
	title, werr := e.getCardTitle(cctx, cardID)
	if werr != nil {
		e.logOnce("card title", "could not fetch a card's title", "card_id", cardID, "err", werr.Msg)
		return ""
	}
	if err := e.j.PutCard(cardID, title); err != nil {
		e.log.Warn("card cache", "card_id", cardID, "err", err)
	}
	return title
}

// shiftFor returns the shift a scan belongs to.
func (e *Engine) shiftFor(r Request) (uint64, string, error) {
	if r.ShiftID != 0 {
		return r.ShiftID, r.Cashier, nil
	}
	id, cashier, ok, err := e.j.CurrentShift()
	if err != nil {
		return 0, "", fmt.Errorf("redeem: find the open shift: %w", err)
	}
	if ok {
		return id, firstNonEmpty(r.Cashier, cashier), nil
	}
	if !e.o.OpenShiftOnScan {
		return 0, "", ErrNoShift
	}
	cashier = firstNonEmpty(r.Cashier, e.o.DefaultCashier, e.o.Terminal, "cashier")
	id, err = e.j.OpenShift(cashier, e.now())
	if err != nil {
		return 0, "", fmt.Errorf("redeem: open a shift for %s: %w", cashier, err)
	}
	e.log.Info("shift opened on scan", "shift", id, "cashier", cashier)
	return id, cashier, nil
}

// outcome turns a journaled record into what the cashier sees.
func (e *Engine) outcome(r Record) Outcome {
	out := outcomeOf(r)
	if out.At.IsZero() {
		out.At = e.wall()
	}
	if r.CardID != "" {
		out.CardTitle, _ = e.j.CardTitle(r.CardID)
	}
	return out
}

// outcomeOf is the one mapping from a redemption to the answer it shows
// (its kind by KindOf); At is its last move. The card title is the
// caller's to add.
func outcomeOf(r Record) Outcome {
	return Outcome{
		ID: r.ID, State: r.State, Kind: KindOf(r.State), Code: r.Code, CardID: r.CardID, OpenID: r.OpenID,
		Reason: r.Reason, ReasonText: r.ReasonText, Errcode: r.Errcode, WeChatStatus: r.WeChatStatus,
		ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil, ShiftID: r.ShiftID, At: r.UpdatedAt,
	}
}

// OutcomeOf is a redemption read from the journal as the answer it
// shows, through the same mappings as the engine's own answers (the
// store's record to the engine's, fromStore; the state to the kind,
// KindOf). The card title is the caller's to add.
func OutcomeOf(r store.Redemption) Outcome { return outcomeOf(fromStore(r)) }

// KindOf is what a redemption in state s tells the cashier: the one
// mapping from the journal's states to the answer's kinds (the engine's
// outcomes, its updates, and the screen's lists of the journal use it).
func KindOf(s State) OutcomeKind {
	switch s {
	case StateConsumed:
		return Consumed
	case StateQueued:
		return AcceptedOffline
	case StateInDoubt, StateConsuming:
		return Checking
	case StateConflict:
		return Conflict
	}
	return Refused // rejected; received and checked are never answered as they are
}

func previousOf(r Record) *PreviousUse {
	return &PreviousUse{ID: r.ID, State: r.State, At: r.usedAt(), ShiftID: r.ShiftID, Cashier: r.Cashier, Terminal: r.Terminal}
}

func (e *Engine) local(t time.Time) time.Time { return t.Local() }

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// reached and lost update connectivity; an outage ending kicks the drain.
func (e *Engine) reached() {
	if e.conn.reached(e.now()) {
		e.log.Info("WeChat reachable again")
		e.saveConn()
		e.SyncNow()
		e.notify()
	}
}

func (e *Engine) lost() {
	if e.conn.lost(e.now()) {
		e.log.Warn("WeChat unreachable: offline")
		e.saveConn()
		e.notify()
	}
}

// logOnce logs each distinct problem once.
func (e *Engine) logOnce(key, msg string, args ...any) {
	e.mu.Lock()
	seen := e.loggedErrs[key]
	e.loggedErrs[key] = true
	e.mu.Unlock()
	if !seen {
		e.log.Warn(msg, args...)
	}
}

// Status returns connectivity and queue counters.
func (e *Engine) Status() Status {
	online, since, lastOK, lastSync := e.conn.snapshot()
	s := Status{Online: online, OfflineSince: since, LastContact: lastOK, LastSync: lastSync, MaxPerShift: e.o.Policy.MaxPerShift}
	if b := e.conn.busyFrom(); !b.IsZero() {
		s.WeChatBusy, s.BusySince = true, b
	}
	q, d, c, err := e.j.Counts()
	if err != nil {
		e.logOnce("status counts", "read queue counters", "err", err)
	}
	s.QueueDepth, s.InDoubt, s.Conflicts = q, d, c
	if id, _, ok, err := e.j.CurrentShift(); err == nil && ok {
		s.ShiftID = id
		s.OfflineAcceptedInShift, _ = e.j.OfflineAccepted(id)
		if e.o.Policy.MaxPerShift >= 0 {
			if limit, extra, err := e.shiftLimit(id); err == nil {
				s.MaxPerShift, s.OfflineOverride = limit, extra
			}
		}
	}
	e.mu.Lock()
	s.Syncing, s.TerminalKeyRefused = e.syncing, e.keyRefused
	e.mu.Unlock()
	return s
}

func (e *Engine) notify() {
	if e.o.OnStatus != nil {
		e.o.OnStatus(e.Status())
	}
}

// quietEnd is when a consume sent now may be resolved by a query: after the
// quiet period, plus a margin because the journal stamps the record a
// moment after this is computed.
func (e *Engine) quietEnd() time.Time { return e.now().Add(e.o.QuietPeriod + 100*time.Millisecond) }
