package sync_test

import (
	"context"
	"testing"
	"time"

	"cardtill/sync"
)

// runEngine runs st's engine until the test ends.
func runEngine(t *testing.T, st *storeTill) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitStatus waits until the engine's status is ok, looking again each
// time poked says the status changed (OnStatus); the minute is a hang
// guard, not a timing.
func waitStatus(t *testing.T, e *sync.Engine, poked <-chan struct{}, what string, ok func(sync.Status) bool) sync.Status {
	t.Helper()
	guard := time.After(time.Minute)
	for {
		if s := e.Status(); ok(s) {
			return s
		}
		select {
		case <-poked:
		case <-guard:
			t.Fatalf("never %s: %+v", what, e.Status())
		}
	}
}

// waitTimer waits until the engine has started a timer of d on clk (the
// watcher waiting out its probe interval).
func waitTimer(t *testing.T, clk *clock, d time.Duration) {
	t.Helper()
	guard := time.After(time.Minute)
	for {
		select {
		case got := <-clk.started:
			if got == d {
				return
			}
		case <-guard:
			t.Fatalf("no timer of %s started", d)
		}
	}
}

// With no scan at all, the till knows WeChat answers as soon as Run
// starts; WeChat going down while idle is an outage from the first failed
// probe (its start is that probe, not a scan), and its end is seen too;
// the probes touch no code. The engine's timers run on the test clock:
// the probe interval passes when the test advances it.
func TestWatcherKnowsConnectivityWithoutScans(t *testing.T) {
	t.Parallel()
	const every = 17 * time.Second // a duration no other timer of the engine has here
	poked := make(chan struct{}, 1)
	st := newStoreTill(t, 2)
	st.mod = func(o *sync.Options) {
		o.ProbeInterval = every
		o.Clock, o.Now = st.clk, nil
		o.OnStatus = func(sync.Status) {
			select {
			case poked <- struct{}{}:
			default:
			}
		}
	}
	st.clk.started = make(chan time.Duration, 256) // before the engine that starts timers
	st.restart()
	if s := st.e.Status(); !s.LastContact.IsZero() {
		t.Fatalf("contact before Run: %+v", s)
	}
	runEngine(t, st)
	waitStatus(t, st.e, poked, "reached WeChat without a scan", func(s sync.Status) bool { return s.Online && !s.LastContact.IsZero() })
	waitTimer(t, st.clk, every)

	st.srv.SetOutage(true)
	st.clk.Advance(time.Minute) // idle for longer than the interval
	down := st.clk.Now()
	s := waitStatus(t, st.e, poked, "saw the outage while idle", func(s sync.Status) bool { return !s.Online })
	if !s.OfflineSince.Equal(down) {
		t.Fatalf("outage since %s, want the failed probe's time %s", s.OfflineSince, down)
	}
	waitTimer(t, st.clk, every)

	st.srv.SetOutage(false)
	st.clk.Advance(time.Minute)
	waitStatus(t, st.e, poked, "saw WeChat back", func(s sync.Status) bool { return s.Online && s.OfflineSince.IsZero() })
	if n := codeCalls(st.srv); n != 0 {
		t.Fatalf("the probes made %d code calls", n)
	}
}
