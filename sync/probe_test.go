package sync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// codeCalls counts the fake WeChat's calls that read or write a code.
func codeCalls(srv *wechattest.Server) int {
	return srv.Calls(wechattest.EndpointGetCode) + srv.Calls(wechattest.EndpointConsume) + srv.Calls(wechattest.EndpointDecrypt)
}

// goOffline scans code during an outage with offline acceptance off: the
// scan is refused, the queue stays empty, and the outage is kept in the
// journal.
func goOffline(t *testing.T, st *storeTill, code string) time.Time {
	t.Helper()
	st.srv.SetOutage(true)
	out, err := st.e.Redeem(context.Background(), sync.Request{Code: code})
	if err != nil || out.Kind != sync.Refused {
		t.Fatalf("scan during the outage: %+v %v", out, err)
	}
	s := st.e.Status()
	if s.Online || s.OfflineSince.IsZero() || s.QueueDepth != 0 {
		t.Fatalf("after the scan: %+v", s)
	}
	return s.OfflineSince
}

// TestRunProbesWeChatAfterRestartDuringOutage: a till restarted during an
// outage (kept in the journal) with an empty queue and no scans said
// "offline since T" after WeChat was back, and did not pull the hub's
// feed, until the next scan: only a call that reached WeChat told the
// engine. Run now probes WeChat while offline.
func TestRunProbesWeChatAfterRestartDuringOutage(t *testing.T) {
	t.Parallel()
	const code, fed = "730000000001", "730000000002"
	pulled := make(chan struct{}, 1)
	st := newStoreTillWith(t, 4, func(o *sync.Options) {
		o.Policy.MaxPerShift = 0 // no offline acceptance: nothing queued
		o.Feed = feedFunc(func(_ context.Context, cursor string) (sync.FeedPage, error) {
			if cursor == "" {
				return sync.FeedPage{Changes: []sync.CodeChange{{Code: fed, CardID: "pCard", Status: "DELETE"}}, Next: "c1", More: true}, nil
			}
			// The first page is stored by now.
			select {
			case pulled <- struct{}{}:
			default:
			}
			return sync.FeedPage{Next: cursor}, nil
		})
	})
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	since := goOffline(t, st, code)

	st.clk.Advance(time.Hour)
	st.restart()
	if s := st.e.Status(); s.Online || !s.OfflineSince.Equal(since) {
		t.Fatalf("after the restart: %+v, want offline since %s", s, since)
	}
	st.srv.SetOutage(false)
	calls := codeCalls(st.srv)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.e.Run(ctx) }()
	select {
	case <-pulled:
	case <-time.After(time.Minute): // a hang guard, not a timing
		cancel()
		t.Fatalf("Run never pulled the feed after WeChat came back: %+v", st.e.Status())
	}
	s := st.e.Status()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !s.Online || !s.OfflineSince.IsZero() || !s.LastContact.Equal(st.clk.Now()) {
		t.Fatalf("status after the probe: %+v", s)
	}
	if cs, err := st.j.CodeStatus(fed); err != nil || cs == nil || cs.Status != "DELETE" {
		t.Fatalf("the feed's change was not stored: %+v %v", cs, err)
	}
	if n := codeCalls(st.srv) - calls; n != 0 {
		t.Fatalf("Run called WeChat about a code %d times with nothing queued", n)
	}
	// The status bar stays true across the next restart too.
	st.restart()
	if s := st.e.Status(); !s.Online || !s.OfflineSince.IsZero() {
		t.Fatalf("after a second restart: %+v", s)
	}
}

// TestProbeKeepsOutageAndTouchesNoCode: a probe that does not reach WeChat
// leaves the outage as it was (offline since its real beginning, in the
// journal too); one that does marks the engine online. Neither reads or
// writes a code.
func TestProbeKeepsOutageAndTouchesNoCode(t *testing.T) {
	t.Parallel()
	const code = "730000000003"
	st := newStoreTillWith(t, 4, func(o *sync.Options) { o.Policy.MaxPerShift = 0 })
	st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	since := goOffline(t, st, code)
	calls := codeCalls(st.srv)
	ctx := context.Background()

	st.clk.Advance(time.Minute)
	if sync.Probe(st.e, ctx) {
		t.Fatal("a probe during the outage said online")
	}
	if s := st.e.Status(); s.Online || !s.OfflineSince.Equal(since) {
		t.Fatalf("after a failed probe: %+v, want offline since %s", s, since)
	}
	st.restart()
	if s := st.e.Status(); s.Online || !s.OfflineSince.Equal(since) {
		t.Fatalf("after a failed probe and a restart: %+v, want offline since %s", s, since)
	}

	st.srv.SetOutage(false)
	if !sync.Probe(st.e, ctx) {
		t.Fatal("a probe with WeChat back said offline")
	}
	if s := st.e.Status(); !s.Online || !s.OfflineSince.IsZero() {
		t.Fatalf("after a probe that reached WeChat: %+v", s)
	}
	if n := codeCalls(st.srv) - calls; n != 0 {
		t.Fatalf("probes called WeChat about a code %d times", n)
	}
	if n := st.srv.ConsumeCount(code); n != 0 {
		t.Fatalf("consumed %d times", n)
	}
	if c, _ := st.srv.Code(code); c.Status != "" && c.Status != "NORMAL" {
		t.Fatalf("the code changed at WeChat: %+v", c)
	}
}

// TestRunWaitProbesBackedOff: while offline with nothing due, Run waits
// for its next probe at least probeMin (5 s) and at most MaxBackoff (10 s
// here), not the drain interval (30 s); online, the interval.
func TestRunWaitProbesBackedOff(t *testing.T) {
	t.Parallel()
	st := newStoreTillWith(t, 4, func(o *sync.Options) { o.Policy.MaxPerShift = 0 })
	st.srv.AddCode(wechattest.Code{Code: "730000000004", CardID: "pCard"})
	goOffline(t, st, "730000000004")
	st.restart()
	for failures := 1; failures <= 8; failures++ {
		for _, failed := range []bool{false, true} { // the journal failing too
			if w := sync.RunWait(st.e, sync.DrainReport{}, failed, failures); w < 5*time.Second || w > 10*time.Second {
				t.Fatalf("offline, %d failures (journal failing %v): Run waits %s before the next probe", failures, failed, w)
			}
		}
	}
	st.srv.SetOutage(false)
	if !sync.Probe(st.e, context.Background()) {
		t.Fatal("the probe did not reach WeChat")
	}
	if w := sync.RunWait(st.e, sync.DrainReport{}, false, 0); w != 30*time.Second {
		t.Fatalf("online with nothing due: Run waits %s, want the interval", w)
	}
}

// TestProbeNeedsAToken: WeChat answers but the hub cannot give this till a
// token (no AppSecret: 503; the terminal key refused: 401). Every call
// would fail, so the probe leaves the engine offline; a refused key shows
// as such.
func TestProbeNeedsAToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status  int
		refused bool
	}{{http.StatusServiceUnavailable, false}, {http.StatusUnauthorized, true}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			st := newStoreTillWith(t, 4, func(o *sync.Options) { o.Policy.MaxPerShift = 0 })
			const code = "730000000005"
			st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
			since := goOffline(t, st, code)
			st.srv.SetOutage(false)
			hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "no token for you", tc.status)
			}))
			defer hub.Close()
			c, err := wechat.New(wechat.Options{BaseURL: st.srv.URL,
				Tokens: wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: "TERMINAL-KEY"})})
			if err != nil {
				t.Fatal(err)
			}
			st.wx = sync.NewWeChat(c)
			st.restart()
			if sync.Probe(st.e, context.Background()) {
				t.Fatal("online without a token")
			}
			if s := st.e.Status(); s.Online || !s.OfflineSince.Equal(since) || s.TerminalKeyRefused != tc.refused {
				t.Fatalf("status %+v, want offline since %s, key refused %v", s, since, tc.refused)
			}
		})
	}
}
