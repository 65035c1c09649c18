package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
)

func heartbeat(at time.Time, queue int, oldest time.Time) hub.FleetReport {
	return hub.FleetReport{Kind: hub.KindHeartbeat, At: at, Heartbeat: &hub.Heartbeat{
		Version: "1.2.3", Store: "上海南京路店", Terminal: "T1", Interval: 60, Online: true, LastSync: at,
		QueueDepth: queue, OldestQueued: oldest, JournalUse: 0.25,
	}}
}

func conflictReport(id uint64, res *hub.FleetResolution) hub.FleetReport {
	at := time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)
	return hub.FleetReport{Kind: hub.KindConflict, At: at, Conflict: &hub.ConflictReport{
		ID: id, ShiftID: 1, Store: "上海南京路店", Code: "800012345678", CardID: "pCard", CardTitle: "满100减20", Cashier: "李",
		ScannedAt: at.Add(-time.Hour), AcceptedAt: at.Add(-time.Hour), At: at, Errcode: 40099, Reason: "wechat_refused", ReasonText: "already consumed",
		Resolution: res,
	}}
}

// A till that stops reporting is marked after three intervals, and sorted
// first; one with a code queued over an hour is marked too.
func TestTillsPageMarksASilentTill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.report(heartbeat(e.clk.Now(), 0, time.Time{}))
	c := e.client()
	e.login(c)
	_, page, _ := e.get(c, "/admin/tills")
	if !strings.Contains(page, `id="till-till-a" class="" data-marked="false"`) {
		t.Fatalf("a till that just reported is marked: %s", page)
	}
	e.clk.Advance(3*time.Minute + time.Second)
	_, page, _ = e.get(c, "/admin/tills")
	if !contains(page, `id="till-till-a" class="marked" data-marked="true"`, "silent for 3m") {
		t.Fatalf("a till silent for three intervals is not marked: %s", page)
	}
	e.report(heartbeat(e.clk.Now(), 4, e.clk.Now().Add(-61*time.Minute)))
	_, page, _ = e.get(c, "/admin/tills")
	if !contains(page, `data-marked="true"`, "codes queued for 1h01m") {
		t.Fatalf("a till with a code queued over an hour is not marked: %s", page)
	}
}

// HQ resolves a conflict with a note; the hub keeps it for the till, and
// the page says the till has not heard yet.
func TestResolveAConflictAtHQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.report(conflictReport(7, nil))
	c := e.client()
	csrf := e.login(c)
	_, page, _ := e.get(c, "/admin/conflicts")
	if !contains(page, "conflict-till-a-7", "800012345678", "满100减20") {
		t.Fatalf("conflicts page: %s", page)
	}
	if st, body, _ := e.post(c, "/admin/conflicts/till-a/7/resolve", url.Values{"csrf": {csrf}, "note": {"  "}}); st != http.StatusBadRequest || !strings.Contains(body, "note") {
		t.Fatalf("empty note: %d", st)
	}
	st, _, resp := e.post(c, "/admin/conflicts/till-a/7/resolve", url.Values{"csrf": {csrf}, "note": {"refunded ¥20 at HQ"}})
	if st != http.StatusSeeOther {
		t.Fatalf("resolve: %d", st)
	}
	_, page, _ = e.get(c, resp.Header.Get("Location"))
	if !contains(page, `id="done"`, "resolved by zhao", "refunded ¥20 at HQ", "the till has not heard yet") {
		t.Fatalf("after resolving: %s", page)
	}
	res, err := e.st.HQResolutions("till-a")
	if err != nil || len(res) != 1 || res[0].ID != 7 || res[0].By != account || res[0].Note != "refunded ¥20 at HQ" {
		t.Fatalf("HQ resolutions for the till: %+v %v", res, err)
	}
	if st, _, _ := e.post(c, "/admin/conflicts/till-a/7/resolve", url.Values{"csrf": {csrf}, "note": {"again"}}); st != http.StatusConflict {
		t.Fatalf("resolving twice: %d", st)
	}
	if st, _, _ := e.post(c, "/admin/conflicts/till-a/8/resolve", url.Values{"csrf": {csrf}, "note": {"x"}}); st != http.StatusNotFound {
		t.Fatalf("no such conflict: %d", st)
	}
}

func TestDaysChartAndCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	closed := e.clk.Now().Add(-2 * time.Hour)
	e.report(hub.FleetReport{Kind: hub.KindZ, At: closed, Shift: &hub.ShiftReport{ShiftID: 1, Store: "=cmd", Cashier: "李", OpenedAt: closed.Add(-8 * time.Hour), ClosedAt: closed,
		Z: hub.ZCounts{Total: 10, OfflineAccepted: 2, ByOutcome: map[string]int{"consumed_online": 7, "offline_consumed": 1, "conflict": 1, "refused": 1},
			ByCard: map[string]map[string]int{"pCard": {"consumed_online": 7, "offline_consumed": 1, "conflict": 1, "refused": 1}},
			ByHour: map[string]int{"2026-11-22T03Z": 4, "2026-11-22T05Z": 6}}}})
	c := e.client()
	e.login(c)
	_, page, _ := e.get(c, "/admin/days")
	if !contains(page, `<svg id="chart"`, "<rect", ">6</text>", "2026-11-22", "20%") {
		t.Fatalf("days page: %s", page)
	}
	st, csv, resp := e.get(c, "/admin/days.csv?store=%3Dcmd")
	if st != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %s", st, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(csv, "2026-11-22,'=cmd,10,8,2,0.200,1,1") {
		t.Fatalf("csv: %s", csv)
	}
	_, csv, _ = e.get(c, "/admin/days.csv?by=card")
	if !strings.Contains(csv, "pCard,10,8,2,1,1") {
		t.Fatalf("cards csv: %s", csv)
	}
}
