package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"cardtill/sync"
)

// An in-doubt answer settles in place while on screen: the panel and the
// recent row turn from "checking" to redeemed, the counts follow, and F3
// lists it as settled. An offline acceptance that becomes a conflict does
// the same, and stops counting as honoured.
func TestSettleInPlace(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		tx := Catalogue(lang)
		m := newTestModel(lang, 80, 24, Options{})
		doubt := outcome(sync.Checking, sync.ReasonInDoubt, "452998530311", "¥20 off any drink")
		doubt.ID = 7
		m = send(m, redeemedMsg{out: doubt})
		mustShow(t, m, tx.Checking, "0 ✔  0 ✖") // checking is neither until it settles
		done := doubt
		done.Kind, done.State, done.Reason = sync.Consumed, sync.StateConsumed, sync.ReasonConfirmedByQuery
		done.At = t0.Add(25 * time.Second)
		m = send(m, updateMsg(done))
		mustShow(t, m, tx.Consumed, tx.SettledMark, "✔ "+tx.RedeemedWord, "1 ✔  0 ✖")
		if s := shown(m); strings.Contains(s, tx.CheckingHint) {
			t.Fatalf("%s: still checking:\n%s", lang, s)
		}

		off := outcome(sync.AcceptedOffline, sync.ReasonAcceptedOffline, "110201201246", "满20减5券")
		off.ID = 8
		m = send(m, redeemedMsg{out: off})
		mustShow(t, m, "2 ✔  0 ✖")
		conflict := off
		conflict.Kind, conflict.State, conflict.Reason, conflict.Errcode = sync.Conflict, sync.StateConflict, sync.ReasonAlreadyUsed, 40099
		m = send(m, updateMsg(conflict))
		mustShow(t, m, tx.Conflict, "! ", "1 ✔  1 ✖")
		m = send(m, press(tea.KeyF3))
		mustShow(t, m, tx.SettledTitle+"  2")
		// an update for a redemption the screen never showed changes nothing
		before := shown(m)
		other := done
		other.ID = 99
		if m = send(m, updateMsg(other)); shown(m) != before {
			t.Fatalf("%s: an unknown redemption changed the screen", lang)
		}
	}
}

// A teatest flow: updates arriving on the stream change the screen while
// it runs.
func TestTeatestSettleFromTheStream(t *testing.T) {
	t.Parallel()
	updates := make(chan sync.Update, 4)
	e := &stubEngine{status: sync.Status{Online: true, LastContact: time.Now()}}
	m := New(Options{Engine: e, Lang: "en", Updates: updates, Terminal: "till-2", Cashier: "Wang Fang"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitFor := screenWaiter(t, tm, 5*time.Second)
	off := sync.Outcome{ID: 3, Kind: sync.AcceptedOffline, Reason: sync.ReasonAcceptedOffline, Code: "110201201246", At: time.Now()}
	tm.Send(redeemedMsg{out: off})
	waitFor("ACCEPTED OFFLINE", "1 ✔  0 ✖")
	off.Kind, off.Reason, off.Errcode = sync.Conflict, sync.ReasonAlreadyUsed, 40099
	updates <- sync.Update{Outcome: off, From: sync.StateQueued}
	waitFor("CONFLICT", "(settled by WeChat)", "0 ✔  1 ✖")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// The commit that follows an answer (queued after "accepted offline") is
// the same answer: the panel does not say it was settled by WeChat.
func TestSameAnswerIsNotSettled(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := newTestModel(lang, 80, 24, Options{})
		off := sync.Outcome{ID: 7, Kind: sync.AcceptedOffline, State: sync.StateQueued, Reason: sync.ReasonAcceptedOffline, Code: "110201201246", At: t0}
		m = send(m, redeemedMsg{out: off})
		before := shown(m)
		m = send(m, updateMsg(off))
		if after := shown(m); after != before {
			t.Fatalf("%s: the same answer changed the screen:\n%s", lang, after)
		}
	}
}
