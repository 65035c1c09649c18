package sync

import (
	"errors"
	"fmt"
	"time"
)

// Clock is the engine's time: the time now and its timers. The engine
// reads no other clock and starts no other timer, so a test can move time
// by hand and scheduling can be checked without sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends on C once d has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// systemClock is the PC's clock (now may be Options.Now).
type systemClock struct{ now func() time.Time }

func (c systemClock) Now() time.Time { return c.now() }

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

// clockWentBack reports whether the clock reads earlier than the latest
// time this engine saw (in this run, or kept in the journal by the last
// one), by more than clockSlack; it remembers now.
func (e *Engine) clockWentBack(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	back := !e.seenNow.IsZero() && now.Before(e.seenNow.Add(-clockSlack))
	if now.After(e.seenNow) || back {
		e.seenNow = now
	}
	return back
}

// unskew makes the outbox immune to the clock being set back: when the
// clock went back, or the earliest due time lies beyond the horizon, every
// queued code due further ahead than the horizon is due now, and every
// consume to settle (consuming, in doubt) due beyond it, or last moved "in
// the future", waits one quiet period from now (the transition restarts
// it), never less: the first request cannot still land (invariant 2).
func (e *Engine) unskew() error {
	now := e.now()
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
			ahead = ahead || r.UpdatedAt.After(now.Add(clockSlack))
		}
		if !ahead {
			continue
		}
		due := now
		if r.State != StateQueued {
			due = e.quietEnd()
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
