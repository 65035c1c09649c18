package sim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/scanner"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// Cards of the fake WeChat.
const (
	cardDrink  = "pDRINK0000000000000000000001"
	cardCake   = "pCAKE00000000000000000000002"
	cardCustom = "pCUSTOM000000000000000000003"
)

// kinds of codes in the table.
const (
	kindFresh    = "fresh"    // NORMAL, never used
	kindUsed     = "used"     // CONSUMED before the day began (elsewhere)
	kindExpired  = "expired"  // ended yesterday
	kindExpiring = "expiring" // ends during the day
	kindFuture   = "future"   // valid from tomorrow
	kindCustom   = "custom"   // custom-code card
	kindUnknown  = "unknown"  // not WeChat's
)

// code is what the simulation knows of one code.
type code struct {
	code, cardID, kind string
	enc                string         // encrypt_code, when handed out encrypted
	scanned            map[string]int // till -> scans
}

// config is the shape of one simulated day.
type config struct {
	scans      int          // scans per day, over both tills
	concurrent bool         // see world.concurrent
	policy     *sync.Policy // instead of one drawn from the seed (scenarios)
}

// world is one simulated day.
type world struct {
	tb    testing.TB
	seed  uint64
	rng   *rand.Rand
	cfg   config
	clk   *clock
	srv   *wechattest.Server
	tills []*till

	policy  sync.Policy
	maxSize int64 // the journal's [store] max_size (0: none)
	hub     *hubSide
	pool    []*code // codes handed to customers before the day (pushed to the hub)
	codes   map[string]*code
	order   []string // codes in creation order (deterministic iteration)
	next    int      // codes handed out so far

	step  int
	trace *tracer
	mu    stdsync.Mutex // guards stats, the tills' answer books and codes' scan counts
	stats stats
	// concurrent: the tills scan and drain at the same time (Concurrency 4,
	// no gate): replays are not exact, the checks are the same.
	concurrent bool

	final       string    // digest at the end
	touched     []string  // codes scanned in this step
	outageUntil time.Time // WeChat unreachable for everyone until then
	faultsUntil time.Time
}

type stats struct {
	scans, frames, noise, hangups, badScans int
	outcomes, final, offlineRefusals        map[string]int
	crashes, outages, linkCuts, faults      int
	tokenExpiries, shiftCloses, checks      int
	doubleReads, racesAtTwoTills            int
	declined, abandoned                     int
}

// tracer hashes everything that happened, so two runs of a seed can be
// compared, and keeps the last lines for a failure message.
type tracer struct {
	mu   stdsync.Mutex
	h    [32]byte
	n    int
	tail []string
	all  []string
}

func (tr *tracer) add(s string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.h = sha256.Sum256(append(tr.h[:], s...))
	tr.n++
	tr.all = append(tr.all, s)
	tr.tail = append(tr.tail, s)
	if len(tr.tail) > 40 {
		tr.tail = tr.tail[len(tr.tail)-40:]
	}
}

func (w *world) note(format string, a ...any) {
	line := fmt.Sprintf("%s #%d ", w.clk.Now().Format("15:04:05"), w.step) + fmt.Sprintf(format, a...)
	w.trace.add(strings.ReplaceAll(line, w.srv.URL, "wechat")) // the port differs between runs
}

// story is everything the simulation knows of one code: the events that
// name it and the history of its redemptions in both journals.
func (w *world) story(code string) string {
	var b strings.Builder
	w.trace.mu.Lock()
	for _, l := range w.trace.all {
		if strings.Contains(l, code) {
			b.WriteString("\n  " + l)
		}
	}
	w.trace.mu.Unlock()
	if row, ok := w.srv.Code(code); ok {
		fmt.Fprintf(&b, "\n  WeChat: %s, %d consumes applied", row.Status, w.srv.ConsumeCount(code))
	}
	for _, t := range w.tills {
		if t.p == nil {
			continue
		}
		for _, r := range w.allRecords(t) {
			if r.Code != code {
				continue
			}
			fmt.Fprintf(&b, "\n  %s redemption %d: %s (%s: %s)", t.name, r.ID, r.State, r.Reason, r.ReasonText)
			for _, h := range r.History {
				fmt.Fprintf(&b, "\n    %s %s -> %s %s %d %s", h.At.Format(time.TimeOnly), h.From, h.To, h.Reason, h.Errcode, h.WeChatStatus)
			}
		}
	}
	return b.String()
}

// digest sums up how the day ended: the trace of every event and answer,
// every redemption of both journals, and what the fake WeChat did.
func (w *world) digest() string {
	h := sha256.New()
	w.trace.mu.Lock()
	fmt.Fprintf(h, "%x %d\n", w.trace.h, w.trace.n)
	w.trace.mu.Unlock()
	for _, t := range w.tills {
		for _, r := range w.allRecords(t) {
			fmt.Fprintf(h, "%s %d %s %s %s %d %d %v %d\n", t.name, r.ID, r.Code, r.State, r.Reason, r.Errcode, r.ShiftID, r.OfflineAcceptedAt.IsZero(), len(r.History))
		}
	}
	for _, c := range w.order {
		fmt.Fprintf(h, "%s %d\n", c, w.srv.ConsumeCount(c))
	}
	for _, ep := range wechattest.Endpoints {
		fmt.Fprintf(h, "%s %d\n", ep, w.srv.Calls(ep))
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// fatal ends the seed with what happened last and the replay line.
func (w *world) fatal(format string, a ...any) {
	w.tb.Helper()
	w.trace.mu.Lock()
	tail := strings.Join(w.trace.tail, "\n  ")
	w.trace.mu.Unlock()
	replay := fmt.Sprintf("go test ./sim -run Sim -seed %d", w.seed)
	if w.cfg.scans != defaultScans {
		replay += fmt.Sprintf(" -scans %d", w.cfg.scans) // a day of another length is another day
	}
	if w.cfg.policy != nil {
		replay = "go test ./sim -run " + w.tb.Name()
	}
	msg := fmt.Sprintf("seed %d, step %d (%s): %s\nlast events:\n  %s\nreplay: %s",
		w.seed, w.step, w.clk.Now().Format(time.TimeOnly), fmt.Sprintf(format, a...), tail, replay)
	if !w.concurrent {
		w.tb.Fatal(msg)
	}
	// Any goroutine of the concurrent mode: fail, and end this goroutine;
	// the step waits for the others and then stops the day.
	w.tb.Error(strings.Replace(msg, "-run Sim ", "-run SimConcurrent -concurrent ", 1) + " (the interleaving is not replayed exactly)")
	runtime.Goexit()
}

func newWorld(tb testing.TB, seed uint64, cfg config) *world {
	rng := rand.New(rand.NewPCG(seed, 0x63617264_74696c6c))
	start := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	w := &world{tb: tb, seed: seed, rng: rng, cfg: cfg, clk: clk, codes: map[string]*code{},
		trace: &tracer{}, stats: stats{outcomes: map[string]int{}, final: map[string]int{}, offlineRefusals: map[string]int{}}}
	w.concurrent = cfg.concurrent
	w.srv = wechattest.New(wechattest.WithClock(clk.Now))
	tb.Cleanup(w.srv.Close)
	for _, c := range []wechattest.Card{{CardID: cardDrink, Title: "¥20 off any drink"}, {CardID: cardCake, Title: "Free slice of cake", Type: "GIFT"},
		{CardID: cardCustom, Title: "Member voucher", Type: "CASH"}} {
		w.srv.AddCard(c)
	}
	w.policy = randomPolicy(rng)
	if cfg.policy != nil {
		w.policy = *cfg.policy
	}
	if rng.IntN(5) == 0 {
		w.maxSize = int64(128+rng.IntN(512)) << 10 // full before the day ends
	}
	dir := tb.TempDir()
	if rng.IntN(3) != 0 {
		w.openHub(dir)
	}
	w.note("policy %+v, max size %d, hub %v", w.policy, w.maxSize, w.hub != nil)
	// Customers got many of the day's coupons before it began.
	for range cfg.scans / 3 {
		kind := kindFresh
		if rng.IntN(5) == 0 {
			kind = kindCustom
		}
		w.pool = append(w.pool, w.newCode(kind))
	}
	w.pushChanges()
	for i, name := range []string{"till-1", "till-2"} {
		t := &till{w: w, name: name, cashier: []string{"alice", "bob"}[i], path: journalPath(dir, name),
			answers: map[uint64]answer{}, honoured: map[string]int{}, submitted: map[string]bool{}, submittedEnc: map[string]bool{},
			queried: map[string]bool{}, z: map[uint64]store.Counters{}}
		if err := t.open(); err != nil {
			tb.Fatal(err)
		}
		t.nextDrain = start.Add(time.Duration(rng.IntN(30)) * time.Second)
		w.tills = append(w.tills, t)
	}
	tb.Cleanup(func() {
		for _, t := range w.tills {
			if t.p != nil {
				_ = t.p.close()
			}
		}
	})
	return w
}

// randomPolicy draws the merchant's offline policy for the day.
func randomPolicy(rng *rand.Rand) sync.Policy {
	p := sync.Policy{Mode: sync.ModeAccept, MaxPerShift: []int{-1, 3, 10, 40}[rng.IntN(4)]}
	if rng.IntN(3) == 0 {
		p.MaxAge = time.Duration(5+rng.IntN(40)) * time.Minute
	}
	if rng.IntN(4) == 0 {
		p.AllowCards = []string{cardDrink, cardCustom}
	}
	switch rng.IntN(12) {
	case 0:
		p.Mode = sync.ModeRefuse
	case 1:
		p.UnknownCodes = sync.ModeRefuse // no hub feed here: every offline scan is refused
	}
	return p
}

// newCode adds a code of kind to the fake WeChat's table.
func (w *world) newCode(kind string) *code {
	w.next++
	c := &code{kind: kind, scanned: map[string]int{}}
	c.code = fmt.Sprintf("%012d", 100000000000+w.rng.Int64N(800000000000))
	for w.codes[c.code] != nil {
		c.code = fmt.Sprintf("%012d", 100000000000+w.rng.Int64N(800000000000))
	}
	c.cardID = []string{cardDrink, cardCake}[w.rng.IntN(2)]
	row := wechattest.Code{Code: c.code, CardID: c.cardID, OpenID: fmt.Sprintf("oUser%06d", w.next)}
	day := w.clk.Now().Truncate(24 * time.Hour)
	switch kind {
	case kindUsed:
		row.Status = wechat.StatusConsumed
	case kindExpired:
		row.End = day.Add(-time.Hour)
	case kindExpiring:
		row.End = w.clk.Now().Add(time.Duration(w.rng.IntN(240)) * time.Minute)
	case kindFuture:
		row.Begin = day.Add(24 * time.Hour)
	case kindCustom:
		c.code = fmt.Sprintf("VIP%09d", w.rng.IntN(1000000000))
		for w.codes[c.code] != nil {
			c.code = fmt.Sprintf("VIP%09d", w.rng.IntN(1000000000))
		}
		c.cardID = cardCustom
		row.Code, row.CardID, row.Custom = c.code, cardCustom, true
	case kindUnknown:
		c.cardID = ""
	}
	if kind != kindUnknown {
		w.srv.AddCode(row)
	}
	w.codes[c.code] = c
	w.order = append(w.order, c.code)
	return c
}

// pick chooses what the next customer hands over at till t.
func (w *world) pick(t *till) (*code, bool) {
	r := w.rng.IntN(100)
	switch {
	case r < 6: // a code this till already scanned: the customer tries again
		if c := w.scannedCode(func(c *code) bool { return c.scanned[t.name] > 0 }); c != nil {
			return c, false
		}
	case r < 12: // a code already scanned at the other till
		if c := w.scannedCode(func(c *code) bool { return c.scanned[t.name] == 0 && len(c.scanned) > 0 }); c != nil {
			return c, false
		}
	}
	kind := kindFresh
	switch r = w.rng.IntN(100); {
	case r < 8:
		kind = kindUsed
	case r < 13:
		kind = kindExpired
	case r < 17:
		kind = kindExpiring
	case r < 19:
		kind = kindFuture
	case r < 27:
		kind = kindCustom
	case r < 32:
		kind = kindUnknown
	}
	var c *code
	if (kind == kindFresh || kind == kindCustom) && len(w.pool) > 0 && w.rng.IntN(2) == 0 {
		c, w.pool = w.pool[0], w.pool[1:]
	} else {
		c = w.newCode(kind)
	}
	enc := kind != kindUnknown && w.rng.IntN(100) < 8
	if enc {
		c.enc = w.srv.Encrypt(c.code)
	}
	return c, enc
}

// scannedCode picks a random earlier code matching ok (a few tries).
func (w *world) scannedCode(ok func(*code) bool) *code {
	if len(w.order) == 0 {
		return nil
	}
	for range 8 {
		c := w.codes[w.order[w.rng.IntN(len(w.order))]]
		if ok(c) {
			return c
		}
	}
	return nil
}

// rawScan is the bytes the serial scanner sends for c, CR-terminated.
func (w *world) rawScan(c *code, enc bool) string {
	aim := []string{"", "]Q1", "]C0"}[w.rng.IntN(3)]
	switch {
	case enc:
		q := "encrypt_code=" + url.QueryEscape(c.enc)
		if w.rng.IntN(2) == 0 {
			q += "&card_id=" + c.cardID
		}
		return "]Q1https://mp.weixin.qq.com/bizmall/cardshelf?" + q + "\r"
	case c.kind == kindCustom && w.rng.IntN(2) == 0:
		return "]Q1https://example.com/use?card_id=" + c.cardID + "&code=" + c.code + "\r"
	case w.rng.IntN(10) == 0:
		// typed in groups by a cashier on a keyboard-wedge scanner
		return c.code[:4] + " " + c.code[4:8] + " " + c.code[8:] + "\r"
	}
	return aim + c.code + "\r"
}

// noise is line noise: bytes no scanner sends for a coupon.
func (w *world) noise() string {
	const junk = "\x00\x07\x1b\x7f#*~!$%^()[]{}<>|\\`"
	b := make([]byte, 1+w.rng.IntN(12))
	for i := range b {
		b[i] = junk[w.rng.IntN(len(junk))]
	}
	return string(b)
}

// run plays the day and the settle phase, checking as it goes.
func (w *world) run() {
	ctx := context.Background()
	gap := 12 * time.Hour / time.Duration(max(w.cfg.scans, 1))
	framers := map[string]*scanner.Framer{}
	for _, t := range w.tills {
		framers[t.name] = scanner.NewFramer(scanner.Config{})
	}
	for w.stats.scans < w.cfg.scans {
		w.step++
		// Time passes: customers come in waves, sometimes nobody for a while.
		d := time.Duration(w.rng.ExpFloat64() * float64(gap))
		if w.rng.IntN(200) == 0 {
			d += time.Duration(5+w.rng.IntN(40)) * time.Minute
		}
		w.clk.Advance(d)
		w.pushChanges()
		w.weather()
		t := w.tills[w.rng.IntN(len(w.tills))]
		switch r := w.rng.IntN(1000); {
		case r < 4:
			w.crashLater(t)
		case r < 6:
			w.note("%s killed between scans", t.name)
			w.restart(t)
		case r < 9:
			w.closeShift(t)
		case r < 11:
			w.customerChange()
		default:
			w.scan(ctx, t, framers[t.name], w.planScan(t))
		}
		for _, t := range w.tills {
			w.afterStep(ctx, t)
		}
		w.checkStep()
		if w.step%250 == 0 {
			w.checkAll(false)
		}
	}
	w.settle(ctx)
	w.checkAll(true)
}

// runConcurrent plays the day with both tills scanning and draining at
// the same time, as they do in a store: the engine's drain runs 4 items at
// once beside the cashier's scan, and now and then both tills scan the
// same code at the same moment. What happens is drawn from the seed, but
// the interleaving is the scheduler's, so a seed does not replay exactly.
func (w *world) runConcurrent() {
	ctx := context.Background()
	gap := 12 * time.Hour / time.Duration(max(w.cfg.scans, 1))
	framers := map[string]*scanner.Framer{}
	for _, t := range w.tills {
		framers[t.name] = scanner.NewFramer(scanner.Config{})
	}
	for {
		w.mu.Lock()
		done := w.stats.scans >= w.cfg.scans
		w.mu.Unlock()
		if done {
			break
		}
		w.step++
		w.clk.Advance(time.Duration(w.rng.ExpFloat64() * float64(2*gap)))
		w.pushChanges()
		w.weather()
		t := w.tills[w.rng.IntN(len(w.tills))]
		switch r := w.rng.IntN(1000); {
		case r < 4:
			w.crashLater(t)
		case r < 6:
			w.note("%s killed between scans", t.name)
			w.restart(t)
		case r < 9:
			w.closeShift(t)
		case r < 11:
			w.customerChange()
		}
		plans := make([]*scanPlan, len(w.tills))
		for i, t := range w.tills {
			if w.rng.IntN(4) != 0 {
				sp := w.planScan(t)
				plans[i] = &sp
			}
		}
		if plans[0] != nil && plans[1] != nil && plans[0].c.kind != kindUnknown && w.rng.IntN(12) == 0 {
			plans[1].c, plans[1].raw, plans[1].cut = plans[0].c, w.rawScan(plans[0].c, false), 0
			w.count(func(s *stats) { s.racesAtTwoTills++ })
			w.note("both tills scan %s at once", plans[0].c.code)
		}
		var wg stdsync.WaitGroup
		for i, t := range w.tills {
			if sp := plans[i]; sp != nil {
				wg.Go(func() { w.scan(ctx, t, framers[t.name], *sp) })
			}
			if !w.clk.Now().Before(t.nextDrain) {
				t.nextDrain = w.clk.Now().Add(drainInterval)
				p := t.p
				wg.Go(func() {
					if _, err := p.eng.DrainOnce(ctx); err != nil && !p.isDead() {
						w.fatal("drain %s: %v", t.name, err)
					}
					w.pullFeed(ctx, t)
				})
			}
		}
		wg.Wait()
		if w.tb.Failed() {
			runtime.Goexit()
		}
		for _, t := range w.tills {
			if t.p.isDead() {
				w.restart(t)
			}
		}
		w.checkStep()
		if w.step%250 == 0 {
			w.checkAll(false)
		}
	}
	w.settle(ctx)
	w.checkAll(true)
}

// weather switches outages, link cuts and fault bursts on and off.
func (w *world) weather() {
	now := w.clk.Now()
	if w.srv.Outage() && !now.Before(w.outageUntil) {
		w.srv.SetOutage(false)
		w.note("WeChat reachable again")
	}
	if !w.faultsUntil.IsZero() && !now.Before(w.faultsUntil) {
		w.srv.ClearFaults()
		w.faultsUntil = time.Time{}
		w.note("fault burst over")
	}
	for _, t := range w.tills {
		if t.linkDown && w.rng.IntN(20) == 0 {
			t.linkDown = false
			w.note("%s link back", t.name)
		}
	}
	switch r := w.rng.IntN(1000); {
	case r < 3 && !w.srv.Outage():
		d := time.Duration(1+w.rng.IntN(90)) * time.Minute
		w.outageUntil = now.Add(d)
		w.srv.SetOutage(true)
		w.stats.outages++
		w.note("WeChat outage for %s", d)
	case r < 6:
		t := w.tills[w.rng.IntN(len(w.tills))]
		if !t.linkDown {
			t.linkDown = true
			w.stats.linkCuts++
			w.note("%s link down", t.name)
		}
	case r < 14:
		w.faultBurst()
	case r < 16:
		w.srv.ExpireTokens()
		w.stats.tokenExpiries++
		w.note("tokens expired")
	}
}

// faultBurst injects a few faults into the next WeChat calls. Busy and
// quota answers are injected into queries only: after a consume answer the
// drain frees its slot before it notes the throttle, so a busy consume
// would let the next item's start race with that note (harmless to the
// engine, but it would make replays inexact).
func (w *world) faultBurst() {
	w.stats.faults++
	n := 1 + w.rng.IntN(4)
	var ep wechattest.Endpoint
	var f wechattest.Fault
	switch w.rng.IntN(10) {
	case 0, 1:
		ep, f = wechattest.EndpointConsume, wechattest.Fault{DropAfter: true}
	case 2:
		ep, f = wechattest.EndpointConsume, wechattest.Fault{DropBefore: true}
	case 3:
		ep, f = wechattest.EndpointConsume, wechattest.Fault{HTTPStatus: http.StatusBadGateway}
		if w.concurrent && w.rng.IntN(2) == 0 {
			// Nothing to replay exactly here: busy and quota consumes too.
			f = wechattest.Fault{Errcode: []int{-1, 45009, 45011}[w.rng.IntN(3)]}
		}
	case 4:
		ep, f = wechattest.EndpointGetCode, wechattest.Fault{HTTPStatus: http.StatusServiceUnavailable}
	case 5:
		ep, f = wechattest.EndpointGetCode, wechattest.Fault{Errcode: 45009}
	case 6:
		ep, f = wechattest.EndpointGetCode, wechattest.Fault{Errcode: -1}
	case 7:
		ep, f = wechattest.EndpointGetCode, wechattest.Fault{DropBefore: true}
	case 8:
		ep, f = wechattest.EndpointDecrypt, wechattest.Fault{HTTPStatus: http.StatusInternalServerError}
	case 9:
		// The token runs out and the token service fails for a while.
		w.srv.ExpireTokens()
		ep, f = wechattest.EndpointStableToken, wechattest.Fault{HTTPStatus: http.StatusBadGateway}
	}
	f.Times = n
	w.srv.Inject(ep, f)
	if w.faultsUntil.IsZero() {
		w.faultsUntil = w.clk.Now().Add(time.Duration(1+w.rng.IntN(20)) * time.Minute)
	}
	w.note("fault %s x%d: %+v", ep, n, f)
}

// crashLater schedules t's process to die at a random op soon.
func (w *world) crashLater(t *till) {
	on := ""
	if w.rng.IntN(2) == 0 {
		on = "consume"
	}
	n, after := 1+w.rng.IntN(12), w.rng.IntN(2) == 0
	t.p.scheduleKill(n, after, on)
	w.note("%s will die at its %d. %s op (after=%v)", t.name, n, on, after)
}

// restart closes t's process (whatever it was doing is lost), lets some
// time pass, opens the journal again and recovers.
func (w *world) restart(t *till) {
	if err := t.p.close(); err != nil {
		w.fatal("close %s: %v", t.name, err)
	}
	w.stats.crashes++
	w.clk.Advance(time.Duration(5+w.rng.IntN(180)) * time.Second)
	if err := t.open(); err != nil {
		w.fatal("reopen %s after a crash: %v", t.name, err)
	}
	w.checkAll(false) // nothing answered was lost, counters agree
	if err := t.p.eng.Recover(context.Background()); err != nil && !t.p.isDead() {
		w.fatal("recover %s: %v", t.name, err)
	}
	if !t.p.isDead() {
		// Scans the dead process never answered are set aside, nothing
		// consumed; the cashier scans again.
		for _, s := range []store.State{store.Received, store.Checked} {
			if rs, err := t.p.db.Find(store.Query{Index: store.ByState, State: s}); err != nil || len(rs) > 0 {
				w.fatal("%s: after Recover %d redemptions are still %s (%v):%s", t.name, len(rs), s, err, w.story(rs[0].Code))
			}
		}
	}
	w.note("%s restarted (life %d)", t.name, t.lives)
}

// afterStep restarts a till that died during the step and runs its drain
// when the simulated Run would.
func (w *world) afterStep(ctx context.Context, t *till) {
	for range 10 {
		if t.p.isDead() {
			w.restart(t)
			continue
		}
		if w.clk.Now().Before(t.nextDrain) {
			return
		}
		rep, err := t.p.eng.DrainOnce(ctx)
		t.nextDrain = w.clk.Now().Add(drainInterval)
		if err != nil && !t.p.isDead() {
			w.fatal("drain %s: %v", t.name, err)
		}
		w.pullFeed(ctx, t)
		if rep.Attempted > 0 {
			// (ThrottledUntil carries the backoff's jitter: only whether.)
			w.note("%s drain: attempted %d consumed %d conflicts %d rejected %d deferred %d remaining %d offline %v throttled %v",
				t.name, rep.Attempted, rep.Consumed, rep.Conflicts, rep.Rejected, rep.Deferred, rep.Remaining, rep.Offline, !rep.ThrottledUntil.IsZero())
		}
	}
}

// closeShift closes t's open shift, pending work or not.
func (w *world) closeShift(t *till) {
	s, ok, err := t.p.db.CurrentShift(t.name)
	if err != nil {
		w.fatal("current shift of %s: %v", t.name, err)
	}
	if !ok {
		return
	}
	closed, err := t.p.db.CloseShift(s.ID)
	if err != nil || closed.Z == nil {
		w.fatal("close shift %d of %s: %+v %v", s.ID, t.name, closed, err)
	}
	t.z[s.ID] = *closed.Z
	w.stats.shiftCloses++
	st := t.p.eng.Status()
	w.note("%s closed shift #%d with %d pending", t.name, s.ID, st.QueueDepth)
	if w.rng.IntN(2) == 0 {
		t.cashier = map[string]string{"alice": "carol", "carol": "alice", "bob": "dave", "dave": "bob"}[t.cashier]
		if _, err := t.p.db.OpenShift(t.name, t.cashier); err != nil {
			w.fatal("open a shift on %s: %v", t.name, err)
		}
	}
	w.checkAll(false)
}

// customerChange: a customer deletes, gifts or uses elsewhere a code that
// is still NORMAL at WeChat (maybe one a till accepted offline).
func (w *world) customerChange() {
	c := w.scannedCode(func(c *code) bool {
		row, ok := w.srv.Code(c.code)
		return ok && row.Status == wechat.StatusNormal
	})
	if c == nil {
		return
	}
	st := []wechat.CardStatus{wechat.StatusDelete, wechat.StatusGifting, wechat.StatusConsumed}[w.rng.IntN(3)]
	w.srv.SetStatus(c.code, st)
	w.note("customer: %s is now %s", c.code, st)
}

// scanPlan is one customer's scan, drawn from the seed beforehand (so a
// till can play it in its own goroutine in the concurrent mode).
type scanPlan struct {
	c     *code
	raw   string
	noise bool
	cut   int    // the scanner hangs up after this many bytes (0: it does not)
	dup   int    // 1: double read while redeeming, 2: double read on the wire
	r     [2]int // what happens around each frame's redemption
}

func (w *world) planScan(t *till) scanPlan {
	c, enc := w.pick(t)
	sp := scanPlan{c: c, raw: w.rawScan(c, enc)}
	if w.rng.IntN(25) == 0 {
		sp.raw, sp.noise = w.noise()+"\r"+sp.raw, true
	}
	if w.rng.IntN(40) == 0 {
		sp.cut = 1 + w.rng.IntN(len(sp.raw)-1)
	}
	if w.rng.IntN(30) == 0 {
		sp.dup = 1 + w.rng.IntN(2)
	}
	sp.r = [2]int{w.rng.IntN(240), w.rng.IntN(240)}
	return sp
}

// scan feeds one customer's scan through the scanner's framer and parser
// into the till's engine, with noise, hang-ups and double reads.
func (w *world) scan(ctx context.Context, t *till, fr *scanner.Framer, sp scanPlan) {
	c, raw := sp.c, sp.raw
	var frames []scanner.Frame
	if sp.cut > 0 {
		// The scanner hangs up in the middle of the frame: the part read so
		// far is flushed as incomplete, and the customer scans again.
		frames = fr.Feed([]byte(raw[:sp.cut]), frames)
		if f, ok := fr.Flush(); ok {
			frames = append(frames, f)
		}
		w.note("%s scanner hung up after %q", t.name, raw[:sp.cut])
	}
	double := sp.dup == 1
	if sp.dup == 2 {
		raw += raw // a double read on the wire: two frames
	}
	frames = fr.Feed([]byte(raw), frames)
	if fr.Pending() {
		w.fatal("framer holds bytes after a terminated frame %q", raw)
	}
	w.count(func(s *stats) {
		s.frames += len(frames)
		s.noise += b2i(sp.noise)
		s.hangups += b2i(sp.cut > 0)
	})
	k := 0
	for _, f := range frames {
		if f.Err != nil {
			w.note("%s frame refused: %v", t.name, f.Err)
			continue
		}
		p, err := scanner.Parse(f.Symbology + f.Text)
		if err != nil {
			w.count(func(s *stats) { s.badScans++ })
			w.note("%s scan refused by the parser: %v", t.name, err)
			if f.Text == c.code || strings.Contains(f.Text, c.code) {
				w.fatal("the parser refused a real code %q: %v", f.Raw, err)
			}
			continue
		}
		if p.Code != c.code && p.EncryptCode != c.enc {
			w.fatal("scan %q parsed as %+v, want code %s", f.Raw, p, c.code)
		}
		req := sync.Request{Code: p.Code, CardID: p.CardID, EncryptCode: p.EncryptCode, Source: "serial", RawScan: f.Raw}
		sctx := ctx
		r := sp.r[min(k, 1)]
		k++
		switch {
		case double:
			double = false
			w.doubleRead(ctx, t, c)
		case r < 4 && c.kind != kindUnknown && !w.concurrent:
			w.raceOtherTill(ctx, t, c)
		case r < 8:
			// The cashier declines at the confirm step.
			req.Confirm = func(context.Context, sync.Outcome) bool { return false }
			w.count(func(s *stats) { s.declined++ })
		case r < 11:
			// The till's screen closes while the query is on its way.
			var cancel context.CancelFunc
			sctx, cancel = context.WithCancel(ctx)
			defer cancel()
			t.p.setHook("cancel-get", cancel)
			w.count(func(s *stats) { s.abandoned++ })
		}
		proc := t.p
		w.redeem(sctx, t, c, req)
		proc.hook("get:" + c.code) // hooks that did not fire are dropped
		proc.hook("consume:" + c.code)
		proc.hook("cancel-get")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// count changes the statistics (from any goroutine).
func (w *world) count(f func(*stats)) {
	w.mu.Lock()
	f(&w.stats)
	w.mu.Unlock()
}

// doubleRead makes the scanner send the same code again while the first
// read is being redeemed.
func (w *world) doubleRead(ctx context.Context, t *till, c *code) {
	w.count(func(s *stats) { s.doubleReads++ })
	p := t.p
	p.setHook("get:"+c.code, func() {
		w.redeem(ctx, t, c, sync.Request{Code: c.code, CardID: c.cardID, Source: "serial", RawScan: c.code})
	})
}

// raceOtherTill has the other till scan the same code while this till's
// consume is about to leave.
func (w *world) raceOtherTill(ctx context.Context, t *till, c *code) {
	w.count(func(s *stats) { s.racesAtTwoTills++ })
	other := w.tills[0]
	if other == t {
		other = w.tills[1]
	}
	t.p.setHook("consume:"+c.code, func() {
		w.note("%s scans %s while %s consumes it", other.name, c.code, t.name)
		w.redeem(ctx, other, c, sync.Request{Code: c.code, CardID: c.cardID, Source: "serial", RawScan: c.code})
	})
}

// redeem runs one scan and checks what the cashier was told.
func (w *world) redeem(ctx context.Context, t *till, c *code, req sync.Request) {
	w.mu.Lock()
	w.stats.scans++
	c.scanned[t.name]++
	t.submitted[c.code] = true
	if req.EncryptCode != "" {
		t.submittedEnc[req.EncryptCode] = true
	}
	w.touched = append(w.touched, c.code)
	w.mu.Unlock()
	p := t.p
	before := w.journalSize(t)
	// What the cashier sees is what OnAnswer hands over (after a confirmed
	// consume that is before the consumed commit, which a crash may lose).
	var told *sync.Outcome
	req.OnAnswer = func(o sync.Outcome) { told = &o }
	consumes := w.srv.ConsumeCount(c.code)
	out, err := p.eng.Redeem(ctx, req)
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled) && !p.isDead():
			// Nobody saw an answer; whatever was journaled ends rejected,
			// interrupted, and nothing was consumed.
			w.note("%s scan %s abandoned: %s %s (%v)", t.name, c.code, out.State, out.Reason, err)
			if told != nil {
				w.fatal("%s: an abandoned scan of %s was answered %+v", t.name, c.code, *told)
			}
			if n := w.srv.ConsumeCount(c.code); n != consumes && !w.concurrent {
				w.fatal("%s: an abandoned scan of %s consumed it", t.name, c.code)
			}
			if out.ID != 0 {
				if out.State != sync.StateRejected || out.Reason != sync.ReasonInterrupted {
					w.fatal("%s: an abandoned scan of %s ended %s %s", t.name, c.code, out.State, out.Reason)
				}
				w.mu.Lock()
				t.answers[out.ID] = answer{kind: sync.Refused, code: c.code, step: w.step, state: out.State}
				w.mu.Unlock()
			}
			return
		case told != nil && p.isDead():
			w.note("%s died after answering %s for %s (%v)", t.name, told.Kind, c.code, err)
			out = *told
		case p.isDead():
			w.note("%s scan %s: no answer, the till died (%v)", t.name, c.code, err)
			return
		default:
			w.fatal("%s redeem %s: %v", t.name, c.code, err)
		}
	} else if told == nil || told.Kind != out.Kind || told.ID != out.ID {
		w.fatal("%s redeem %s: OnAnswer said %+v, Redeem returned %+v", t.name, c.code, told, out)
	}
	w.count(func(s *stats) {
		s.outcomes[out.Kind.String()]++
		if out.Kind == sync.Refused && out.Reason.Offline() {
			s.offlineRefusals[string(out.Reason)]++
		}
	})
	w.note("%s scan %s (%s%s): %s %s %s %d", t.name, c.code, c.kind, map[bool]string{true: ", encrypted"}[req.EncryptCode != ""],
		out.Kind, out.State, out.Reason, out.Errcode)
	if out.Code != c.code && !(req.EncryptCode != "" && out.Code == "" && out.Kind == sync.Refused) {
		w.fatal("%s: scanned %s, answer is about %s", t.name, c.code, out.Code)
	}
	if out.Kind == sync.Duplicate {
		if n := w.journalSize(t); n != before {
			w.fatal("%s: a duplicate read journaled %d redemptions", t.name, n-before)
		}
		return
	}
	if out.ID == 0 {
		w.fatal("%s: answer %s for %s without a journaled redemption", t.name, out.Kind, c.code)
	}
	rec, err := p.db.Get(out.ID)
	switch {
	case err != nil:
		w.fatal("%s: answered redemption %d of %s is not in the journal: %v", t.name, out.ID, c.code, err)
	case out.Code == "":
		// An encrypted scan WeChat could not decrypt: journaled without a
		// code, with its encrypt_code, refused.
		if rec.Code != "" || rec.EncryptCode != req.EncryptCode || rec.State != store.Rejected {
			w.fatal("%s: an encrypted scan of %s refused before decryption is journaled as %+v", t.name, c.code, rec)
		}
	case rec.Code != c.code:
		w.fatal("%s: answered redemption %d of %s holds %s", t.name, out.ID, c.code, rec.Code)
	}
	w.mu.Lock()
	t.answers[out.ID] = answer{kind: out.Kind, code: out.Code, step: w.step, state: out.State}
	w.mu.Unlock()
	if req.Confirm != nil && (out.Kind == sync.Consumed || out.Kind == sync.Checking || (w.srv.ConsumeCount(c.code) != consumes && !w.concurrent)) {
		w.fatal("%s: the cashier declined %s at the confirm step, and it was consumed (%s)", t.name, c.code, out.Kind)
	}
	switch out.Kind {
	case sync.Consumed:
		if n := w.srv.ConsumeCount(c.code); n != 1 {
			w.fatal("%s told the cashier %s is consumed; WeChat applied %d consumes", t.name, c.code, n)
		}
	case sync.AcceptedOffline:
		w.checkOfflineAcceptance(t, out, rec.State)
	}
	if out.Kind.Honoured() {
		w.mu.Lock()
		t.honoured[c.code]++
		n := t.honoured[c.code]
		w.mu.Unlock()
		if n > 1 {
			w.fatal("%s honoured %s twice:%s", t.name, c.code, w.story(c.code))
		}
	}
}

// checkOfflineAcceptance: the offline policy's limits held for this
// acceptance.
func (w *world) checkOfflineAcceptance(t *till, out sync.Outcome, state sync.State) {
	pol := w.policy
	switch {
	case pol.Mode == sync.ModeRefuse:
		w.fatal("%s accepted %s offline with offline.mode = refuse", t.name, out.Code)
	case len(pol.AllowCards) > 0 && !slices.Contains(pol.AllowCards, out.CardID):
		w.fatal("%s accepted %s of card %q offline; allow_cards = %v", t.name, out.Code, out.CardID, pol.AllowCards)
	case pol.MaxPerShift >= 0 && out.OfflineInShift > pol.MaxPerShift:
		w.fatal("%s accepted %s offline as %d of max_per_shift %d", t.name, out.Code, out.OfflineInShift, pol.MaxPerShift)
	}
	if pol.MaxAge > 0 {
		if since := t.offlineSince(); !since.IsZero() && w.clk.Now().Sub(since) > pol.MaxAge {
			w.fatal("%s accepted %s offline %s after its first failed request; max_age = %s", t.name, out.Code, w.clk.Now().Sub(since), pol.MaxAge)
		}
	}
	if state != sync.StateQueued {
		w.fatal("%s accepted %s offline but journaled it %s", t.name, out.Code, state)
	}
	cs, known, err := t.p.db.CodeStatus(out.Code)
	switch {
	case err != nil:
		w.fatal("%s: read the code-status cache: %v", t.name, err)
	case !known && pol.UnknownCodes == sync.ModeRefuse:
		w.fatal("%s accepted %s offline with unknown_codes = refuse, and the hub never told it of the code", t.name, out.Code)
	case known && cs.Status != "NORMAL":
		w.fatal("%s accepted %s offline though the hub said it is %s (%s)", t.name, out.Code, cs.Status, cs.At.Format(time.TimeOnly))
	}
}

// journalSize is the number of redemptions in t's journal.
func (w *world) journalSize(t *till) int {
	n, err := t.p.db.CountByState()
	if err != nil {
		w.fatal("count %s: %v", t.name, err)
	}
	total := 0
	for _, k := range n {
		total += k
	}
	return total
}

// settle brings the network back for good and drains until nothing waits.
func (w *world) settle(ctx context.Context) {
	w.step++
	w.note("settle: network back, faults cleared")
	w.srv.ClearFaults()
	w.srv.SetOutage(false)
	for _, t := range w.tills {
		t.linkDown = false
		t.p.scheduleKill(0, false, "")
		if t.p.isDead() {
			w.restart(t)
		}
	}
	for round := range 40 {
		w.clk.Advance(drainInterval)
		pending := 0
		for _, t := range w.tills {
			if _, err := t.p.eng.DrainOnce(ctx); err != nil {
				w.fatal("settle drain %s: %v", t.name, err)
			}
			pending += t.p.eng.Status().QueueDepth
		}
		if pending == 0 {
			w.note("settled after %d rounds", round+1)
			return
		}
	}
	w.fatal("still pending after 40 drains with the network back: %+v / %+v", w.tills[0].p.eng.Status(), w.tills[1].p.eng.Status())
}
