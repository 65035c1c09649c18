package store

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestMoveTable walks the whole table on a real journal: from every state
// (and from nothing, for a creation) to every state, each allowed move
// commits, with its history entry, and every other is refused with
// *MoveError and changes nothing.
func TestMoveTable(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	sh, err := db.OpenShift("T1", "ann")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	code := func() string {
		n++
		return "MT" + strings.Repeat("0", 8) + string(rune('A'+n%26)) + string(rune('a'+n/26))
	}
	allowed := 0
	for _, to := range AllStates {
		// creation straight into to: only None -> received is a move
		r, err := db.Create(Redemption{Code: code(), ShiftID: sh.ID, State: to}, "t")
		if Allowed(None, to) {
			allowed++
			if err != nil || r.State != to || len(r.History) != 1 || r.History[0].From != None {
				t.Errorf("create %s: %+v, %v", to, r, err)
			}
		} else if me := (*MoveError)(nil); !errors.As(err, &me) || !errors.Is(err, ErrMove) || me.From != None || me.To != to {
			t.Errorf("create straight into %s: %v, want *MoveError", to, err)
		}
	}
	for _, from := range AllStates {
		for _, to := range AllStates {
			path := Path(from)
			if path == nil && from != Received {
				t.Fatalf("no walk of the table reaches %s", from)
			}
			r, err := db.Create(Redemption{Code: code(), ShiftID: sh.ID, State: from}, "t", path...)
			if err != nil {
				t.Fatalf("create in %s by %v: %v", from, path, err)
			}
			before, _ := db.Get(r.ID)
			got, err := db.Transition(r.ID, from, to, Change{By: "table", Reason: "why"})
			if Allowed(from, to) {
				allowed++
				if err != nil {
					t.Errorf("allowed %s -> %s refused: %v", from, to, err)
					continue
				}
				last := got.History[len(got.History)-1]
				if got.State != to || last.From != from || last.To != to || last.Reason != "why" || len(got.History) != len(before.History)+1 {
					t.Errorf("%s -> %s: state %s, history %+v", from, to, got.State, got.History)
				}
				continue
			}
			var me *MoveError
			if !errors.As(err, &me) || !errors.Is(err, ErrMove) || me.ID != r.ID || me.From != from || me.To != to {
				t.Errorf("%s -> %s: %v, want *MoveError", from, to, err)
			}
			after, _ := db.Get(r.ID)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("refused %s -> %s changed the record:\n%+v\n%+v", from, to, before, after)
			}
		}
	}
	if allowed != len(Moves()) {
		t.Errorf("walked %d allowed moves, the table has %d", allowed, len(Moves()))
	}
	db.mustCheck()
}

// A move through a state of Change.Via is checked step by step: received
// via consuming (skipping checked) is refused.
func TestMoveViaChecked(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	r, err := db.Create(Redemption{Code: "V1", State: Received}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(r.ID, Received, Consumed, Change{Via: []State{Consuming}}); !errors.Is(err, ErrMove) {
		t.Fatalf("received via consuming to consumed: %v, want ErrMove", err)
	}
	got, err := db.Transition(r.ID, Received, Consuming, Change{Via: []State{Checked}})
	if err != nil || got.State != Consuming || len(got.History) != 3 || got.History[1].To != Checked {
		t.Fatalf("received via checked to consuming: %+v %v", got, err)
	}
	if _, err := db.Create(Redemption{Code: "V2", State: Consumed}, "t", Received, Consuming); !errors.Is(err, ErrMove) {
		t.Fatalf("create by received, consuming: %v, want ErrMove", err)
	}
}

// Every state is reached from a scan and every active state can still
// reach a final one: the table has no dead end and no unreachable state.
func TestMoveTableShape(t *testing.T) {
	t.Parallel()
	for _, s := range AllStates {
		if s != Received && Path(s) == nil {
			t.Errorf("%s is reached by no walk of the table", s)
		}
		out := false
		for _, m := range Moves() {
			if m.From == s && m.To != s {
				out = true
			}
			if m.From == s && s.Finished() {
				t.Errorf("final state %s has a move out: %+v", s, m)
			}
		}
		if s.Active() && !out {
			t.Errorf("active state %s has no move out", s)
		}
	}
}

// docs/ARCHITECTURE.md shows the table between its markers exactly as
// MovesMarkdown renders it; CARDTILL_UPDATE_DOCS=1 rewrites it.
func TestArchitectureDocShowsTheTable(t *testing.T) {
	t.Parallel()
	const path = "../docs/ARCHITECTURE.md"
	const begin, end = "<!-- moves:begin (generated from store.Moves by store's TestArchitectureDocShowsTheTable) -->\n", "<!-- moves:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q ... %q", path, begin, end)
	}
	want := doc[:i+len(begin)] + MovesMarkdown() + doc[j:]
	if doc == want {
		return
	}
	if os.Getenv("CARDTILL_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s shows a move table that is not store.Moves: run CARDTILL_UPDATE_DOCS=1 go test ./store -run TestArchitectureDocShowsTheTable", path)
}
