package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"cardtill/report"
	"cardtill/store"
)

// realReport is a closed shift's Z report with every section: refusals,
// cards with and without a title, a conflict resolved and one open.
func realReport() report.Report {
	loc := time.FixedZone("CST", 8*3600)
	open := time.Date(2026, 11, 22, 9, 0, 0, 0, loc)
	z := &store.Counters{
		Total:           12,
		ByOutcome:       map[string]int{store.OutcomeConsumedOnline: 7, store.OutcomeOfflineConsumed: 1, store.OutcomeConflict: 2, store.OutcomeRefused: 2},
		OfflineAccepted: 3,
		RefusedByReason: map[string]int{"already_used": 1, "expired": 1},
		ByCard: map[string]map[string]int{
			"pFS7Fjg8kV1IdDz01r4SQwMkuCKc": {store.OutcomeConsumedOnline: 7, store.OutcomeOfflineConsumed: 1, store.OutcomeConflict: 1, store.OutcomeRefused: 1},
			"pFS7Fjg8kV1IdDz01r4SQwMkNEW1": {store.OutcomeConflict: 1, store.OutcomeRefused: 1},
		},
		ByHour:    map[string]int{store.HourKey(open.Add(time.Hour)): 5, store.HourKey(open.Add(2 * time.Hour)): 7},
		ByCashier: map[string]int{"王小明": 12},
	}
	return report.FromCounters(report.Input{
		Shift: store.Shift{ID: 31, Terminal: "till-2", Cashier: "王小明", OpenedAt: open, ClosedAt: open.Add(8 * time.Hour), Z: z},
		Live:  *z,
		Conflicts: []store.ConflictEntry{
			{ID: 7, Code: "226009850801", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", Cashier: "王小明", Reason: "already_used", Errcode: 40099, At: open.Add(3 * time.Hour),
				Resolution: &store.Resolution{ID: 7, By: "店长李", At: open.Add(5 * time.Hour), Note: "顾客回店补付 20 元"}},
			{ID: 9, Code: "226009850802", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkNEW1", Cashier: "王小明", Reason: "gifting", At: open.Add(4 * time.Hour)},
		},
		Titles: map[string]string{"pFS7Fjg8kV1IdDz01r4SQwMkuCKc": "满100减20优惠券"},
		Loc:    loc,
		Now:    open.Add(9 * time.Hour),
	})
}

// F4 on a real report at 80x24, top and end, in en and zh: goldens; the
// Chinese screen's report has no English outside codes, card_ids and names.
func TestReportScreenGolden(t *testing.T) {
	t.Parallel()
	r := realReport()
	for _, lang := range []string{"en", "zh"} {
		for _, at := range []string{"top", "end"} {
			m := newTestModel(lang, 80, 24, Options{})
			m.o.ShiftReport = func(id uint64, lang string, width int) (string, error) {
				w := min(width, 60)
				return report.Text(r, report.Options{Lang: lang, Width: w}) + "\n" + report.Bars(r, w), nil
			}
			m = drive(m, press(tea.KeyF4))
			if at == "end" {
				m = send(m, press(tea.KeyEnd))
			}
			got := ansi.Strip(m.View())
			checkFits(t, got, 80, 24)
			lines := strings.Split(got, "\n")
			if lang == "zh" {
				body := strings.Join(lines[2:len(lines)-2], "\n") // between the header and the status bar
				body = strings.NewReplacer("↑", "", "↓", "").Replace(body)
				if words := report.LatinWords(body, report.DataStrings(r)); len(words) > 0 {
					t.Errorf("zh report screen (%s) has English %q:\n%s", at, words, got)
				}
			}
			if strings.Count(got, map[string]string{"en": "CLOSING REPORT", "zh": "交班报表"}[lang]) > 1 {
				t.Errorf("%s: the title shows twice:\n%s", lang, got)
			}
			file := filepath.Join("testdata", fmt.Sprintf("report-real-%s-%s-80x24.golden", at, lang))
			if updating() {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test ./tui -run TestReportScreenGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		}
	}
}
