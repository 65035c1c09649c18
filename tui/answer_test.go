package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"cardtill/scanner"
	"cardtill/sync"
)

// slowCommitEngine answers through OnAnswer at once, then holds Redeem's
// return (the engine's last commit) until commit is closed, and returns
// finalErr.
type slowCommitEngine struct {
	answer   sync.Outcome
	commit   chan struct{}
	finalErr error
}

func (e *slowCommitEngine) Redeem(_ context.Context, r sync.Request) (sync.Outcome, error) {
	if r.OnAnswer == nil {
		return sync.Outcome{}, errors.New("the screen asked for no early answer")
	}
	r.OnAnswer(e.answer)
	<-e.commit
	return e.answer, e.finalErr
}
func (e *slowCommitEngine) Status() sync.Status { return sync.Status{Online: true} }
func (e *slowCommitEngine) SyncNow()            {}

// The cashier sees the answer as soon as the engine says it is final,
// while its last commit is still running; it is counted once; a journal
// error after it is said without taking the answer back; quitting then
// does not ask about a redemption waiting for WeChat.
func TestAnswerShownBeforeTheLastCommit(t *testing.T) {
	t.Parallel()
	for _, finalErr := range []error{nil, errors.New("journal: disk full")} {
		e := &slowCommitEngine{answer: outcome(sync.Consumed, sync.ReasonOK, "452998530302", "¥20 off any drink"), commit: make(chan struct{}), finalErr: finalErr}
		m := newTestModel("en", 80, 24, Options{Engine: e})
		m, cmd := typeCode(m, "452998530302")
		a, ok := cmd().(answerMsg) // returns while Redeem still holds its commit
		if !ok {
			t.Fatal("no early answer")
		}
		mm, final := m.Update(a)
		m = mm.(Model)
		mustShow(t, m, "REDEEMED", "4529 9853 0302", "1 ✔  0 ✖")
		if m.inFlight != 0 {
			t.Fatalf("in flight %d after the answer", m.inFlight)
		}
		if _, quit := m.Update(tea.KeyMsg{Type: tea.KeyCtrlC}); quit == nil {
			t.Fatal("Ctrl+C after the answer asks about a redemption waiting for WeChat")
		}
		close(e.commit)
		r, ok := findMsg[redeemedMsg](final), true
		if !ok || !r.answered {
			t.Fatalf("final %+v", r)
		}
		m = send(m, r)
		mustShow(t, m, "REDEEMED", "1 ✔  0 ✖") // counted once
		if s := shown(m); (finalErr != nil) != strings.Contains(s, "journal: disk full") {
			t.Fatalf("final error %v, screen:\n%s", finalErr, s)
		}
	}
}

// A scan from the serial scanner while the manager reads the report or
// the queue brings the till forward with the answer.
func TestSerialScanBringsTheTillForward(t *testing.T) {
	t.Parallel()
	e := &slowCommitEngine{answer: outcome(sync.Consumed, sync.ReasonOK, "452998530302", "¥20 off any drink"), commit: make(chan struct{})}
	close(e.commit)
	for _, open := range []tea.KeyType{tea.KeyF4, tea.KeyF3, tea.KeyF1} {
		events := make(chan scanner.Event)
		close(events) // the listener the scan re-arms returns at once
		m := longReport(newTestModel("en", 80, 24, Options{Engine: e, ScannerPort: "/dev/ttyACM0", Events: events}))
		if open != tea.KeyF4 {
			m = send(m, press(tea.KeyEsc), press(open))
		}
		if m.screen == screenTill {
			t.Fatalf("%v did not leave the till", open)
		}
		ev := scanner.Event{Kind: scanner.EventScan, Port: "/dev/ttyACM0", Scan: scanner.Scan{Raw: "452998530302", Payload: scanner.Payload{Code: "452998530302"}, Source: "serial"}}
		mm, cmd := m.Update(scannerMsg(ev))
		m = mm.(Model)
		if m.screen != screenTill {
			t.Fatalf("a serial scan on %v left the screen at %d", open, m.screen)
		}
		// the engine answers early or returns first: either shows
		for _, msg := range collect(cmd) {
			switch msg.(type) {
			case answerMsg, redeemedMsg:
				m = send(m, msg)
			}
		}
		mustShow(t, m, "REDEEMED", "4529 9853 0302")
	}
}

// collect runs cmd and what it batches, each once, and returns their
// messages (every command must return).
func collect(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, collect(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}
