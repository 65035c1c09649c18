package sync

import (
	"errors"
	"fmt"
	"time"
)

// Clock is the engine's time: the PC's clock, a monotonic reading and
// timers. The engine reads no other clock and starts no other timer, so a
// test can move time by hand and scheduling can be checked without
// sleeping.
//
// Within a run the engine schedules on the monotonic reading (Mono) from
// the wall time it started at (see Engine.now): due times, the quiet
// period, backoff, throttling and the offline age are immune to the PC's
// clock being set back or forward while it runs. The wall time (Now) is
// read for what is shown (an answer's time, an offline acceptance) and is
// the new base at the next start, where due times kept in the journal are
// checked against it (unskew).
type Clock interface {
	// Now is the PC's clock; it may jump when the clock is set.
	Now() time.Time
	// Mono is a monotonic reading: only the difference of two readings
	// means anything (the time that passed), and it never jumps when the
	// PC's clock is set.
	Mono() time.Duration
	// NewTimer returns a timer that sends on C once d has passed (on the
	// monotonic reading).
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// systemClock is the PC's clock (now may be Options.Now). Its monotonic
// reading is the time passed since it was made: with time.Now, Go's
// monotonic clock (time.Time.Sub uses it); with an injected Now, that
// function's own differences.
type systemClock struct {
	now    func() time.Time
	origin time.Time
}

func newSystemClock(now func() time.Time) systemClock { return systemClock{now, now()} }

func (c systemClock) Now() time.Time      { return c.now() }
func (c systemClock) Mono() time.Duration { return c.now().Sub(c.origin) }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

// clockSlack is how far the clock may step back (NTP slewing, a second's
// correction) before the engine takes it for the PC's clock set back.
const clockSlack = time.Minute

// horizon is the furthest ahead the engine ever schedules a redemption
// (the longest backoff after the quiet period); a due time beyond it was
// set by a clock that has since gone back.
func (e *Engine) horizon() time.Duration { return e.o.MaxBackoff + e.o.QuietPeriod + clockSlack }

// readClock is the engine's time now: the wall time it started at plus the
// monotonic time passed since, so it never jumps within a run whatever the
// PC's clock does. Due times, quiet periods, backoff and throttles are set
// and compared on it. It keeps the latest it read.
func (e *Engine) readClock() time.Time {
	now := e.base.Add(e.o.Clock.Mono() - e.mono0)
	n := now.UnixNano()
	for {
		old := e.seen.Load()
		if n <= old || e.seen.CompareAndSwap(old, n) {
			return now
		}
	}
}

// clockWentBack reports whether the clock reads earlier than the latest
// time this engine saw (in this run, or kept in the journal by the last
// one) by more than clockSlack; the latest seen becomes now then, so one
// step back is handled once.
func (e *Engine) clockWentBack(now time.Time) bool {
	old := e.seen.Load()
	if old == 0 || !now.Before(time.Unix(0, old).Add(-clockSlack)) {
		return false
	}
	e.seen.Store(now.UnixNano())
	return true
}

// unskew makes the outbox immune to the clock being set back: when the
// clock reads earlier than the latest time the engine saw, every queued
// code due further ahead than the horizon is due now, and every consume to
// settle (consuming, in doubt) due beyond it, or last moved "in the
// future", waits one quiet period from now (the transition restarts it),
// never less: the first request cannot still land (invariant 2). When only
// the earliest due time lies beyond the horizon (a journal from elsewhere,
// a clock set back before the engine saw any time), due times beyond it
// are capped at it.
func (e *Engine) unskew() error {
	now := e.now()
	wall := e.wall() // UpdatedAt is the journal's wall time
	back := e.clockWentBack(now)
	if !back {
		at, ok, err := e.j.NextDue()
		if err != nil || !ok || at.Sub(now) <= e.horizon() {
			return err
		}
	}
	recs, err := e.j.ByState(StateQueued, StateConsuming, StateInDoubt)
	if err != nil {
		return fmt.Errorf("clock set back: %w", err)
	}
	limit := now.Add(e.horizon())
	n := 0
	for _, r := range recs {
		ahead := r.NextAttempt.After(limit)
		if r.State != StateQueued {
			ahead = ahead || r.UpdatedAt.After(wall.Add(clockSlack))
		}
		if !ahead {
			continue
		}
		// The clock seen going back: a queued code is due now (nothing was
		// sent), a consume to settle after a whole quiet period from now.
		// Without that evidence, a due time beyond the horizon is capped
		// at it.
		due := limit
		switch {
		case r.State != StateQueued && (back || r.UpdatedAt.After(wall.Add(clockSlack))):
			due = e.quietEnd()
		case back:
			due = now
		}
		if _, err := e.j.TransitionBatch(r.ID, r.State, r.State, func(x *Record) { x.NextAttempt = due }); err != nil && !errors.Is(err, ErrStale) {
			return fmt.Errorf("clock set back: reschedule %d: %w", r.ID, err)
		}
		n++
	}
	if n > 0 {
		e.log.Warn("the PC's clock was set back: redemptions scheduled by the later time are due again", "count", n, "now", now)
	}
	return nil
}

// wall is the PC's clock now: for what is shown (an answer's time, an
// offline acceptance) and to compare with the journal's own stamps
// (UpdatedAt), never to schedule.
func (e *Engine) wall() time.Time { return e.o.Clock.Now() }

// quietOver reports whether r's quiet period is over: its due time (set on
// the engine's monotonic time by the commit that began it) has come, and
// the journal's stamp of its last move (wall time) is a quiet period old.
// A stamp later than the PC's clock (the clock set back since) says
// nothing, and the due time alone decides; so a clock set forward cannot
// end a quiet period early and one set back cannot hold it.
func (e *Engine) quietOver(r Record) bool {
	if r.NextAttempt.After(e.now()) {
		return false
	}
	age := e.wall().Sub(r.UpdatedAt)
	return age < 0 || age >= e.o.QuietPeriod
}
