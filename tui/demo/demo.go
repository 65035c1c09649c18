// Package demo wires the whole till for `cardtill demo` and the till
// screen's tests: the real engine, the real WeChat client talking over
// loopback to the in-process fake WeChat (wechat/wechattest) loaded with the
// demo catalogue, and an in-memory journal. It never reaches beyond
// loopback and never reads a config.
package demo

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"cardtill/sync"
	"cardtill/tui/memjournal"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// Till is a running demo: close it with Close.
type Till struct {
	Engine  *sync.Engine
	Journal *memjournal.Journal
	WeChat  *wechattest.Server
	// StatusC carries the engine's status notifications (latest wins).
	StatusC chan sync.Status
	// Codes are the sample codes to show on screen.
	Codes []Code

	cancel context.CancelFunc
	done   chan struct{}
	hc     *http.Client
}

// Code is a sample code and what it is (its WeChat status).
type Code struct{ Code, Note string }

// Options tune the demo; zero values are the demo's defaults.
type Options struct {
	// Interval is the drain period (3 s by default, so a newcomer sees the
	// queue drain soon after the outage ends).
	Interval time.Duration
	Logger   *slog.Logger
}

// Start builds and runs the demo till.
func Start(o Options) (*Till, error) {
	if o.Interval == 0 {
		o.Interval = 3 * time.Second
	}
	srv := wechattest.New()
	srv.LoadDemo()
	hc := &http.Client{Transport: &http.Transport{}}
	client, err := wechat.New(wechat.Options{BaseURL: srv.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, HTTPClient: hc})})
	if err != nil {
		srv.Close()
		return nil, err
	}
	t := &Till{Journal: memjournal.New(time.Now), WeChat: srv, StatusC: make(chan sync.Status, 1), done: make(chan struct{}), hc: hc}
	e, err := sync.New(sync.Options{
		Journal: t.Journal, WeChat: sync.NewWeChat(client),
		Policy:   sync.Policy{Mode: sync.ModeAccept, MaxPerShift: 20},
		Terminal: "demo-till", CustomCodeCards: []string{wechattest.DemoCardCustom},
		OpenShiftOnScan: true, DefaultCashier: "demo",
		Timeout: 2 * time.Second, SyncTimeout: 2 * time.Second, QuietPeriod: 5 * time.Second,
		MaxBackoff: 5 * time.Second, Interval: o.Interval,
		Logger: o.Logger, OnStatus: t.push,
	})
	if err != nil {
		srv.Close()
		return nil, err
	}
	t.Engine = e
	for _, c := range []struct{ code, note string }{
		{wechattest.DemoNormal, "NORMAL"},
		{wechattest.DemoNormal2, "NORMAL"},
		{wechattest.DemoNormal3, "NORMAL"},
		{wechattest.DemoConsumed, "CONSUMED"},
		{wechattest.DemoExpired, "EXPIRE"},
		{wechattest.DemoNotYetValid, "not yet valid"},
		{wechattest.DemoGifting, "GIFTING"},
		{wechattest.DemoDeleted, "DELETE"},
		{wechattest.DemoUnavailable, "UNAVAILABLE"},
		{wechattest.DemoUnknown, "unknown 40056"},
		{"6901234567892", "EAN-13"},
	} {
		t.Codes = append(t.Codes, Code{Code: c.code, Note: c.note})
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	go func() {
		defer close(t.done)
		_ = e.Run(ctx)
	}()
	return t, nil
}

// push keeps only the latest status in StatusC; it never blocks.
func (t *Till) push(s sync.Status) {
	for {
		select {
		case t.StatusC <- s:
			return
		default:
		}
		select {
		case <-t.StatusC:
		default:
		}
	}
}

// ToggleOutage switches the simulated WeChat outage and returns whether it
// is now on.
func (t *Till) ToggleOutage() bool {
	on := !t.WeChat.Outage()
	t.WeChat.SetOutage(on)
	if !on {
		t.Engine.SyncNow()
	}
	return on
}

// Close stops the engine and the fake WeChat.
func (t *Till) Close() {
	t.cancel()
	<-t.done
	t.hc.CloseIdleConnections()
	t.WeChat.Close()
}
