package sync_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
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
type countingJournal struct {
	sync.Journal
	n atomic.Int64
}

func (c *countingJournal) Create(r sync.Record, path ...string) (sync.Record, error) {
	c.n.Add(1)
	return c.Journal.Create(r, path...)
}

func (c *countingJournal) Transition(id uint64, from, to string, u func(*sync.Record)) (sync.Record, error) {
	c.n.Add(1)
	return c.Journal.Transition(id, from, to, u)
}

func (c *countingJournal) TransitionBatch(id uint64, from, to string, u func(*sync.Record)) (sync.Record, error) {
	c.n.Add(1)
	return c.Journal.TransitionBatch(id, from, to, u)
}

func (c *countingJournal) TransitionVia(id uint64, from string, via []string, to string, u func(*sync.Record)) (sync.Record, error) {
	c.n.Add(1)
	return c.Journal.(sync.ViaJournal).TransitionVia(id, from, via, to, u)
}

func (c *countingJournal) Meta(key string) (string, error) {
	return c.Journal.(sync.MetaJournal).Meta(key)
}

func (c *countingJournal) PutMeta(key, value string) error {
	c.n.Add(1)
	return c.Journal.(sync.MetaJournal).PutMeta(key, value)
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
}

func newStoreTill(t testing.TB, concurrency int) *storeTill {
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
	st := &storeTill{t: t, path: filepath.Join(t.TempDir(), "journal.db"), clk: newClock(), srv: srv, wx: sync.NewWeChat(client)}
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
	e, err := sync.New(sync.Options{Journal: st.j, WeChat: st.wx, Terminal: "till-2", OpenShiftOnScan: true,
		Policy:  sync.Policy{MaxPerShift: -1},
		Timeout: 300 * time.Millisecond, SyncTimeout: 300 * time.Millisecond, QuietPeriod: 20 * time.Second,
		MaxBackoff: 10 * time.Second, Concurrency: concurrency, Now: st.clk.Now})
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

func (st *storeTill) state(code string) []string {
	st.t.Helper()
	var out []string
	for _, s := range store.AllStates {
		rs, err := st.db.ListByState(s, 0)
		if err != nil {
			st.t.Fatal(err)
		}
		for _, r := range rs {
			if r.Code == code {
				out = append(out, string(r.State))
			}
		}
	}
	return out
}

func TestEngineOnStoreJournal(t *testing.T) {
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
			got += s
		}
		if got != want[c] {
			t.Errorf("code %s: states %s, want %s", c, got, want[c])
		}
		if n := st.srv.ConsumeCount(c); n > 1 || (c != codes[3]) != (n == 1) {
			t.Errorf("code %s consumed %d times", c, n)
		}
	}
	conf, _ := st.db.ListByState(store.Conflict, 0)
	if len(conf) != 1 || conf[0].OfflineAcceptedAt.IsZero() || conf[0].ShiftID == 0 || conf[0].Reason != string(sync.ReasonAlreadyUsed) {
		t.Fatalf("conflict lost details: %+v", conf)
	}
	if s := st.e.Status(); s.QueueDepth != 0 || s.Conflicts != 1 {
		t.Fatalf("status %+v", s)
	}
}

func TestConcurrentSameCodeOnStore(t *testing.T) {
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
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = fmt.Sprintf("1%011d", i+1)
		st.srv.AddCode(wechattest.Code{Code: codes[i], CardID: "pCard"})
	}
	before := st.j.n.Load()
	var beforeAnswer int64
	var toAnswer time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := st.j.n.Load()
		t0 := time.Now()
		out, err := st.e.Redeem(context.Background(), sync.Request{Code: codes[i], OnAnswer: func(sync.Outcome) {
			beforeAnswer += st.j.n.Load() - start
			toAnswer += time.Since(t0)
		}})
		if err != nil || out.Kind != sync.Consumed {
			b.Fatalf("%+v %v", out, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(beforeAnswer)/float64(b.N), "commits-before-answer/op")
	b.ReportMetric(float64(toAnswer.Nanoseconds())/float64(b.N), "ns-to-answer/op")
	b.ReportMetric(float64(st.j.n.Load()-before)/float64(b.N), "commits/op")
}

// BenchmarkDrainStore: N queued codes (CARDTILL_BENCH_DRAIN, default
// 10,000) drained from the real bbolt journal through the real client, 20
// ms fake latency per call, concurrency 8; "ideal" is the fraction of 200/s.
func BenchmarkDrainStore(b *testing.B) {
	n := benchDrainN()
	var total time.Duration
	for range b.N {
		b.StopTimer()
		st := newStoreTill(b, 8)
		for i := range n {
			code := fmt.Sprintf("2%011d", i)
			st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
		}
		shift, err := st.db.OpenShift("till-2", "bench")
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if _, err := st.j.Create(sync.Record{Code: fmt.Sprintf("2%011d", i), State: sync.StateQueued, ShiftID: shift.ID, AcceptedAt: st.clk.Now(), NextAttempt: st.clk.Now()}, sync.StateReceived, sync.StateQueued); err != nil {
				b.Fatal(err)
			}
		}
		for _, ep := range []wechattest.Endpoint{wechattest.EndpointGetCode, wechattest.EndpointConsume} {
			st.srv.Inject(ep, wechattest.Fault{Latency: 20 * time.Millisecond, Persistent: true})
		}
		b.StartTimer()
		start := time.Now()
		rep, err := st.e.DrainOnce(context.Background())
		total += time.Since(start)
		if err != nil || rep.Consumed != n || rep.Remaining != 0 {
			b.Fatalf("drain: %+v %v", rep, err)
		}
	}
	perSec := float64(n*b.N) / total.Seconds()
	b.ReportMetric(perSec, "codes/s")
	b.ReportMetric(perSec/200, "ideal")
}
