package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"cardtill/sync"
)

// The draw memo never shows what was drawn for another state: through
// answers, settlings in place, resizes, the clear-after and both
// languages, every frame equals the frame drawn with no memo at all.
func TestDrawMemoNeverStale(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := newTestModel(lang, 160, 45, Options{Recent: 20})
		check := func(step string) {
			t.Helper()
			bare := m
			bare.memo = nil
			if got, want := m.View(), bare.View(); got != want {
				t.Fatalf("%s %s: the memo drew\n%s\nwithout it\n%s", lang, step, got, want)
			}
		}
		check("start")
		kinds := []struct {
			k sync.OutcomeKind
			r sync.Reason
		}{
			{sync.Consumed, sync.ReasonOK}, {sync.Refused, sync.ReasonAlreadyUsed}, {sync.AcceptedOffline, sync.ReasonAcceptedOffline},
			{sync.Checking, sync.ReasonInDoubt}, {sync.Conflict, sync.ReasonAlreadyUsed}, {sync.Refused, sync.ReasonCancelled},
		}
		for i := range 30 {
			k := kinds[i%len(kinds)]
			o := outcome(k.k, k.r, fmt.Sprintf("1102%08d", i%9), []string{"¥5 coupon 满20减5券", "Member card 会员卡", ""}[i%3])
			o.ID, o.At = uint64(i%9+1), t0.Add(time.Duration(i)*time.Minute)
			m = send(m, redeemedMsg{out: o})
			check(fmt.Sprintf("answer %d", i))
			// the same redemption settles in place: a new kind, same code
			s := o
			s.Kind, s.Reason = kinds[(i+1)%len(kinds)].k, kinds[(i+1)%len(kinds)].r
			mm, _ := m.onUpdate(s)
			m = mm.(Model)
			check(fmt.Sprintf("settle %d", i))
			switch i % 5 {
			case 1:
				m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
			case 2:
				m = send(m, tea.WindowSizeMsg{Width: 120 + i, Height: 40})
			case 3:
				m.now = m.now.Add(m.o.ClearAfter + time.Second) // the answer clears
			case 4:
				m = send(m, tea.WindowSizeMsg{Width: 160, Height: 45})
			}
			check(fmt.Sprintf("step %d", i))
		}
	}
}
