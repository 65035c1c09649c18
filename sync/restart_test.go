package sync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	stdsync "sync"
	"testing"
	"testing/synctest"
	"time"

	"cardtill/sync"
)

// TestRestartSimulation kills the "process" (every journal write fails from
// a random commit on, and WeChat becomes unreachable for it) while scans,
// offline acceptances and drains run concurrently, then restarts a new
// engine on the same journal, again and again, with random faults. In the
// end every code was consumed by WeChat at most once and the journal
// agrees. CARDTILL_SIM_SEEDS sets the number of seeds (5 by default).
func TestRestartSimulation(t *testing.T) {
	t.Parallel()
	seeds := 5
	if s := os.Getenv("CARDTILL_SIM_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	for seed := range seeds {
		// In a bubble: the 20 ms deadlines of the calls held past them
		// (faultLatency) pass on the bubble's clock, not in real time.
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { simulate(t, uint64(seed)) })
		})
	}
}

func simulate(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	clk := newClock()
	j := newMemJournal(clk.Now)
	wx := newFakeWeChat()
	const n = 120
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("5%05d", i)
		wx.add(codes[i], "p")
		switch rng.IntN(10) {
		case 0:
			wx.set(codes[i], func(c *fakeCode) { c.status = "DELETE" })
		case 1:
			wx.set(codes[i], func(c *fakeCode) { c.status = "CONSUMED" })
		}
	}
	faults := []fault{faultLatency, fault5xx, faultBusy, faultDropPre, faultDropPost, faultToken}
	next := 0
	kills := 0
	defer func() { t.Logf("seed %d: %d kills", seed, kills) }()
	for life := 0; ; life++ {
		if life > 200 {
			t.Fatal("no convergence after 200 restarts")
		}
		j.restart()
		wx.setDown(false)
		e, err := sync.New(sync.Options{Journal: j, WeChat: wx, Terminal: "t", OpenShiftOnScan: true, Policy: sync.Policy{MaxPerShift: -1},
			Timeout: 20 * time.Millisecond, SyncTimeout: 20 * time.Millisecond, QuietPeriod: 20 * time.Second,
			MaxBackoff: 10 * time.Second, Concurrency: 4, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		done := next >= n
		if !done {
			j.mu.Lock()
			j.killAt = j.commits.Load() + 1 + int64(rng.IntN(25))
			j.onKill = func() { kills++; wx.setDown(true) }
			j.mu.Unlock()
		}
		for range rng.IntN(4) {
			for _, op := range []string{"get", "consume"} {
				if rng.IntN(2) == 0 {
					wx.inject(op, faults[rng.IntN(len(faults))])
				}
			}
		}
		clk.Advance(time.Minute)
		_ = e.Recover(context.Background())
		if rng.IntN(3) == 0 && !done {
			wx.setDown(true) // an outage: scans are queued
		}
		var wg stdsync.WaitGroup
		for k := 0; k < 10 && next < n; k++ {
			code := codes[next]
			next++
			wg.Go(func() { _, _ = e.Redeem(context.Background(), sync.Request{Code: code}) })
			if rng.IntN(4) == 0 { // a double read
				wg.Go(func() { _, _ = e.Redeem(context.Background(), sync.Request{Code: code}) })
			}
		}
		wg.Go(func() { _, _ = e.DrainOnce(context.Background()) })
		wg.Wait()
		if done {
			wx.setDown(false)
			for range 30 {
				clk.Advance(time.Minute)
				if _, err := e.DrainOnce(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			break
		}
	}
	states := map[sync.State]int{}
	interrupted := 0
	for _, r := range j.recs {
		states[r.State]++
		if r.Reason == sync.ReasonInterrupted {
			interrupted++
		}
	}
	t.Logf("seed %d: %d scans, states %v, %d set aside unanswered (interrupted)", seed, len(j.recs), states, interrupted)
	for _, c := range codes {
		if wx.consumed(c) > 1 {
			t.Fatalf("code %s consumed %d times", c, wx.consumed(c))
		}
		var consumed int
		for _, r := range j.records(c) {
			switch r.State {
			case sync.StateConsumed:
				consumed++
			case sync.StateQueued, sync.StateConsuming, sync.StateInDoubt, sync.StateReceived, sync.StateChecked:
				t.Fatalf("code %s left %s", c, r.State)
			}
			if r.Reason == sync.ReasonInterrupted && r.State != sync.StateRejected {
				t.Fatalf("code %s: an interrupted scan went on to %s", c, r.State)
			}
		}
		if consumed != wx.consumed(c) {
			t.Fatalf("code %s: journal consumed %d, WeChat applied %d: %+v", c, consumed, wx.consumed(c), j.records(c))
		}
	}
}
