package sync_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cardtill/sync"

	"go.uber.org/goleak"
)

// A scan waiting for the cashier's confirmation when the till closes is
// cancelled: Shutdown does not wait for a confirmation that never comes
// (Confirm is told by its context, as the till's screen is), the scan ends
// rejected as interrupted (nothing consumed, the code free),
// and a scan after Shutdown is refused with ErrClosed, journaling nothing.
func TestShutdownCancelsAScanWaitingForConfirmation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("450000000001", "pCard")
	asked := make(chan struct{})
	never := make(chan bool)
	defer close(never) // the screen answering after all: ignored
	ended := make(chan error, 1)
	var out sync.Outcome
	go func() {
		var err error
		out, err = h.e.Redeem(context.Background(), sync.Request{Code: "450000000001", Confirm: func(ctx context.Context, _ sync.Outcome) bool {
			close(asked)
			select {
			case ok := <-never:
				return ok
			case <-ctx.Done():
				return false
			}
		}})
		ended <- err
	}()
	<-asked
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown waited for the confirmation: %v", err)
	}
	err := <-ended
	if !errors.Is(err, sync.ErrClosed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Redeem: %v, want ErrClosed", err)
	}
	if out.Kind != sync.Refused || out.Reason != sync.ReasonInterrupted || out.State != sync.StateRejected {
		t.Fatalf("outcome %+v", out)
	}
	if got := h.j.hist(out.ID); got != "received,checked,rejected" {
		t.Fatalf("history %s", got)
	}
	if h.wx.consumed("450000000001") != 0 {
		t.Fatal("a consume was sent")
	}
	before := h.j.commits.Load()
	if _, err := h.e.Redeem(context.Background(), sync.Request{Code: "450000000001"}); !errors.Is(err, sync.ErrClosed) {
		t.Fatalf("Redeem after Shutdown: %v, want ErrClosed", err)
	}
	if _, err := h.e.DrainOnce(context.Background()); !errors.Is(err, sync.ErrClosed) {
		t.Fatalf("DrainOnce after Shutdown: %v, want ErrClosed", err)
	}
	if h.j.commits.Load() != before {
		t.Fatal("a call after Shutdown journaled something")
	}
}

// A consume already sent when the till closes still gets its answer and
// its commit before Shutdown returns; one that takes longer than
// Shutdown's context is left consuming, which the next start resolves.
func TestShutdownLetsASentConsumeFinish(t *testing.T) {
	t.Parallel()
	for _, giveUp := range []bool{false, true} {
		h := newHarness(t, func(o *sync.Options) { o.Timeout = 5 * time.Second; o.QuietPeriod = 30 * time.Second })
		h.wx.add("450000000002", "pCard")
		sent, release := make(chan struct{}), make(chan struct{})
		h.wx.hook = func(_ context.Context, op string) {
			if op == "consume" {
				close(sent)
				<-release
			}
		}
		ended := make(chan sync.Outcome, 1)
		go func() {
			out, _ := h.e.Redeem(context.Background(), sync.Request{Code: "450000000002"})
			ended <- out
		}()
		<-sent
		ctx, cancel := context.WithCancel(context.Background())
		shut := make(chan error, 1)
		go func() { shut <- h.e.Shutdown(ctx) }()
		if giveUp {
			cancel()
			if err := <-shut; !errors.Is(err, context.Canceled) {
				t.Fatalf("Shutdown gave up: %v, want its context's error", err)
			}
			if r := h.j.records("450000000002"); len(r) != 1 || r[0].State != sync.StateConsuming {
				t.Fatalf("left %+v, want consuming (resolved at the next start)", r)
			}
			close(release)
			<-ended
			continue
		}
		close(release)
		if err := <-shut; err != nil {
			t.Fatal(err)
		}
		cancel()
		// Shutdown returned: the consumed commit is in the journal.
		if r := h.j.records("450000000002"); len(r) != 1 || r[0].State != sync.StateConsumed || h.wx.consumed("450000000002") != 1 {
			t.Fatalf("records %+v", r)
		}
		if out := <-ended; out.Kind != sync.Consumed {
			t.Fatalf("outcome %+v", out)
		}
	}
}

// Shutdown ends Run and a subscription's channel.
func TestShutdownEndsRunAndSubscriptions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	sub := h.e.Subscribe()
	ran := make(chan error, 1)
	go func() { ran <- h.e.Run(context.Background()) }()
	h.redeem("450000000003") // unknown to WeChat: refused, two updates
	if err := h.e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	n := 0
	for range sub.C() {
		n++
	}
	if n == 0 {
		t.Fatal("the updates published before Shutdown were not delivered")
	}
}

// After Shutdown returns, a scan that was waiting for the cashier's
// confirmation has left no goroutine behind: the engine's wait for the
// cashier ends with it (Confirm is told by its context), and Shutdown
// waits for that. Before, the goroutine that asked the cashier stayed
// blocked in Confirm for ever (the till's screen never answers a dialog
// it has closed).
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	// Not parallel: goleak.Find sees every goroutine of the process.
	h := newHarness(t, nil)
	h.wx.add("450000000004", "pCard")
	before := goleak.IgnoreCurrent()
	asked := make(chan struct{})
	never := make(chan bool) // the screen never answers
	t.Cleanup(func() { close(never) })
	ended := make(chan error, 1)
	go func() {
		_, err := h.e.Redeem(context.Background(), sync.Request{Code: "450000000004", Confirm: func(ctx context.Context, _ sync.Outcome) bool {
			close(asked)
			select { // as the till's screen does
			case ok := <-never:
				return ok
			case <-ctx.Done():
				return false
			}
		}})
		ended <- err
	}()
	<-asked
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; !errors.Is(err, sync.ErrClosed) {
		t.Fatalf("Redeem: %v, want ErrClosed", err)
	}
	if err := goleak.Find(before); err != nil {
		t.Fatalf("goroutines left after Shutdown: %v", err)
	}
}

// A Confirm that ignores its context does not hold the scan: Redeem ends
// interrupted at once. Shutdown then waits for it, as for any work still
// running, until its own context gives up and says so.
func TestShutdownWithAConfirmIgnoringItsContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.wx.add("450000000005", "pCard")
	asked := make(chan struct{})
	never := make(chan bool)
	ended := make(chan sync.Outcome, 1)
	go func() {
		out, _ := h.e.Redeem(context.Background(), sync.Request{Code: "450000000005", Confirm: func(context.Context, sync.Outcome) bool {
			close(asked)
			return <-never
		}})
		ended <- out
	}()
	<-asked
	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- h.e.Shutdown(ctx) }()
	if out := <-ended; out.Reason != sync.ReasonInterrupted || out.State != sync.StateRejected {
		t.Fatalf("outcome %+v, want rejected as interrupted", out)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while Confirm was still running", err)
	default:
	}
	cancel()
	if err := <-shut; !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v, want its context's error", err)
	}
	close(never)
}
