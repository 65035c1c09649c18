package sync

import (
	stdsync "sync"
	"time"
)

// connectivity tracks whether WeChat answers. Any answer (even a refusal)
// means online; a network error, timeout or 5xx means offline from the first
// failure on.
type connectivity struct {
	mu           stdsync.Mutex
	online       bool
	offlineSince time.Time
	lastOK       time.Time // last answer from WeChat
	lastSync     time.Time // last drain that left nothing due
	// busySince is WeChat's first busy or over-quota answer (-1, 45009,
	// 45011) since it last answered otherwise: offline.max_age counts from
	// it as from an outage's start.
	busySince time.Time
}

func newConnectivity() *connectivity { return &connectivity{online: true} }

// reached records an answer from WeChat; it reports whether this ended an
// outage.
func (c *connectivity) reached(now time.Time) (back bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	back = !c.online
	c.online = true
	c.offlineSince = time.Time{}
	c.lastOK = now
	return back
}

// lost records a failure to reach WeChat; it reports whether this began an
// outage.
func (c *connectivity) lost(now time.Time) (began bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.online || c.offlineSince.IsZero() {
		c.online = false
		c.offlineSince = now
		return true
	}
	return false
}

// busy records a busy or over-quota answer; it reports whether WeChat
// began being busy.
func (c *connectivity) busy(now time.Time) (began bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busySince.IsZero() {
		c.busySince = now
		return true
	}
	return false
}

// unbusy records an answer of WeChat that was not busy; it reports whether
// that ended a busy spell.
func (c *connectivity) unbusy() (ended bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ended = !c.busySince.IsZero()
	c.busySince = time.Time{}
	return ended
}

// outageStart is when the offline policy's clock (offline.max_age) began:
// the outage's start, else the first busy answer; zero when WeChat answers.
func (c *connectivity) outageStart() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.online {
		return c.offlineSince
	}
	return c.busySince
}

func (c *connectivity) busyFrom() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busySince
}

// restore sets what a previous run left: an outage that had not ended
// when it stopped goes on (offline since then), so offline.max_age counts
// from its real beginning.
func (c *connectivity) restore(st connState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !st.OfflineSince.IsZero() {
		c.online, c.offlineSince = false, st.OfflineSince
	}
	c.lastOK, c.lastSync, c.busySince = st.LastContact, st.LastSync, st.BusySince
}

// connState is the connectivity kept in the journal across restarts.
type connState struct {
	OfflineSince time.Time `json:"offline_since,omitzero"`
	LastContact  time.Time `json:"last_contact,omitzero"`
	LastSync     time.Time `json:"last_sync,omitzero"`
	BusySince    time.Time `json:"busy_since,omitzero"`
}

func (c *connectivity) state() connState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := connState{LastContact: c.lastOK, LastSync: c.lastSync, BusySince: c.busySince}
	if !c.online {
		st.OfflineSince = c.offlineSince
	}
	return st
}

func (c *connectivity) synced(now time.Time) {
	c.mu.Lock()
	c.lastSync = now
	c.mu.Unlock()
}

func (c *connectivity) snapshot() (online bool, since, lastOK, lastSync time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online, c.offlineSince, c.lastOK, c.lastSync
}

// claims holds the codes being worked on in this process right now, so two
// goroutines never run the same code at once (invariant 3 before the journal
// has a record).
type claims struct {
	mu stdsync.Mutex
	m  map[string]struct{}
}

func (c *claims) take(code string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]struct{})
	}
	if _, busy := c.m[code]; busy {
		return false
	}
	c.m[code] = struct{}{}
	return true
}

func (c *claims) release(code string) {
	c.mu.Lock()
	delete(c.m, code)
	c.mu.Unlock()
}
