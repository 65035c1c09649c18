package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// mrec is the model's view of one redemption.
type mrec struct {
	code, card, cashier string
	shift               uint64
	state               State
	offline             bool
	created, finished   time.Time
	due                 time.Time
	hist                int
	reason              string
	updated, offlineAt  time.Time // the record's UpdatedAt and OfflineAcceptedAt
}

// usedAt is when the model's redemption used its code (index.go's usedAt).
func (r *mrec) usedAt() time.Time {
	if !r.offlineAt.IsZero() {
		return r.offlineAt
	}
	return r.updated
}

type model struct {
	recs    map[uint64]*mrec
	shifts  map[uint64]Shift
	open    uint64
	pruned  map[uint64]map[string]int // shift -> outcome -> n
	prunedN map[uint64]int
	tombs   map[string]uint64 // code -> the latest pruned redemption that used it here
}

func (m *model) outcome(r *mrec) string {
	switch r.state {
	case Consumed:
		if r.offline {
			return OutcomeOfflineConsumed
		}
		return OutcomeConsumedOnline
	case Conflict:
		return OutcomeConflict
	case Rejected:
		return OutcomeRefused
	}
	return OutcomePending
}

func (m *model) active(code string) (uint64, bool) {
	for id, r := range m.recs {
		if r.code == code && r.state.Active() {
			return id, true
		}
	}
	return 0, false
}

// TestRandomAgainstModel drives thousands of seeded operations and checks
// journal, indexes and counters against an in-memory model after every
// step, with a full Check and a reopen every so often.
// STORE_MODEL_SEED and STORE_MODEL_STEPS override the defaults.
func TestRandomAgainstModel(t *testing.T) {
	t.Parallel()
	seed := uint64(20261122)
	steps := 3000
	if s := os.Getenv("STORE_MODEL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	if s := os.Getenv("STORE_MODEL_STEPS"); s != "" {
		steps, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d, %d steps", seed, steps)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
	clk := newClock()
	db := openTest(t, Options{Now: clk.Now, NoSync: true})
	m := &model{recs: map[uint64]*mrec{}, shifts: map[uint64]Shift{}, pruned: map[uint64]map[string]int{}, prunedN: map[uint64]int{}, tombs: map[string]uint64{}}
	codes := make([]string, 40)
	for i := range codes {
		codes[i] = fmt.Sprintf("%012d", 100000000000+int64(i)*7919)
	}
	cards := []string{"pA", "pB", "pC"}
	cashiers := []string{"ann", "bo"}
	var ids []uint64

	for step := 0; step < steps; step++ {
		op := rng.IntN(100)
		switch {
		case op < 3: // open or close a shift
			if m.open == 0 {
				s, err := db.OpenShift("T1", cashiers[rng.IntN(2)])
				if err != nil {
					t.Fatalf("step %d open shift: %v", step, err)
				}
				m.shifts[s.ID], m.open = s, s.ID
			} else {
				s, err := db.CloseShift(m.open)
				if err != nil {
					t.Fatalf("step %d close shift: %v", step, err)
				}
				m.shifts[s.ID], m.open = s, 0
			}
		case op < 35: // create
			code := codes[rng.IntN(len(codes))]
			st := []State{Received, Checked, Queued, Rejected, Consumed, Consuming}[rng.IntN(6)]
			r := Redemption{Code: code, CardID: cards[rng.IntN(3)], Cashier: cashiers[rng.IntN(2)], ShiftID: m.open, State: st,
				Reason: "r" + strconv.Itoa(rng.IntN(3)), DueAt: clk.t.Add(time.Duration(rng.IntN(120)) * time.Second)}
			got, err := db.Create(r, "model", Path(r.State)...)
			aid, has := m.active(code)
			if st.Active() && has {
				var de *DuplicateError
				if !errors.As(err, &de) || de.Active.ID != aid {
					t.Fatalf("step %d: create dup of %s: %v, want active %d", step, code, err, aid)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d create: %v", step, err)
			}
			mr := &mrec{code: code, card: r.CardID, cashier: r.Cashier, shift: m.open, state: st, offline: st == Queued, created: got.CreatedAt, due: r.DueAt, hist: len(Path(st)) + 1, reason: r.Reason,
				updated: got.UpdatedAt, offlineAt: got.OfflineAcceptedAt}
			if st.Finished() {
				mr.finished = got.UpdatedAt
			}
			m.recs[got.ID] = mr
			ids = append(ids, got.ID)
		case op < 97: // a move drawn from the table; sometimes a wrong "from" or a move the table refuses
			if len(ids) == 0 {
				break
			}
			id := ids[rng.IntN(len(ids))]
			mr, ok := m.recs[id]
			if !ok {
				break // pruned
			}
			var next []State
			for _, mv := range Moves() {
				if mv.From == mr.state {
					next = append(next, mv.To)
				}
			}
			from := mr.state
			if rng.IntN(10) == 0 {
				from = AllStates[rng.IntN(len(AllStates))]
			}
			var to State
			if len(next) == 0 || rng.IntN(8) == 0 {
				to = AllStates[rng.IntN(len(AllStates))]
			} else {
				to = next[rng.IntN(len(next))]
			}
			// What a move's Update changes (reindex writes only the index
			// entries that change): the due time, or nothing but the
			// attempts (a retry that changes no index), the card, the
			// reason (also of a redemption becoming consumed), when it was
			// accepted offline, rarely the shift; or no Update at all.
			newDue := clk.t.Add(time.Duration(rng.IntN(120)) * time.Second)
			keepDue := rng.IntN(3) == 0
			newCard := cards[rng.IntN(3)]
			changeCard := rng.IntN(5) == 0
			newReason := "r" + strconv.Itoa(rng.IntN(3))
			changeReason := rng.IntN(3) == 0
			offAt := clk.t.Add(-time.Duration(rng.IntN(100)) * time.Second)
			setOffline := rng.IntN(15) == 0
			newShift := uint64(0)
			changeShift := rng.IntN(30) == 0
			if changeShift {
				newShift = uint64(rng.IntN(len(m.shifts) + 1)) // 0 or a shift that exists
			}
			pure := keepDue && rng.IntN(2) == 0
			changeCard, changeReason, setOffline, changeShift = changeCard && !pure, changeReason && !pure, setOffline && !pure, changeShift && !pure
			ch := Change{By: []string{"model", "drain"}[rng.IntN(2)], Errcode: rng.IntN(2) * 40099, Reason: newReason, Update: func(r *Redemption) {
				if !keepDue {
					r.DueAt = newDue
				}
				r.Attempts++
				if changeCard {
					r.CardID = newCard
				}
				if changeReason {
					r.Reason = newReason
				}
				if setOffline {
					r.OfflineAcceptedAt = offAt
				}
				if changeShift {
					r.ShiftID = newShift
				}
			}}
			if pure {
				ch.Update = nil
			}
			move := db.Transition
			if rng.IntN(4) == 0 {
				move = db.TransitionBatch
			}
			got, err := move(id, from, to, ch)
			if !Allowed(from, to) {
				var me *MoveError
				if !errors.As(err, &me) || me.From != from || me.To != to || !errors.Is(err, ErrMove) {
					t.Fatalf("step %d: move %d %s->%s not in the table: %v, want *MoveError", step, id, from, to, err)
				}
				break
			}
			if from != mr.state {
				if !errors.Is(err, ErrStateConflict) {
					t.Fatalf("step %d: CAS %d %s->%s while %s: %v", step, id, from, to, mr.state, err)
				}
				break
			}
			if aid, has := m.active(mr.code); to.Active() && !from.Active() && has {
				var de *DuplicateError
				if !errors.As(err, &de) || de.Active.ID != aid {
					t.Fatalf("step %d: reactivating %d: %v", step, id, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d transition %d %s->%s: %v", step, id, from, to, err)
			}
			if to.Finished() && !from.Finished() {
				mr.finished = got.UpdatedAt
			}
			if to == Queued || setOffline {
				mr.offline = true
			}
			mr.state = to
			if !keepDue {
				mr.due = newDue
			}
			if changeCard {
				mr.card = newCard
			}
			if changeReason {
				mr.reason = newReason
			}
			if changeShift {
				mr.shift = newShift
			}
			mr.updated, mr.offlineAt = got.UpdatedAt, got.OfflineAcceptedAt
			if got.ShiftID != mr.shift || got.Reason != mr.reason || !got.DueAt.Equal(mr.due) || got.CardID != mr.card {
				t.Fatalf("step %d: moved %d: %+v, model %+v", step, id, got, mr)
			}
			mr.hist++
			id2 := id
			if got.ID != id2 || got.State != to || len(got.History) != mr.hist {
				t.Fatalf("step %d: got %+v", step, got)
			}
		case op < 98: // prune
			cut := clk.t.Add(-time.Duration(rng.IntN(600)) * time.Second)
			n, err := db.Prune(cut)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for id, r := range m.recs {
				if (r.state == Consumed || r.state == Rejected) && r.finished.Before(cut) {
					want++
					if m.pruned[r.shift] == nil {
						m.pruned[r.shift] = map[string]int{}
					}
					m.pruned[r.shift][m.outcome(r)]++
					m.prunedN[r.shift]++
					if r.state.usedHere() && id > m.tombs[r.code] {
						m.tombs[r.code] = id
					}
					delete(m.recs, id)
				}
			}
			if n != want {
				t.Fatalf("step %d: pruned %d, model %d", step, n, want)
			}
		default:
			db.Reopen()
		}
		verifyModel(t, step, db, m, codes, step%25 == 0)
	}
	db.Reopen()
	verifyModel(t, steps, db, m, codes, true)
}

func verifyModel(t *testing.T, step int, db *testDB, m *model, codes []string, full bool) {
	t.Helper()
	for _, code := range codes {
		r, ok, err := db.ActiveByCode(code)
		aid, has := m.active(code)
		if err != nil || ok != has || (ok && r.ID != aid) {
			t.Fatalf("step %d: active(%s) = %d %v %v, model %d %v", step, code, r.ID, ok, err, aid, has)
		}
		fc, ok, err := db.FinishedByCode(code)
		want := m.tombs[code] // a pruned use is still a use (its tombstone)
		for id, r := range m.recs {
			if r.code == code && r.state.usedHere() && id > want {
				want = id
			}
		}
		if err != nil || ok != (want != 0) || fc.ID != want {
			t.Fatalf("step %d: used(%s) = %+v %v, model %d", step, code, fc, ok, want)
		}
		if r := m.recs[want]; r != nil && (fc.Pruned || fc.State != r.state || fc.ShiftID != r.shift || !fc.At.Equal(r.usedAt())) {
			t.Fatalf("step %d: used(%s) = %+v, model %+v (used at %s)", step, code, fc, r, r.usedAt())
		}
		if want != 0 && m.recs[want] == nil && !fc.Pruned {
			t.Fatalf("step %d: used(%s) = %+v, the model pruned it", step, code, fc)
		}
	}
	if !full {
		return
	}
	byState, _ := db.CountByState()
	wantState := map[State]int{}
	queue := 0
	type sc struct {
		total, offline int
		out, settled   map[string]int
	}
	wantShift := map[uint64]*sc{}
	for _, r := range m.recs {
		wantState[r.state]++
		if r.state.outboxed() {
			queue++
		}
		c := wantShift[r.shift]
		if c == nil {
			c = &sc{out: map[string]int{}, settled: map[string]int{}}
			wantShift[r.shift] = c
		}
		c.total++
		c.out[m.outcome(r)]++
		if r.offline {
			c.offline++
		}
		if s := m.shifts[r.shift]; !s.ClosedAt.IsZero() && r.state.Finished() && r.finished.After(s.ClosedAt) {
			c.settled[m.outcome(r)]++
		}
	}
	for _, s := range AllStates {
		if byState[s] != wantState[s] {
			t.Fatalf("step %d: %s count %d, model %d", step, s, byState[s], wantState[s])
		}
	}
	if n, _ := db.Count(Query{Index: Outbox}); n != queue {
		t.Fatalf("step %d: queue %d, model %d", step, n, queue)
	}
	for id, w := range wantShift {
		c, err := db.ShiftCounters(id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Total-m.prunedN[id] != w.total {
			t.Fatalf("step %d shift %d: total %d (pruned %d), model %d", step, id, c.Total, m.prunedN[id], w.total)
		}
		for _, o := range []string{OutcomeConsumedOnline, OutcomeOfflineConsumed, OutcomeConflict, OutcomeRefused, OutcomePending} {
			if c.ByOutcome[o]-m.pruned[id][o] != w.out[o] {
				t.Fatalf("step %d shift %d: %s %d, model %d", step, id, o, c.ByOutcome[o], w.out[o])
			}
		}
		if m.prunedN[id] == 0 {
			if c.OfflineAccepted != w.offline {
				t.Fatalf("step %d shift %d: offline accepted %d, model %d", step, id, c.OfflineAccepted, w.offline)
			}
			for _, o := range []string{OutcomeConsumedOnline, OutcomeOfflineConsumed, OutcomeConflict, OutcomeRefused} {
				if c.SettledAfterClose[o] != w.settled[o] {
					t.Fatalf("step %d shift %d: settled after close %s %d, model %d", step, id, o, c.SettledAfterClose[o], w.settled[o])
				}
			}
		}
		if rs, _ := db.Find(Query{Index: ByShift, Shift: id}); len(rs) != w.total {
			t.Fatalf("step %d shift %d: lists %d, model %d", step, id, len(rs), w.total)
		}
	}
	if due, _ := db.Find(Query{Index: Outbox, Until: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}); len(due) != queue {
		t.Fatalf("step %d: due %d, model %d", step, len(due), queue)
	}
	verifyQueries(t, step, db, m)
	if err := db.Check(); err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
}

// verifyQueries checks every index's walk against the model: each state's
// and each consumed reason's ids in order, the outbox by due time, and a
// whole state's Count (state_counts) against a walk of its keys.
func verifyQueries(t *testing.T, step int, db *testDB, m *model) {
	t.Helper()
	var all []uint64
	for id := range m.recs {
		all = append(all, id)
	}
	slices.Sort(all)
	ids := func(q Query) []uint64 {
		rs, err := db.Find(q)
		if err != nil {
			t.Fatalf("step %d: %+v: %v", step, q, err)
		}
		var out []uint64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	check := func(q Query, in func(*mrec) bool) {
		var want []uint64
		for _, id := range all {
			if in(m.recs[id]) {
				want = append(want, id)
			}
		}
		if got := ids(q); !slices.Equal(got, want) {
			t.Fatalf("step %d: %+v: %v, model %v", step, q, got, want)
		}
		n, err := db.Counts(q, Query{Index: q.Index, State: q.State, Reason: q.Reason, Limit: 1 << 30})
		if err != nil || n[0] != len(want) || n[1] != len(want) {
			t.Fatalf("step %d: Counts(%+v) = %v %v, model %d", step, q, n, err, len(want))
		}
	}
	for _, s := range AllStates {
		check(Query{Index: ByState, State: s}, func(r *mrec) bool { return r.state == s })
	}
	for i := range 3 {
		reason := "r" + strconv.Itoa(i)
		check(Query{Index: ConsumedByReason, Reason: reason}, func(r *mrec) bool { return r.state == Consumed && r.reason == reason })
	}
	var want []uint64
	for _, id := range all {
		if m.recs[id].state.outboxed() {
			want = append(want, id)
		}
	}
	slices.SortStableFunc(want, func(a, b uint64) int { return m.recs[a].due.Compare(m.recs[b].due) })
	if got := ids(Query{Index: Outbox}); !slices.Equal(got, want) {
		t.Fatalf("step %d: outbox %v, model %v", step, got, want)
	}
}
