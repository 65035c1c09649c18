package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/internal/till"
	"cardtill/store"
)

// The fleet commands on a running hub (through its admin socket) and on its
// file once stopped: tills with the ones needing a look marked and first,
// shifts and conflicts as text, CSV and JSON, and a resolution at HQ.
func TestHubFleetCommands(t *testing.T) {
	t.Parallel()
	cfg, _ := hubConfig(t)
	keys := map[string]string{}
	for _, n := range []string{"till-1", "till-2", "till-3"} {
		code, out, errOut := runCmd(t, "--config", cfg, "hub", "terminal", "add", n)
		if code != 0 {
			t.Fatalf("add %s: %s", n, errOut)
		}
		keys[n] = strings.TrimSpace(out)
	}
	addr, _, stop := startHub(t, cfg)
	now := time.Now().UTC()
	send := func(till string, reps ...hub.FleetReport) {
		t.Helper()
		for i := range reps {
			reps[i].ID = reps[i].Key()
		}
		c := hub.NewClient(hub.ClientOptions{URL: "http://" + addr, TerminalKey: keys[till]})
		if _, err := c.Report(context.Background(), hub.FleetBatch{Format: hub.FleetFormat, Reports: reps}); err != nil {
			t.Fatalf("report of %s: %v", till, err)
		}
	}
	send("till-1",
		hub.FleetReport{Kind: hub.KindZ, At: now.Add(-3 * time.Hour), Shift: &hub.ShiftReport{ShiftID: 4, Store: "Shop 1", Terminal: "T1", Cashier: "Li",
			OpenedAt: now.Add(-11 * time.Hour), ClosedAt: now.Add(-3 * time.Hour), Z: hub.ZCounts{Total: 12, OfflineAccepted: 2, ByOutcome: map[string]int{"consumed_online": 10, "offline_consumed": 1, "conflict": 1}}}},
		hub.FleetReport{Kind: hub.KindConflict, At: now.Add(-4 * time.Hour), Conflict: &hub.ConflictReport{ID: 57, ShiftID: 4, Store: "Shop 1", Code: "800000000057",
			CardID: "pCard", CardTitle: "20 off", Cashier: "Li", ScannedAt: now.Add(-5 * time.Hour), At: now.Add(-4 * time.Hour), Reason: "already_used", ReasonText: "used elsewhere"}},
		hub.FleetReport{Kind: hub.KindHeartbeat, At: now, Heartbeat: &hub.Heartbeat{Version: "1.4.0", Store: "Shop 1", Terminal: "T1", Interval: 60, Online: true, OpenConflicts: 1, JournalUse: 0.12,
			Shift: &hub.OpenShift{ID: 5, Cashier: "Wang", OpenedAt: now.Add(-time.Hour), Total: 3}}})
	send("till-2", hub.FleetReport{Kind: hub.KindHeartbeat, At: now, Heartbeat: &hub.Heartbeat{Version: "1.4.0", Store: "Shop 2", Terminal: "T1", Interval: 60,
		OfflineSince: now.Add(-150 * time.Minute), QueueDepth: 7, OldestQueued: now.Add(-2 * time.Hour)}})

	code, out, errOut := runCmd(t, "--config", cfg, "hub", "tills")
	if code != 0 {
		t.Fatalf("tills: %d %s", code, errOut)
	}
	t.Logf("hub tills:\n%s", out)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 5 || !strings.Contains(lines[1], "till-2") || !strings.Contains(lines[1], "queued 2h") || !strings.HasPrefix(lines[1], "!") ||
		!strings.Contains(lines[2], "till-3") || !strings.Contains(lines[2], "never reported") ||
		!strings.Contains(lines[3], "till-1") || strings.HasPrefix(lines[3], "!") || !strings.Contains(lines[3], "#5 Wang (3)") || !strings.Contains(lines[4], "2 of 3 tills need a look") {
		t.Fatalf("tills:\n%s", out)
	}
	col := strings.Index(lines[0], "TILL")
	for _, l := range lines[1:4] {
		if !strings.HasPrefix(l[col:], "till-") {
			t.Fatalf("the TILL column is not aligned at %d:\n%s", col, out)
		}
	}
	code, out, _ = runCmd(t, "--config", cfg, "hub", "tills", "--json")
	var first struct {
		Till     string `json:"till"`
		QueueOld bool   `json:"queue_old"`
		Marks    string `json:"marks"`
	}
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first) != nil || first.Till != "till-2" || !first.QueueOld {
		t.Fatalf("tills --json: %d %s", code, out)
	}

	code, out, _ = runCmd(t, "--config", cfg, "hub", "shifts", "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 2 || rows[0][0] != "closed" || rows[1][1] != "Shop 1" || rows[1][2] != "till-1" || rows[1][6] != "12" || rows[1][10] != "1" {
		t.Fatalf("shifts --csv: %d %v\n%s", code, err, out)
	}
	if code, out, _ = runCmd(t, "--config", cfg, "hub", "shifts", "--store", "Shop 2"); code != 0 || !strings.Contains(out, "no shifts") {
		t.Fatalf("shifts of Shop 2: %d %s", code, out)
	}
	today := now.Add(-3 * time.Hour).Local().Format("2006-01-02") // the day the shift closed
	code, out, _ = runCmd(t, "--config", cfg, "hub", "shifts", "--from", today, "--to", today)
	t.Logf("hub shifts --from today --to today:\n%s", out)
	if code != 0 || !strings.Contains(out, "1 shifts, 12 redemptions") {
		t.Fatalf("shifts today: %d %s", code, out)
	}
	if code, _, errOut = runCmd(t, "--config", cfg, "hub", "shifts", "--from", "yesterday"); code != exitUsage || !strings.Contains(errOut, "--from") {
		t.Fatalf("bad --from: %d %s", code, errOut)
	}
	if code, _, _ = runCmd(t, "--config", cfg, "hub", "shifts", "--json", "--csv"); code != exitUsage {
		t.Fatalf("--json --csv: %d", code)
	}

	code, out, _ = runCmd(t, "--config", cfg, "hub", "conflicts", "--open")
	t.Logf("hub conflicts --open:\n%s", out)
	if code != 0 || !strings.Contains(out, "till-1/57") || !strings.Contains(out, "used elsewhere") || !strings.Contains(out, "1 conflicts, 1 open") {
		t.Fatalf("conflicts --open: %d %s", code, out)
	}
	if code, _, errOut = runCmd(t, "--config", cfg, "hub", "conflicts", "resolve", "57", "--by", "Zhao", "--note", "refunded"); code != exitUsage {
		t.Fatalf("resolve without the till: %d %s", code, errOut)
	}
	if code, _, _ = runCmd(t, "--config", cfg, "hub", "conflicts", "resolve", "till-1/57", "--by", "Zhao"); code != exitUsage {
		t.Fatalf("resolve without a note: %d", code)
	}
	if code, _, _ = runCmd(t, "--config", cfg, "hub", "conflicts", "resolve", "till-2/57", "--by", "Zhao", "--note", "refunded"); code != exitFailure {
		t.Fatalf("resolve another till's conflict: %d", code)
	}
	if code, out, errOut = runCmd(t, "--config", cfg, "hub", "conflicts", "resolve", "till-1/57", "--by", "Zhao", "--note", "refunded"); code != 0 || !strings.Contains(out, "resolved at HQ") {
		t.Fatalf("resolve: %d %s %s", code, out, errOut)
	}
	if code, _, _ = runCmd(t, "--config", cfg, "hub", "conflicts", "resolve", "till-1/57", "--by", "Zhao", "--note", "again"); code != exitFailure {
		t.Fatalf("resolve twice: %d", code)
	}
	stop() // the commands read the file itself now
	if code, out, _ = runCmd(t, "--config", cfg, "hub", "conflicts", "--open"); code != 0 || !strings.Contains(out, "no open conflicts") {
		t.Fatalf("conflicts --open after the resolution: %d %s", code, out)
	}
	code, out, _ = runCmd(t, "--config", cfg, "hub", "conflicts", "--csv")
	rows, err = csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 2 || rows[1][1] != "till-1/57" || rows[1][8] != "resolved at HQ (till not told yet)" || rows[1][9] != "Zhao" || rows[1][11] != "refunded" {
		t.Fatalf("conflicts --csv: %d %v\n%s", code, err, out)
	}
}

// The wiring: a till with wechat.hub_url and a terminal key, running
// `cardtill sync` (as a headless till does), reports to the real hub on
// loopback: its heartbeat under the key's terminal name, and the Z report of
// the shift closed before it started.
func TestSyncReportsToTheHub(t *testing.T) {
	t.Parallel()
	rig := newHubRig(t)
	key := hub.NewTerminalKey()
	if err := rig.store.AddTerminal("shop9-till2", key); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(t.TempDir(), "journal.db")
	cfg := rig.tillConfig(t, "till-fleet", key, journal, "[fleet]\ninterval = \"5s\"\n")
	for _, args := range [][]string{{"shift", "open", "--cashier", "Zhou"}, {"shift", "close"}} {
		if code, _, errOut := runCmd(t, append([]string{"--config", cfg}, args...)...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var out, errb lockedBuffer
		done <- run(ctx, []string{"--config", cfg, "sync"}, strings.NewReader(""), &out, &errb)
	}()
	// The hub logs every fleet batch after storing it (debug, into
	// rig.logs): the store is read again at each line the hub writes.
	fs := rig.store.(hub.FleetStore)
	guard := time.After(time.Minute) // a hang guard, not a timing
	for {
		_, wrote := rig.logs.next()
		tills, err := fs.FleetTills()
		if err != nil {
			t.Fatal(err)
		}
		shifts, _ := fs.FleetShifts(hub.ShiftQuery{})
		if len(tills) == 1 && len(shifts) == 1 {
			if tills[0].Till != "shop9-till2" || tills[0].Heartbeat.Terminal != "till-fleet" || tills[0].Heartbeat.Interval != 5 || tills[0].Heartbeat.Version == "" ||
				shifts[0].Till != "shop9-till2" || shifts[0].Cashier != "Zhou" {
				t.Fatalf("tills %+v, shifts %+v", tills, shifts)
			}
			break
		}
		select {
		case <-wrote:
		case code := <-done:
			t.Fatalf("sync exited %d", code)
		case <-guard:
			t.Fatalf("nothing reported: tills %+v shifts %+v", tills, shifts)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("sync exit %d", code)
	}
}

// A shift closed on the till screen kicks the reporter (its Z report goes
// at once); a refused close does not.
func TestScreenShiftCloseKicksTheReports(t *testing.T) {
	t.Parallel()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kicks := 0
	s := till.Shifts{DB: db, Terminal: "T1", Closed: func() { kicks++ }}
	id, err := s.OpenShift("Li", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CloseShift(id, time.Now()); err != nil || kicks != 1 {
		t.Fatalf("close: %v, %d kicks", err, kicks)
	}
	if err := s.CloseShift(id, time.Now()); err == nil || kicks != 1 {
		t.Fatalf("closed twice: %v, %d kicks", err, kicks)
	}
}
