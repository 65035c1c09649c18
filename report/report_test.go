package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"cardtill/store"
	"cardtill/words"
)

var update = flag.Bool("update", false, "rewrite golden files")

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	return loc
}

// sample is a closed shift spanning midnight with every kind of outcome,
// pending items at close and items settled after close.
func sample(t testing.TB) Report {
	loc := shanghai(t)
	open := time.Date(2026, 11, 22, 22, 5, 0, 0, loc)
	closed := time.Date(2026, 11, 23, 1, 40, 0, 0, loc)
	z := &store.Counters{
		Total:           14,
		ByOutcome:       map[string]int{store.OutcomeConsumedOnline: 6, store.OutcomeOfflineConsumed: 2, store.OutcomeConflict: 1, store.OutcomeRefused: 3, store.OutcomePending: 2},
		OfflineAccepted: 5,
		RefusedByReason: map[string]int{"already_used": 2, "expired": 1},
		ByCard: map[string]map[string]int{
			"pFS7Fjg8kV1IdDz01r4SQwMkuCKc": {store.OutcomeConsumedOnline: 5, store.OutcomeOfflineConsumed: 2, store.OutcomePending: 2},
			"pFS7Fjg8kV1IdDz01r4SQwMkuXYZ": {store.OutcomeConsumedOnline: 1, store.OutcomeConflict: 1, store.OutcomeRefused: 1},
			"pFS7Fjg8kV1IdDz01r4SQwMkNEW1": {store.OutcomeRefused: 1}, // no title known
			"":                             {store.OutcomeRefused: 1}, // refused before WeChat named its card
		},
		ByHour: map[string]int{
			store.HourKey(time.Date(2026, 11, 22, 22, 10, 0, 0, loc)): 4,
			store.HourKey(time.Date(2026, 11, 22, 23, 10, 0, 0, loc)): 7,
			store.HourKey(time.Date(2026, 11, 23, 0, 10, 0, 0, loc)):  2,
			"2026-11-23T01": 1, // a local-hour key is read too
		},
		ByCashier:        map[string]int{"王小明": 10, "Alice": 4},
		ConsumedByReason: map[string]int{"ok": 6, ReasonConfirmedByQuery: 2},
	}
	live := *z
	live.SettledAfterClose = map[string]int{store.OutcomeOfflineConsumed: 1, store.OutcomeConflict: 1}
	live.ConsumedByReason = map[string]int{"ok": 6, ReasonConfirmedByQuery: 3} // the one settled after close
	queried := func(id uint64, code string, scanned, offline, at time.Time, after bool) store.Redemption {
		return store.Redemption{ID: id, Code: code, CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc", State: store.Consumed, Reason: ReasonConfirmedByQuery,
			CreatedAt: scanned, OfflineAcceptedAt: offline, FinishedAt: at, SettledAfterClose: after}
	}
	return FromCounters(Input{
		Shift: store.Shift{ID: 31, Terminal: "till-01", Cashier: "王小明", OpenedAt: open, ClosedAt: closed, Z: z},
		Live:  live,
		Conflicts: []store.ConflictEntry{{
			ID: 9, Code: "123456789012", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuXYZ", Cashier: "王小明", Reason: "already_used",
			Errcode: 40099, ReasonText: "invalid code, has been consumed", At: time.Date(2026, 11, 23, 0, 12, 0, 0, loc),
			Resolution: &store.Resolution{ID: 9, By: "店长李", At: time.Date(2026, 11, 23, 1, 35, 0, 0, loc), Note: "顾客回店补付 20 元"},
		}, {
			ID: 15, Code: "210987654321", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuXYZ", Cashier: "Alice", Reason: "rejected",
			Errcode: 40001, ReasonText: "WeChat refused (errcode 40001: invalid credential)", At: time.Date(2026, 11, 23, 1, 50, 0, 0, loc),
		}},
		Queried: []store.Redemption{
			queried(13, "556677889900", time.Date(2026, 11, 23, 1, 30, 0, 0, loc), time.Date(2026, 11, 23, 1, 30, 0, 0, loc), time.Date(2026, 11, 23, 1, 52, 0, 0, loc), true),
			queried(4, "998877665544", time.Date(2026, 11, 22, 22, 41, 0, 0, loc), time.Time{}, time.Date(2026, 11, 22, 22, 43, 0, 0, loc), false),
			queried(7, "112233445566", time.Date(2026, 11, 22, 23, 15, 0, 0, loc), time.Date(2026, 11, 22, 23, 15, 0, 0, loc), time.Date(2026, 11, 23, 0, 5, 0, 0, loc), false),
			{ID: 5, Code: "000000000005", State: store.Consumed, Reason: "ok"}, // not listed
		},
		Overrides: []store.OfflineOverride{
			{ShiftID: 31, Seq: 1, By: "王经理", Cashier: "王小明", Extra: 5, At: time.Date(2026, 11, 22, 23, 20, 0, 0, loc), Limit: 20},
			{ShiftID: 31, Seq: 2, By: ManagerBy, Cashier: "王小明", Extra: 10, At: time.Date(2026, 11, 23, 0, 45, 0, 0, loc), Limit: 25},
		},
		Titles: map[string]string{"pFS7Fjg8kV1IdDz01r4SQwMkuCKc": "满100减20优惠券", "pFS7Fjg8kV1IdDz01r4SQwMkuXYZ": "Free coffee"},
		Loc:    loc,
		Now:    time.Date(2026, 11, 23, 2, 0, 0, 0, loc),
	})
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestTextGolden(t *testing.T) {
	t.Parallel()
	r := sample(t)
	x := r
	x.Kind, x.ClosedAt = KindX, nil
	for _, lang := range []string{"en", "zh"} {
		for _, w := range []int{48, 32} {
			for _, rep := range []Report{r, x} {
				name := "text_" + string(rep.Kind) + "_" + lang + "_" + itoa(w) + ".golden"
				got := Text(rep, Options{Lang: lang, Width: w})
				for i, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
					if cw := ansi.StringWidth(l); cw > w {
						t.Errorf("%s line %d is %d cells > %d: %q", name, i+1, cw, w, l)
					}
				}
				golden(t, name, got)
			}
		}
	}
}

func TestZReportShowsPendingAndSettled(t *testing.T) {
	t.Parallel()
	r := sample(t)
	if r.Kind != KindZ || r.PendingAtClose != 2 {
		t.Fatalf("kind %s pending at close %d, want Z and 2", r.Kind, r.PendingAtClose)
	}
	if r.SettledAfterClose.OfflineConsumed != 1 || r.SettledAfterClose.Conflict != 1 {
		t.Fatalf("settled after close %+v", r.SettledAfterClose)
	}
	txt := Text(r, Options{Lang: "en", Width: 48})
	if r.ConfirmedByQuery != 2 || r.ConfirmedByQueryAfterClose != 1 || len(r.ConfirmedByQueryList) != 3 {
		t.Fatalf("confirmed by query %d, after close %d, listed %+v; want 2, 1 and three", r.ConfirmedByQuery, r.ConfirmedByQueryAfterClose, r.ConfirmedByQueryList)
	}
	if l := r.ConfirmedByQueryList; l[0].ID != 4 || l[2].ID != 13 || !l[2].AfterClose || l[0].AfterClose {
		t.Fatalf("confirmed by query list in id order, the last after close: %+v", l)
	}
	for _, want := range []string{"CLOSING REPORT", "Closed with 2 pending", "Settled after close", "Free coffee: Already used elsewhere", "Resolved by 店长李 11-23 01:35", "Open: to follow up", "123456789012",
		"of the consumed, confirmed by query", "Consumed, confirmed by query", "998877665544", "*11-23 01:30"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Z text lacks %q:\n%s", want, txt)
		}
	}
	if zh := Text(r, Options{Lang: "zh"}); !strings.Contains(zh, "交班报表") || !strings.Contains(zh, "交班后结算") {
		t.Errorf("zh Z text lacks its title or settled part:\n%s", zh)
	}
}

func TestSpanningMidnightHours(t *testing.T) {
	t.Parallel()
	r := sample(t)
	var got []string
	for _, h := range r.ByHour {
		got = append(got, h.Hour.Format("2006-01-02 15"))
	}
	want := []string{"2026-11-22 22", "2026-11-22 23", "2026-11-23 00", "2026-11-23 01"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hours %v, want %v (date+hour, in order across midnight)", got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	r := sample(t)
	var buf bytes.Buffer
	if err := JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	// Times compare by instant; re-encode to compare the whole document.
	var buf2 bytes.Buffer
	if err := JSON(&buf2, back); err != nil {
		t.Fatal(err)
	}
	if buf.String() != buf2.String() {
		t.Fatalf("round trip changed the report:\n%s\n%s", buf.String(), buf2.String())
	}
	// The documented field names are a contract: every top-level key is in JSON.md.
	doc, err := os.ReadFile("JSON.md")
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	for k := range top {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("JSON field %q is not documented in JSON.md", k)
		}
	}
	golden(t, "report.json.golden", buf.String())
}

func TestCSV(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := CSV(&buf, sample(t)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	find := func(m, k string) string {
		for _, r := range rows {
			if r[0] == m && r[1] == k {
				return r[2]
			}
		}
		return "<missing>"
	}
	if find("confirmed_by_query", "") != "2" || find("confirmed_by_query_after_close", "") != "1" || find("confirmed_by_query_redemption", "112233445566") != "2026-11-22T23:15:00+08:00" {
		t.Fatalf("csv rows of confirmed by query wrong:\n%v", rows)
	}
	if find("offline_override", "") != "15" || find("offline_override_by", "王经理") != "5 2026-11-22T23:20:00+08:00 王小明" || find("offline_override_by", "manager") != "10 2026-11-23T00:45:00+08:00 王小明" {
		t.Fatalf("csv rows of the offline overrides wrong:\n%v", rows)
	}
	if find("total", "") != "14" || find("outcome", "pending") != "2" || find("settled_after_close", "conflict") != "1" || find("refused_by_reason", "already_used") != "2" {
		t.Fatalf("csv rows wrong:\n%v", rows)
	}
	// A cashier's name is typed at the till: one that starts like a
	// formula is written as text for the manager's spreadsheet.
	r := sample(t)
	r.Cashier = "=HYPERLINK(\"http://x\")"
	buf.Reset()
	if err := CSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	if rows, err = csv.NewReader(&buf).ReadAll(); err != nil || find("cashier", "") != "'"+r.Cashier {
		t.Fatalf("cashier row %q, %v", find("cashier", ""), err)
	}
}

func TestBarsWidth(t *testing.T) {
	t.Parallel()
	r := sample(t)
	for _, w := range []int{8, 12, 20, 40} {
		out := Bars(r, w)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("width %d: %d lines, want 4:\n%s", w, len(lines), out)
		}
		for _, l := range lines {
			if cw := ansi.StringWidth(l); cw > w {
				t.Errorf("width %d: line %q is %d cells", w, l, cw)
			}
		}
	}
	golden(t, "bars_20.golden", Bars(r, 20))
	if Bars(Report{}, 20) != "" {
		t.Error("bars of an empty report should be empty")
	}
}

// The Chinese renderings have no English: every Latin letter left is in
// a code, card_id, title or name (data, not words).
func TestChineseHasNoEnglish(t *testing.T) {
	t.Parallel()
	r := sample(t)
	x := r
	x.Kind, x.ClosedAt = KindX, nil
	for _, rep := range []Report{r, x} {
		for _, w := range []int{48, 32} {
			txt := Text(rep, Options{Lang: "zh", Width: w})
			// a wrapped line may split a data string: check unwrapped too
			if got := LatinWords(txt, DataStrings(rep)); len(got) > 0 {
				t.Errorf("zh %s report at %d columns has English %q:\n%s", rep.Kind, w, got, txt)
			}
		}
	}
	if got := LatinWords(Text(r, Options{Lang: "en"}), DataStrings(r)); len(got) == 0 {
		t.Error("the check finds no English in the English report: it cannot fail")
	}
	// every reason a conflict may have has words in both languages
	for _, code := range words.Codes() {
		for _, lang := range []string{"en", "zh"} {
			w := ConflictWords(lang, ConflictLine{ReasonCode: code, Errcode: 40099})
			if lang == "zh" && len(LatinWords(w, nil)) > 0 {
				t.Errorf("zh words for conflict reason %s: %q", code, w)
			}
			if w == "" || w == code {
				t.Errorf("%s words for conflict reason %s: %q", lang, code, w)
			}
		}
	}
}

// A conflict slip fits its width, in words, with no English in Chinese.
func TestConflictSlip(t *testing.T) {
	t.Parallel()
	r := sample(t)
	for _, lang := range []string{"en", "zh"} {
		for _, w := range []int{32, 48} {
			for i, x := range r.Conflicts {
				s := ConflictSlip(x, r.ShiftID, r.Terminal, r.GeneratedAt, Options{Lang: lang, Width: w})
				for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
					if ansi.StringWidth(l) > w {
						t.Errorf("%s %d: line %q too wide", lang, w, l)
					}
				}
				if lang == "zh" {
					if got := LatinWords(s, DataStrings(r)); len(got) > 0 {
						t.Errorf("zh slip has English %q:\n%s", got, s)
					}
				}
				golden(t, "slip_"+lang+"_"+itoa(w)+"_"+itoa(i)+".golden", s)
			}
		}
	}
}
