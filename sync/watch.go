package sync

import (
	"context"
	stdsync "sync"
	"time"
)

// Live connectivity. The status bar must be right without a scan: Run
// starts a watcher that probes WeChat (WeChat.Ping: no code, no card, no
// API quota) at once and then every Options.ProbeInterval while idle, that
// is while nothing else reached WeChat within the interval, online or
// offline. A probe WeChat answers marks the engine online (and kicks a drain
// when that ends an outage); a probe that cannot reach WeChat begins the
// outage there and then, so the outage's start is the first failed probe,
// not the next cashier's scan. A hub refusing this till's key says nothing
// of WeChat (Status.TerminalKeyRefused shows it).

// DefaultProbeInterval is the watcher's period when Options.ProbeInterval
// is 0.
const DefaultProbeInterval = 15 * time.Second

// startWatch runs the watcher until ctx is done; the returned function
// waits for it to end.
func (e *Engine) startWatch(ctx context.Context) (wait func()) {
	var wg stdsync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.watch(ctx)
	}()
	return wg.Wait
}

func (e *Engine) watch(ctx context.Context) {
	every := e.o.ProbeInterval
	for {
		if online, _, lastOK, _ := e.conn.snapshot(); !online || lastOK.IsZero() || e.now().Sub(lastOK).Abs() >= every {
			e.watchProbe(ctx)
		}
		t := e.o.Clock.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// watchProbe probes WeChat once (bounded by the cashier's timeout: the
// answer is for the status bar now) and tells the screen what changed.
func (e *Engine) watchProbe(ctx context.Context) {
	before := e.Status()
	pctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	werr := e.ping(pctx)
	cancel()
	switch {
	case werr == nil:
		e.reached()
	case ctx.Err() != nil:
		return // stopping: says nothing of WeChat
	case werr.unsent():
		// the hub refused this till's key: nothing is known of WeChat
	case werr.Kind == WeChatUnreachable || werr.Kind == WeChatToken:
		e.lost()
	default:
		e.reached() // WeChat answered, if only to refuse or say busy
	}
	if after := e.Status(); after.Online != before.Online || after.LastContact.IsZero() != before.LastContact.IsZero() ||
		after.TerminalKeyRefused != before.TerminalKeyRefused {
		e.notify() // the first contact, or a change reached() and lost() did not announce
	}
}
