package sync

import (
	"math/rand/v2"
	"time"
)

// Backoff computes capped exponential delays with jitter.
type Backoff struct {
	// Base is the first delay (1 s when zero).
	Base time.Duration
	// Max caps every delay (5 min when zero).
	Max time.Duration
	// Rand returns a number in [0,1); math/rand/v2 when nil. Tests fix it.
	Rand func() float64
}

// Delay returns the wait before retry number attempt (1 = first retry).
// slow is set after WeChat said "busy" or "too frequent" (-1, 45011): the
// delay starts 8 times higher. quota (45009, daily quota) waits the maximum.
// The result lies in [d/2, d] for the capped exponential d.
func (b Backoff) Delay(attempt int, slow, quota bool) time.Duration {
	base, maxd := b.Base, b.Max
	if base <= 0 {
		base = time.Second
	}
	if maxd <= 0 {
		maxd = 5 * time.Minute
	}
	if base > maxd {
		base = maxd
	}
	d := maxd
	if !quota {
		if slow {
			base *= 8
		}
		d = base
		for i := 1; i < attempt && d < maxd; i++ {
			d *= 2
		}
		if d > maxd {
			d = maxd
		}
	}
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return d/2 + time.Duration(r()*float64(d/2))
}
