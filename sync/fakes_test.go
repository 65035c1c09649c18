package sync_test

// Test doubles for the engine's two dependencies, for the fast tests that
// move a clock by hand, kill the "process" at any commit and inject faults
// at any call (store_test.go and wechattest_test.go run the engine on the
// real bbolt journal and the fake WeChat over loopback HTTP). They keep the
// same contracts (compare-and-set transitions, one active redemption per
// code, a WeChat that applies a consume at most once per code and can lose
// answers).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"cardtill/store"
	"cardtill/sync"
)

// clock is an injected clock tests move by hand, with timers that fire
// when Advance passes their time (sync.Clock).
type clock struct {
	mu     stdsync.Mutex
	t      time.Time     // the PC's clock (Now)
	mono   time.Duration // the monotonic reading (Mono): Advance moves it, Jump does not
	timers []*fakeTimer
	// started, when set, receives the duration of every timer started.
	started chan time.Duration
}

type fakeTimer struct {
	c       chan time.Time
	at      time.Duration // on the monotonic reading
	stopped bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *clock) NewTimer(d time.Duration) sync.Timer {
	c.mu.Lock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.mono + d}
	c.timers = append(c.timers, t)
	started := c.started
	c.mu.Unlock()
	if started != nil {
		started <- d
	}
	return t
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Mono is the monotonic reading.
func (c *clock) Mono() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

// Jump sets the PC's clock by d (back when negative) without any time
// passing: the monotonic reading and the timers stay.
func (c *clock) Jump(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Advance lets d pass: the PC's clock and the monotonic reading move, and
// the timers due fire. A negative d moves both back (a clock that only an
// injected Now can be: the engine copes with it too).
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mono += d
	keep := c.timers[:0]
	for _, t := range c.timers {
		if !t.stopped && t.at <= c.mono {
			t.stopped = true
			t.c <- c.t
			continue
		}
		if !t.stopped {
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
}

var activeStates = []sync.State{sync.StateReceived, sync.StateChecked, sync.StateConsuming, sync.StateInDoubt, sync.StateQueued}
var pendingStates = []sync.State{sync.StateConsuming, sync.StateInDoubt, sync.StateQueued}

// memJournal keeps the whole Journal contract in
// memory and counts commits.
type memJournal struct {
	mu      stdsync.Mutex
	now     func() time.Time
	seq     uint64
	recs    map[uint64]sync.Record
	byCode  map[string][]uint64
	history map[uint64][]sync.State
	shift   uint64
	cashier string
	offline map[uint64]int
	// overrides are the managers' overrides by shift.
	overrides map[uint64][]sync.Override
	codes     map[string]sync.CachedStatus
	cursor    string
	cards     map[string]string
	meta      map[string]string
	commits   atomic.Int64
	dues      atomic.Int64 // calls of Due: drain passes
	dueRead   atomic.Int64 // records Due returned
	// killAt, when > 0, makes every write fail once commits reach it: the
	// process "died" there. onKill runs once when that happens.
	killAt int64
	onKill func()
}

var errKilled = errors.New("journal: process killed")

// dead reports (under mu) whether writes fail now.
func (j *memJournal) deadLocked() bool {
	if j.killAt > 0 && j.commits.Load() >= j.killAt {
		if j.onKill != nil {
			j.onKill()
			j.onKill = nil
		}
		return true
	}
	return false
}

// restart simulates a new process on the same file.
func (j *memJournal) restart() {
	j.mu.Lock()
	j.killAt, j.onKill = 0, nil
	j.mu.Unlock()
}

func newMemJournal(now func() time.Time) *memJournal {
	return &memJournal{now: now, recs: map[uint64]sync.Record{}, byCode: map[string][]uint64{}, history: map[uint64][]sync.State{},
		offline: map[uint64]int{}, overrides: map[uint64][]sync.Override{}, codes: map[string]sync.CachedStatus{}, cards: map[string]string{}, meta: map[string]string{}}
}

func (j *memJournal) activeLocked(code string) *sync.Record {
	for _, id := range j.byCode[code] {
		if r := j.recs[id]; slices.Contains(activeStates, r.State) {
			return &r
		}
	}
	return nil
}

func (j *memJournal) Find(code string) (active, used *sync.Record, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	active = j.activeLocked(code)
	for _, id := range j.byCode[code] {
		if r := j.recs[id]; (r.State == sync.StateConsumed || r.State == sync.StateQueued || r.State == sync.StateConflict) && (used == nil || r.ID > used.ID) {
			used = &r
		}
	}
	return active, used, nil
}

func (j *memJournal) Create(r sync.Record, path ...sync.State) (sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.deadLocked() {
		return sync.Record{}, errKilled
	}
	if len(path) == 0 || path[len(path)-1] != r.State {
		return sync.Record{}, fmt.Errorf("create: path %v does not end in %s", path, r.State)
	}
	if err := walk(0, store.None, path); err != nil {
		return sync.Record{}, err
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
	j.commits.Add(1)
	return r, nil
}

func (j *memJournal) Transition(id uint64, from, to sync.State, update func(*sync.Record)) (sync.Record, error) {
	return j.TransitionVia(id, from, nil, to, update)
}

func (j *memJournal) TransitionVia(id uint64, from sync.State, via []sync.State, to sync.State, update func(*sync.Record)) (sync.Record, error) {
	return j.move(id, from, via, to, update, -1)
}

// move is TransitionVia; with maxOffline >= 0 it fails with
// ErrOfflineLimit when the shift counts that many offline acceptances.
func (j *memJournal) move(id uint64, from sync.State, via []sync.State, to sync.State, update func(*sync.Record), maxOffline int) (sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.deadLocked() {
		return sync.Record{}, errKilled
	}
	if err := walk(id, from, append(slices.Clone(via), to)); err != nil {
		return sync.Record{}, err
	}
	r, ok := j.recs[id]
	if !ok {
		return sync.Record{}, fmt.Errorf("redemption %d not found", id)
	}
	if r.State != from {
		return sync.Record{}, sync.ErrStale
	}
	if maxOffline >= 0 {
		for _, o := range j.overrides[r.ShiftID] {
			maxOffline += o.Extra
		}
		if j.offline[r.ShiftID] >= maxOffline {
			return sync.Record{}, fmt.Errorf("%w (shift #%d has %d, at most %d)", sync.ErrOfflineLimit, r.ShiftID, j.offline[r.ShiftID], maxOffline)
		}
	}
	if update != nil {
		update(&r)
	}
	if to == sync.StateQueued && from != sync.StateQueued {
		j.offline[r.ShiftID]++
	}
	r.ID, r.State, r.UpdatedAt = id, to, j.now()
	j.recs[id] = r
	j.history[id] = append(append(j.history[id], via...), to)
	j.commits.Add(1)
	return r, nil
}

// walk checks each step of a move against the state machine's table, as
// the real journal does.
func walk(id uint64, from sync.State, steps []sync.State) error {
	for _, s := range steps {
		if !store.Allowed(from, s) {
			return &store.MoveError{ID: id, From: from, To: s}
		}
		from = s
	}
	return nil
}

func (j *memJournal) TransitionBatch(id uint64, from, to sync.State, update func(*sync.Record)) (sync.Record, error) {
	return j.Transition(id, from, to, update)
}

func (j *memJournal) Get(id uint64) (sync.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.recs[id]
	if !ok {
		return sync.Record{}, fmt.Errorf("redemption %d not found", id)
	}
	return r, nil
}

func (j *memJournal) pendingLocked() []sync.Record {
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

func (j *memJournal) Due(now time.Time, limit int) ([]sync.Record, error) {
	j.dues.Add(1)
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []sync.Record
	for _, r := range j.pendingLocked() {
		if r.NextAttempt.After(now) || len(out) >= limit {
			break
		}
		out = append(out, r)
	}
	j.dueRead.Add(int64(len(out)))
	return out, nil
}

func (j *memJournal) NextDue() (time.Time, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.pendingLocked()
	if len(p) == 0 {
		return time.Time{}, false, nil
	}
	return p[0].NextAttempt, true, nil
}

func (j *memJournal) ByState(states ...sync.State) ([]sync.Record, error) {
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

func (j *memJournal) Counts() (pending, inDoubt, conflicts int, err error) {
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

func (j *memJournal) CurrentShift() (uint64, string, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.shift, j.cashier, j.shift != 0, nil
}

func (j *memJournal) OpenShift(cashier string, _ time.Time) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.shift++
	j.cashier = cashier
	j.commits.Add(1)
	return j.shift, nil
}

func (j *memJournal) OfflineAccepted(shiftID uint64) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.offline[shiftID], nil
}

func (j *memJournal) CodeStatus(code string) (*sync.CachedStatus, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c, ok := j.codes[code]
	if !ok {
		return nil, nil
	}
	return &c, nil
}

func (j *memJournal) PutCodeStatuses(changes []sync.CodeChange, cursor string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range changes {
		j.codes[c.Code] = sync.CachedStatus{Status: c.Status, CardID: c.CardID, At: c.At}
	}
	j.cursor = cursor
	j.commits.Add(1)
	return nil
}

func (j *memJournal) FeedCursor() (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cursor, nil
}

func (j *memJournal) CardTitle(cardID string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	t, ok := j.cards[cardID]
	return t, ok
}

func (j *memJournal) PutCard(cardID, title string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cards[cardID] = title
	j.commits.Add(1)
	return nil
}

func (j *memJournal) Meta(key string) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.meta[key], nil
}

func (j *memJournal) PutMeta(key, value string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.deadLocked() {
		return errKilled
	}
	if value == "" {
		delete(j.meta, key)
	} else {
		j.meta[key] = value
	}
	j.commits.Add(1)
	return nil
}

// records returns every redemption of code.
func (j *memJournal) records(code string) []sync.Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []sync.Record
	for _, r := range j.recs {
		if r.Code == code {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b sync.Record) int { return int(a.ID) - int(b.ID) })
	return out
}

// Faults the fake WeChat injects, one call each.
type fault int

const (
	noFault       fault = iota
	faultLatency        // answer only after the caller's timeout (applied late)
	fault5xx            // HTTP 5xx, not applied
	faultBusy           // errcode -1, not applied
	faultQuota          // errcode 45009, not applied
	faultDropPre        // connection lost before WeChat applied it
	faultDropPost       // applied, then the answer was lost
	faultToken          // no token could be had (after the client's retry)
)

var faultNames = map[fault]string{faultLatency: "latency", fault5xx: "5xx", faultBusy: "busy-1", faultQuota: "quota45009",
	faultDropPre: "drop-before-apply", faultDropPost: "drop-after-apply", faultToken: "token"}

type fakeCode struct {
	cardID, openid, status string
	custom                 bool
	begin, end             time.Time
}

// fakeWeChat keeps codes and counts every consume it applies.
type fakeWeChat struct {
	mu       stdsync.Mutex
	codes    map[string]*fakeCode
	enc      map[string]string // encrypt_code -> code
	applied  map[string]int
	faults   map[string][]fault // op -> queued one-shot faults ("get", "consume", "decrypt", "card", "any")
	calls    map[string]int
	latency  time.Duration
	down     bool // every call fails as unreachable
	cardHits atomic.Int64
	// hook, when set, runs at the start of every call (after its fault is
	// taken), outside the lock: a test holds a call there.
	hook func(ctx context.Context, op string)
}

func newFakeWeChat() *fakeWeChat {
	return &fakeWeChat{codes: map[string]*fakeCode{}, enc: map[string]string{}, applied: map[string]int{},
		faults: map[string][]fault{}, calls: map[string]int{}}
}

func (f *fakeWeChat) add(code, cardID string) {
	f.mu.Lock()
	f.codes[code] = &fakeCode{cardID: cardID, openid: "o" + code, status: "NORMAL"}
	f.mu.Unlock()
}

func (f *fakeWeChat) set(code string, mod func(*fakeCode)) {
	f.mu.Lock()
	mod(f.codes[code])
	f.mu.Unlock()
}

func (f *fakeWeChat) inject(op string, fs ...fault) {
	f.mu.Lock()
	f.faults[op] = append(f.faults[op], fs...)
	f.mu.Unlock()
}

func (f *fakeWeChat) setDown(v bool) {
	f.mu.Lock()
	f.down = v
	f.mu.Unlock()
}

func (f *fakeWeChat) consumed(code string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied[code]
}

var errNet = errors.New("dial tcp 127.0.0.1:1: connection refused")

// begin takes the call's fault and waits the configured latency.
func (f *fakeWeChat) begin(ctx context.Context, op string) (fault, error) {
	f.mu.Lock()
	f.calls[op]++
	var ft fault
	for _, key := range []string{"any", op} {
		if q := f.faults[key]; len(q) > 0 && ft == noFault {
			ft, f.faults[key] = q[0], q[1:]
		}
	}
	down, lat, hook := f.down, f.latency, f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(ctx, op)
	}
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return noFault, &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: "timeout", Err: ctx.Err()}
		}
	}
	if down {
		return noFault, &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: errNet.Error(), Err: errNet}
	}
	switch ft {
	case fault5xx:
		return ft, &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: "HTTP 502 Bad Gateway"}
	case faultBusy:
		return ft, &sync.WeChatError{Kind: sync.WeChatBusy, Code: -1, Msg: "system error"}
	case faultQuota:
		return ft, &sync.WeChatError{Kind: sync.WeChatQuota, Code: 45009, Msg: "reach max api daily quota limit"}
	case faultDropPre:
		return ft, &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: "connection reset by peer"}
	case faultToken:
		return ft, &sync.WeChatError{Kind: sync.WeChatToken, Code: 42001, Msg: "access_token expired"}
	}
	return ft, nil
}

// end applies the latency-past-timeout and drop-after faults.
func (f *fakeWeChat) end(ctx context.Context, ft fault) error {
	switch ft {
	case faultLatency:
		<-ctx.Done()
		return &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: "context deadline exceeded", Err: ctx.Err()}
	case faultDropPost:
		return &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: "unexpected EOF"}
	}
	return nil
}

func (f *fakeWeChat) lookup(cardID, code string) (*fakeCode, error) {
	c, ok := f.codes[code]
	if !ok || (c.custom && cardID != c.cardID) || (cardID != "" && cardID != c.cardID) {
		return nil, &sync.WeChatError{Kind: sync.WeChatRejected, Code: 40056, Msg: "invalid serial code"}
	}
	return c, nil
}

func (f *fakeWeChat) GetCode(ctx context.Context, cardID, code string) (sync.CodeInfo, error) {
	ft, err := f.begin(ctx, "get")
	if err != nil {
		return sync.CodeInfo{}, err
	}
	f.mu.Lock()
	c, err := f.lookup(cardID, code)
	var info sync.CodeInfo
	if err == nil {
		info = sync.CodeInfo{CardID: c.cardID, OpenID: c.openid, Status: c.status, CanConsume: c.status == "NORMAL", Begin: c.begin, End: c.end}
	}
	f.mu.Unlock()
	if e := f.end(ctx, ft); e != nil {
		return sync.CodeInfo{}, e
	}
	return info, err
}

func (f *fakeWeChat) Consume(ctx context.Context, cardID, code string) (sync.ConsumeResult, error) {
	ft, err := f.begin(ctx, "consume")
	if err != nil {
		return sync.ConsumeResult{}, err
	}
	f.mu.Lock()
	c, err := f.lookup(cardID, code)
	var res sync.ConsumeResult
	if err == nil {
		switch c.status {
		case "NORMAL":
			c.status = "CONSUMED"
			f.applied[code]++
			res = sync.ConsumeResult{CardID: c.cardID, OpenID: c.openid}
		case "CONSUMED":
			err = &sync.WeChatError{Kind: sync.WeChatRejected, Code: 40099, Msg: "invalid code, this code has consumed"}
		default:
			err = &sync.WeChatError{Kind: sync.WeChatRejected, Code: 40127, Msg: "invalid user-card status"}
		}
	}
	f.mu.Unlock()
	if e := f.end(ctx, ft); e != nil {
		return sync.ConsumeResult{}, e
	}
	return res, err
}

func (f *fakeWeChat) Decrypt(ctx context.Context, enc string) (string, error) {
	ft, err := f.begin(ctx, "decrypt")
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	code, ok := f.enc[enc]
	f.mu.Unlock()
	if e := f.end(ctx, ft); e != nil {
		return "", e
	}
	if !ok {
		return "", &sync.WeChatError{Kind: sync.WeChatRejected, Code: 40075, Msg: "invalid encrypt code"}
	}
	return code, nil
}

func (f *fakeWeChat) CardTitle(ctx context.Context, cardID string) (string, error) {
	if _, err := f.begin(ctx, "card"); err != nil {
		return "", err
	}
	f.cardHits.Add(1)
	return "Title of " + cardID, nil
}

// Ping fails while the fake is down and touches no code; it takes none
// of the queued faults, which are meant for the calls that do.
func (f *fakeWeChat) Ping(ctx context.Context) error {
	f.mu.Lock()
	f.calls["ping"]++
	down := f.down
	f.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		return &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: "timeout", Err: ctx.Err()}
	case down:
		return &sync.WeChatError{Kind: sync.WeChatUnreachable, Msg: errNet.Error(), Err: errNet}
	}
	return nil
}

var _ sync.Journal = (*memJournal)(nil)

// AcceptOffline moves id to queued unless its shift counts max offline
// acceptances already, checked under the same lock as the move, as the
// real journal checks it in the commit.
func (j *memJournal) AcceptOffline(id uint64, from sync.State, max int, update func(*sync.Record)) (sync.Record, error) {
	return j.move(id, from, nil, sync.StateQueued, update, max)
}

// AddOfflineOverride journals o for the open shift (the latest opened).
func (j *memJournal) AddOfflineOverride(o sync.Override) (sync.Override, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.deadLocked() {
		return sync.Override{}, errKilled
	}
	if o.ShiftID == 0 || o.ShiftID != j.shift {
		return sync.Override{}, fmt.Errorf("%w: shift #%d is not open", store.ErrShiftClosed, o.ShiftID)
	}
	if o.Extra < 1 || o.Extra > sync.MaxOverrideExtra || o.By == "" {
		return sync.Override{}, fmt.Errorf("%w: override %+v", store.ErrInvalid, o)
	}
	if o.Cashier == "" {
		o.Cashier = j.cashier
	}
	o.Seq, o.At = uint64(len(j.overrides[o.ShiftID])+1), j.now()
	j.overrides[o.ShiftID] = append(j.overrides[o.ShiftID], o)
	j.commits.Add(1)
	return o, nil
}

func (j *memJournal) OfflineOverrides(shift uint64) ([]sync.Override, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.overrides[shift]), nil
}

// hist is a redemption's history as "received,checked,...".
func (j *memJournal) hist(id uint64) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	for i, s := range j.history[id] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(s))
	}
	return b.String()
}
