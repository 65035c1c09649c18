package sync_test

import (
	"context"
	"testing"
	"time"

	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// newJumpTill is a store till whose engine reads the test clock as its
// Clock (wall time, monotonic reading and timers), so the PC's clock can
// jump (clock.Jump) while no time passes.
func newJumpTill(t *testing.T) *storeTill {
	st := newStoreTill(t, 2)
	st.mod = func(o *sync.Options) { o.Clock, o.Now = st.clk, nil }
	st.restart()
	return st
}

// drainOnce runs one drain pass and fails the test on its error.
func (st *storeTill) drainOnce() {
	st.t.Helper()
	if _, err := st.e.DrainOnce(context.Background()); err != nil {
		st.t.Fatal(err)
	}
}

// wantState fails unless code has one redemption, in state want.
func (st *storeTill) wantState(when, code string, want sync.State) {
	st.t.Helper()
	if got := st.state(code); len(got) != 1 || got[0] != want {
		st.t.Fatalf("%s: %s is %v, want %s", when, code, got, want)
	}
}

// The PC's clock set back an hour or forward a day while the till runs
// changes nothing of its schedule, which runs on the monotonic reading: a
// queued code's backoff (10 s here) neither fires early nor stalls, and a
// lost consume's quiet period (20 s) neither ends early nor holds, for a
// consume sent before the jump and one sent after it. (Before, on the
// wall clock: set back, the backoff fired at once; set forward a day, the
// backoff and the quiet period of the consume sent before were over at
// once, a query that could cross the lost consume.)
func TestWallClockJumpsWithinARun(t *testing.T) {
	t.Parallel()
	for _, jump := range []time.Duration{-time.Hour, 24 * time.Hour} {
		t.Run(jump.String(), func(t *testing.T) {
			st := newJumpTill(t)
			ctx := context.Background()
			const queued, before, after = "780000000001", "780000000002", "780000000003"
			for _, c := range []string{queued, before, after} {
				st.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
			}
			st.srv.SetOutage(true)
			if out, err := st.e.Redeem(ctx, sync.Request{Code: queued}); err != nil || out.Kind != sync.AcceptedOffline {
				t.Fatalf("offline: %+v %v", out, err)
			}
			st.srv.SetOutage(false)
			st.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
			if out, _ := st.e.Redeem(ctx, sync.Request{Code: before}); out.Kind != sync.Checking {
				t.Fatalf("lost consume: %+v", out)
			}
			// WeChat answers the queued code's query with an errcode the
			// till does not know: retried after MaxBackoff (10 s).
			st.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: 50002})
			st.drainOnce()
			st.wantState("after the refused query", queued, sync.StateQueued)

			st.clk.Jump(jump)
			st.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
			if out, _ := st.e.Redeem(ctx, sync.Request{Code: after}); out.Kind != sync.Checking {
				t.Fatalf("lost consume after the jump: %+v", out)
			}

			st.clk.Advance(9 * time.Second)
			st.drainOnce()
			st.wantState("9 s into a 10 s backoff", queued, sync.StateQueued)
			st.wantState("9 s into the quiet period", before, sync.StateInDoubt)
			st.wantState("9 s into the quiet period", after, sync.StateInDoubt)

			st.clk.Advance(2 * time.Second)
			st.drainOnce()
			st.wantState("the backoff over", queued, sync.StateConsumed)
			st.wantState("11 s into the quiet period", before, sync.StateInDoubt)
			st.wantState("11 s into the quiet period", after, sync.StateInDoubt)

			st.clk.Advance(10 * time.Second)
			st.drainOnce()
			for _, c := range []string{before, after} {
				st.wantState("the quiet period over", c, sync.StateConsumed)
				if n := st.srv.ConsumeCount(c); n != 1 {
					t.Fatalf("%s consumed %d times", c, n)
				}
			}
		})
	}
}

// A restart takes the PC's clock as it finds it: a due time kept in the
// journal that is now in the past is due at once (the clock set forward a
// day while a queued code waited out its backoff), and one further ahead
// than the longest delay the engine sets, with no sign the clock went
// back (it never reached WeChat, so the journal keeps no time of its), is
// capped at that delay (MaxBackoff + quiet period + a minute: 90 s here)
// instead of waiting a day.
func TestRestartTakesDueTimesAsTheClockNowSays(t *testing.T) {
	t.Parallel()
	t.Run("due in the past", func(t *testing.T) {
		st := newJumpTill(t)
		const code = "790000000001"
		st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
		st.srv.SetOutage(true)
		if out, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); err != nil || out.Kind != sync.AcceptedOffline {
			t.Fatalf("offline: %+v %v", out, err)
		}
		st.srv.SetOutage(false)
		st.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: 50002})
		st.drainOnce() // retried in 10 s
		st.wantState("after the refused query", code, sync.StateQueued)
		st.clk.Jump(24 * time.Hour)
		st.restart()
		if err := st.e.Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		st.drainOnce()
		st.wantState("after the restart a day later", code, sync.StateConsumed)
	})
	t.Run("capped", func(t *testing.T) {
		st := newJumpTill(t)
		const code = "790000000002"
		st.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
		st.srv.SetOutage(true)
		if out, err := st.e.Redeem(context.Background(), sync.Request{Code: code}); err != nil || out.Kind != sync.AcceptedOffline {
			t.Fatalf("offline: %+v %v", out, err)
		}
		st.clk.Jump(-24 * time.Hour)
		st.restart()
		if err := st.e.Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		st.srv.SetOutage(false)
		st.drainOnce()
		st.wantState("due a day ahead, just after the restart", code, sync.StateQueued)
		st.clk.Advance(89 * time.Second)
		st.drainOnce()
		st.wantState("89 s after the restart", code, sync.StateQueued)
		st.clk.Advance(2 * time.Second)
		st.drainOnce()
		st.wantState("91 s after the restart", code, sync.StateConsumed)
	})
}
