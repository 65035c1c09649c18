package tui

import (
	stdsync "sync"
	"time"

	"cardtill/sync"
)

// engineClock is a sync.Clock the test moves by hand: its timers fire
// when advance passes their time, never by themselves.
type engineClock struct {
	mu     stdsync.Mutex
	now    time.Time
	mono   time.Duration // advance moves it with now
	timers []*engineTimer
}

type engineTimer struct {
	c             chan time.Time
	at            time.Time
	fired, stoppd bool
	clock         *engineClock
}

func (c *engineClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *engineClock) Mono() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *engineClock) NewTimer(d time.Duration) sync.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &engineTimer{c: make(chan time.Time, 1), at: c.now.Add(d), clock: c}
	if d <= 0 {
		t.fired = true
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// advance moves the clock by d and fires the timers it passes.
func (c *engineClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.mono += d
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stoppd || t.fired:
		case !t.at.After(c.now):
			t.fired = true
			t.c <- c.now
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
}

func (t *engineTimer) C() <-chan time.Time { return t.c }

func (t *engineTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.fired && !t.stoppd
	t.stoppd = true
	return was
}
