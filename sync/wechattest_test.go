package sync_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// realHarness runs the engine on the real WeChat client against the fake
// WeChat server over loopback HTTP.
type realHarness struct {
	*harness
	srv *wechattest.Server
}

func newRealHarness(t *testing.T) *realHarness {
	t.Helper()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	client, err := wechat.New(wechat.Options{BaseURL: srv.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, HTTPClient: hc})})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *sync.Options) {
		o.WeChat = sync.NewWeChat(client)
		o.Timeout, o.SyncTimeout = 300*time.Millisecond, 300*time.Millisecond
	})
	return &realHarness{harness: h, srv: srv}
}

func (h *realHarness) settleReal() {
	h.t.Helper()
	h.srv.ClearFaults()
	h.srv.SetOutage(false)
	h.drainUntilEmpty()
}

func (h *realHarness) agreeReal(code string) {
	h.t.Helper()
	h.agreeCount(code, h.srv.ConsumeCount(code))
}

// TestFaultMatrixRealWeChat: every fault the fake WeChat injects (latency
// past the timeout, HTTP 5xx, -1, 45009, drop before apply, drop after
// apply, token expired) at every step (query, consume, decrypt, token), for
// an online scan and for a queued one drained later.
func TestFaultMatrixRealWeChat(t *testing.T) {
	t.Parallel()
	faults := map[string]wechattest.Fault{
		"latency":     {Latency: time.Second},
		"5xx":         {HTTPStatus: http.StatusBadGateway},
		"busy-1":      {Errcode: -1},
		"quota45009":  {Errcode: 45009},
		"drop-before": {DropBefore: true},
		"drop-after":  {DropAfter: true},
		"token":       {Errcode: 42001},
	}
	steps := map[string]wechattest.Endpoint{
		"query": wechattest.EndpointGetCode, "consume": wechattest.EndpointConsume,
		"decrypt": wechattest.EndpointDecrypt, "token": wechattest.EndpointStableToken,
	}
	for stepName, ep := range steps {
		for faultName, f := range faults {
			for _, times := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%s/x%d", stepName, faultName, times), func(t *testing.T) {
					t.Parallel() // a server and a harness of its own; the latency cases wait out real timeouts over loopback
					h := newRealHarness(t)
					h.srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off any drink"})
					for _, c := range []string{"800000000001", "800000000002"} {
						h.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
					}
					if ep == wechattest.EndpointStableToken {
						h.srv.ExpireTokens()
					}
					f := f // the x1 and x3 cases run at once
					f.Times = times
					h.srv.Inject(ep, f)
					req := sync.Request{Code: "800000000001"}
					if ep == wechattest.EndpointDecrypt {
						req = sync.Request{EncryptCode: h.srv.Encrypt("800000000001")}
					}
					out, err := h.e.Redeem(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					if out.Kind == sync.Consumed && h.srv.ConsumeCount("800000000001") != 1 {
						t.Fatalf("cashier told consumed, WeChat applied %d", h.srv.ConsumeCount("800000000001"))
					}
					h.srv.SetOutage(true)
					if q := h.redeem("800000000002"); q.Kind != sync.AcceptedOffline {
						t.Fatalf("offline scan: %+v", q)
					}
					h.srv.SetOutage(false)
					if ep == wechattest.EndpointStableToken {
						h.srv.ExpireTokens()
					}
					h.srv.Inject(ep, f)
					h.clk.Advance(time.Minute)
					if _, err := h.e.DrainOnce(context.Background()); err != nil {
						t.Fatal(err)
					}
					h.settleReal()
					h.agreeReal("800000000001")
					h.agreeReal("800000000002")
					if h.srv.ConsumeCount("800000000002") != 1 {
						t.Fatalf("queued code not consumed once the network was back: %+v", h.j.records("800000000002"))
					}
				})
			}
		}
	}
}
