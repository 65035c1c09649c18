package sim

import (
	"reflect"
	"slices"
	"time"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
)

// checkStep runs after every step: cheap checks of what the step touched.
func (w *world) checkStep() {
	for _, c := range w.touched {
		if n := w.srv.ConsumeCount(c); n > 1 {
			w.fatal("WeChat applied %d consumes of %s", n, c)
		}
	}
	w.touched = w.touched[:0]
}

// allRecords returns every redemption in t's journal.
func (w *world) allRecords(t *till) []store.Redemption {
	var out []store.Redemption
	for _, s := range store.AllStates {
		rs, err := t.p.db.Find(store.Query{Index: store.ByState, State: s})
		if err != nil {
			w.fatal("list %s of %s: %v", s, t.name, err)
		}
		out = append(out, rs...)
	}
	slices.SortFunc(out, func(a, b store.Redemption) int { return int(a.ID) - int(b.ID) })
	return out
}

// compatible reports whether a redemption may be in state s after the
// cashier was told k; final is set once everything has settled.
func compatible(k sync.OutcomeKind, s store.State, final bool) bool {
	switch k {
	case sync.Consumed:
		// Told once WeChat confirmed; a crash before the consumed commit
		// leaves it consuming until a query resolves it.
		return s == store.Consumed || (!final && s == store.Consuming)
	case sync.Refused:
		return s == store.Rejected
	case sync.AcceptedOffline:
		if s == store.Consumed || s == store.Conflict {
			return true
		}
		return !final && (s == store.Queued || s == store.Consuming || s == store.InDoubt)
	case sync.Checking:
		if s.Finished() {
			return true
		}
		return !final && (s == store.Consuming || s == store.InDoubt)
	case sync.Conflict:
		return s == store.Conflict
	}
	return false
}

// checkAll is the full check: the journals against themselves (indexes,
// shift counters = recount), against what the cashiers were told, against
// the offline policy, and against WeChat's truth.
func (w *world) checkAll(final bool) {
	w.stats.checks++
	consumed := map[string]int{} // code -> consumed redemptions, both tills
	resolved := map[string]int{} // of those, consumed by an in-doubt resolution
	inflight := map[string]int{} // code -> consuming / in doubt
	pol := w.policy
	for _, t := range w.tills {
		if err := t.p.db.Check(); err != nil {
			w.fatal("%s journal check: %v", t.name, err)
		}
		recs := w.allRecords(t)
		byID := make(map[uint64]store.Redemption, len(recs))
		offline := map[uint64]int{} // shift -> offline acceptances
		for _, r := range recs {
			byID[r.ID] = r
			w.checkMoves(t, r)
			if final {
				w.stats.final[string(r.State)]++
			}
			if r.Code == "" {
				if !t.submittedEnc[r.EncryptCode] || r.State != store.Rejected {
					w.fatal("%s journal has redemption %d without a code (%s, encrypt_code scanned here: %v)", t.name, r.ID, r.State, t.submittedEnc[r.EncryptCode])
				}
				continue
			}
			if !t.submitted[r.Code] {
				w.fatal("%s journal has redemption %d of %s, which was never scanned there", t.name, r.ID, r.Code)
			}
			switch r.State {
			case store.Consumed:
				consumed[r.Code]++
				if r.Reason == string(sync.ReasonConfirmedByQuery) {
					resolved[r.Code]++
				}
			case store.Consuming, store.InDoubt:
				inflight[r.Code]++
			}
			if final && r.State.Active() {
				w.fatal("%s: redemption %d of %s is still %s after the network was back for good", t.name, r.ID, r.Code, r.State)
			}
			if !r.OfflineAcceptedAt.IsZero() {
				offline[r.ShiftID]++
				switch {
				case pol.Mode == sync.ModeRefuse, pol.UnknownCodes == sync.ModeRefuse && w.hub == nil:
					w.fatal("%s: redemption %d of %s accepted offline against the policy %+v", t.name, r.ID, r.Code, pol)
				case len(pol.AllowCards) > 0 && !slices.Contains(pol.AllowCards, r.CardID):
					w.fatal("%s: redemption %d of %s (card %q) accepted offline; allow_cards = %v", t.name, r.ID, r.Code, r.CardID, pol.AllowCards)
				}
			}
			if r.State == store.Conflict {
				w.checkConflict(t, r)
			}
			w.checkQuiet(t, r)
		}
		codes := map[string]bool{}
		for _, r := range recs {
			codes[r.Code] = true
		}
		t.failMu.Lock()
		for c := range t.queried {
			if !codes[c] {
				t.failMu.Unlock()
				w.fatal("%s asked WeChat about %s, which its journal does not have (a scan is journaled as received before anything else happens):%s", t.name, c, w.story(c))
			}
		}
		t.failMu.Unlock()
		for id, z := range t.z {
			s, err := t.p.db.Shift(id)
			if err != nil || s.Z == nil || !reflect.DeepEqual(*s.Z, z) {
				w.fatal("%s: the Z report of shift %d changed after close: %+v, at close %+v (%v)", t.name, id, s.Z, z, err)
			}
		}
		for id, n := range offline {
			if pol.MaxPerShift >= 0 && n > pol.MaxPerShift {
				w.fatal("%s: shift %d accepted %d offline; max_per_shift = %d", t.name, id, n, pol.MaxPerShift)
			}
			c, err := t.p.db.ShiftCounters(id)
			if err != nil || c.OfflineAccepted != n {
				w.fatal("%s: shift %d counts %d offline acceptances, the journal has %d (%v)", t.name, id, c.OfflineAccepted, n, err)
			}
		}
		for id, a := range t.answers {
			r, ok := byID[id]
			switch {
			case !ok:
				w.fatal("%s: redemption %d (%s, answered %s at step %d) is gone from the journal", t.name, id, a.code, a.kind, a.step)
			case r.Code != a.code:
				w.fatal("%s: redemption %d answered for %s holds %s", t.name, id, a.code, r.Code)
			case !compatible(a.kind, r.State, final):
				w.fatal("%s: the cashier was told %s for %s (redemption %d, step %d), the journal says %s (%s: %s)", t.name, a.kind, a.code, id, a.step, r.State, r.Reason, r.ReasonText)
			}
		}
	}
	// WeChat's truth: at most one consume per code, and the journals agree.
	total := 0
	for _, code := range w.order {
		n := w.srv.ConsumeCount(code)
		total += n
		// A consume whose answer was lost is settled by a query; when that
		// finds the code CONSUMED the till cannot know who consumed it
		// (WeChat's query does not say), so it journals it consumed with
		// ReasonConfirmedByQuery. Those, and only those, may exceed what
		// WeChat applied for this till: another till or the customer used
		// the code in the same moment.
		if consumed[code] > n && consumed[code]-resolved[code] <= n {
			w.note("%s: %d consume(s) confirmed by a query, WeChat applied %d (used elsewhere at the same moment)", code, resolved[code], n)
			consumed[code] = n
		}
		switch {
		case n > 1:
			w.fatal("WeChat applied %d consumes of %s", n, code)
		case consumed[code] > n:
			w.fatal("the journals say %s was consumed %d times, WeChat applied %d:%s", code, consumed[code], n, w.story(code))
		case n > consumed[code]+inflight[code]:
			w.fatal("WeChat applied a consume of %s that no journal knows (consumed %d, in flight %d):%s", code, consumed[code], inflight[code], w.story(code))
		case final && n != consumed[code]:
			w.fatal("after settling, WeChat applied %d consumes of %s and the journals say %d:%s", n, code, consumed[code], w.story(code))
		}
	}
	if total != w.srv.TotalConsumes() {
		w.fatal("WeChat applied %d consumes, %d of them of codes the simulation never handed out", w.srv.TotalConsumes(), w.srv.TotalConsumes()-total)
	}
}

// checkConflict: a conflict is only right where WeChat really refused the
// code: not one of its codes, not NORMAL any more (used by the other till,
// elsewhere, deleted, gifted), or outside its validity window then.
func (w *world) checkConflict(t *till, r store.Redemption) {
	row, ok := w.srv.Code(r.Code)
	switch {
	case !ok:
		return // unknown to WeChat
	case row.Status != wechat.StatusNormal:
		return
	case !row.End.IsZero() && r.UpdatedAt.After(row.End):
		return
	case !row.Begin.IsZero() && r.UpdatedAt.Before(row.Begin):
		return
	}
	w.fatal("%s: redemption %d of %s is a conflict (%s: %s), but WeChat still has the code NORMAL and valid (end %s)", t.name, r.ID, r.Code, r.Reason, r.ReasonText, row.End.Format(time.TimeOnly))
}

// checkQuiet: a consume whose answer was lost is resolved by a query only
// after the quiet period, so the first request cannot still land
// (invariant 2): every query result journaled for a consuming or in-doubt
// redemption (its history entry carries WeChat's status), and every second
// consume, comes a quiet period or more after the last consume intent.
func (w *world) checkQuiet(t *till, r store.Redemption) {
	var sent time.Time
	for _, h := range r.History {
		resolving := (h.From == store.Consuming || h.From == store.InDoubt) && h.WeChatStatus != ""
		if resolving && !sent.IsZero() && h.At.Sub(sent) < quietPeriod {
			w.fatal("%s: redemption %d of %s was resolved by a query %s after its consume was sent (%s -> %s, %s), inside the quiet period of %s:%s",
				t.name, r.ID, r.Code, h.At.Sub(sent), h.From, h.To, h.WeChatStatus, quietPeriod, w.story(r.Code))
		}
		if h.To == store.Consuming {
			sent = h.At
		}
	}
}

// checkMoves checks a redemption's history against the state machine's
// table (store.Moves): it begins with the scan journaled, every entry is
// an allowed move from where the one before it left, and it ends in the
// redemption's state.
func (w *world) checkMoves(t *till, r store.Redemption) {
	at := store.None
	for i, h := range r.History {
		if h.From != at || !store.Allowed(h.From, h.To) {
			w.fatal("%s: redemption %d of %s, history entry %d %q -> %q after %q: not a move of the table (history %+v)", t.name, r.ID, r.Code, i, h.From, h.To, at, r.History)
		}
		at = h.To
	}
	if at != r.State {
		w.fatal("%s: redemption %d of %s is %s but its history ends in %q", t.name, r.ID, r.Code, r.State, at)
	}
}
