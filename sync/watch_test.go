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

// waitStatus polls the engine's status until ok (a hang guard of a minute,
// not a timing).
func waitStatus(t *testing.T, e *sync.Engine, what string, ok func(sync.Status) bool) sync.Status {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if s := e.Status(); ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %s: %+v", what, e.Status())
		}
		time.Sleep(2 * time.Millisecond) // polling with a deadline
	}
}

// With no scan at all, the till knows WeChat answers as soon as Run
// starts; WeChat going down while idle is an outage from the first failed
// probe (its start is that probe, not a scan), and its end is seen too;
// the probes touch no code.
func TestWatcherKnowsConnectivityWithoutScans(t *testing.T) {
	const every = 20 * time.Millisecond
	st := newStoreTillWith(t, 2, func(o *sync.Options) { o.ProbeInterval = every })
	if s := st.e.Status(); !s.LastContact.IsZero() {
		t.Fatalf("contact before Run: %+v", s)
	}
	runEngine(t, st)
	waitStatus(t, st.e, "reached WeChat without a scan", func(s sync.Status) bool { return s.Online && !s.LastContact.IsZero() })

	st.srv.SetOutage(true)
	st.clk.Advance(time.Minute) // idle for longer than the interval
	down := st.clk.Now()
	s := waitStatus(t, st.e, "saw the outage while idle", func(s sync.Status) bool { return !s.Online })
	if !s.OfflineSince.Equal(down) {
		t.Fatalf("outage since %s, want the failed probe's time %s", s.OfflineSince, down)
	}

	st.srv.SetOutage(false)
	st.clk.Advance(time.Minute)
	waitStatus(t, st.e, "saw WeChat back", func(s sync.Status) bool { return s.Online && s.OfflineSince.IsZero() })
	if n := codeCalls(st.srv); n != 0 {
		t.Fatalf("the probes made %d code calls", n)
	}
}
