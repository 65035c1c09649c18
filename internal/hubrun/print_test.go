package hubrun

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
)

func TestParseSinceAndDay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.Local)
	for _, c := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"2026-11-20", time.Date(2026, 11, 20, 0, 0, 0, 0, time.Local), false},
		{"-1h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	} {
		got, err := ParseSince(c.in, now)
		if (err != nil) != c.bad || !got.Equal(c.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v (bad %v)", c.in, got, err, c.want, c.bad)
		}
	}
	to, err := ParseDay("--to", "2026-11-20", true)
	if err != nil || !to.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, time.Local)) {
		t.Errorf("--to 2026-11-20 = %v, %v; want the end of that day", to, err)
	}
	if _, err := ParseDay("--from", "20/11/2026", false); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("a date in another layout: %v, want an error naming the flag", err)
	}
}

// A conflict's CSV row has one field per column, in the columns' order,
// says who resolved it at HQ when the till has not heard yet, and
// writes a note that starts like a formula as text.
func TestConflictsCSV(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cs := []hub.ConflictRecord{{Till: "t1", Unheard: true, ConflictReport: hub.ConflictReport{ID: 7, At: at, Code: "123412341234",
		CardID: "pX", Cashier: "Li", Reason: "used", Resolution: &hub.FleetResolution{By: "ops", Note: "=refund", At: at, AtHQ: true}}}}
	var b bytes.Buffer
	if err := ConflictsCSV(&b, cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 || len(rows[1]) != len(conflictColumns) {
		t.Fatalf("CSV %q, %v", b.String(), err)
	}
	row := map[string]string{}
	for i, k := range conflictColumns {
		row[k] = rows[1][i]
	}
	if row["ref"] != "t1/7" || row["card"] != "pX" || row["status"] != "resolved at HQ (till not told yet)" || row["resolved_by"] != "ops" ||
		row["note"] != "'=refund" { // a note typed at a till never becomes a formula in HQ's spreadsheet
		t.Errorf("row %v", row)
	}
}
