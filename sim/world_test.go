package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	stdsync "sync"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// clock is the simulated time every part of the world reads.
type clock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// errKilled is what a dead process's journal writes and requests return.
var errKilled = errors.New("sim: process killed")

// Engine settings of every till. MaxBackoff is shorter than the drain
// interval, so whatever the engine's backoff jitter picked, every deferred
// item is due at the next drain: the jitter never decides what a drain
// does, and a seed replays exactly.
const (
	quietPeriod   = 20 * time.Second
	maxBackoff    = 20 * time.Second
	drainInterval = 30 * time.Second
	callTimeout   = 5 * time.Second // real time; no fault waits for it
)

// till is one cash register: a journal file and the process that runs on it.
type till struct {
	w       *world
	name    string
	cashier string
	path    string
	p       *process
	lives   int

	failMu    stdsync.Mutex
	firstFail time.Time // see offlineSince

	linkDown  bool      // the till's own network cable is out
	nextDrain time.Time // when the simulated Run drains next

	// answers are what the cashier was told, by journal id.
	answers map[uint64]answer
	// honoured counts the scans of a code the cashier was told to honour.
	honoured map[string]int
	// submitted are the codes (after decryption) scanned here.
	submitted map[string]bool
	// submittedEnc are the encrypt_codes scanned here.
	submittedEnc map[string]bool
	// queried are the codes this till asked WeChat about: each must have
	// been journaled first (received before anything else happens).
	queried map[string]bool
	// z are the Z reports of the shifts closed here, as they were at close.
	z map[uint64]store.Counters
}

// answer is one outcome the cashier saw.
type answer struct {
	kind  sync.OutcomeKind
	code  string
	step  int
	state sync.State
}

// process is one run of cardtill on a till, from open to crash.
type process struct {
	t      *till
	db     *store.DB
	eng    *sync.Engine
	hc     *http.Client
	client *wechat.Client

	mu   stdsync.Mutex
	cond *stdsync.Cond
	dead bool
	// ops counts journal writes and WeChat requests; at killAt the process
	// dies, with the write or request done (killAfter) or not.
	ops       int
	killAt    int
	killAfter bool
	killOn    string // "" any op, or "consume": only consume requests count
	// owed counts consume answers whose journal write has not happened
	// yet; the next WeChat call waits for it (the drain frees its slot
	// before that write).
	owed int
	free bool // the gate is off (concurrent mode)
	// hooks run once before the next query or consume of a code: a double
	// read, or the other till scanning the same code meanwhile.
	hooks map[string]func()
}

func (t *till) open() error {
	w := t.w
	db, err := store.Open(t.path, store.Options{Now: w.clk.Now, Terminal: t.name, NoSync: true, MaxSize: w.maxSize,
		LockTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("open %s: %w", t.name, err)
	}
	p := &process{t: t, db: db, hooks: map[string]func(){}}
	p.cond = stdsync.NewCond(&p.mu)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	p.hc = &http.Client{Transport: &link{p: p, base: tr}}
	p.client, err = wechat.New(wechat.Options{BaseURL: w.srv.URL, HTTPClient: p.hc, Timeout: callTimeout,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: w.srv.URL, AppID: w.srv.AppID,
			Secret: w.srv.Secret, HTTPClient: p.hc, Now: w.clk.Now, RefreshFirst: true})})
	if err != nil {
		_ = db.Close()
		return err
	}
	concurrency := 1
	if w.concurrent {
		concurrency = 4
	}
	p.eng, err = sync.New(sync.Options{
		Journal: killJournal{Journal: sync.NewJournal(db, t.name), p: p},
		WeChat:  gate{inner: sync.NewWeChat(p.client), p: p},
		Feed:    w.feedFor(t, p.hc),
		Policy:  w.policy, Terminal: t.name, CustomCodeCards: []string{cardCustom},
		OpenShiftOnScan: true, DefaultCashier: t.cashier,
		Timeout: callTimeout, SyncTimeout: callTimeout, QuietPeriod: quietPeriod,
		MaxBackoff: maxBackoff, Interval: drainInterval, Concurrency: concurrency, Now: w.clk.Now,
	})
	if err != nil {
		_ = db.Close()
		return err
	}
	p.free = w.concurrent // no gate: nothing to replay exactly
	t.p = p
	t.lives++
	return nil
}

// close ends the process: the journal file is closed, everything in
// memory (engine, token cache, connections) is dropped.
func (p *process) close() error {
	p.mu.Lock()
	p.dead = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.hc.CloseIdleConnections()
	return p.db.Close()
}

// op accounts one journal write or WeChat request. do says whether it
// happens; fail whether its caller gets errKilled.
func (p *process) op(kind string) (do, fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return false, true
	}
	if p.killOn != "" && p.killOn != kind {
		return true, false
	}
	p.ops++
	if p.killAt > 0 && p.ops >= p.killAt {
		p.dead = true
		p.t.w.note("%s dies at %s (%s)", p.t.name, kind, map[bool]string{true: "after it happened", false: "before it happened"}[p.killAfter])
		return p.killAfter, true
	}
	return true, false
}

func (p *process) isDead() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dead
}

// schedule a crash n ops from now.
func (p *process) scheduleKill(n int, after bool, on string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killOn, p.killAfter = on, after
	switch {
	case n <= 0:
		p.killAt = 0
	case on == "":
		p.killAt = p.ops + n
	default:
		p.ops = 0
		p.killAt = n
	}
}

// wait holds a WeChat call until the journal write answering the last
// consume is done.
func (p *process) wait() {
	p.mu.Lock()
	for p.owed > 0 && !p.dead && !p.free {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

func (p *process) owe(d int) {
	p.mu.Lock()
	p.owed = max(p.owed+d, 0)
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *process) hook(code string) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hooks[code]
	delete(p.hooks, code)
	return h
}

func (p *process) setHook(code string, h func()) {
	p.mu.Lock()
	p.hooks[code] = h
	p.mu.Unlock()
}

func (t *till) markQueried(code string) {
	t.failMu.Lock()
	t.queried[code] = true
	t.failMu.Unlock()
}

// failedAt records a WeChat request's fate for the max_age model.
func (t *till) failedAt(now time.Time, failed bool) {
	t.failMu.Lock()
	defer t.failMu.Unlock()
	switch {
	case !failed:
		t.firstFail = time.Time{}
	case t.firstFail.IsZero():
		t.firstFail = now
	}
}

// offlineSince is the first failed request since WeChat last answered this
// till, across restarts (the engine keeps the outage start in the
// journal): the earliest the till can know the outage began.
func (t *till) offlineSince() time.Time {
	t.failMu.Lock()
	defer t.failMu.Unlock()
	return t.firstFail
}

// killJournal is the real journal with a kill switch: from the op the
// process dies at, every write fails (that one after or before it
// committed), as if the process had been killed there.
type killJournal struct {
	sync.Journal
	p *process
}

func (k killJournal) Create(r sync.Record, path ...sync.State) (sync.Record, error) {
	do, fail := k.p.op("create")
	var out sync.Record
	var err error
	if do {
		out, err = k.Journal.Create(r, path...)
	}
	if fail {
		return sync.Record{}, errKilled
	}
	return out, err
}

func (k killJournal) transition(batch bool, id uint64, from, to sync.State, update func(*sync.Record)) (sync.Record, error) {
	if from == sync.StateConsuming {
		defer k.p.owe(-1) // the consume's answer is journaled (or never will be)
	}
	do, fail := k.p.op("transition")
	var out sync.Record
	var err error
	if do {
		if batch {
			out, err = k.Journal.TransitionBatch(id, from, to, update)
		} else {
			out, err = k.Journal.Transition(id, from, to, update)
		}
	}
	if fail {
		return sync.Record{}, errKilled
	}
	return out, err
}

func (k killJournal) Transition(id uint64, from, to sync.State, update func(*sync.Record)) (sync.Record, error) {
	return k.transition(false, id, from, to, update)
}

func (k killJournal) TransitionBatch(id uint64, from, to sync.State, update func(*sync.Record)) (sync.Record, error) {
	return k.transition(true, id, from, to, update)
}

// TransitionVia, AcceptOffline and the meta values go through the kill
// switch like every other write.
func (k killJournal) TransitionVia(id uint64, from sync.State, via []sync.State, to sync.State, update func(*sync.Record)) (sync.Record, error) {
	if from == sync.StateConsuming {
		defer k.p.owe(-1)
	}
	do, fail := k.p.op("transition")
	var out sync.Record
	var err error
	if do {
		out, err = k.Journal.TransitionVia(id, from, via, to, update)
	}
	if fail {
		return sync.Record{}, errKilled
	}
	return out, err
}

func (k killJournal) AcceptOffline(id uint64, from sync.State, max int, update func(*sync.Record)) (sync.Record, error) {
	do, fail := k.p.op("transition")
	var out sync.Record
	var err error
	if do {
		out, err = k.Journal.AcceptOffline(id, from, max, update)
	}
	if fail {
		return sync.Record{}, errKilled
	}
	return out, err
}

func (k killJournal) PutMeta(key, value string) error {
	do, fail := k.p.op("meta")
	var err error
	if do {
		err = k.Journal.PutMeta(key, value)
	}
	if fail {
		return errKilled
	}
	return err
}

func (k killJournal) OpenShift(cashier string, at time.Time) (uint64, error) {
	do, fail := k.p.op("open shift")
	var id uint64
	var err error
	if do {
		id, err = k.Journal.OpenShift(cashier, at)
	}
	if fail {
		return 0, errKilled
	}
	return id, err
}

func (k killJournal) PutCard(cardID, title string) error {
	do, fail := k.p.op("put card")
	var err error
	if do {
		err = k.Journal.PutCard(cardID, title)
	}
	if fail {
		return errKilled
	}
	return err
}

func (k killJournal) PutCodeStatuses(changes []sync.CodeChange, cursor string) error {
	do, fail := k.p.op("feed")
	var err error
	if do {
		err = k.Journal.PutCodeStatuses(changes, cursor)
	}
	if fail {
		return errKilled
	}
	return err
}

var _ sync.Journal = killJournal{}

// gate is the real WeChat adapter, holding each call until the previous
// consume's answer is journaled, and running a scan's hook.
type gate struct {
	inner sync.WeChat
	p     *process
}

func (g gate) GetCode(ctx context.Context, cardID, code string) (sync.CodeInfo, error) {
	g.p.wait()
	g.p.t.markQueried(code)
	if h := g.p.hook("get:" + code); h != nil {
		h()
	}
	return g.inner.GetCode(ctx, cardID, code)
}

func (g gate) Consume(ctx context.Context, cardID, code string) (sync.ConsumeResult, error) {
	g.p.wait()
	if h := g.p.hook("consume:" + code); h != nil {
		h()
	}
	res, err := g.inner.Consume(ctx, cardID, code)
	g.p.owe(+1)
	return res, err
}

func (g gate) Decrypt(ctx context.Context, enc string) (string, error) {
	g.p.wait()
	return g.inner.Decrypt(ctx, enc)
}

func (g gate) CardTitle(ctx context.Context, cardID string) (string, error) {
	g.p.wait()
	return g.inner.CardTitle(ctx, cardID)
}

func (g gate) Ping(ctx context.Context) error {
	g.p.wait()
	return g.inner.Ping(ctx)
}

// link is the till's network: its cable can be out, and a process killed
// while a request was on the wire never reads the answer (which WeChat may
// have applied).
type link struct {
	p    *process
	base http.RoundTripper
}

func (l *link) RoundTrip(req *http.Request) (*http.Response, error) {
	ep := strings.TrimPrefix(req.URL.Path, "/")
	counted := ep == string(wechattest.EndpointGetCode) || ep == string(wechattest.EndpointConsume) ||
		ep == string(wechattest.EndpointDecrypt) || ep == string(wechattest.EndpointStableToken)
	now := l.p.t.w.clk.Now()
	fail := func(err error) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		if counted {
			l.p.t.failedAt(now, true)
		}
		return nil, err
	}
	if ep == string(wechattest.EndpointGetCode) {
		if cancel := l.p.hook("cancel-get"); cancel != nil {
			cancel() // the till closes the screen while the query is on its way
			_ = req.Body.Close()
			return nil, req.Context().Err() // not a network failure: no outage begins
		}
	}
	if l.p.t.linkDown {
		return fail(errors.New("sim: network unreachable (link down)"))
	}
	kind := "request"
	if ep == string(wechattest.EndpointConsume) {
		kind = "consume"
	}
	do, killed := l.p.op(kind)
	if !do {
		return fail(errKilled)
	}
	resp, err := l.base.RoundTrip(req)
	if killed {
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return fail(errKilled)
	}
	if counted {
		l.p.t.failedAt(now, err != nil || resp.StatusCode >= 500)
	}
	return resp, err
}

// path of a till's journal.
func journalPath(dir, name string) string { return filepath.Join(dir, name+".db") }
