package tui

import (
	"time"

	"cardtill/sync"
)

// Double reads. Scanners read twice: the same code again within the
// repeat window ([ui] repeat_window, DefaultRepeatWindow) of this till's
// answer shows that answer again, marked "read twice": no bell, no new
// refusal counted, nothing sent to the engine (so nothing journaled). A code
// still being checked stays on its "checking" panel, marked the same way.
// After the window the engine answers as for any scan (a code used here is
// refused, "already redeemed at this till").

// DefaultRepeatWindow is how long after an answer the same code is taken
// for a double read.
const DefaultRepeatWindow = 5 * time.Second

// repeats remembers this session's latest answer per code for the window,
// and the codes being redeemed now.
type repeats struct {
	window time.Duration
	last   map[string]answered
	flying map[string]int
}

type answered struct {
	out sync.Outcome
	at  time.Time
}

// answer records the screen's answer for a code at now, and forgets the
// answers older than the window.
func (r *repeats) answer(code string, out sync.Outcome, now time.Time) {
	if r.last == nil {
		r.last = map[string]answered{}
	}
	if len(r.last) >= 32 { // a few answers a second at most: prune now and then
		for c, a := range r.last {
			if now.Sub(a.at) > r.window || now.Before(a.at) {
				delete(r.last, c)
			}
		}
	}
	r.last[code] = answered{out: out, at: now}
}

func (r *repeats) start(code string) {
	if r.flying == nil {
		r.flying = map[string]int{}
	}
	r.flying[code]++
}

func (r *repeats) done(code string) {
	if r.flying[code]--; r.flying[code] <= 0 {
		delete(r.flying, code)
	}
}

// repeatRead shows a double read of code, if it is one, and reports
// whether it was.
func (m Model) repeatRead(code string) (Model, bool) {
	now := m.o.Now()
	if m.repeats.flying[code] > 0 {
		if !(m.result.working && m.result.code == code) {
			m.result = resultPanel{working: true, code: code, at: now, shown: true}
		}
		m.result.repeat = true
		return m, true
	}
	a, ok := m.repeats.last[code]
	if !ok || now.Sub(a.at) > m.repeats.window || now.Before(a.at) {
		return m, false
	}
	m.result = resultPanel{out: a.out, code: code, at: a.at, shown: true, repeat: true, since: now}
	return m, true
}
