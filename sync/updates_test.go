package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"cardtill/sync"
)

// collect reads sub until it is closed.
func collect(sub *sync.Subscription) <-chan []sync.Update {
	out := make(chan []sync.Update, 1)
	go func() {
		var us []sync.Update
		for u := range sub.C() {
			us = append(us, u)
		}
		out <- us
	}()
	return out
}

// replay is the history an update stream says a redemption went through.
func replay(us []sync.Update, id uint64) string {
	var steps []string
	for _, u := range us {
		if u.ID != id {
			continue
		}
		for _, v := range u.Via {
			steps = append(steps, string(v))
		}
		steps = append(steps, string(u.State))
	}
	return strings.Join(steps, ",")
}

// Every commit of every redemption is published, in order per redemption:
// an online consume, an offline acceptance and its drain, a lost consume
// and the query that settles it, a queued code WeChat refuses (conflict).
// Replayed, the updates give each redemption's journal history exactly,
// and each carries the state it moved from.
func TestUpdatesFollowEveryTransition(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	sub := h.e.Subscribe()
	got := collect(sub)
	for _, c := range []string{"460000000001", "460000000002", "460000000003", "460000000004"} {
		h.wx.add(c, "pCard")
	}
	online := h.redeem("460000000001")
	h.wx.setDown(true)
	queued := h.redeem("460000000002")
	conflict := h.redeem("460000000004")
	h.wx.setDown(false)
	h.wx.set("460000000004", func(c *fakeCode) { c.status = "CONSUMED" })
	h.wx.inject("consume", faultDropPost)
	lost := h.redeem("460000000003")
	if lost.Kind != sync.Checking {
		t.Fatalf("lost consume: %+v", lost)
	}
	h.clk.Advance(time.Minute)
	if _, err := h.e.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	us := <-got
	want := map[uint64]string{online.ID: "received,checked,consuming,consumed", queued.ID: "received,queued,consuming,consumed",
		lost.ID: "received,checked,consuming,in_doubt,consumed", conflict.ID: "received,queued,conflict"}
	for id, w := range want {
		if h.j.hist(id) != w {
			t.Fatalf("journal history of %d: %s, want %s", id, h.j.hist(id), w)
		}
		if r := replay(us, id); r != h.j.hist(id) {
			t.Errorf("redemption %d: updates say %s, the journal %s", id, r, h.j.hist(id))
		}
	}
	prev := map[uint64]sync.State{}
	for _, u := range us {
		if u.From != prev[u.ID] {
			t.Errorf("update %+v: from %q, the one before left %q", u, u.From, prev[u.ID])
		}
		prev[u.ID] = u.State
		if u.Lost != 0 {
			t.Errorf("a reader keeping up lost updates: %+v", u)
		}
	}
	last := map[uint64]sync.Update{}
	for _, u := range us {
		last[u.ID] = u
	}
	if k := last[conflict.ID].Kind; k != sync.Conflict {
		t.Errorf("the conflict's last update is %s", k)
	}
	if u := last[lost.ID]; u.Kind != sync.Consumed || u.Reason != sync.ReasonConfirmedByQuery {
		t.Errorf("the settled lost consume's last update: %+v", u)
	}
}

// A subscriber that does not read never holds up a scan or the drain:
// the updates wait for it, all of them while they fit its buffer; past
// that the older updates of a redemption with a newer one waiting go
// first, then the oldest, and the next update delivered says how many were
// lost. Either way it never gets an older state after a newer.
func TestSlowSubscriberNeverBlocksTheEngine(t *testing.T) {
	for _, buffer := range []int{4096, 5} {
		old := sync.SetSubBuffer(buffer)
		h := newHarness(t, nil)
		sub := h.e.Subscribe()
		const n = 30
		ids := map[uint64]bool{}
		for i := range n {
			c := "47000000" + string(rune('A'+i/26)) + string(rune('A'+i%26))
			h.wx.add(c, "pCard")
			if out := h.redeem(c); out.Kind != sync.Consumed {
				t.Fatalf("%s: %+v", c, out)
			}
			ids[h.j.records(c)[0].ID] = true
		}
		// The engine did all its work with nobody reading.
		if err := h.e.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		sync.SetSubBuffer(old)
		us := <-collect(sub)
		order := map[sync.State]int{sync.StateReceived: 1, sync.StateConsuming: 2, sync.StateConsumed: 3}
		seen, lost := map[uint64]sync.State{}, 0
		for _, u := range us {
			if !ids[u.ID] || order[u.State] <= order[seen[u.ID]] {
				t.Fatalf("buffer %d: update %d %s after %s", buffer, u.ID, u.State, seen[u.ID])
			}
			seen[u.ID] = u.State
			lost += u.Lost
		}
		final := 0
		for _, s := range seen {
			if s == sync.StateConsumed {
				final++
			}
		}
		if buffer >= 3*n && (len(us) != 3*n || final != n || lost != 0) {
			t.Errorf("buffer %d: %d updates, %d of %d redemptions in their final state, %d lost", buffer, len(us), final, n, lost)
		}
		if buffer < n && (lost == 0 || len(us)+lost != 3*n || len(us) > buffer+1) {
			t.Errorf("buffer %d: %d delivered, %d lost, of %d", buffer, len(us), lost, 3*n)
		}
	}
}
