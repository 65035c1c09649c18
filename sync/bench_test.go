package sync_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// BenchmarkRedeemOnline: one online redemption against the fake at zero
// latency. commits-before-answer/op counts the journal commits made before
// the answer is final, i.e. before Request.OnAnswer hands it to the cashier
// (target: at most 2); commits/op counts all of them (the consumed commit
// follows the answer).
func BenchmarkRedeemOnline(b *testing.B) {
	h := newHarness(b, nil)
	h.wx.add("warm", "pCard")
	h.redeem("warm") // opens the shift and caches the card title
	benchOnline(b, h.e, func(code string) { h.wx.add(code, "pCard") }, h.j.commits.Load)
}

// BenchmarkDrain: draining N queued codes (CARDTILL_BENCH_DRAIN, 10,000 by
// default) with 20 ms fake latency per call and concurrency 8. Each code
// takes a query and a consume, so the ideal is 8 / 40 ms = 200 per second;
// "ideal" reports the fraction reached (target >= 0.9).
func BenchmarkDrain(b *testing.B) {
	n := benchDrainN()
	benchDrain(b, n, func() *sync.Engine {
		h := newHarness(b, func(o *sync.Options) {
			o.Concurrency = 8
			o.Timeout, o.SyncTimeout = time.Second, 2*time.Second
		})
		h.wx.latency = 20 * time.Millisecond
		for i := range n {
			code := fmt.Sprintf("2%011d", i)
			h.wx.add(code, "pCard")
			h.queue(b, code, 1)
		}
		return h.e
	})
}

// BenchmarkRedeemOnlineRealWeChat is BenchmarkRedeemOnline over the real
// client and the fake WeChat on loopback HTTP.
func BenchmarkRedeemOnlineRealWeChat(b *testing.B) {
	h := newRealBenchHarness(b, nil)
	h.srv.AddCode(wechattest.Code{Code: "100000000000", CardID: "pCard"})
	h.redeem("100000000000")
	benchOnline(b, h.e, func(code string) { h.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"}) }, h.j.commits.Load)
}

// BenchmarkDrainRealWeChat is BenchmarkDrain over the real client and the
// fake WeChat on loopback HTTP, 20 ms latency on every query and consume.
func BenchmarkDrainRealWeChat(b *testing.B) {
	n := benchDrainN()
	benchDrain(b, n, func() *sync.Engine {
		h := newRealBenchHarness(b, func(o *sync.Options) { o.Concurrency = 8 })
		for _, ep := range []wechattest.Endpoint{wechattest.EndpointGetCode, wechattest.EndpointConsume} {
			h.srv.Inject(ep, wechattest.Fault{Latency: 20 * time.Millisecond, Persistent: true})
		}
		for i := range n {
			code := fmt.Sprintf("2%011d", i)
			h.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
			h.queue(b, code, 1)
		}
		return h.e
	})
}
func newRealBenchHarness(b *testing.B, mod func(*sync.Options)) *realHarness {
	b.Helper()
	srv := wechattest.New()
	b.Cleanup(srv.Close)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(hc.CloseIdleConnections)
	client, err := wechat.New(wechat.Options{BaseURL: srv.URL, HTTPClient: hc,
		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, HTTPClient: hc})})
	if err != nil {
		b.Fatal(err)
	}
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off any drink"})
	h := newHarness(b, func(o *sync.Options) {
		o.WeChat = sync.NewWeChat(client)
		o.Timeout, o.SyncTimeout = time.Second, 2*time.Second
		if mod != nil {
			mod(o)
		}
	})
	return &realHarness{harness: h, srv: srv}
}

func benchDrainN() int {
	if s := os.Getenv("CARDTILL_BENCH_DRAIN"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 10000
}

// benchOnline redeems b.N fresh codes (added with add) one after another on
// e and reports the commits (read from commits) made before the answer is
// final, the time to the answer, and all commits per redemption.
func benchOnline(b *testing.B, e *sync.Engine, add func(code string), commits func() int64) {
	b.Helper()
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = fmt.Sprintf("1%011d", i+1)
		add(codes[i])
	}
	before := commits()
	var beforeAnswer int64
	var toAnswer time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := commits()
		t0 := time.Now()
		out, err := e.Redeem(context.Background(), sync.Request{Code: codes[i], OnAnswer: func(sync.Outcome) {
			beforeAnswer += commits() - start
			toAnswer += time.Since(t0)
		}})
		if err != nil || out.Kind != sync.Consumed {
			b.Fatalf("%+v %v", out, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(beforeAnswer)/float64(b.N), "commits-before-answer/op")
	b.ReportMetric(float64(toAnswer.Nanoseconds())/float64(b.N), "ns-to-answer/op")
	b.ReportMetric(float64(commits()-before)/float64(b.N), "commits/op")
}

// benchDrain times drains of n codes: setup (untimed) returns an engine
// whose journal holds n due codes; "ideal" is the fraction of 200/s.
func benchDrain(b *testing.B, n int, setup func() *sync.Engine) {
	b.Helper()
	var total time.Duration
	for range b.N {
		b.StopTimer()
		e := setup()
		b.StartTimer()
		start := time.Now()
		rep, err := e.DrainOnce(context.Background())
		total += time.Since(start)
		if err != nil || rep.Consumed != n || rep.Remaining != 0 {
			b.Fatalf("drain: %+v %v", rep, err)
		}
	}
	perSec := float64(n*b.N) / total.Seconds()
	b.ReportMetric(perSec, "codes/s")
	b.ReportMetric(perSec/200, "ideal")
}

// queue journals code as accepted offline in shift, due now.
func (h *harness) queue(b *testing.B, code string, shift uint64) {
	b.Helper()
	queueOn(b, h.j, code, shift, h.clk.Now())
}

// queueOn journals code on j as accepted offline in shift, due at now.
func queueOn(b *testing.B, j sync.Journal, code string, shift uint64, now time.Time) {
	b.Helper()
	if _, err := j.Create(sync.Record{Code: code, State: sync.StateQueued, ShiftID: shift, AcceptedAt: now, NextAttempt: now}, sync.StateReceived, sync.StateQueued); err != nil {
		b.Fatal(err)
	}
}
