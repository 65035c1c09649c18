// Package demo wires the whole till for `cardtill demo` and the till
// screen's tests: the real engine, the real WeChat client talking over
// loopback to the in-process fake WeChat (wechat/wechattest) loaded with the
// demo catalogue, and a real bbolt journal in a temporary directory that is
// removed on Close. It never reaches beyond loopback and never reads a config.
package demo

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// Till is a running demo: close it with Close.
type Till struct {
	Engine *sync.Engine
	// Journal is the shifts of the demo till (the till screen's Shifts).
	Journal Shifts
	DB      *store.DB
	WeChat  *wechattest.Server
	// StatusC carries the engine's status notifications (latest wins).
	StatusC chan sync.Status
	// Codes are the sample codes to show on screen.
	Codes []Code

	cancel context.CancelFunc
	done   chan struct{}
	hc     *http.Client
	dir    string
}

// Shifts opens and closes the demo till's shifts in the journal.
type Shifts struct{ db *store.DB }

// CurrentShift is the open shift of the demo till.
func (s Shifts) CurrentShift() (uint64, string, bool, error) {
	sh, ok, err := s.db.CurrentShift(terminal)
	return sh.ID, sh.Cashier, ok, err
}

// OpenShift opens a shift for cashier.
func (s Shifts) OpenShift(cashier string, _ time.Time) (uint64, error) {
	sh, err := s.db.OpenShift(terminal, cashier)
	return sh.ID, err
}

// CloseShift closes shift id.
func (s Shifts) CloseShift(id uint64, _ time.Time) error {
	_, err := s.db.CloseShift(id)
	return err
}

const terminal = "demo-till"

// Code is a sample code and what it is (its WeChat status).
type Code struct{ Code, Note string }

// Options tune the demo; zero values are the demo's defaults.
type Options struct {
	// Interval is the drain period (3 s by default, so a newcomer sees the
	// queue drain soon after the outage ends).
	Interval time.Duration
	// ProbeInterval is how often WeChat is probed while idle (2 s by
	// default, so an outage toggled with F8 shows soon without a scan).
	ProbeInterval time.Duration
	Logger        *slog.Logger
	// Clock is the engine's clock (the PC's when nil): tests move it to
	// end a quiet period without waiting for it.
	Clock sync.Clock
}

// Start builds and runs the demo till.
func Start(o Options) (*Till, error) {
	if o.Interval == 0 {
		o.Interval = 3 * time.Second
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = 2 * time.Second
	}
	dir, err := os.MkdirTemp("", "cardtill-demo-")
	if err != nil {
		return nil, err
	}
	db, err := store.Open(filepath.Join(dir, "journal.db"), store.Options{Terminal: terminal, Logger: o.Logger})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	fail := func(err error) (*Till, error) {
		_ = db.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	srv := wechattest.New()
	srv.LoadDemo()
	srv.LoseConsumeAnswer(wechattest.DemoLostAnswer) // an in-doubt consume that settles
	hc := &http.Client{Transport: &http.Transport{}}
	client, err := wechat.New(wechat.Options{BaseURL: srv.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, HTTPClient: hc})})
	if err != nil {
		srv.Close()
		return fail(err)
	}
	t := &Till{Journal: Shifts{db}, DB: db, WeChat: srv, StatusC: make(chan sync.Status, 1), done: make(chan struct{}), hc: hc, dir: dir}
	e, err := sync.New(sync.Options{
		Journal: sync.NewJournal(db, terminal), WeChat: sync.NewWeChat(client),
		// the demo's custom code (CUST-8848) passes the offline format check
		Policy:   sync.Policy{Mode: sync.ModeAccept, MaxPerShift: 20, CodePattern: regexp.MustCompile(`^([0-9]{10,20}|CUST-[0-9]{4})$`)},
		Terminal: terminal, CustomCodeCards: []string{wechattest.DemoCardCustom},
		OpenShiftOnScan: true, DefaultCashier: "demo",
		Timeout: 2 * time.Second, SyncTimeout: 2 * time.Second, QuietPeriod: 5 * time.Second,
		MaxBackoff: 5 * time.Second, Interval: o.Interval, ProbeInterval: o.ProbeInterval,
		Logger: o.Logger, OnStatus: t.push, Clock: o.Clock,
	})
	if err != nil {
		srv.Close()
		return fail(err)
	}
	t.Engine = e
	for _, c := range []struct{ code, note string }{
		{wechattest.DemoNormal, "NORMAL"},
		{wechattest.DemoNormal2, "NORMAL"},
		{wechattest.DemoNormal3, "NORMAL"},
		{wechattest.DemoLostAnswer, "answer lost"},
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = t.Engine.Shutdown(ctx) // what is left dies with the temporary journal
	cancel()
	t.hc.CloseIdleConnections()
	t.WeChat.Close()
	_ = t.DB.Close()
	_ = os.RemoveAll(t.dir)
}
