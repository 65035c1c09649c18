package sync_test

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"testing"

	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// TestOfflineOverride: at offline.max_per_shift the scan is refused at
// the limit; a manager's override of +2 (journaled) lets exactly two more
// through, on the real journal, then the limit refuses again, also after a
// restart; the status and the outcome show the raised limit. Bad overrides
// change nothing.
func TestOfflineOverride(t *testing.T) {
	t.Parallel()
	st := newStoreTillWith(t, 4, func(o *sync.Options) { o.Policy.MaxPerShift = 2 })
	ctx := context.Background()
	var codes []string
	for i := range 7 {
		c := fmt.Sprintf("74000000000%d", i)
		st.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
		codes = append(codes, c)
	}
	if _, err := st.e.OverrideOfflineLimit(ctx, "boss", 2); !errors.Is(err, sync.ErrNoShift) {
		t.Fatalf("override with no shift open: %v", err)
	}
	st.srv.SetOutage(true)
	redeem := func(code string) sync.Outcome {
		t.Helper()
		out, err := st.e.Redeem(ctx, sync.Request{Code: code})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range codes[:2] {
		if out := redeem(c); out.Kind != sync.AcceptedOffline {
			t.Fatalf("%s within the limit: %+v", c, out)
		}
	}
	if out := redeem(codes[2]); out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineShiftLimit {
		t.Fatalf("at the limit: %+v", out)
	}
	for _, extra := range []int{0, -1, sync.MaxOverrideExtra + 1} {
		if _, err := st.e.OverrideOfflineLimit(ctx, "boss", extra); !errors.Is(err, sync.ErrBadOverride) {
			t.Fatalf("override of %d: %v", extra, err)
		}
	}
	if _, err := st.e.OverrideOfflineLimit(ctx, " ", 2); !errors.Is(err, sync.ErrBadOverride) {
		t.Fatalf("override by no one: %v", err)
	}
	shift, _, _, _ := st.j.CurrentShift()
	if os, _ := st.e.OfflineOverrides(shift); len(os) != 0 {
		t.Fatalf("refused overrides journaled: %+v", os)
	}
	o, err := st.e.OverrideOfflineLimit(ctx, "王经理", 2)
	if err != nil {
		t.Fatal(err)
	}
	if o.ShiftID != shift || o.Limit != 2 || o.Extra != 2 || o.By != "王经理" || o.At.IsZero() {
		t.Fatalf("override %+v", o)
	}
	if s := st.e.Status(); s.MaxPerShift != 4 || s.OfflineOverride != 2 || s.OfflineAcceptedInShift != 2 {
		t.Fatalf("status after the override: %+v", s)
	}
	for _, c := range codes[2:4] {
		if out := redeem(c); out.Kind != sync.AcceptedOffline || out.MaxPerShift != 4 {
			t.Fatalf("%s within the raised limit: %+v", c, out)
		}
	}
	if out := redeem(codes[4]); out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineShiftLimit || out.MaxPerShift != 4 {
		t.Fatalf("at the raised limit: %+v", out)
	}
	st.restart()
	if out := redeem(codes[5]); out.Kind != sync.Refused || out.Reason != sync.ReasonOfflineShiftLimit {
		t.Fatalf("at the raised limit after a restart: %+v", out)
	}
	if os, err := st.e.OfflineOverrides(shift); err != nil || len(os) != 1 || os[0] != o {
		t.Fatalf("overrides after a restart: %+v %v, want %+v", os, err, o)
	}
	if n, _ := st.db.OfflineAccepted(shift); n != 4 {
		t.Fatalf("%d accepted offline, want 2 + 2", n)
	}
	if err := st.db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestOfflineOverrideNothingToRaise: no per-shift bound, or offline
// acceptance off: an override is refused and journals nothing.
func TestOfflineOverrideNothingToRaise(t *testing.T) {
	t.Parallel()
	for _, p := range []sync.Policy{{MaxPerShift: -1}, {Mode: sync.ModeRefuse, MaxPerShift: 5}} {
		h := newHarness(t, func(o *sync.Options) { o.Policy = p })
		h.redeem("1") // opens a shift
		if _, err := h.e.OverrideOfflineLimit(context.Background(), "boss", 3); !errors.Is(err, sync.ErrNoOfflineLimit) {
			t.Fatalf("policy %+v: %v", p, err)
		}
		if os, _ := h.j.OfflineOverrides(1); len(os) != 0 {
			t.Fatalf("journaled %+v", os)
		}
	}
}

// TestOfflineOverrideHoldsForConcurrentScans: twenty scans at once with
// max_per_shift 1 and an override of +3: exactly four are accepted, on the
// real journal (the limit the commit checks includes the override).
func TestOfflineOverrideHoldsForConcurrentScans(t *testing.T) {
	t.Parallel()
	st := newStoreTillWith(t, 8, func(o *sync.Options) { o.Policy.MaxPerShift = 1 })
	ctx := context.Background()
	var codes []string
	for i := range 20 {
		c := fmt.Sprintf("7500000000%02d", i)
		st.srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
		codes = append(codes, c)
	}
	st.srv.SetOutage(true)
	if out, err := st.e.Redeem(ctx, sync.Request{Code: codes[0]}); err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("first: %+v %v", out, err)
	}
	if _, err := st.e.OverrideOfflineLimit(ctx, "boss", 3); err != nil {
		t.Fatal(err)
	}
	var wg stdsync.WaitGroup
	var mu stdsync.Mutex
	accepted := 1
	for _, c := range codes[1:] {
		wg.Go(func() {
			out, err := st.e.Redeem(ctx, sync.Request{Code: c})
			if err != nil {
				t.Error(err)
			}
			if out.Kind == sync.AcceptedOffline {
				mu.Lock()
				accepted++
				mu.Unlock()
			} else if out.Reason != sync.ReasonOfflineShiftLimit {
				t.Errorf("%s: %+v", c, out)
			}
		})
	}
	wg.Wait()
	shift, _, _, _ := st.j.CurrentShift()
	if n, _ := st.db.OfflineAccepted(shift); accepted != 4 || n != 4 {
		t.Fatalf("%d accepted, %d counted; want 1 + 3", accepted, n)
	}
}
