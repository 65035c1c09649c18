package sync

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"sync/atomic"
	"time"
)

// Feed is the hub's code-status feed, as the engine needs it. The wiring
// adapts hub.Client to it.
type Feed interface {
	Changes(ctx context.Context, cursor string) (FeedPage, error)
}

// FeedPage is one page of code-status changes.
type FeedPage struct {
	Changes []CodeChange
	// Next is the cursor for the next call; More says another page waits.
	Next string
	More bool
}

// CodeChange is one code's new status according to the feed.
type CodeChange struct {
	Code, CardID, Status string
	At                   time.Time
}

// result is what one drain item came to.
type result int

const (
	resSkipped     result = iota // busy elsewhere, or nothing to do yet
	resConsumed                  // consumed
	resConflict                  // conflict
	resRejected                  // rejected (never accepted offline)
	resInDoubt                   // consume answer lost again
	resDeferred                  // will retry later (backoff)
	resUnreachable               // WeChat unreachable: left as it was
)

// SyncNow asks Run to drain at once.
func (e *Engine) SyncNow() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Recover resolves what a previous run left in flight. A received (or
// checked) redemption means the till stopped before the cashier saw an
// answer: the customer may have left without the benefit, so it is never
// consumed later; it ends rejected with ReasonInterrupted, and the code is
// free to scan again. Consuming and in-doubt redemptions whose quiet period
// has passed are resolved now by a query (invariant 2); the others are
// left due at the end of their quiet period for Run. Call it once at
// start-up, before Run and before scans are taken.
func (e *Engine) Recover(ctx context.Context) error {
	ctx, leave, err := e.enter(ctx)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	defer leave()
	e.drainMu.Lock()
	defer e.drainMu.Unlock()
	if err := e.interruptUnanswered(); err != nil {
		return err
	}
	if err := e.unskew(); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	recs, err := e.j.ByState(StateConsuming, StateInDoubt)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	wall := e.wall() // UpdatedAt is the journal's wall time; a run just began
	var ready []Record
	for _, r := range recs {
		if wall.Sub(r.UpdatedAt) >= e.o.QuietPeriod {
			ready = append(ready, r)
			continue
		}
		// Make sure it is due at the end of its quiet period. Only a
		// record without a due time is touched: a transition restarts the
		// quiet period, and restarts must not postpone it forever.
		if r.NextAttempt.IsZero() {
			// The transition itself restarts the quiet period work checks
			// (UpdatedAt), so it is due at the end of the new one: due
			// sooner, it would be skipped on every pass and Run would
			// wake every 10 ms until then. It happens once: the record has
			// a due time afterwards.
			if _, err := e.j.Transition(r.ID, r.State, r.State, func(x *Record) { x.NextAttempt = e.quietEnd() }); err != nil && !errors.Is(err, ErrStale) {
				return fmt.Errorf("recover %d: %w", r.ID, err)
			}
		}
	}
	if len(recs) > 0 {
		e.log.Info("recovering redemptions left in flight", "count", len(recs), "ready", len(ready))
	}
	var rep DrainReport
	e.round(ctx, ready, &rep)
	return ctx.Err()
}

// interruptUnanswered ends the redemptions a previous run journaled but
// never answered (received, checked) as rejected, ReasonInterrupted. A code
// a scan of this engine is working on right now is left alone.
func (e *Engine) interruptUnanswered() error {
	recs, err := e.j.ByState(StateReceived, StateChecked)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	n := 0
	for _, r := range recs {
		if !e.claims.take(r.Code) {
			continue
		}
		_, err := e.j.Transition(r.ID, r.State, StateRejected, setAside)
		e.claims.release(r.Code)
		if err != nil && !errors.Is(err, ErrStale) {
			return fmt.Errorf("recover %d: %w", r.ID, err)
		}
		if err == nil {
			n++
		}
	}
	if n > 0 {
		e.log.Warn("scans the till never answered before it stopped were set aside (rejected, interrupted; nothing consumed)", "count", n)
	}
	return nil
}

// Run drains the outbox every Interval, at once after SyncNow or when
// WeChat becomes reachable again, and sooner when an item falls due; it
// pulls the code-status feed while online. While offline with nothing to
// drain it probes WeChat (WeChat.Ping, backed off: probeWait), since the
// engine hears of WeChat's return only from a call that reached it: a
// till restarted during an outage with an empty queue and no scans said
// "offline" and pulled no feed after WeChat was back. It returns when ctx
// is done.
func (e *Engine) Run(ctx context.Context) error {
	ctx, leave, err := e.enter(ctx)
	if err != nil {
		return nil // shut down already: nothing to run
	}
	defer leave()
	defer e.startWatch(ctx)() // live connectivity while idle (watch.go)
	failures := 0             // consecutive passes that did not reach WeChat
	var probed time.Time
	for {
		rep, err := e.DrainOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.logOnce("drain:"+err.Error(), "drain failed", "err", err)
		}
		online, _, _, _ := e.conn.snapshot()
		if !online && !rep.Offline && (probed.IsZero() || e.now().Sub(probed).Abs() >= probeMin) {
			// No item of this pass asked WeChat: ask it, at most once
			// every probeMin even when passes come quicker.
			probed = e.now()
			online = e.probe(ctx)
			if ctx.Err() != nil {
				return nil
			}
		}
		if online && e.o.Feed != nil {
			if err := e.PullFeed(ctx); err != nil && ctx.Err() == nil {
				e.logOnce("feed:"+err.Error(), "code-status feed", "err", err)
			}
		}
		if rep.Offline || err != nil || !online {
			failures++
		} else {
			if failures > 0 {
				e.log.Info("drain succeeded after failures", "failures", failures)
			}
			failures = 0
		}
		t := e.o.Clock.NewTimer(e.runWait(rep, err != nil, failures))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-e.kick:
			t.Stop()
		case <-t.C():
		}
	}
}

// probe asks WeChat whether it can be reached (WeChat.Ping: no code, no
// card, no quota) and reports whether the engine is online afterwards.
// WeChat answering marks it online, which kicks a drain; a failure leaves
// the outage as it was, counted from its real beginning.
func (e *Engine) probe(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, e.o.SyncTimeout)
	werr := e.ping(pctx)
	cancel()
	switch {
	case werr == nil:
		e.reached()
	case ctx.Err() != nil:
		// Stopping: says nothing of WeChat.
	case werr.Kind == WeChatUnreachable || werr.Kind == WeChatToken || werr.unsent():
		// Still offline. A hub refusing this till's key (unsent) says
		// nothing of WeChat; Status.TerminalKeyRefused shows it.
		e.log.Debug("WeChat still unreachable", "err", werr.Msg)
	default:
		e.reached() // WeChat answered, if only to refuse or say busy
	}
	online, _, _, _ := e.conn.snapshot()
	return online
}

// probeMin is the shortest wait between two probes of WeChat.
const probeMin = 5 * time.Second

// probeWait is how long Run waits after the failures-th pass in a row
// that did not reach WeChat before it probes again: from about the drain
// interval up, doubling, capped by MaxBackoff (jittered as Backoff is),
// never under probeMin.
func (e *Engine) probeWait(failures int) time.Duration {
	b := Backoff{Base: e.o.Interval, Max: e.o.MaxBackoff, Rand: e.backoff.Rand}
	return max(b.Delay(failures, false, false), probeMin)
}

// runWait is how long Run waits after a drain pass: the interval, less
// after failures (backoff), until the throttle ends (at most the interval), or until the next item
// falls due; while offline after a pass that did not ask WeChat, until the
// next probe (probeWait, never under probeMin). An item already due after the pass is one the
// pass could not do (WeChat unreachable, its code busy, the journal
// failing): it waits for the failure backoff, or the backoff's first step,
// not 10 ms, which was a hot loop during an outage that fails fast (a
// query and a status update about 100 times a second).
func (e *Engine) runWait(rep DrainReport, failed bool, failures int) time.Duration {
	wait := e.o.Interval
	offline := rep.Offline || failed
	if offline {
		wait = min(wait, e.backoff.Delay(failures, false, false))
	}
	if online, _, _, _ := e.conn.snapshot(); !online && !rep.Offline {
		// The next pass probes (unless an item falling due asks first).
		wait = max(min(wait, e.probeWait(failures)), probeMin)
	}
	if t := rep.ThrottledUntil; !t.IsZero() {
		// Never past the interval: a throttle computed before the clock
		// moved, or a long quota backoff, must not hold the drain longer.
		return min(max(t.Sub(e.now()), 10*time.Millisecond), e.o.Interval)
	}
	if at, ok, err := e.j.NextDue(); err == nil && ok {
		d := at.Sub(e.now())
		if d <= 0 && offline {
			d = wait
		} else if d <= 0 {
			d = e.backoff.Base
		}
		if d < wait {
			wait = max(d, 10*time.Millisecond)
		}
	}
	return wait
}

// PullFeed copies the hub's code-status changes into the local cache.
func (e *Engine) PullFeed(ctx context.Context) error {
	if e.o.Feed == nil {
		return nil
	}
	cursor, err := e.j.FeedCursor()
	if err != nil {
		return fmt.Errorf("feed cursor: %w", err)
	}
	for range 100 {
		fctx, cancel := context.WithTimeout(ctx, e.o.SyncTimeout)
		page, err := e.o.Feed.Changes(fctx, cursor)
		cancel()
		if err != nil {
			return err
		}
		if err := e.j.PutCodeStatuses(page.Changes, page.Next); err != nil {
			return fmt.Errorf("store feed changes: %w", err)
		}
		cursor = page.Next
		if !page.More {
			break
		}
	}
	return nil
}

// drainBatch is how many due redemptions one round of DrainOnce reads:
// offline a pass ends after Concurrency unreachable items, so each pass
// decodes this many records whatever the backlog (4096 were half of
// the CPU and some 10 MB of the journal's pages of a till at rest with a
// backlog of 166,666, scripts/rss.sh); online the next round reads the
// next batch.
const drainBatch = 256

// DrainOnce works through every item due now, Concurrency at a time, and
// returns when nothing is due, WeChat is unreachable, or ctx is done. One
// item failing never holds up the others.
func (e *Engine) DrainOnce(ctx context.Context) (DrainReport, error) {
	ctx, leave, err := e.enter(ctx)
	if err != nil {
		return DrainReport{}, fmt.Errorf("drain: %w", err)
	}
	defer leave()
	e.drainMu.Lock()
	defer e.drainMu.Unlock()
	e.setSyncing(true)
	defer e.setSyncing(false)
	var rep DrainReport
	if err := e.unskew(); err != nil {
		return rep, fmt.Errorf("drain: %w", err)
	}
	for ctx.Err() == nil {
		items, err := e.j.Due(e.now(), drainBatch)
		if err != nil {
			return rep, fmt.Errorf("drain: %w", err)
		}
		if len(items) == 0 {
			break
		}
		if progressed := e.round(ctx, items, &rep); !progressed || rep.Offline || !rep.ThrottledUntil.IsZero() {
			break
		}
	}
	q, _, _, err := e.j.Counts()
	if err != nil {
		return rep, fmt.Errorf("drain: %w", err)
	}
	rep.Remaining = q
	if !rep.Offline && rep.ThrottledUntil.IsZero() && ctx.Err() == nil {
		e.conn.synced(e.now())
		e.saveConn()
	}
	e.notify()
	return rep, nil
}

func (e *Engine) setSyncing(v bool) {
	e.mu.Lock()
	e.syncing = v
	e.mu.Unlock()
}

// round works items with bounded concurrency. It reports whether any item
// changed state.
func (e *Engine) round(ctx context.Context, items []Record, rep *DrainReport) bool {
	// sem bounds the requests to WeChat in flight (Concurrency); admit
	// bounds the items under way to twice that, since an item gives its
	// slot up while its consume intent commits (slot).
	sem := make(chan struct{}, e.o.Concurrency)
	admit := make(chan struct{}, 2*e.o.Concurrency)
	var (
		wg          stdsync.WaitGroup
		mu          stdsync.Mutex
		progressed  bool
		unreachable atomic.Int32
	)
	for _, it := range items {
		if ctx.Err() != nil || int(unreachable.Load()) >= e.o.Concurrency {
			break
		}
		if t := e.throttledUntil(); !t.IsZero() {
			rep.ThrottledUntil = t
			break
		}
		select {
		case admit <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		sl := &slot{sem: sem}
		if !sl.acquire(ctx) {
			<-admit
			break
		}
		wg.Go(func() {
			// The slot bounds requests to WeChat; the journal writes (the
			// consume intent, the answer) happen outside it, so other
			// items' requests overlap those commits.
			defer func() { <-admit }()
			defer sl.release()
			res := e.work(ctx, it, sl)
			if res == resUnreachable {
				unreachable.Add(1)
			} else if res != resSkipped {
				unreachable.Store(0)
			}
			mu.Lock()
			defer mu.Unlock()
			if res != resSkipped {
				rep.Attempted++
			}
			switch res {
			case resConsumed:
				rep.Consumed++
				progressed = true
			case resConflict:
				rep.Conflicts++
				progressed = true
			case resRejected:
				rep.Rejected++
				progressed = true
			case resInDoubt, resDeferred:
				rep.Deferred++
				progressed = true
			case resUnreachable:
				rep.Deferred++
				rep.Offline = true
			}
		})
	}
	wg.Wait()
	if rep.Offline {
		if online, _, _, _ := e.conn.snapshot(); online {
			rep.Offline = false // it came back during the round
		}
	}
	return progressed
}

// work runs one due item through query-then-consume.
func (e *Engine) work(ctx context.Context, r Record, sl *slot) result {
	if !e.claims.take(r.Code) {
		return resSkipped
	}
	defer e.claims.release(r.Code)
	// r comes from this round's due list; if it moved since, the
	// compare-and-set transitions below fail harmlessly (ErrStale).
	switch r.State {
	case StateQueued:
		return e.workQueued(ctx, r, sl)
	case StateConsuming, StateInDoubt:
		if !e.quietOver(r) {
			return resSkipped
		}
		return e.resolve(ctx, r, sl)
	}
	return resSkipped
}

// throttledUntil returns the end of the pause WeChat asked for (-1, 45011,
// 45009), or zero when the drain may call WeChat.
func (e *Engine) throttledUntil() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.throttleUntil.After(e.now()) {
		return e.throttleUntil
	}
	return time.Time{}
}

// noteThrottle slows the whole drain after WeChat said busy (-1), too
// frequent (45011) or daily quota reached (45009).
func (e *Engine) noteThrottle(w *WeChatError) {
	if w == nil || (w.Kind != WeChatBusy && w.Kind != WeChatQuota) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttleN++
	d := e.backoff.Delay(e.throttleN, true, w.Kind == WeChatQuota)
	if until := e.now().Add(d); until.After(e.throttleUntil) {
		e.throttleUntil = until
	}
}

func (e *Engine) clearThrottle() {
	e.mu.Lock()
	e.throttleN = 0
	e.mu.Unlock()
}

// retry leaves r for a later attempt with backoff (settle: Retry). A
// pass that could not reach WeChat leaves it as it was.
func (e *Engine) retry(r Record, st Settlement, w *WeChatError) result {
	if st.Lost {
		return resUnreachable
	}
	n := r.Attempts + 1
	delay := e.backoff.Delay(n, w.Kind == WeChatBusy, w.Kind == WeChatQuota)
	if st.Problem {
		delay = e.o.MaxBackoff
	}
	_, err := e.j.TransitionBatch(r.ID, r.State, r.State, func(x *Record) {
		x.Attempts = n
		x.NextAttempt = e.now().Add(delay)
		if r.State == StateConsuming || r.State == StateInDoubt {
			// This commit restarts the quiet period that work checks
			// (UpdatedAt): due sooner, it would be skipped on every pass
			// and Run would wake every 10 ms until then.
			x.NextAttempt = later(x.NextAttempt, e.quietEnd())
		}
		x.LastError = fmt.Sprintf("errcode %d: %s", w.Code, w.Msg)
	})
	if err != nil && !errors.Is(err, ErrStale) {
		e.logOnce("defer:"+err.Error(), "drain: journal a retry", "id", r.ID, "err", err)
		// Still due: counted as progress, the pass would ask again at once.
		return resSkipped
	}
	return resDeferred
}

// workQueued drains one queued code: query, then consume.
func (e *Engine) workQueued(ctx context.Context, r Record, sl *slot) result {
	return e.check(ctx, r, Drain, sl)
}

// resolve settles a consuming or in-doubt redemption by a query, once its
// quiet period is over: CONSUMED -> consumed; NORMAL -> consume again;
// anything else -> conflict.
func (e *Engine) resolve(ctx context.Context, r Record, sl *slot) result {
	return e.check(ctx, r, Resolving, sl)
}

// check queries WeChat about a queued (Drain) or lost-consume (Resolving)
// redemption and does what settle says: consume, journal the end, retry.
func (e *Engine) check(ctx context.Context, r Record, c Context, sl *slot) result {
	if !e.throttledUntil().IsZero() {
		return resSkipped
	}
	qctx, cancel := context.WithTimeout(ctx, e.o.SyncTimeout)
	info, cardID, werr := e.query(qctx, r.Code, r.CardID)
	cancel()
	st := settle(Settle{Call: CallQuery, Context: c, Offline: !r.AcceptedAt.IsZero(), Info: info, Err: werr, Stopping: werr != nil && ctx.Err() != nil, Now: e.now()})
	e.effects(st, werr)
	if werr == nil {
		e.clearThrottle()
	}
	if werr != nil && werr.Kind == WeChatRejected && werr.Code == 40099 && c == Resolving {
		info = CodeInfo{Status: "CONSUMED", Begin: r.ValidFrom, End: r.ValidUntil}
	}
	switch st.Next {
	case Leave:
		return resSkipped // the drain is stopping: says nothing of WeChat
	case Retry:
		return e.retry(r, st, werr)
	case ConsumeNext:
		// The intent commit shares a group commit with the other items'
		// (it has no delay: store's group.go), and the slot is given up
		// meanwhile: no request of this item is in flight.
		sl.release()
		next, err := e.j.TransitionBatch(r.ID, r.State, StateConsuming, func(x *Record) {
			if c == Drain {
				x.CardID = firstNonEmpty(cardID, x.CardID)
			}
			x.applyInfo(info)
			x.Attempts++
			x.NextAttempt = e.quietEnd()
		})
		if err != nil {
			return e.journalFailed(r, err)
		}
		if c == Resolving {
			e.log.Info("in-doubt consume resolved: not applied, consuming again", "id", r.ID)
		}
		if !sl.acquire(ctx) {
			// Stopping before the consume left: it stays consuming, which
			// a query settles after the quiet period (invariant 2).
			return resSkipped
		}
		return e.consumeDrain(ctx, next, c == Resolving, sl)
	}
	// Commit: the redemption ends here.
	_, err := e.j.TransitionBatch(r.ID, r.State, st.To, func(x *Record) {
		if werr == nil || st.To == StateConsumed {
			x.applyInfo(info)
		}
		x.Errcode, x.Reason, x.ReasonText = st.Errcode, st.Reason, st.Text
		if st.WeChatStatus != "" {
			x.WeChatStatus = st.WeChatStatus
		}
	})
	if err != nil {
		return e.journalFailed(r, err)
	}
	switch st.To {
	case StateConsumed:
		e.log.Info("in-doubt consume resolved: consumed", "id", r.ID)
		return resConsumed
	case StateRejected:
		return resRejected
	}
	e.log.Info("redemption refused by WeChat after acceptance", "id", r.ID, "state", st.To, "reason", string(st.Reason), "errcode", st.Errcode)
	return resConflict
}

// consumeDrain sends the consume of a committed consuming redemption and
// journals what settle makes of the answer.
func (e *Engine) consumeDrain(ctx context.Context, r Record, resolving bool, sl *slot) result {
	cctx, cancel := context.WithTimeout(ctx, e.o.SyncTimeout)
	res, werr := e.consumeCall(cctx, r)
	cancel()
	sl.release()
	c := Drain
	if resolving {
		c = Resolving
	}
	st := settle(Settle{Call: CallConsume, Context: c, Offline: !r.AcceptedAt.IsZero(), Result: res, Err: werr, Stopping: werr != nil && ctx.Err() != nil, Now: e.now()})
	e.effects(st, werr)
	if _, err := e.j.TransitionBatch(r.ID, StateConsuming, st.To, e.consumeAnswer(st, res)); err != nil {
		return e.journalFailed(r, err)
	}
	switch st.To {
	case StateConsumed:
		return resConsumed
	case StateConflict:
		return resConflict
	case StateRejected:
		return resRejected
	}
	return resInDoubt
}

func (e *Engine) journalFailed(r Record, err error) result {
	if !errors.Is(err, ErrStale) {
		e.logOnce("journal:"+err.Error(), "drain: journal a transition", "id", r.ID, "err", err)
	}
	return resSkipped
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// slot is one of a round's places for a request to WeChat, held by one
// worker goroutine at a time.
type slot struct {
	sem  chan struct{}
	held bool
}

func (s *slot) acquire(ctx context.Context) bool {
	if s.held {
		return true
	}
	select {
	case s.sem <- struct{}{}:
		s.held = true
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *slot) release() {
	if s.held {
		<-s.sem
		s.held = false
	}
}
