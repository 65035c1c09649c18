package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"cardtill/sync"
)

// BenchmarkViewQueue draws the queue screen scrolled into a full journal
// backlog (the latest 100 waiting and 100 conflicts) and 50 hub notices,
// in Chinese at 120x40.
func BenchmarkViewQueue(b *testing.B) {
	var bl Backlog
	for i := range backlogLimit {
		q := outcome(sync.AcceptedOffline, sync.ReasonAcceptedOffline, fmt.Sprintf("1102%08d", i), "满20减5券 ¥5 off")
		q.At = t0.Add(-time.Duration(i) * time.Hour)
		c := outcome(sync.Conflict, sync.ReasonAlreadyUsed, fmt.Sprintf("2260%08d", i), "Member card 会员卡")
		c.ID, c.Errcode, c.At = uint64(i), 40099, t0.Add(-time.Duration(i)*3*time.Hour)
		bl.Waiting, bl.Conflicts = append(bl.Waiting, q), append(bl.Conflicts, c)
	}
	bl.WaitingTotal, bl.ConflictsTotal, bl.Unseen, bl.New = 340, 512, 3, map[uint64]bool{0: true, 1: true, 2: true}
	m := newTestModel("zh", 120, 40, Options{Backlog: func(int) (Backlog, error) { return bl, nil }, AckConflicts: func() error { return nil }})
	for i := range maxNotices {
		m = send(m, noticeMsg{Event: "card_sku_remind", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", Detail: fmt.Sprint("库存不足 ", i), At: t0})
	}
	mm, cmd := m.Update(press(tea.KeyF3))
	m = send(mm.(Model), findMsg[backlogMsg](cmd), press(tea.KeyPgDown), press(tea.KeyPgDown))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkViewReport draws the shift report screen scrolled into a long
// report, in Chinese at 120x40.
func BenchmarkViewReport(b *testing.B) {
	m := send(longReport(newTestModel("zh", 120, 40, Options{})), press(tea.KeyPgDown))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}
