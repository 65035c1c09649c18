package sync_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// countingJournal counts the commits the engine asks for.
// With killAfterCreate set, the "process dies" right after its next
// Create committed: every later write fails, as if nothing more reached
// the file.
type countingJournal struct {
	sync.Journal
	n               atomic.Int64
	killAfterCreate atomic.Bool
	dead            atomic.Bool
}

var errDead = errors.New("journal: the process was killed")

func (c *countingJournal) Create(r sync.Record, path ...sync.State) (sync.Record, error) {
	if c.dead.Load() {
		return sync.Record{}, errDead
	}
	c.n.Add(1)
	out, err := c.Journal.Create(r, path...)
	if err == nil && c.killAfterCreate.Load() {
		c.dead.Store(true)
	}
	return out, err
}

func (c *countingJournal) Transition(id uint64, from, to sync.State, u func(*sync.Record)) (sync.Record, error) {
	if c.dead.Load() {
		return sync.Record{}, errDead
	}
	c.n.Add(1)
	return c.Journal.Transition(id, from, to, u)
}

func (c *countingJournal) TransitionBatch(id uint64, from, to sync.State, u func(*sync.Record)) (sync.Record, error) {
	if c.dead.Load() {
		return sync.Record{}, errDead
	}
	c.n.Add(1)
	return c.Journal.TransitionBatch(id, from, to, u)
}

func (c *countingJournal) TransitionVia(id uint64, from sync.State, via []sync.State, to sync.State, u func(*sync.Record)) (sync.Record, error) {
	if c.dead.Load() {
		return sync.Record{}, errDead
	}
	c.n.Add(1)
	return c.Journal.TransitionVia(id, from, via, to, u)
}

func (c *countingJournal) AcceptOffline(id uint64, from sync.State, max int, u func(*sync.Record)) (sync.Record, error) {
	if c.dead.Load() {
		return sync.Record{}, errDead
	}
	c.n.Add(1)
	return c.Journal.AcceptOffline(id, from, max, u)
}

func (c *countingJournal) Meta(key string) (string, error) {
	return c.Journal.Meta(key)
}

func (c *countingJournal) PutMeta(key, value string) error {
	if c.dead.Load() {
		return errDead
	}
	c.n.Add(1)
	return c.Journal.PutMeta(key, value)
}

func (c *countingJournal) PutCard(id, title string) error {
	c.n.Add(1)
	return c.Journal.PutCard(id, title)
}

func (c *countingJournal) OpenShift(cashier string, at time.Time) (uint64, error) {
	c.n.Add(1)
	return c.Journal.OpenShift(cashier, at)
}

// storeTill is the engine on a real bbolt journal and the real client
// against the fake WeChat on loopback.
type storeTill struct {
	t    testing.TB
	path string
	clk  *clock
	srv  *wechattest.Server
	wx   sync.WeChat
	db   *store.DB
	j    *countingJournal
	e    *sync.Engine
	// mod, when set, adjusts the engine's options at every (re)open.
	mod func(*sync.Options)
}

func newStoreTill(t testing.TB, concurrency int) *storeTill {
	t.Helper()
	return newStoreTillWith(t, concurrency, nil)
}

func newStoreTillWith(t testing.TB, concurrency int, mod func(*sync.Options)) *storeTill {
	t.Helper()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(hc.CloseIdleConnections)
	client, err := wechat.New(wechat.Options{BaseURL: srv.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, HTTPClient: hc})})
	if err != nil {
		t.Fatal(err)
	}
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off any drink"})
	st := &storeTill{t: t, path: filepath.Join(t.TempDir(), "journal.db"), clk: newClock(), srv: srv, wx: sync.NewWeChat(client), mod: mod}
	st.open(concurrency)
	t.Cleanup(func() { _ = st.db.Close() })
	return st
}

// open (re)opens the journal and builds a fresh engine, like a restart.
func (st *storeTill) open(concurrency int) {
	st.t.Helper()
	db, err := store.Open(st.path, store.Options{Now: st.clk.Now, Terminal: "till-2", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.t.Fatal(err)
	}
	st.db = db
	st.j = &countingJournal{Journal: sync.NewJournal(db, "till-2")}
	o := sync.Options{Journal: st.j, WeChat: st.wx, Terminal: "till-2", OpenShiftOnScan: true,
		Policy:  sync.Policy{MaxPerShift: -1},
		Timeout: 300 * time.Millisecond, SyncTimeout: 300 * time.Millisecond, QuietPeriod: 20 * time.Second,
		MaxBackoff: 10 * time.Second, Concurrency: concurrency, Now: st.clk.Now}
	if st.mod != nil {
		st.mod(&o)
	}
	e, err := sync.New(o)
	if err != nil {
		st.t.Fatal(err)
	}
	st.e = e
}

func (st *storeTill) restart() {
	st.t.Helper()
	if err := st.db.Close(); err != nil {
		st.t.Fatal(err)
	}
	st.open(4)
}

func (st *storeTill) state(code string) []sync.State {
	st.t.Helper()
	var out []sync.State
	for _, s := range store.AllStates {
		rs, err := st.db.Find(store.Query{Index: store.ByState, State: s})
		if err != nil {
			st.t.Fatal(err)
		}
		for _, r := range rs {
			if r.Code == code {
				out = append(out, r.State)
			}
		}
	}
	return out
}

func TestEngineOnStoreJournal(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	codes := []string{"700000000001", "700000000002", "700000000003", "700000000004"}
	for _, c := range codes {
		st.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
	}
	ctx := context.Background()
	// Online, consumed.
	if out, err := st.e.Redeem(ctx, sync.Request{Code: codes[0], Cashier: "Wang Fang"}); err != nil || out.Kind != sync.Consumed || out.CardTitle != "¥20 off any drink" {
		t.Fatalf("online: %+v %v", out, err)
	}
	// Answer lost after the consume was applied: in doubt.
	st.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
	if out, err := st.e.Redeem(ctx, sync.Request{Code: codes[1]}); err != nil || out.Kind != sync.Checking {
		t.Fatalf("drop after: %+v %v", out, err)
	}
	// Offline: queued.
	st.srv.SetOutage(true)
	for _, c := range codes[2:] {
		if out, err := st.e.Redeem(ctx, sync.Request{Code: c}); err != nil || out.Kind != sync.AcceptedOffline {
			t.Fatalf("offline: %+v %v", out, err)
		}
	}
	// Rescans: used here (with shift), duplicate of the in-doubt one.
	if out, _ := st.e.Redeem(ctx, sync.Request{Code: codes[0]}); out.Kind != sync.Refused || out.Reason != sync.ReasonUsedHere || out.Previous == nil || out.Previous.ShiftID == 0 {
		t.Fatalf("rescan consumed: %+v", out)
	}
	if out, _ := st.e.Redeem(ctx, sync.Request{Code: codes[1]}); out.Kind != sync.Duplicate {
		t.Fatalf("rescan in doubt: %+v", out)
	}
	// Someone else consumes code 4 meanwhile: a conflict later.
	st.srv.SetStatus(codes[3], wechat.StatusConsumed)
	// Restart on the same file, network back, quiet period over.
	st.restart()
	st.srv.SetOutage(false)
	st.clk.Advance(time.Minute)
	if err := st.e.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.e.DrainOnce(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{codes[0]: "consumed,rejected", codes[1]: "consumed", codes[2]: "consumed", codes[3]: "conflict"}
	for _, c := range codes {
		got := ""
		for i, s := range st.state(c) {
			if i > 0 {
				got += ","
			}
			got += string(s)
		}
		if got != want[c] {
			t.Errorf("code %s: states %s, want %s", c, got, want[c])
		}
		if n := st.srv.ConsumeCount(c); n > 1 || (c != codes[3]) != (n == 1) {
			t.Errorf("code %s consumed %d times", c, n)
		}
	}
	conf, _ := st.db.Find(store.Query{Index: store.ByState, State: store.Conflict})
	if len(conf) != 1 || conf[0].OfflineAcceptedAt.IsZero() || conf[0].ShiftID == 0 || conf[0].Reason != string(sync.ReasonAlreadyUsed) {
		t.Fatalf("conflict lost details: %+v", conf)
	}
	if s := st.e.Status(); s.QueueDepth != 0 || s.Conflicts != 1 {
		t.Fatalf("status %+v", s)
	}
}

func TestConcurrentSameCodeOnStore(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	for round := range 10 {
		code := fmt.Sprintf("71000000%04d", round)
		st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
		var wg stdsync.WaitGroup
		kinds := make([]sync.OutcomeKind, 2)
		for i := range kinds {
			wg.Go(func() {
				out, err := st.e.Redeem(context.Background(), sync.Request{Code: code})
				if err != nil {
					t.Error(err)
				}
				kinds[i] = out.Kind
			})
		}
		wg.Wait()
		if st.srv.ConsumeCount(code) != 1 || (kinds[0] == sync.Consumed) == (kinds[1] == sync.Consumed) {
			t.Fatalf("round %d: kinds %v, consumed %d", round, kinds, st.srv.ConsumeCount(code))
		}
	}
}

// Two engines on one journal (no shared claims between them): the same
// code scanned on both at once is one redemption, consumed once; the
// journal's active-code index, taken by the received commit, decides.
func TestTwoEnginesOneJournalSameCode(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	other, err := sync.New(sync.Options{Journal: sync.NewJournal(st.db, "till-2"), WeChat: st.wx, Terminal: "till-2", OpenShiftOnScan: true,
		Policy: sync.Policy{MaxPerShift: -1}, Timeout: 300 * time.Millisecond, SyncTimeout: 300 * time.Millisecond, QuietPeriod: 20 * time.Second, Now: st.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.OpenShift("till-2", "Wang Fang"); err != nil {
		t.Fatal(err)
	}
	for round := range 10 {
		code := fmt.Sprintf("75000000%04d", round)
		st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
		var wg stdsync.WaitGroup
		outs := make([]sync.Outcome, 2)
		start := make(chan struct{})
		for i, e := range []*sync.Engine{st.e, other} {
			wg.Go(func() {
				<-start
				out, err := e.Redeem(context.Background(), sync.Request{Code: code})
				if err != nil {
					t.Error(err)
				}
				outs[i] = out
			})
		}
		close(start)
		wg.Wait()
		kinds := map[sync.OutcomeKind]int{}
		for _, o := range outs {
			kinds[o.Kind]++
		}
		// The loser is a duplicate read while the winner works, or, if it
		// came after the winner finished, refused as used here.
		if kinds[sync.Consumed] != 1 || kinds[sync.Duplicate]+kinds[sync.Refused] != 1 || st.srv.ConsumeCount(code) != 1 {
			t.Fatalf("round %d: outcomes %+v, consumed %d", round, outs, st.srv.ConsumeCount(code))
		}
		if got := st.state(code); kinds[sync.Duplicate] == 1 && len(got) != 1 {
			t.Fatalf("round %d: redemptions %v, want one", round, got)
		}
	}
}

// A till killed right after the received commit leaves a redemption the
// cashier never saw answered: after the restart it is rejected as
// interrupted, nothing was consumed, and the code scans again.
func TestKillAfterReceivedOnStore(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	const code = "720000000001"
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	if _, err := st.db.OpenShift("till-2", "Wang Fang"); err != nil {
		t.Fatal(err)
	}
	st.j.killAfterCreate.Store(true)
	if _, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); !errors.Is(err, errDead) {
		t.Fatalf("the killed till answered: %v", err)
	}
	if got := st.state(code); len(got) != 1 || got[0] != "received" {
		t.Fatalf("left behind: %v", got)
	}
	st.restart()
	if err := st.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs, err := st.db.Find(store.Query{Index: store.ByState, State: store.Rejected})
	if err != nil || len(rs) != 1 || rs[0].Code != code || rs[0].Reason != string(sync.ReasonInterrupted) {
		t.Fatalf("rejected after recovery: %+v %v", rs, err)
	}
	var path []string
	for _, h := range rs[0].History {
		path = append(path, string(h.To))
	}
	if strings.Join(path, ",") != "received,rejected" {
		t.Fatalf("history %v", path)
	}
	if n := st.srv.ConsumeCount(code); n != 0 {
		t.Fatalf("an unanswered scan was consumed %d times", n)
	}
	if out, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); err != nil || out.Kind != sync.Consumed || st.srv.ConsumeCount(code) != 1 {
		t.Fatalf("scan again: %+v %v", out, err)
	}
	// The consume intent recorded the query in the same commit.
	cs, _ := st.db.Find(store.Query{Index: store.ByState, State: store.Consumed})
	path = path[:0]
	for _, h := range cs[0].History {
		path = append(path, string(h.To))
	}
	if strings.Join(path, ",") != "received,checked,consuming,consumed" {
		t.Fatalf("history of the consumed one %v", path)
	}
}

// offline.max_age counts from the beginning of the outage, across a restart
// of the till; the status bar's last sync survives a restart too.
func TestOutageClockSurvivesRestart(t *testing.T) {
	t.Parallel()
	st := newStoreTillWith(t, 4, func(o *sync.Options) { o.Policy = sync.Policy{MaxPerShift: -1, MaxAge: time.Hour} })
	codes := []string{"730000000001", "730000000002", "730000000003"}
	for _, c := range codes {
		st.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
	}
	ctx := context.Background()
	st.srv.SetOutage(true)
	began := st.clk.Now()
	if out, err := st.e.Redeem(ctx, sync.Request{Code: codes[0]}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("offline: %+v %v", out, err)
	}
	st.restart()
	if s := st.e.Status(); s.Online || !s.OfflineSince.Equal(began) {
		t.Fatalf("after a restart during the outage: %+v, want offline since %s", s, began)
	}
	st.clk.Advance(40 * time.Minute)
	if out, err := st.e.Redeem(ctx, sync.Request{Code: codes[1]}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("40 min into the outage: %+v %v", out, err)
	}
	st.restart()
	st.clk.Advance(40 * time.Minute)
	out, err := st.e.Redeem(ctx, sync.Request{Code: codes[2]})
	if err != nil || out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineTooLong {
		t.Fatalf("80 min into the outage, after two restarts: %+v %v", out, err)
	}
	// Back online: the drain empties the queue and the outage ends.
	st.srv.SetOutage(false)
	st.clk.Advance(time.Minute)
	if rep, err := st.e.DrainOnce(ctx); err != nil || rep.Consumed != 2 {
		t.Fatalf("drain: %+v %v", rep, err)
	}
	synced := st.e.Status()
	if !synced.Online || synced.LastSync.IsZero() || synced.LastContact.IsZero() {
		t.Fatalf("status after the drain %+v", synced)
	}
	st.restart()
	if s := st.e.Status(); !s.Online || !s.OfflineSince.IsZero() || !s.LastSync.Equal(synced.LastSync) || !s.LastContact.Equal(synced.LastContact) {
		t.Fatalf("status after a restart %+v, want online, last sync %s, last contact %s", s, synced.LastSync, synced.LastContact)
	}
	// A new outage starts a new clock.
	st.clk.Advance(3 * time.Hour)
	st.srv.SetOutage(true)
	if out, err := st.e.Redeem(ctx, sync.Request{Code: "730000000004"}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("new outage: %+v %v", out, err)
	}
}

// Codes the hub's feed says were given away (GIFTING, GIFTED) or deleted
// are refused offline, with a reason that says so.
func TestOfflineRefusesGivenAwayCodesFromFeed(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 13, 30, 0, 0, time.UTC)
	st := newStoreTillWith(t, 4, func(o *sync.Options) {
		o.Feed = feedFunc(func(context.Context, string) (sync.FeedPage, error) {
			return sync.FeedPage{Changes: []sync.CodeChange{
				{Code: "740000000001", CardID: "pCard", Status: "GIFTING", At: at},
				{Code: "740000000002", CardID: "pCard", Status: "GIFTED", At: at},
				{Code: "740000000003", CardID: "pCard", Status: "DELETE", At: at},
				{Code: "740000000004", CardID: "pCard", Status: "NORMAL", At: at},
			}, Next: "c1"}, nil
		})
	})
	ctx := context.Background()
	if err := st.e.PullFeed(ctx); err != nil {
		t.Fatal(err)
	}
	st.srv.SetOutage(true)
	for code, needle := range map[string]string{"740000000001": "being given to a friend", "740000000002": "given to a friend (the code changed)", "740000000003": "deleted"} {
		out, err := st.e.Redeem(ctx, sync.Request{Code: code})
		if err != nil || out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineKnownBad || !strings.Contains(out.ReasonText, needle) {
			t.Errorf("code %s offline: %+v %v, want refused saying %q", code, out, err, needle)
		}
	}
	if out, err := st.e.Redeem(ctx, sync.Request{Code: "740000000004"}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("a code the feed says is usable: %+v %v", out, err)
	}
}

// BenchmarkRedeemOnlineStore: an online redemption on the real bbolt
// journal (fsync on) against the fake WeChat at zero latency;
// commits-before-answer/op is the number of fsync'd commits before the
// answer is final (Request.OnAnswer), commits/op all of them.
func BenchmarkRedeemOnlineStore(b *testing.B) {
	st := newStoreTill(b, 4)
	st.srv.AddCode(wechattest.Code{Code: "100000000000", CardID: "pCard"})
	if _, err := st.e.Redeem(context.Background(), sync.Request{Code: "100000000000"}); err != nil {
		b.Fatal(err)
	}
	benchOnline(b, st.e, func(code string) { st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"}) }, st.j.n.Load)
}

// BenchmarkDrainStore: N queued codes (CARDTILL_BENCH_DRAIN, default
// 10,000) drained from the real bbolt journal through the real client, 20
// ms fake latency per call, concurrency 8; "ideal" is the fraction of 200/s.
func BenchmarkDrainStore(b *testing.B) {
	n := benchDrainN()
	benchDrain(b, n, func() *sync.Engine {
		// Timeouts as the other drain benchmarks: on a contended CPU a 20 ms
		// call can take longer than the 300 ms of the tests.
		st := newStoreTillWith(b, 8, func(o *sync.Options) { o.Timeout, o.SyncTimeout = time.Second, 2*time.Second })
		shift, err := st.db.OpenShift("till-2", "bench")
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			code := fmt.Sprintf("2%011d", i)
			st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
			queueOn(b, st.j, code, shift.ID, st.clk.Now())
		}
		for _, ep := range []wechattest.Endpoint{wechattest.EndpointGetCode, wechattest.EndpointConsume} {
			st.srv.Inject(ep, wechattest.Fault{Latency: 20 * time.Millisecond, Persistent: true})
		}
		return st.e
	})
}

// An encrypted scan that WeChat cannot decrypt (unreachable, or it refuses
// the value) has no code; it is still journaled, refused with a reason the
// cashier can act on, and the journal stays consistent.
func TestUndecryptableScanIsJournaledOnStore(t *testing.T) {
	t.Parallel()
	st := newStoreTill(t, 4)
	ctx := context.Background()
	enc := st.srv.Encrypt("740000009999")
	st.srv.SetOutage(true)
	out, err := st.e.Redeem(ctx, sync.Request{EncryptCode: enc})
	if err != nil || out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineUnknownCode {
		t.Fatalf("encrypted scan offline: %+v %v, want refused (%s)", out, err, sync.ReasonOfflineUnknownCode)
	}
	st.srv.SetOutage(false)
	out, err = st.e.Redeem(ctx, sync.Request{EncryptCode: "bm90LWEtd2VjaGF0LWNvZGU="})
	if err != nil || out.Kind != sync.Refused {
		t.Fatalf("an encrypted value WeChat refuses: %+v %v, want refused", out, err)
	}
	rs, err := st.db.Find(store.Query{Index: store.ByState, State: store.Rejected})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Code != "" || rs[0].EncryptCode != enc {
		t.Fatalf("journal holds %+v, want both scans refused with their encrypted codes", rs)
	}
	if err := st.db.Check(); err != nil {
		t.Fatal(err)
	}
}
