package main

import (
	"context"
	"log/slog"
	stdsync "sync"
	"sync/atomic"

	"cardtill/fleet"
	"cardtill/internal/config"
	"cardtill/scanner"
)

// fleetReports is the till's reporter once started (nil before, and
// without a hub).
type fleetReports struct {
	rep atomic.Pointer[fleet.Reporter]
}

// kick asks for an exchange now (a shift just closed); never blocks.
func (f *fleetReports) kick() {
	if r := f.rep.Load(); r != nil {
		r.Kick()
	}
}

// start is startFleet, keeping the reporter for kick.
func (f *fleetReports) start(ctx context.Context, t *till, cfg *config.Config, logger *slog.Logger, e gaugedEngine, sc *scannerState) (stop func()) {
	rep, stop := startFleet(ctx, t, cfg, logger, e, sc)
	f.rep.Store(rep)
	return stop
}

// startFleet runs the till's reports to the hub (package fleet) in a
// goroutine of their own while ctx lasts, when the till has a hub (the
// feed's client: wechat.hub_url and a terminal key). stop ends it and waits.
func startFleet(ctx context.Context, t *till, cfg *config.Config, logger *slog.Logger, e gaugedEngine, sc *scannerState) (_ *fleet.Reporter, stop func()) {
	if t.feed == nil {
		return nil, func() {}
	}
	rep, err := fleet.New(fleet.Options{
		DB: t.db, Hub: t.feed.c, Logger: logger, Interval: cfg.Fleet.Interval.Duration,
		State: func() fleet.State {
			return fleet.State{Version: version, Store: cfg.Terminal.StoreName, Terminal: cfg.Terminal.ID, Status: e.Status(), Scanner: sc.String()}
		},
	})
	if err != nil {
		logger.Warn("fleet reports disabled", "err", err)
		return nil, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg stdsync.WaitGroup
	wg.Go(func() { _ = rep.Run(ctx) })
	return rep, func() { cancel(); wg.Wait() }
}

// scannerState is the serial scanner's connection as its events say, for
// the heartbeat.
type scannerState struct {
	port      bool // a serial scanner is configured (set before use)
	connected atomic.Bool
}

func (s *scannerState) String() string {
	switch {
	case s == nil || !s.port:
		return ""
	case s.connected.Load():
		return "connected"
	}
	return "disconnected"
}

// relay passes the reader's events on unchanged (same order, same
// backpressure), noting connects and disconnects.
func (s *scannerState) relay(ctx context.Context, in <-chan scanner.Event) <-chan scanner.Event {
	out := make(chan scanner.Event)
	go func() {
		defer close(out)
		for ev := range in {
			switch ev.Kind {
			case scanner.EventConnected:
				s.connected.Store(true)
			case scanner.EventDisconnected:
				s.connected.Store(false)
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
