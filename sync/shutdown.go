package sync

import (
	"context"
	"fmt"
)

// enter counts one call of the engine's (a scan, a drain, Recover, Run) for
// Shutdown, and returns ctx cancelled also by Shutdown (cause ErrClosed).
// After Shutdown it fails with ErrClosed.
func (e *Engine) enter(ctx context.Context) (context.Context, func(), error) {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return nil, nil, ErrClosed
	}
	e.inflight.Add(1)
	e.mu.Unlock()
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(e.life, func() { cancel(ErrClosed) })
	return ctx, func() {
		stop()
		cancel(nil)
		e.inflight.Done()
	}, nil
}

// Shutdown stops the engine: scans, drains and Run still going are told to
// stop, and Shutdown waits for them until ctx is done. A scan still asking
// WeChat, or waiting for the cashier's confirmation (Request.Confirm, told
// by its context; its answer, if it still comes, is ignored), ends
// rejected as interrupted: nothing consumed, the code free to scan again,
// and nothing of it left running when Shutdown returns. A consume already sent
// still gets its answer and its commit (bounded by the consume's timeout);
// a drain's consume cut short is left consuming or in doubt, which the next
// start resolves by a query (Recover). New calls fail with ErrClosed. Once
// they all returned, every subscription's channel is closed after its last
// update. Shutdown returns ctx's error when it gave up waiting: what was
// left is in a state the next start resolves. It may be called more than
// once.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()
	e.stopLife(ErrClosed)
	done := make(chan struct{})
	go func() {
		e.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		e.updates.end()
		return nil
	case <-ctx.Done():
		e.updates.end()
		e.log.Warn("shutting down with work still running; the journal resolves it at the next start")
		return fmt.Errorf("sync: shutdown: %w (what was still running is resolved at the next start)", ctx.Err())
	}
}

// confirm asks the cashier (Request.Confirm) with ctx, on a goroutine of
// its own that Shutdown waits for, so that ctx ending (the caller, or
// Shutdown) ends the scan's wait at once: asked is false then. Confirm is
// told by ctx and returns; once it has, nothing of the scan is left
// running, and Shutdown returns only after that (or when its own context
// gives up on a Confirm that never returns).
func (e *Engine) confirm(ctx context.Context, ask func(context.Context, Outcome) bool, o Outcome) (ok, asked bool) {
	answer := make(chan bool, 1)
	e.inflight.Add(1) // the scan's own count is held: Shutdown's Wait is not passed yet
	go func() {
		defer e.inflight.Done()
		answer <- ask(ctx, o)
	}()
	select {
	case ok := <-answer:
		if ctx.Err() != nil {
			// Confirm returned because it was told to stop: no answer.
			return false, false
		}
		return ok, true
	case <-ctx.Done():
		return false, false
	}
}
