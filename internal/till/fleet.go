package till

import (
	"context"
	"log/slog"
	stdsync "sync"
	"sync/atomic"

	"cardtill/fleet"
	"cardtill/internal/config"
	"cardtill/scanner"
)

// Reports is the till's reporter once started (nil before, and
// without a hub).
type Reports struct {
	rep atomic.Pointer[fleet.Reporter]
}

// Kick asks for an exchange now (a shift just closed); never blocks.
func (f *Reports) Kick() {
	if r := f.rep.Load(); r != nil {
		r.Kick()
	}
}

// Start is StartFleet, keeping the reporter for Kick.
func (f *Reports) Start(ctx context.Context, t *Till, cfg *config.Config, version string, logger *slog.Logger, e GaugedEngine, sc *ScannerState) (stop func()) {
	rep, stop := StartFleet(ctx, t, cfg, version, logger, e, sc)
	f.rep.Store(rep)
	return stop
}

// StartFleet runs the till's reports to the hub (package fleet) in a
// goroutine of their own while ctx lasts, when the till has a hub (the
// feed's client: wechat.hub_url and a terminal key); version is this
// cardtill's, for the heartbeat. stop ends it and waits.
func StartFleet(ctx context.Context, t *Till, cfg *config.Config, version string, logger *slog.Logger, e GaugedEngine, sc *ScannerState) (_ *fleet.Reporter, stop func()) {
	if t.feed == nil {
		return nil, func() {}
	}
	rep, err := fleet.New(fleet.Options{
		DB: t.DB, Hub: t.feed.c, Logger: logger, Interval: cfg.Fleet.Interval.Duration,
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

// ScannerState is the serial scanner's connection as its events say, for
// the heartbeat.
type ScannerState struct {
	port      bool // a serial scanner is configured (set before use)
	connected atomic.Bool
}

func (s *ScannerState) String() string {
	switch {
	case s == nil || !s.port:
		return ""
	case s.connected.Load():
		return "connected"
	}
	return "disconnected"
}

// Relay passes the reader's events on unchanged (same order, same
// backpressure), noting connects and disconnects.
func (s *ScannerState) Relay(ctx context.Context, in <-chan scanner.Event) <-chan scanner.Event {
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
