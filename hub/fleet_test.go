package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
)

// fleetHub is a hub on loopback with terminals "till-a" and "till-b".
func fleetHub(t testing.TB) (*testHub, map[string]string) {
	t.Helper()
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), nil, 0)
	keys := map[string]string{}
	for _, n := range []string{"till-a", "till-b"} {
		keys[n] = hub.NewTerminalKey()
		if err := h.store.AddTerminal(n, keys[n]); err != nil {
			t.Fatal(err)
		}
	}
	return h, keys
}

func fleetClient(h *testHub, key string) *hub.Client {
	return hub.NewClient(hub.ClientOptions{URL: h.url, TerminalKey: key, HTTPClient: h.srv.Client()})
}

func withID(r hub.FleetReport) hub.FleetReport { r.ID = r.Key(); return r }

func testHeartbeat(at time.Time, queue int) hub.FleetReport {
	return withID(hub.FleetReport{Kind: hub.KindHeartbeat, At: at, Heartbeat: &hub.Heartbeat{
		Version: "1.2.3", Store: "Shop 1", Terminal: "T1", Interval: 60, Online: queue == 0, QueueDepth: queue,
		Shift: &hub.OpenShift{ID: 3, Cashier: "Li", OpenedAt: at.Add(-time.Hour), Total: 4, Counts: map[string]int{"consumed_online": 4}}}})
}

func testZ(id uint64, closed time.Time) hub.FleetReport {
	return withID(hub.FleetReport{Kind: hub.KindZ, At: closed, Shift: &hub.ShiftReport{ShiftID: id, Store: "Shop 1", Terminal: "T1", Cashier: "Li",
		OpenedAt: closed.Add(-8 * time.Hour), ClosedAt: closed, Z: hub.ZCounts{Total: 10, ByOutcome: map[string]int{"consumed_online": 9, "conflict": 1}}}})
}

func testConflict(id uint64, at time.Time, res *hub.FleetResolution) hub.FleetReport {
	return withID(hub.FleetReport{Kind: hub.KindConflict, At: at, Conflict: &hub.ConflictReport{ID: id, ShiftID: 3, Store: "Shop 1", Code: fmt.Sprintf("C%011d", id),
		CardID: "pCard", ScannedAt: at.Add(-time.Hour), AcceptedAt: at.Add(-time.Hour), At: at, Errcode: 40099, Reason: "wechat_refused", Resolution: res}})
}

func report(t testing.TB, c *hub.Client, reps ...hub.FleetReport) hub.FleetAnswer {
	t.Helper()
	ans, err := c.Report(context.Background(), hub.FleetBatch{Format: hub.FleetFormat, Reports: reps})
	if err != nil {
		t.Fatal(err)
	}
	return ans
}

func fleetStore(t testing.TB, h *testHub) hub.FleetStore {
	t.Helper()
	fs, ok := h.store.(hub.FleetStore)
	if !ok {
		t.Fatalf("%T is no FleetStore", h.store)
	}
	return fs
}

// A batch is stored under the terminal its key names; the same batch again
// (a retry whose answer was lost) is stored once; the heartbeat received
// last is kept, even from a till whose clock was set back.
func TestFleetIngestRetryStoredOnce(t *testing.T) {
	t.Parallel()
	h, keys := fleetHub(t)
	fs := fleetStore(t, h)
	a := fleetClient(h, keys["till-a"])
	batch := []hub.FleetReport{testZ(7, testNow.Add(-2*time.Hour)), testConflict(41, testNow.Add(-time.Hour), nil), testHeartbeat(testNow, 2)}
	if ans := report(t, a, batch...); ans.Stored != 3 || ans.Duplicates != 0 {
		t.Fatalf("first: %+v", ans)
	}
	if ans := report(t, a, batch[:2]...); ans.Stored != 0 || ans.Duplicates != 2 {
		t.Fatalf("retry: %+v, want all duplicates", ans)
	}
	// The till's clock set back a minute: its next heartbeat still counts.
	if ans := report(t, a, testHeartbeat(testNow.Add(-time.Minute), 2)); ans.Stored != 1 {
		t.Fatalf("heartbeat from a clock set back: %+v", ans)
	}
	tills, err := fs.FleetTills()
	if err != nil {
		t.Fatal(err)
	}
	if len(tills) != 1 || tills[0].Till != "till-a" || tills[0].Heartbeat.QueueDepth != 2 || !tills[0].At.Equal(testNow.Add(-time.Minute)) ||
		tills[0].Heartbeat.Shift == nil || tills[0].Heartbeat.Shift.Cashier != "Li" {
		t.Fatalf("tills: %+v", tills)
	}
	shifts, err := fs.FleetShifts(hub.ShiftQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(shifts) != 1 || shifts[0].Till != "till-a" || shifts[0].ShiftID != 7 || shifts[0].Z.Total != 10 {
		t.Fatalf("shifts: %+v", shifts)
	}
	cs, err := fs.FleetConflicts(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Till != "till-a" || cs[0].ID != 41 || cs[0].Errcode != 40099 {
		t.Fatalf("conflicts: %+v", cs)
	}
	// The resolution, reported later, is added to the conflict once.
	res := &hub.FleetResolution{By: "Wang", At: testNow, Note: "customer paid cash"}
	if ans := report(t, a, testConflict(41, testNow.Add(-time.Hour), res)); ans.Stored != 1 {
		t.Fatalf("resolution: %+v", ans)
	}
	if ans := report(t, a, testConflict(41, testNow.Add(-time.Hour), res)); ans.Stored != 0 {
		t.Fatalf("resolution retry: %+v", ans)
	}
	if cs, _ := fs.FleetConflicts(true); len(cs) != 0 {
		t.Fatalf("open conflicts after the resolution: %+v", cs)
	}
	if cs, _ := fs.FleetConflicts(false); len(cs) != 1 || cs[0].Resolution == nil || cs[0].Resolution.Note != "customer paid cash" {
		t.Fatalf("all conflicts: %+v", cs)
	}
	// The same shift and conflict ids from another till are its own.
	b := fleetClient(h, keys["till-b"])
	if ans := report(t, b, testZ(7, testNow.Add(-time.Hour))); ans.Stored != 1 {
		t.Fatalf("till-b's shift 7: %+v", ans)
	}
	if shifts, _ := fs.FleetShifts(hub.ShiftQuery{}); len(shifts) != 2 || shifts[0].Till != "till-a" || shifts[1].Till != "till-b" {
		t.Fatalf("shifts by close time: %+v", shifts)
	}
	if shifts, _ := fs.FleetShifts(hub.ShiftQuery{Store: "till-b"}); len(shifts) != 1 || shifts[0].Till != "till-b" {
		t.Fatalf("shifts of till-b: %+v", shifts)
	}
	if shifts, _ := fs.FleetShifts(hub.ShiftQuery{From: testNow.Add(-90 * time.Minute), To: testNow}); len(shifts) != 1 || shifts[0].Till != "till-b" {
		t.Fatalf("shifts in the last 90 minutes: %+v", shifts)
	}
}

// Every refusal changes nothing: no key, a revoked key (401), malformed
// bodies, a field naming another till, a wrong id (400), too large (413),
// a newer format (422, with its code for the till), GET (405).
func TestFleetRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	h, keys := fleetHub(t)
	fs := fleetStore(t, h)
	good, err := json.Marshal(hub.FleetBatch{Format: 1, Reports: []hub.FleetReport{testZ(1, testNow)}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(key string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, h.url+hub.PathFleet, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		return do(t, h.srv.Client(), req)
	}
	revoked := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-gone", revoked); err != nil {
		t.Fatal(err)
	}
	if err := h.store.RemoveTerminal("till-gone"); err != nil {
		t.Fatal(err)
	}
	key := keys["till-a"]
	many := hub.FleetBatch{Format: 1}
	for i := range hub.MaxFleetReports + 1 {
		many.Reports = append(many.Reports, testZ(uint64(i+1), testNow))
	}
	manyBody, _ := json.Marshal(many)
	wrongID := testZ(1, testNow)
	wrongID.ID = "z/2"
	wrongIDBody, _ := json.Marshal(hub.FleetBatch{Format: 1, Reports: []hub.FleetReport{wrongID}})
	newer := bytes.Replace(good, []byte(`"format":1`), []byte(`"format":2`), 1)
	for _, c := range []struct {
		name, key string
		body      []byte
		status    int
		want      string
	}{
		{"no key", "", good, 401, "terminal"},
		{"unknown key", hub.NewTerminalKey(), good, 401, "terminal"},
		{"revoked key", revoked, good, 401, "terminal"},
		{"not JSON", key, []byte("<xml/>"), 400, "not a report batch"},
		{"no format", key, []byte(`{"reports":[]}`), 400, "format"},
		{"no reports", key, []byte(`{"format":1,"reports":[]}`), 400, "without reports"},
		{"another till's name", key, bytes.Replace(good, []byte(`{"format":1,`), []byte(`{"format":1,"till":"till-b",`), 1), 400, "unknown field"},
		{"wrong id", key, wrongIDBody, 400, "derived"},
		{"unknown kind", key, bytes.Replace(good, []byte(`"kind":"z"`), []byte(`"kind":"x"`), 1), 400, "kind"},
		{"two JSON values", key, append(append([]byte{}, good...), good...), 400, "after"},
		{"too large", key, append(append([]byte{}, good[:len(good)-1]...), []byte(`,"x":"`+strings.Repeat("a", hub.MaxFleetBody)+`"}`)...), 413, "at most"},
		{"too many reports", key, manyBody, 413, "at most"},
		{"newer format", key, newer, 422, hub.HubCodeFleetFormat},
	} {
		st, body := post(c.key, c.body)
		if st != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, st, body, c.status, c.want)
		}
	}
	resp, err := h.srv.Client().Get(h.url + hub.PathFleet)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if tills, _ := fs.FleetTills(); len(tills) != 0 {
		t.Errorf("tills after refusals: %+v", tills)
	}
	if shifts, _ := fs.FleetShifts(hub.ShiftQuery{}); len(shifts) != 0 {
		t.Errorf("shifts after refusals: %+v", shifts)
	}
	// The client reads the refusals into the errors the till acts on.
	_, err = fleetClient(h, revoked).Report(context.Background(), hub.FleetBatch{Format: 1, Reports: []hub.FleetReport{testZ(1, testNow)}})
	if !errors.Is(err, hub.ErrUnauthorized) {
		t.Errorf("revoked key: %v, want ErrUnauthorized", err)
	}
	_, err = fleetClient(h, key).Report(context.Background(), hub.FleetBatch{Format: hub.FleetFormat + 1, Reports: []hub.FleetReport{testZ(1, testNow)}})
	var se *hub.StatusError
	if !errors.As(err, &se) || se.Status != 422 || se.Code != hub.HubCodeFleetFormat {
		t.Errorf("newer format: %v, want a 422 StatusError with %s", err, hub.HubCodeFleetFormat)
	}
	if st, _ := post(key, good); st != 200 {
		t.Fatalf("the good batch after the refusals: %d", st)
	}
	if shifts, _ := fs.FleetShifts(hub.ShiftQuery{}); len(shifts) != 1 {
		t.Errorf("shifts: %+v", shifts)
	}
}

// A conflict resolved at HQ goes back to its till in the answers until the
// till reports it resolved; then it is heard and goes no more.
func TestFleetResolutionAtHQ(t *testing.T) {
	t.Parallel()
	h, keys := fleetHub(t)
	fs := fleetStore(t, h)
	a, b := fleetClient(h, keys["till-a"]), fleetClient(h, keys["till-b"])
	report(t, a, testConflict(5, testNow.Add(-time.Hour), nil), testConflict(6, testNow.Add(-time.Hour), nil))
	hq := hub.FleetResolution{By: "HQ Zhao", At: testNow, Note: "refunded by HQ"}
	if err := fs.ResolveFleetConflict("till-a", 9, hq); !errors.Is(err, hub.ErrNoConflict) {
		t.Fatalf("unknown conflict: %v", err)
	}
	if err := fs.ResolveFleetConflict("till-b", 5, hq); !errors.Is(err, hub.ErrNoConflict) {
		t.Fatalf("another till's conflict: %v", err)
	}
	if err := fs.ResolveFleetConflict("till-a", 5, hub.FleetResolution{By: "x", At: testNow}); err == nil {
		t.Fatal("a resolution without a note was taken")
	}
	if err := fs.ResolveFleetConflict("till-a", 5, hq); err != nil {
		t.Fatal(err)
	}
	if err := fs.ResolveFleetConflict("till-a", 5, hq); !errors.Is(err, hub.ErrConflictResolved) {
		t.Fatalf("resolved twice: %v", err)
	}
	ans := report(t, a, testHeartbeat(testNow, 0))
	if len(ans.Resolutions) != 1 || ans.Resolutions[0].ID != 5 || ans.Resolutions[0].Note != "refunded by HQ" || !ans.Resolutions[0].AtHQ {
		t.Fatalf("answer: %+v", ans)
	}
	if ans := report(t, b, testHeartbeat(testNow, 0)); len(ans.Resolutions) != 0 {
		t.Fatalf("till-b hears till-a's resolution: %+v", ans)
	}
	cs, _ := fs.FleetConflicts(false)
	if len(cs) != 2 || cs[0].ID != 5 || !cs[0].Unheard || cs[0].Resolution == nil {
		t.Fatalf("conflicts: %+v", cs)
	}
	// The till recorded it and reports it resolved: heard.
	till := &hub.FleetResolution{By: "HQ Zhao (HQ)", At: testNow.Add(time.Minute), Note: "refunded by HQ"}
	if ans := report(t, a, testConflict(5, testNow.Add(-time.Hour), till)); ans.Stored != 1 || len(ans.Resolutions) != 0 {
		t.Fatalf("after the till's report: %+v", ans)
	}
	cs, _ = fs.FleetConflicts(false)
	if cs[0].Unheard || cs[0].Resolution == nil || !cs[0].Resolution.AtHQ {
		t.Fatalf("conflict 5 after the till heard: %+v", cs[0])
	}
	if open, _ := fs.FleetConflicts(true); len(open) != 1 || open[0].ID != 6 {
		t.Fatalf("open: %+v", open)
	}
}

// A till silent for three of its intervals, or with a code queued for more
// than an hour, is marked and sorted first; so is a key that never
// reported. Just under either threshold is not marked.
func TestViewTillsMarksAndSorts(t *testing.T) {
	t.Parallel()
	hb := func(store string, interval hub.Seconds, queue int, oldest time.Time) hub.Heartbeat {
		return hub.Heartbeat{Store: store, Interval: interval, QueueDepth: queue, OldestQueued: oldest}
	}
	tills := []hub.TillRecord{
		{Till: "a-fresh", Received: testNow.Add(-179 * time.Second), Heartbeat: hb("A", 60, 1, testNow.Add(-59*time.Minute))},
		{Till: "b-silent", Received: testNow.Add(-181 * time.Second), Heartbeat: hb("B", 60, 0, time.Time{})},
		{Till: "c-slow-interval", Received: testNow.Add(-10 * time.Minute), Heartbeat: hb("C", 300, 0, time.Time{})},
		{Till: "d-queue-old", Received: testNow, Heartbeat: hb("D", 60, 2, testNow.Add(-61*time.Minute))},
	}
	views := hub.ViewTills(testNow, tills, []hub.Terminal{{Name: "a-fresh"}, {Name: "e-never"}})
	var got []string
	for _, v := range views {
		got = append(got, fmt.Sprintf("%s:%v", v.Till, v.Marked()))
	}
	want := "b-silent:true d-queue-old:true e-never:true a-fresh:false c-slow-interval:false"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if m := views[0].Marks(testNow); m != "silent 3m" {
		t.Errorf("marks of b-silent: %q", m)
	}
	if m := views[1].Marks(testNow); m != "queued 1h01m" {
		t.Errorf("marks of d-queue-old: %q", m)
	}
}

// A key stops working the moment it is removed and a new one works the
// moment it is added, though the bbolt store answers from its index of key
// hashes once it has authenticated anyone.
func TestAuthenticateFollowsAddAndRemove(t *testing.T) {
	t.Parallel()
	st := openStore(t, filepath.Join(t.TempDir(), "hub.db"))
	k1, k2 := hub.NewTerminalKey(), hub.NewTerminalKey()
	if err := st.AddTerminal("t1", k1); err != nil {
		t.Fatal(err)
	}
	if name, ok, err := st.Authenticate(k1); !ok || name != "t1" || err != nil {
		t.Fatalf("t1: %q %v %v", name, ok, err)
	}
	if err := st.AddTerminal("t2", k2); err != nil {
		t.Fatal(err)
	}
	if name, ok, _ := st.Authenticate(k2); !ok || name != "t2" {
		t.Fatalf("t2 added after the index was built: %q %v", name, ok)
	}
	if err := st.RemoveTerminal("t1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Authenticate(k1); ok {
		t.Fatal("a removed key still authenticates")
	}
	if err := st.AddTerminal("t1", k2+"x"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Authenticate(k1); ok {
		t.Fatal("the old key of a re-added terminal authenticates")
	}
}
