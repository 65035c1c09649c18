// Package memjournal is an in-memory sync.Journal for `cardtill demo` and
// the till screen's tests: the whole engine contract, nothing durable. It
// must never back a real till (a crash loses everything in it).
package memjournal

import (
	"fmt"
	"slices"
	stdsync "sync"
	"time"

	"cardtill/sync"
)

var activeStates = []string{sync.StateReceived, sync.StateChecked, sync.StateConsuming, sync.StateInDoubt, sync.StateQueued}
var pendingStates = []string{sync.StateConsuming, sync.StateInDoubt, sync.StateQueued}

var _ sync.Journal = (*Journal)(nil)

// Journal keeps the sync.Journal contract in memory.
type Journal struct {
	mu        stdsync.Mutex
	now       func() time.Time
	seq       uint64
	recs      map[uint64]sync.Record
	byCode    map[string][]uint64
	history   map[uint64][]string
	shift     uint64
	lastShift uint64
	cashier   string
	offline   map[uint64]int
	codes     map[string]sync.CachedStatus
	cursor    string
	cards     map[string]string
}

// New returns an empty journal; now stamps UpdatedAt.
func New(now func() time.Time) *Journal {
	return &Journal{now: now, recs: map[uint64]sync.Record{}, byCode: map[string][]uint64{}, history: map[uint64][]string{},
		offline: map[uint64]int{}, codes: map[string]sync.CachedStatus{}, cards: map[string]string{}}
}

func (j *Journal) activeLocked(code string) *sync.Record {
	for _, id := range j.byCode[code] {
		if r := j.recs[id]; slices.Contains(activeStates, r.State) {
			return &r
		}
	}
	return nil
}

func (j *Journal) Find(code string) (active, used *sync.Record, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	active = j.activeLocked(code)
	for _, id := range j.byCode[code] {
		if r := j.recs[id]; (r.State == sync.StateConsumed || r.State == sync.StateQueued) && (used == nil || r.ID > used.ID) {
			used = &r
		}
	}
	return active, used, nil
}

func (j *Journal) Create(r sync.Record, path ...string) (sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(path) == 0 || path[len(path)-1] != r.State {
		return sync.Record{}, fmt.Errorf("create: path %v does not end in %s", path, r.State)
	}
	if slices.Contains(activeStates, r.State) && j.activeLocked(r.Code) != nil {
		return sync.Record{}, sync.ErrActive
	}
	j.seq++
	r.ID = j.seq
	r.UpdatedAt = j.now()
	j.recs[r.ID] = r
	j.byCode[r.Code] = append(j.byCode[r.Code], r.ID)
	j.history[r.ID] = slices.Clone(path)
	if r.State == sync.StateQueued {
		j.offline[r.ShiftID]++
	}
	return r, nil
}

func (j *Journal) Transition(id uint64, from, to string, update func(*sync.Record)) (sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.recs[id]
	if !ok {
		return sync.Record{}, fmt.Errorf("redemption %d not found", id)
	}
	if r.State != from {
		return sync.Record{}, sync.ErrStale
	}
	if update != nil {
		update(&r)
	}
	r.ID, r.State, r.UpdatedAt = id, to, j.now()
	j.recs[id] = r
	j.history[id] = append(j.history[id], to)
	return r, nil
}

func (j *Journal) TransitionBatch(id uint64, from, to string, update func(*sync.Record)) (sync.Record, error) {
	return j.Transition(id, from, to, update)
}

func (j *Journal) Get(id uint64) (sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.recs[id]
	if !ok {
		return sync.Record{}, fmt.Errorf("redemption %d not found", id)
	}
	return r, nil
}

func (j *Journal) pendingLocked() []sync.Record {
	var out []sync.Record
	for _, r := range j.recs {
		if slices.Contains(pendingStates, r.State) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b sync.Record) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return int(a.ID) - int(b.ID)
	})
	return out
}

func (j *Journal) Due(now time.Time, limit int) ([]sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []sync.Record
	for _, r := range j.pendingLocked() {
		if r.NextAttempt.After(now) || len(out) >= limit {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

func (j *Journal) NextDue() (time.Time, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.pendingLocked()
	if len(p) == 0 {
		return time.Time{}, false, nil
	}
	return p[0].NextAttempt, true, nil
}

func (j *Journal) ByState(states ...string) ([]sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []sync.Record
	for _, r := range j.recs {
		if slices.Contains(states, r.State) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (j *Journal) Counts() (pending, inDoubt, conflicts int, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range j.recs {
		switch r.State {
		case sync.StateQueued, sync.StateConsuming:
			pending++
		case sync.StateInDoubt:
			pending++
			inDoubt++
		case sync.StateConflict:
			conflicts++
		}
	}
	return pending, inDoubt, conflicts, nil
}

func (j *Journal) CurrentShift() (uint64, string, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.shift, j.cashier, j.shift != 0, nil
}

func (j *Journal) OpenShift(cashier string, _ time.Time) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.shift != 0 {
		return 0, fmt.Errorf("shift %d is already open", j.shift)
	}
	j.lastShift = j.nextShift()
	j.shift = j.lastShift
	j.cashier = cashier
	return j.shift, nil
}

// CloseShift closes shift id (the demo keeps no shift summary).
func (j *Journal) CloseShift(id uint64, _ time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.shift != id || id == 0 {
		return fmt.Errorf("shift %d is not open", id)
	}
	j.shift, j.cashier = 0, ""
	return nil
}

// CurrentShiftID is the open shift, 0 when none (for the shift counter).
func (j *Journal) nextShift() uint64 { return j.lastShift + 1 }

func (j *Journal) OfflineAccepted(shiftID uint64) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.offline[shiftID], nil
}

func (j *Journal) CodeStatus(code string) (*sync.CachedStatus, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c, ok := j.codes[code]
	if !ok {
		return nil, nil
	}
	return &c, nil
}

func (j *Journal) PutCodeStatuses(changes []sync.CodeChange, cursor string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range changes {
		j.codes[c.Code] = sync.CachedStatus{Status: c.Status, CardID: c.CardID, At: c.At}
	}
	j.cursor = cursor
	return nil
}

func (j *Journal) FeedCursor() (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cursor, nil
}

func (j *Journal) CardTitle(cardID string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	t, ok := j.cards[cardID]
	return t, ok
}

func (j *Journal) PutCard(cardID, title string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cards[cardID] = title
	return nil
}
