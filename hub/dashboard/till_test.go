package dashboard_test

import (
	"context"
	"net/http"
	"path/filepath"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/fleet"
	"cardtill/hub"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// tillClock is the till's clock, moved by hand (the hub's is env.clk).
type tillClock struct {
	mu    stdsync.Mutex
	t     time.Time
	start time.Time
}

type stoppedTimer struct{ c chan time.Time }

func (t stoppedTimer) C() <-chan time.Time { return t.c }
func (t stoppedTimer) Stop() bool          { return true }

func (c *tillClock) Now() time.Time                    { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *tillClock) Mono() time.Duration               { c.mu.Lock(); defer c.mu.Unlock(); return c.t.Sub(c.start) }
func (c *tillClock) Advance(d time.Duration)           { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func (c *tillClock) NewTimer(time.Duration) sync.Timer { return stoppedTimer{make(chan time.Time)} } // the tests call Exchange and DrainOnce themselves

// realTill is a real journal and engine on the fake WeChat, reporting to
// the env's hub as till-a with the real fleet.Reporter.
type realTill struct {
	t   testing.TB
	clk *tillClock
	db  *store.DB
	e   *sync.Engine
	wx  *wechattest.Server
	rep *fleet.Reporter
}

func newRealTill(t testing.TB, env *env) *realTill {
	t.Helper()
	clk := &tillClock{t: env.clk.Now(), start: env.clk.Now()}
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{Now: clk.Now, Terminal: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	wx := wechattest.New()
	t.Cleanup(wx.Close)
	wx.AddCard(wechattest.Card{CardID: "pCard", Title: "满100减20"})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	client, err := wechat.New(wechat.Options{BaseURL: wx.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: wx.URL, AppID: wx.AppID, Secret: wx.Secret, HTTPClient: hc})})
	if err != nil {
		t.Fatal(err)
	}
	e, err := sync.New(sync.Options{
		Journal: sync.NewJournal(db, "T1"), WeChat: sync.NewWeChat(client), Terminal: "T1", OpenShiftOnScan: true, DefaultCashier: "李",
		Policy:  sync.Policy{Mode: "accept", MaxPerShift: 20, MaxAge: 4 * time.Hour},
		Timeout: 2 * time.Second, SyncTimeout: 2 * time.Second, QuietPeriod: 20 * time.Second, MaxBackoff: 10 * time.Second, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fleet.New(fleet.Options{
		DB: db, Hub: hub.NewClient(hub.ClientOptions{URL: env.srv.URL, TerminalKey: env.key, HTTPClient: env.srv.Client()}), Clock: clk,
		State: func() fleet.State {
			return fleet.State{Version: "test-1", Store: "上海南京路店", Terminal: "T1", Status: e.Status(), Scanner: "connected"}
		},
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &realTill{t: t, clk: clk, db: db, e: e, wx: wx, rep: rep}
}

func (tl *realTill) exchange() {
	tl.t.Helper()
	if err := tl.rep.Exchange(context.Background()); err != nil {
		tl.t.Fatal(err)
	}
}

// conflict makes one: a code accepted offline that WeChat, once back,
// says was consumed elsewhere. It returns the redemption's id.
func (tl *realTill) conflict(code string) uint64 {
	tl.t.Helper()
	tl.wx.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	tl.wx.SetOutage(true)
	out, err := tl.e.Redeem(context.Background(), sync.Request{Code: code, Source: "test"})
	if err != nil {
		tl.t.Fatal(err)
	}
	tl.wx.SetStatus(code, wechat.StatusConsumed)
	tl.wx.SetOutage(false)
	for range 10 {
		tl.clk.Advance(time.Minute)
		if _, err := tl.e.DrainOnce(context.Background()); err != nil {
			tl.t.Fatal(err)
		}
		if n, _ := tl.db.Count(store.Query{Index: store.Outbox}); n == 0 {
			return out.ID
		}
	}
	tl.t.Fatal("the queue did not drain")
	return 0
}
