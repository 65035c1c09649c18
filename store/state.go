package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// State is a redemption state. The string values are an external contract
// (`cardtill redeem --json`, the journal). The states and the moves between
// them are the state machine docs/ARCHITECTURE.md describes; Moves is its
// single source.
type State string

// States of a redemption.
const (
	Received  State = "received"
	Checked   State = "checked"
	Consuming State = "consuming"
	Consumed  State = "consumed"
	Rejected  State = "rejected"
	InDoubt   State = "in_doubt"
	Queued    State = "queued"
	Conflict  State = "conflict"
)

// None is where a redemption is before it exists: the first move of every
// redemption is None -> Received (the scan journaled).
const None State = ""

// AllStates lists every state.
var AllStates = []State{Received, Checked, Consuming, Consumed, Rejected, InDoubt, Queued, Conflict}

// Valid reports whether s is one of the states.
func (s State) Valid() bool {
	for _, v := range AllStates {
		if s == v {
			return true
		}
	}
	return false
}

// Active reports whether a redemption in s is still being worked on
// (received, checked, consuming, in_doubt, queued).
func (s State) Active() bool {
	switch s {
	case Received, Checked, Consuming, InDoubt, Queued:
		return true
	}
	return false
}

// Finished reports whether s is final (consumed, rejected, conflict).
func (s State) Finished() bool { return s.Valid() && !s.Active() }

// Move is one allowed change of a redemption's state. From may equal To:
// such a move keeps the state and records a retry (attempts, due time,
// last error) as a history entry of its own.
type Move struct {
	From, To State
	// Why says when the engine makes the move.
	Why string
}

// moves is the state machine: every change of a redemption's state the
// journal accepts. Nothing else changes a state (apply is the one function
// that does, and it refuses any move not listed here).
var moves = []Move{
	{None, Received, "a scan is journaled before anything else happens (invariant 1)"},

	{Received, Checked, "WeChat's query says the code can be consumed (recorded in the consume intent's commit)"},
	{Received, Rejected, "refused without a consume: used here, WeChat refused the query, offline policy refused, scan abandoned or set aside"},
	{Received, Queued, "WeChat unreachable and the offline policy accepts (invariant 4)"},

	{Checked, Consuming, "the consume intent is durable before the request leaves (invariant 2)"},
	{Checked, Rejected, "WeChat says the code cannot be consumed, the cashier cancelled, or the scan was abandoned or set aside"},

	{Consuming, Consumed, "WeChat confirmed the consume"},
	{Consuming, Rejected, "WeChat refused the consume of a code never accepted offline"},
	{Consuming, Conflict, "WeChat refused the consume of a code accepted offline, or a lost consume's query found it unusable"},
	{Consuming, InDoubt, "the consume's answer was lost, or WeChat was busy: settled by a query after the quiet period"},
	{Consuming, Consuming, "retry bookkeeping of a consume to settle (due time, attempts, last error)"},

	{InDoubt, Consumed, "the query after the quiet period found the code CONSUMED (confirmed by query)"},
	{InDoubt, Consuming, "the query after the quiet period found the code NORMAL: consume again"},
	{InDoubt, Conflict, "the query after the quiet period found the code neither consumed nor consumable"},
	{InDoubt, InDoubt, "retry bookkeeping of the query that settles it"},

	{Queued, Consuming, "the drain's query says the queued code can be consumed"},
	{Queued, Conflict, "WeChat refused a code accepted offline (the manager follows it up)"},
	{Queued, Queued, "retry bookkeeping of a queued code (due time, attempts, last error)"},
}

// Moves returns the table of allowed moves, in the order above.
func Moves() []Move { return append([]Move(nil), moves...) }

// Allowed reports whether the table allows from -> to.
func Allowed(from, to State) bool {
	for _, m := range moves {
		if m.From == from && m.To == to {
			return true
		}
	}
	return false
}

// ErrMove says a transition is not in the table of allowed moves.
var ErrMove = errors.New("store: move not allowed by the state machine")

// MoveError is returned for a move the table does not allow; nothing was
// changed. errors.Is(err, ErrMove) is true.
type MoveError struct {
	ID       uint64 // 0 for a redemption being created
	From, To State
}

func (e *MoveError) Error() string {
	from := string(e.From)
	if e.From == None {
		from = "(new)"
	}
	return fmt.Sprintf("store: redemption %d cannot move %s -> %s: not in the state machine's table (docs/ARCHITECTURE.md)", e.ID, from, e.To)
}

// Is makes errors.Is(err, ErrMove) work.
func (e *MoveError) Is(target error) bool { return target == ErrMove }

// apply makes one move of r: it checks the table, appends the history
// entry and sets the state. It is the only code that changes a
// redemption's State; the caller commits r in the same transaction.
func apply(r *Redemption, to State, at time.Time, entry Transition) error {
	if !Allowed(r.State, to) {
		return &MoveError{ID: r.ID, From: r.State, To: to}
	}
	entry.At, entry.From, entry.To = at, r.State, to
	r.History = append(r.History, entry)
	r.State = to
	return nil
}

// Path returns the states a redemption created in s passes first, by a
// shortest walk of allowed moves from None: what Create takes as its path
// (tests and seeds use it). It is nil for Received, and for a state no
// move reaches.
func Path(s State) []State {
	prev := map[State]State{}
	seen := map[State]bool{None: true}
	queue := []State{None}
	for len(queue) > 0 {
		at := queue[0]
		queue = queue[1:]
		if at == s && at != None {
			var path []State
			for x := prev[s]; x != None; x = prev[x] {
				path = append([]State{x}, path...)
			}
			return path
		}
		for _, m := range moves {
			if m.From == at && !seen[m.To] {
				seen[m.To], prev[m.To] = true, at
				queue = append(queue, m.To)
			}
		}
	}
	return nil
}

// MovesMarkdown renders the table as docs/ARCHITECTURE.md shows it: one
// line per state with where it may go (the diagram), then the table with
// the reason of each move. A test keeps the document equal to it.
func MovesMarkdown() string {
	var b strings.Builder
	name := func(s State) string {
		if s == None {
			return "(scan)"
		}
		return string(s)
	}
	b.WriteString("```\n")
	for _, from := range append([]State{None}, AllStates...) {
		var to []string
		for _, m := range moves {
			if m.From == from {
				to = append(to, name(m.To))
			}
		}
		if len(to) == 0 {
			to = []string{"(final)"}
		}
		fmt.Fprintf(&b, "%-10s ─▶ %s\n", name(from), strings.Join(to, " | "))
	}
	b.WriteString("```\n\n| from | to | when |\n|---|---|---|\n")
	for _, m := range moves {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name(m.From), name(m.To), m.Why)
	}
	return b.String()
}
