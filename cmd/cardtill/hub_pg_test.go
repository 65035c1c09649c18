package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	stdsync "sync"
	"syscall"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/internal/pgtest"
	"cardtill/wechat"
)

// The test binary is cardtill itself when CARDTILL_TEST_AS_CARDTILL=1: the
// two-hub test starts real hub processes (to SIGKILL one) without a build.
func init() {
	if os.Getenv("CARDTILL_TEST_AS_CARDTILL") != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// hubProc is a `cardtill hub` process.
type hubProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	logs *lockedBuffer
}

func startHubProc(t *testing.T, cfg string) *hubProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--config", cfg, "hub")
	cmd.Env = append(os.Environ(), "CARDTILL_TEST_AS_CARDTILL=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hubProc{cmd: cmd, done: make(chan struct{}), logs: &lockedBuffer{}}
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(p.logs, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case p.addr = <-addrc:
	case <-p.done:
		t.Fatalf("hub exited: %s", p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("hub did not start: %s", p.logs)
	}
	return p
}

func (p *hubProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// hubPGConfig is hubSetup's config with the store in PostgreSQL and a
// file path of its own (the admin socket).
func hubPGConfig(t *testing.T, base, dbURL, name string) string {
	t.Helper()
	text, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`store_path = ".*"`).ReplaceAllString(string(text),
		fmt.Sprintf("store_path = %q\ndatabase_url = %q", filepath.Join(t.TempDir(), name+".db"), dbURL))
	return writeFile(t, name+".toml", s)
}

// Two hub processes on one database: pushes alternate between them, every
// retry goes to the other hub, one hub is SIGKILLed mid-load and
// restarted. Afterwards every push answered success is stored exactly once
// and the feed read through either hub is the same.
func TestTwoHubsOneDatabase(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	base, _, _ := hubSetup(t)
	cfgA, cfgB := hubPGConfig(t, base, dbURL, "hub-a"), hubPGConfig(t, base, dbURL, "hub-b")
	a, b := startHubProc(t, cfgA), startHubProc(t, cfgB)
	var mu stdsync.Mutex
	addrs := []string{a.addr, b.addr}
	addr := func(i int) string { mu.Lock(); defer mu.Unlock(); return addrs[i%2] }

	push, err := wechat.NewPushCodec(wechat.PushConfig{Token: hubTestToken, EncodingAESKey: hubTestKey, AppID: hubTestAppID})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "wechat", "testdata", "events", "user_get_card.xml"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 240
	type sealed struct{ q, body string }
	pushes := make([]sealed, n)
	for i := range pushes {
		msg := bytes.Replace(bytes.TrimSpace(raw), []byte("226009850808"), fmt.Appendf(nil, "%012d", i), 1)
		q, body, err := push.Seal(wechat.ModeSafe, msg)
		if err != nil {
			t.Fatal(err)
		}
		pushes[i] = sealed{q.Encode(), string(body)}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	// send posts push i to hub h; ok is an answer of success.
	send := func(i, h int) bool {
		resp, err := client.Post("http://"+addr(h)+hub.PathPush+"?"+pushes[i].q, "text/xml", strings.NewReader(pushes[i].body))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && string(b) == "success"
	}
	success := make([]bool, n)
	var answered atomicCount
	killAt := make(chan struct{})
	var killOnce stdsync.Once
	var wg stdsync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if i >= n/3 {
					killOnce.Do(func() { close(killAt) })
				}
				// The push to one hub, WeChat's retry to the other, and more
				// retries alternating while neither answered success.
				ok := false
				for try := 0; try < 40 && !ok; try++ {
					ok = send(i, i+try)
					if try == 0 {
						ok = send(i, i+1) || ok // the retry, to the other hub
					}
				}
				success[i] = ok
				answered.add()
			}
		}()
	}
	<-killAt
	a.kill() // mid-load, pushes in flight
	if at := answered.get(); at >= n-8 {
		t.Fatalf("the hub was killed after the load (%d of %d answered)", at, n)
	}
	a2 := startHubProc(t, cfgA)
	mu.Lock()
	addrs[0] = a2.addr
	mu.Unlock()
	wg.Wait()

	st, err := hub.OpenPG(context.Background(), dbURL, hub.PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.Events(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, e := range evs {
		stored[e.Raw]++
	}
	for i, ok := range success {
		msg := bytes.Replace(bytes.TrimSpace(raw), []byte("226009850808"), fmt.Appendf(nil, "%012d", i), 1)
		if ok && stored[string(msg)] != 1 {
			t.Errorf("push %d answered success, stored %d times", i, stored[string(msg)])
		}
		if !ok {
			t.Errorf("push %d never answered success", i)
		}
	}
	if len(evs) != n {
		t.Errorf("stored %d events for %d pushes", len(evs), n)
	}

	code, out, errOut := runCmd(t, "--config", cfgB, "hub", "terminal", "add", "till-1")
	if code != 0 {
		t.Fatalf("terminal add: %d %s", code, errOut)
	}
	key := strings.TrimSpace(out)
	feed := func(h string) []string {
		c := hub.NewClient(hub.ClientOptions{URL: "http://" + h, TerminalKey: key})
		var codes []string
		cursor := ""
		for {
			p, err := c.Changes(context.Background(), cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range p.Changes {
				codes = append(codes, ch.Code+"="+ch.Status)
			}
			cursor = p.Next
			if !p.More {
				return codes
			}
		}
	}
	fa, fb := feed(a2.addr), feed(b.addr)
	if strings.Join(fa, ",") != strings.Join(fb, ",") || len(fa) != n {
		t.Fatalf("feeds differ or are incomplete: %d and %d items for %d pushes", len(fa), len(fb), n)
	}
	for _, l := range []string{a.logs.String(), a2.logs.String(), b.logs.String()} {
		if strings.Contains(l, key) || strings.Contains(l, hubTestSecret) {
			t.Fatal("a hub log holds a secret")
		}
	}
}

type atomicCount struct {
	mu stdsync.Mutex
	n  int
}

func (c *atomicCount) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// A bad hub.database_url is a configuration error naming the key, never
// showing the password; the store is then not opened.
func TestHubBadDatabaseURL(t *testing.T) {
	t.Parallel()
	base, _, _ := hubSetup(t)
	for _, u := range []string{"mysql://hub:hunter2@db/hub", "postgres://hub:hunter2@db:port/hub"} {
		cfg := hubPGConfig(t, base, u, "bad")
		code, _, errOut := runCmd(t, "--config", cfg, "hub")
		if code != exitUsage || !strings.Contains(errOut, "hub.database_url") || strings.Contains(errOut, "hunter2") {
			t.Errorf("%s: exit %d %q", hub.RedactURL(u), code, errOut)
		}
		code, out, errOut := runCmd(t, "--config", cfg, "config", "show")
		if strings.Contains(out+errOut, "hunter2") {
			t.Errorf("config show prints the database password (exit %d)", code)
		}
	}
}

// migrate-store copies a bbolt hub into PostgreSQL, checked and
// idempotent: a hub on the database then serves the same events, the same
// feed (a till's old cursor goes on from where it was) and the same keys.
func TestHubMigrateStore(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	cfg, storePath, _ := hubSetup(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "wechat", "testdata", "events", "user_get_card.xml"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := hub.OpenStore(storePath, hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		msg := bytes.Replace(bytes.TrimSpace(raw), []byte("226009850808"), fmt.Appendf(nil, "%012d", i), 1)
		ev, err := wechat.ParseEvent(msg)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := src.AddEvent(&wechat.Push{Event: ev, Mode: wechat.ModeSafe, Timestamp: time.Now().Unix(), Nonce: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	key := hub.NewTerminalKey()
	if err := src.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	pwHash, err := hub.PasswordHash("correct horse", hub.PasswordParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.AddAccount("zhao", pwHash); err != nil {
		t.Fatal(err)
	}
	closed := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	fleetReps := []hub.FleetReport{
		{Kind: hub.KindZ, At: closed, Shift: &hub.ShiftReport{ShiftID: 3, Store: "Shop 1", Cashier: "Li", OpenedAt: closed.Add(-8 * time.Hour), ClosedAt: closed, Z: hub.ZCounts{Total: 9}}},
		{Kind: hub.KindConflict, At: closed, Conflict: &hub.ConflictReport{ID: 8, ShiftID: 3, Code: "800000000008", CardID: "pCard", ScannedAt: closed, At: closed}},
		{Kind: hub.KindHeartbeat, At: closed, Heartbeat: &hub.Heartbeat{Version: "1.4.0", Interval: 60, Online: true}},
	}
	for i := range fleetReps {
		fleetReps[i].ID = fleetReps[i].Key()
	}
	if _, _, err := src.AddFleet("till-1", closed, fleetReps); err != nil {
		t.Fatal(err)
	}
	if err := src.ResolveFleetConflict("till-1", 8, hub.FleetResolution{By: "Zhao", At: closed, Note: "refunded"}); err != nil {
		t.Fatal(err)
	}
	page, err := src.Changes("", 2)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents, _ := src.Events(time.Time{}, 0)
	wantRest, err := src.Changes(page.Next, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	for round, want := range [][3]string{{"5 events (5 new)", "1 dashboard accounts (1 new", "3 fleet reports (3 new)"}, {"5 events (0 new)", "1 dashboard accounts (0 new", "3 fleet reports (0 new)"}} {
		code, out, errOut := runCmd(t, "--config", cfg, "hub", "migrate-store", "--to", dbURL)
		if code != 0 || !strings.Contains(out, want[0]) || !strings.Contains(out, want[1]) || !strings.Contains(out, want[2]) || !strings.Contains(out, "checked") {
			t.Fatalf("round %d: exit %d %q %q", round, code, out, errOut)
		}
	}
	st, err := hub.OpenPG(context.Background(), dbURL, hub.PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.Events(time.Time{}, 0)
	if err != nil || len(evs) != len(wantEvents) {
		t.Fatalf("events: %d %v", len(evs), err)
	}
	for i := range evs {
		if evs[i].Seq != wantEvents[i].Seq || evs[i].Raw != wantEvents[i].Raw {
			t.Fatalf("event %d differs", i)
		}
	}
	rest, err := st.Changes(page.Next, 100)
	if err != nil || len(rest.Changes) != len(wantRest.Changes) || rest.Changes[0] != wantRest.Changes[0] {
		t.Fatalf("the till's old cursor on the database: %+v %v, want %+v", rest, err, wantRest)
	}
	if name, ok, err := st.Authenticate(key); !ok || name != "till-1" || err != nil {
		t.Fatalf("the terminal key after the move: %q %v %v", name, ok, err)
	}
	if h, ok, err := st.AccountHash("zhao"); !ok || h != pwHash || err != nil {
		t.Fatalf("the dashboard account after the move: %v %v", ok, err)
	}
	if shifts, err := st.FleetShifts(hub.ShiftQuery{}); err != nil || len(shifts) != 1 || shifts[0].Till != "till-1" || shifts[0].Z.Total != 9 {
		t.Fatalf("the Z reports after the move: %+v %v", shifts, err)
	}
	if tills, err := st.FleetTills(); err != nil || len(tills) != 1 || !tills[0].At.Equal(closed) {
		t.Fatalf("the tills after the move: %+v %v", tills, err)
	}
	// HQ's resolution still goes to the till after the move.
	if rs, err := st.HQResolutions("till-1"); err != nil || len(rs) != 1 || rs[0].ID != 8 || rs[0].Note != "refunded" {
		t.Fatalf("HQ's resolution after the move: %+v %v", rs, err)
	}
	// A new push after the move takes a new number, after the copied ones.
	msg := bytes.Replace(bytes.TrimSpace(raw), []byte("226009850808"), []byte("999999999999"), 1)
	ev, _ := wechat.ParseEvent(msg)
	if seq, _, err := st.AddEvent(&wechat.Push{Event: ev, Mode: wechat.ModeSafe}); err != nil || seq <= wantEvents[len(wantEvents)-1].Seq {
		t.Fatalf("a push after the move: seq %d %v", seq, err)
	}
	next, err := st.Changes(rest.Next, 100)
	if err != nil || len(next.Changes) != 1 || next.Changes[0].Code != "999999999999" {
		t.Fatalf("the feed after the move: %+v %v", next, err)
	}
	// Another file into the same database: refused, nothing changed.
	other, otherStore, _ := hubSetup(t)
	o, err := hub.OpenStore(otherStore, hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev2, _ := wechat.ParseEvent(bytes.TrimSpace(raw))
	if _, _, err := o.AddEvent(&wechat.Push{Event: ev2, Mode: wechat.ModeSafe}); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if code, _, errOut := runCmd(t, "--config", other, "hub", "migrate-store", "--to", dbURL); code != exitUsage || !strings.Contains(errOut, "other hub data") {
		t.Fatalf("another hub's file: exit %d %q", code, errOut)
	}
	// A file whose dashboard account of the same name has another
	// password: refused, the database's account and a new terminal of the
	// file left out.
	third, thirdStore, _ := hubSetup(t)
	o, err = hub.OpenStore(thirdStore, hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hub.PasswordHash("another password", hub.PasswordParams{Memory: 64, Time: 1, Threads: 1})
	if err := o.AddAccount("zhao", h2); err != nil {
		t.Fatal(err)
	}
	if err := o.AddTerminal("till-9", hub.NewTerminalKey()); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if code, _, errOut := runCmd(t, "--config", third, "hub", "migrate-store", "--to", dbURL); code != exitUsage || !strings.Contains(errOut, `dashboard account "zhao"`) {
		t.Fatalf("an account with another password: exit %d %q", code, errOut)
	}
	if h, _, _ := st.AccountHash("zhao"); h != pwHash {
		t.Fatal("the database's account was changed")
	}
	if ts, _ := st.Terminals(); len(ts) != 1 {
		t.Fatalf("a refused migration wrote terminals: %+v", ts)
	}
}
