package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// fakeTill starts the fake WeChat and writes a till config using a static
// token the fake issued.
func fakeTill(t *testing.T) (srv *wechattest.Server, cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "journal.db")
	srv, cfgPath = fakeTillAt(t, dbPath)
	return srv, cfgPath, dbPath
}

// fakeTillAt is fakeTill with the journal at dbPath (e.g. on a power-cut
// mount); the config and log stay in a temporary folder.
func fakeTillAt(t *testing.T, dbPath string) (srv *wechattest.Server, cfgPath string) {
	t.Helper()
	srv = wechattest.New()
	t.Cleanup(srv.Close)
	tok, err := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret}).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath = filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`[wechat]
api_base = %q
token_source = "static"
static_token = %q
timeout = "300ms"
sync_timeout = "300ms"

[store]
path = %q

[terminal]
id = "till-2"

[shift]
default_cashier = "Wang Fang"

[sync]
quiet_period = "500ms"
concurrency = 8

[log]
file = %q
`, srv.URL, tok, dbPath, filepath.Join(dir, "cardtill.log"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, cfgPath
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRedeemCLI(t *testing.T) {
	t.Parallel()
	srv, cfg, _ := fakeTill(t)
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off any drink"})
	for _, c := range []string{"110201201245", "110201201246", "110201201247"} {
		srv.AddCode(wechattest.Code{Code: c, CardID: "pCard"})
	}
	srv.AddCode(wechattest.Code{Code: "110201201248", CardID: "pCard", Status: wechat.StatusDelete})
	type answer struct {
		ID      uint64 `json:"id"`
		Code    string `json:"code"`
		CardID  string `json:"card_id"`
		State   string `json:"state"`
		Reason  string `json:"reason"`
		Errcode int    `json:"errcode"`
	}
	redeem := func(want int, args ...string) answer {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"redeem", "--config", cfg, "--json"}, args...)...)
		if code != want {
			t.Fatalf("redeem %v: exit %d, want %d\nstdout %s\nstderr %s", args, code, want, out, errs)
		}
		var a answer
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("redeem %v: not one JSON object: %q", args, out)
		}
		return a
	}
	if a := redeem(0, "110201201245"); a.State != "consumed" || a.CardID != "pCard" || a.ID == 0 || a.Code != "110201201245" {
		t.Fatalf("consumed: %+v", a)
	}
	if a := redeem(1, "110201201245"); a.State != "rejected" || a.Reason != "used_here" {
		t.Fatalf("again: %+v", a)
	}
	if a := redeem(1, "110201201248"); a.State != "rejected" || a.Reason != "deleted" {
		t.Fatalf("deleted: %+v", a)
	}
	if a := redeem(1, "999999999999"); a.State != "rejected" || a.Errcode != 40056 {
		t.Fatalf("unknown: %+v", a)
	}
	if a := redeem(0, "--card-id", "pCard", "https://example.com/c?encrypt_code="+strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(srv.Encrypt("110201201247"))); a.State != "consumed" || a.Code != "110201201247" {
		t.Fatalf("encrypted: %+v", a)
	}
	srv.SetOutage(true)
	if a := redeem(0, "110201201246"); a.State != "queued" || a.Reason != "accepted_offline" {
		t.Fatalf("offline: %+v", a)
	}
	// A refusal of the till's own says the fact; the command line adds the
	// setting behind it, which the engine's text does not name.
	if code, out, _ := runCLI(t, "redeem", "--config", cfg, "12345"); code != 1 || !strings.Contains(out, "does not look like a coupon code") || !strings.Contains(out, "setting: offline.code_pattern") {
		t.Fatalf("offline, not a code: exit %d\n%s", code, out)
	}
	srv.SetOutage(false)
	if code, out, errs := runCLI(t, "sync", "--config", cfg, "--once", "--json"); code != 0 || !strings.Contains(out, `"complete":true`) {
		t.Fatalf("sync: exit %d\n%s\n%s", code, out, errs)
	}
	if srv.ConsumeCount("110201201246") != 1 || srv.ConsumeCount("110201201245") != 1 {
		t.Fatal("not consumed exactly once")
	}
	// Usage and configuration errors exit 2 and change nothing.
	if code, _, _ := runCLI(t, "redeem", "--config", cfg); code != exitUsage {
		t.Fatalf("no code: exit %d", code)
	}
	if code, _, _ := runCLI(t, "redeem", "--config", cfg, "--json", "   "); code != exitUsage {
		t.Fatalf("empty scan: exit %d", code)
	}
	if code, _, _ := runCLI(t, "redeem", "--config", filepath.Join(t.TempDir(), "missing.toml"), "110201201245"); code != exitUsage {
		t.Fatalf("missing config: exit %d", code)
	}
}

// TestSyncCrash queues codes offline, then runs the real binary's
// `cardtill sync --once`, killing it with SIGKILL at random moments and
// restarting it until the queue is empty: every code is consumed exactly
// once, none is lost, and conflicts are exactly the codes the fake refused.
// CARDTILL_CRASH_CODES sets the number of codes (500 by default).
func TestSyncCrash(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	n := 500
	if s := os.Getenv("CARDTILL_CRASH_CODES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	bin := cardtillBinary(t)
	srv, cfg, dbPath := fakeTill(t)
	db, err := store.Open(dbPath, store.Options{Terminal: "till-2", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	shift, err := db.OpenShift("till-2", "Wang Fang")
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for i := range n {
		code := fmt.Sprintf("3%011d", i)
		st := wechat.StatusNormal
		if i%25 == 7 {
			st, deleted[code] = wechat.StatusDelete, true
		}
		srv.AddCode(wechattest.Code{Code: code, CardID: "pCard", Status: st})
		if _, err := db.Create(store.Redemption{Code: code, State: store.Queued, ShiftID: shift.ID, Cashier: "Wang Fang", Terminal: "till-2", DueAt: time.Now()}, "test", store.Path(store.Queued)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true, Times: 10})
	srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropBefore: true, Times: 10})
	srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: -1, Times: 5})
	for _, ep := range []wechattest.Endpoint{wechattest.EndpointGetCode, wechattest.EndpointConsume} {
		srv.Inject(ep, wechattest.Fault{Latency: 10 * time.Millisecond, Persistent: true})
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills, done := 0, false
	deadline := time.Now().Add(50 * time.Second)
	for !done {
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty after %d kills", kills)
		}
		cmd := exec.Command(bin, "sync", "--config", cfg, "--once", "--json")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		killAfter := time.Duration(20+rng.IntN(400)) * time.Millisecond
		if kills >= 15 {
			killAfter = time.Hour // enough chaos: let it finish
		}
		timer := time.NewTimer(killAfter)
		select {
		case err := <-exited:
			timer.Stop()
			if err == nil {
				done = true
			} else if cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("sync: %v\n%s", err, out.String())
			} else {
				// Items left in doubt within their quiet period: run again
				// once it is over.
				untilDue(t, dbPath, deadline)
			}
		case <-timer.C:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			kills++
		}
	}
	db, err = store.Open(dbPath, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	states := map[string]string{}
	for _, s := range store.AllStates {
		rs, err := db.Find(store.Query{Index: store.ByState, State: s})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			states[r.Code] = string(r.State)
		}
	}
	conflicts := 0
	for i := range n {
		code := fmt.Sprintf("3%011d", i)
		c := srv.ConsumeCount(code)
		switch {
		case deleted[code]:
			conflicts++
			if c != 0 || states[code] != "conflict" {
				t.Fatalf("code %s (deleted): consumed %d, state %s", code, c, states[code])
			}
		case c != 1 || states[code] != "consumed":
			t.Fatalf("code %s: consumed %d times, state %q", code, c, states[code])
		}
	}
	t.Logf("%d codes, %d kills, %d conflicts (all where the fake said DELETE)", n, kills, conflicts)
}
