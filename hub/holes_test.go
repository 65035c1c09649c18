package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"cardtill/hub"
	"cardtill/wechat"
)

// post sends body to the hub's push URL with query q (as WeChat would).
func (h *testHub) post(t testing.TB, q string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+hub.PathPush+"?"+q, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return do(t, h.srv.Client(), req)
}

// A plaintext push's signature covers the timestamp and nonce only: whoever
// sees one push URL could post invented events under it until it goes
// stale. The hub takes each (timestamp, nonce) with one event only;
// WeChat's retry of that very event is still answered success.
func TestReplayedNonceRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	h := startHub(t, path, nil, 0)
	events := seedEvents(t)
	consumed := events["user_consume_card"]
	q, body, err := h.push.Seal(wechat.ModePlain, consumed)
	if err != nil {
		t.Fatal(err)
	}
	if st, b := h.post(t, q.Encode(), body); st != 200 || b != "success" {
		t.Fatalf("push: %d %q", st, b)
	}
	// The forgery: same query, another event (the code back to NORMAL).
	forged := bytes.Replace(events["user_get_card"], []byte("226009850808"), []byte("110201201245"), 1)
	if st, _ := h.post(t, q.Encode(), forged); st != 403 {
		t.Fatalf("an invented event under a seen (timestamp, nonce): %d, want 403", st)
	}
	// WeChat's retry of the same event with the same query: success, once.
	if st, b := h.post(t, q.Encode(), body); st != 200 || b != "success" {
		t.Fatalf("retry: %d %q", st, b)
	}
	if evs := h.events(t); len(evs) != 1 || evs[0].Raw != string(consumed) {
		t.Fatalf("stored %d events: %+v", len(evs), evs)
	}
	// Remembered across a restart.
	h.stop()
	h2 := startHub(t, path, nil, 0)
	if st, _ := h2.post(t, q.Encode(), forged); st != 403 {
		t.Fatalf("after a restart: %d, want 403", st)
	}
	if p, err := h2.store.Changes("", 10); err != nil || len(p.Changes) != 1 || p.Changes[0].Status != hub.StatusConsumed {
		t.Fatalf("feed after the forgery: %+v %v", p, err)
	}
}

// Two different events that share WeChat's dedup key (two member-card
// updates in one second; two coupon-point orders, which carry no card or
// code) are both stored; each one's retry is not.
func TestDifferentEventsSameDedupKeyBothStored(t *testing.T) {
	t.Parallel()
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), nil, 0)
	events := seedEvents(t)
	bonus := events["update_member_card"]
	balance := bytes.Replace(bytes.Replace(bonus, []byte("<ModifyBonus>3</ModifyBonus>"), []byte("<ModifyBonus>0</ModifyBonus>"), 1),
		[]byte("<ModifyBalance>0</ModifyBalance>"), []byte("<ModifyBalance>-500</ModifyBalance>"), 1)
	order := events["card_pay_order"]
	order2 := bytes.Replace(order, []byte("404091456"), []byte("404091457"), 1)
	msgs := [][]byte{bonus, balance, order, order2}
	for _, m := range msgs {
		ev, err := wechat.ParseEvent(m)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Head().DedupKey() == "" {
			t.Fatal("no dedup key")
		}
		for range 2 { // the push and WeChat's retry
			if st, b := h.send(t, wechat.ModeSafe, m); st != 200 || b != "success" {
				t.Fatalf("push: %d %q", st, b)
			}
		}
	}
	evs := h.events(t)
	if len(evs) != len(msgs) {
		t.Fatalf("stored %d events, want %d (different events sharing a dedup key are not retries)", len(evs), len(msgs))
	}
	p, err := h.store.Changes("", 10)
	if err != nil || len(p.Notices) != 4 || p.Notices[1].Detail != "bonus=0 balance=-500" {
		t.Fatalf("notices: %+v %v", p.Notices, err)
	}
}

// The Bearer scheme name is case-insensitive (RFC 7235).
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	t.Parallel()
	tokens := tokenFunc(func(context.Context) (string, time.Time, error) { return wxToken, testNow.Add(time.Hour), nil })
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), tokens, 0)
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	for auth, want := range map[string]int{
		"Bearer " + key: 200, "bearer " + key: 200, "BEARER " + key: 200, "bEaReR " + key: 200,
		"Basic " + key: 401, "Bearer" + key: 401, key: 401, "Bearer  ": 401,
	} {
		req, _ := http.NewRequest(http.MethodGet, h.url+hub.PathToken, nil)
		req.Header.Set("Authorization", auth)
		if st, _ := do(t, h.srv.Client(), req); st != want {
			t.Errorf("Authorization %q: %d, want %d", strings.Replace(auth, key, "KEY", 1), st, want)
		}
	}
}

// A failed token fetch is remembered for a few seconds: during a WeChat
// outage the tills' requests are answered 502 without each one calling
// WeChat.
func TestTokenFailureRemembered(t *testing.T) {
	t.Parallel()
	var mu stdsync.Mutex
	now, calls, fail := testNow, 0, true
	clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tokens := tokenFunc(func(context.Context) (string, time.Time, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if fail {
			return "", time.Time{}, errors.New("stable_token: connection refused")
		}
		return wxToken, now.Add(time.Hour), nil
	})
	st := openStore(t, filepath.Join(t.TempDir(), "hub.db"))
	s, err := hub.NewServer(hub.Options{Push: codec(t), Store: st, Tokens: tokens, Now: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	key := hub.NewTerminalKey()
	if err := st.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	c := hub.NewClient(hub.ClientOptions{URL: srv.URL, TerminalKey: key, HTTPClient: srv.Client()})
	get := func() int {
		_, err := c.Token(context.Background())
		var se *hub.StatusError
		if err == nil {
			return 200
		}
		if errors.As(err, &se) {
			return se.Status
		}
		t.Fatal(err)
		return 0
	}
	for range 5 {
		if st := get(); st != 502 {
			t.Fatalf("WeChat down: %d, want 502", st)
		}
	}
	if calls != 1 {
		t.Fatalf("5 tills asked during an outage: %d calls to WeChat, want 1", calls)
	}
	mu.Lock()
	now, fail = now.Add(6*time.Second), false
	mu.Unlock()
	if st := get(); st != 200 || calls != 2 {
		t.Fatalf("after the failure is forgotten: %d, %d calls", st, calls)
	}
	if st := get(); st != 200 || calls != 3 {
		t.Fatalf("working again: %d, %d calls", st, calls)
	}
}

// A hub that requires encryption (a key is set) refuses plaintext pushes,
// stores nothing, and logs it once per source with what to do.
func TestPlaintextRefusedWhenEncryptionRequired(t *testing.T) {
	t.Parallel()
	st := openStore(t, filepath.Join(t.TempDir(), "hub.db"))
	strict, err := wechat.NewPushCodec(wechat.PushConfig{Token: testToken, EncodingAESKey: testKey, AppID: testAppID, Now: clock, RequireEncryption: true})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s, err := hub.NewServer(hub.Options{Push: strict, Store: st, Now: clock, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	h := &testHub{url: srv.URL, store: st, push: codec(t), logs: logs, srv: srv}
	raw := seedEvents(t)["user_get_card"]
	for range 3 {
		if st, _ := h.send(t, wechat.ModePlain, raw); st != 403 {
			t.Fatalf("plaintext push: %d, want 403", st)
		}
	}
	for _, mode := range []wechat.Mode{wechat.ModeSafe, wechat.ModeCompatible} {
		if st, b := h.send(t, mode, retime(raw, mode)); st != 200 || b != "success" {
			t.Fatalf("%v push: %d %q", mode, st, b)
		}
	}
	if n := len(h.events(t)); n != 2 {
		t.Fatalf("stored %d events, want the 2 encrypted ones", n)
	}
	if n := strings.Count(logs.String(), "plaintext push refused"); n != 1 {
		t.Fatalf("logged %d times, want once per source:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "safe mode") {
		t.Fatalf("the log line does not say what to do:\n%s", logs)
	}
}

// A schema-1 file (dedup keyed by WeChat's key alone) is migrated: a retry
// of an event stored before the upgrade is still recognised.
func TestSchema1Migrated(t *testing.T) {
	t.Parallel()
	boltOnly(t)
	path := filepath.Join(t.TempDir(), "hub.db")
	raw := seedEvents(t)["user_del_card"]
	ev, err := wechat.ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		seq := []byte{0, 0, 0, 0, 0, 0, 0, 1}
		for name, kv := range map[string][2][]byte{
			"meta":   {[]byte("schema"), seq},
			"events": {seq, fmt.Appendf(nil, `{"seq":1,"mode":"safe","event":"user_del_card","raw":%q}`, raw)},
			"dedup":  {[]byte(ev.Head().DedupKey()), seq},
		} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := b.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		for _, name := range []string{"feed", "terminals"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, path, nil, 0)
	if st, _ := h.send(t, wechat.ModeSafe, raw); st != 200 {
		t.Fatalf("retry: %d", st)
	}
	if evs := h.events(t); len(evs) != 1 {
		t.Fatalf("a retry of an event stored before the upgrade was stored again: %d events", len(evs))
	}
}
