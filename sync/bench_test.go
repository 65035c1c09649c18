package sync_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"cardtill/sync"
)

// BenchmarkRedeemOnline: one online redemption against the fake at zero
// latency. commits/op counts the journal commits made before the cashier
// sees the answer (target: at most 2).
func BenchmarkRedeemOnline(b *testing.B) {
	h := newHarness(b, nil)
	h.wx.add("warm", "pCard")
	h.redeem("warm") // opens the shift and caches the card title
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = fmt.Sprintf("1%011d", i)
		h.wx.add(codes[i], "pCard")
	}
	before := h.j.commits.Load()
	b.ResetTimer()
	for i := range b.N {
		out, err := h.e.Redeem(context.Background(), sync.Request{Code: codes[i]})
		if err != nil || out.Kind != sync.Consumed {
			b.Fatalf("%+v %v", out, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(h.j.commits.Load()-before)/float64(b.N), "commits/op")
}

// BenchmarkDrain: draining N queued codes (CARDTILL_BENCH_DRAIN, 10,000 by
// default) with 20 ms fake latency per call and concurrency 8. Each code
// takes a query and a consume, so the ideal is 8 / 40 ms = 200 per second;
// "ideal" reports the fraction reached (target >= 0.9).
func BenchmarkDrain(b *testing.B) {
	n := 10000
	if s := os.Getenv("CARDTILL_BENCH_DRAIN"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	const latency = 20 * time.Millisecond
	var total time.Duration
	for range b.N {
		b.StopTimer()
		h := newHarness(b, func(o *sync.Options) {
			o.Concurrency = 8
			o.Timeout, o.SyncTimeout = time.Second, 2*time.Second
		})
		h.wx.latency = latency
		for i := range n {
			code := fmt.Sprintf("2%011d", i)
			h.wx.add(code, "pCard")
			if _, err := h.j.Create(sync.Record{Code: code, State: sync.StateQueued, ShiftID: 1, AcceptedAt: h.clk.Now(), NextAttempt: h.clk.Now()}, sync.StateReceived, sync.StateQueued); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		rep, err := h.e.DrainOnce(context.Background())
		total += time.Since(start)
		if err != nil || rep.Consumed != n || rep.Remaining != 0 {
			b.Fatalf("drain: %+v %v", rep, err)
		}
	}
	perSec := float64(n*b.N) / total.Seconds()
	b.ReportMetric(perSec, "codes/s")
	b.ReportMetric(perSec/200, "ideal")
}
