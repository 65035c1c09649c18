package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/wechat"
)

const (
	testToken = "hubTestToken"
	testKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAppID = "wx0123456789abcdef"
	wxToken   = "ACCESS_TOKEN_never_logged"
)

var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// seedEvents reads the 13 card events of the seed (wechat/testdata/events).
func seedEvents(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../wechat/testdata/events/*.xml")
	if err != nil || len(files) != 13 {
		t.Fatalf("seed events: %d files, %v", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".xml")] = bytes.TrimSpace(b)
	}
	return out
}

func codec(t testing.TB) *wechat.PushCodec {
	t.Helper()
	p, err := wechat.NewPushCodec(wechat.PushConfig{Token: testToken, EncodingAESKey: testKey, AppID: testAppID, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type tokenFunc func(ctx context.Context) (string, time.Time, error)

func (f tokenFunc) Token(ctx context.Context) (string, time.Time, error) { return f(ctx) }

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testHub struct {
	url   string
	store hub.Store
	push  *wechat.PushCodec
	logs  *syncBuffer
	srv   *httptest.Server
}

func startHub(t testing.TB, path string, tokens hub.TokenSource, pageSize int) *testHub {
	t.Helper()
	st := openStore(t, path)
	logs := &syncBuffer{}
	s, err := hub.NewServer(hub.Options{Push: codec(t), Store: st, Tokens: tokens, Now: clock, PageSize: pageSize,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testHub{url: srv.URL, store: st, push: codec(t), logs: logs, srv: srv}
}

func (h *testHub) stop() {
	h.srv.Close()
	_ = h.store.Close()
}

// send pushes msg in mode over loopback and returns the status and body.
func (h *testHub) send(t testing.TB, mode wechat.Mode, msg []byte) (int, string) {
	t.Helper()
	req, err := h.push.NewPushRequest(context.Background(), h.url+hub.PathPush, mode, msg)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, h.srv.Client(), req)
}

func do(t testing.TB, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *testHub) events(t testing.TB) []hub.EventRecord {
	t.Helper()
	evs, err := h.store.Events(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// retime gives an event another CreateTime, so the same example can be
// stored once per mode.
func retime(msg []byte, mode wechat.Mode) []byte {
	i := bytes.Index(msg, []byte("<CreateTime>")) + len("<CreateTime>")
	return append(append(bytes.Clone(msg[:i]), fmt.Sprint(int(mode)+1)...), msg[i:]...)
}

func TestPushEverySeedEventEveryModeStoredOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	h := startHub(t, path, nil, 0)
	events := seedEvents(t)
	modes := []wechat.Mode{wechat.ModePlain, wechat.ModeCompatible, wechat.ModeSafe}
	n := 0
	for name, raw := range events {
		for _, mode := range modes {
			msg := retime(raw, mode)
			st, body := h.send(t, mode, msg)
			if st != 200 || body != "success" {
				t.Fatalf("%s %v: %d %q", name, mode, st, body)
			}
			n++
			// Durable before the answer: the event is in the file now.
			evs := h.events(t)
			if len(evs) != n || evs[n-1].Raw != string(msg) || evs[n-1].Mode != mode.String() {
				t.Fatalf("%s %v: after success the store has %d events, last %+v", name, mode, len(evs), evs[len(evs)-1])
			}
			if evs[n-1].Notice != hub.IsNotice(name) || evs[n-1].Event != name {
				t.Errorf("%s: record %+v", name, evs[n-1])
			}
			parsed, err := evs[n-1].Parsed()
			if err != nil || parsed.Head().Event != name {
				t.Errorf("%s: stored event does not parse back: %v", name, err)
			}
			// WeChat's retry of the same push (in any mode) is answered
			// success and not stored again.
			if st, body := h.send(t, modes[(int(mode)+1)%3], msg); st != 200 || body != "success" {
				t.Fatalf("%s retry: %d %q", name, st, body)
			}
		}
	}
	if got := len(h.events(t)); got != 13*3 {
		t.Fatalf("stored %d events, want %d", got, 13*3)
	}

	// Restart: the retries are still recognised.
	h.stop()
	h2 := startHub(t, path, nil, 0)
	for _, raw := range events {
		for _, mode := range modes {
			if st, _ := h2.send(t, wechat.ModeSafe, retime(raw, mode)); st != 200 {
				t.Fatalf("retry after restart: %d", st)
			}
		}
	}
	if got := len(h2.events(t)); got != 13*3 {
		t.Fatalf("after restart and retries: %d events, want %d", got, 13*3)
	}
	// Batch-added cards share FromUserName+CreateTime: both are kept.
	batch := bytes.Replace(events["user_get_card"], []byte("226009850808"), []byte("226009850809"), 1)
	if st, _ := h2.send(t, wechat.ModeSafe, batch); st != 200 {
		t.Fatal(st)
	}
	if got := len(h2.events(t)); got != 13*3+1 {
		t.Fatalf("a batch-added code was taken for a retry: %d events", got)
	}
}

func TestURLCheck(t *testing.T) {
	t.Parallel()
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), nil, 0)
	ts := fmt.Sprint(testNow.Unix())
	u := fmt.Sprintf("%s%s?signature=%s&timestamp=%s&nonce=n&echostr=hello123", h.url, hub.PathPush, wechat.Signature(testToken, ts, "n"), ts)
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if st, body := do(t, h.srv.Client(), req); st != 200 || body != "hello123" {
		t.Fatalf("URL check: %d %q", st, body)
	}
	req, _ = http.NewRequest(http.MethodGet, strings.Replace(u, "signature=", "signature=0", 1), nil)
	if st, _ := do(t, h.srv.Client(), req); st != 403 {
		t.Fatalf("URL check with a bad signature: %d", st)
	}
}

func TestBadPushesStoreNothing(t *testing.T) {
	t.Parallel()
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), nil, 0)
	raw := seedEvents(t)["user_consume_card"]
	other := func(c wechat.PushConfig) *wechat.PushCodec {
		if c.Now == nil {
			c.Now = clock
		}
		p, err := wechat.NewPushCodec(c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	post := func(p *wechat.PushCodec, mode wechat.Mode, msg []byte, edit func(*http.Request)) *http.Request {
		req, err := p.NewPushRequest(context.Background(), h.url+hub.PathPush, mode, msg)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(req)
		}
		return req
	}
	setQuery := func(k, v string) func(*http.Request) {
		return func(r *http.Request) {
			q := r.URL.Query()
			q.Set(k, v)
			r.URL.RawQuery = q.Encode()
		}
	}
	big := bytes.Repeat([]byte("x"), wechat.DefaultMaxPushBody+1)
	cases := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"wrong signature", post(h.push, wechat.ModePlain, raw, setQuery("signature", "0000")), 403},
		{"wrong msg_signature", post(h.push, wechat.ModeSafe, raw, setQuery("msg_signature", "0000")), 403},
		{"wrong token", post(other(wechat.PushConfig{Token: "guess", EncodingAESKey: testKey, AppID: testAppID}), wechat.ModeSafe, raw, nil), 403},
		{"wrong appid", post(other(wechat.PushConfig{Token: testToken, EncodingAESKey: testKey, AppID: "wxother"}), wechat.ModeSafe, raw, nil), 403},
		{"stale (replayed)", post(other(wechat.PushConfig{Token: testToken, EncodingAESKey: testKey, AppID: testAppID, Now: func() time.Time { return testNow.Add(-time.Hour) }}), wechat.ModeSafe, raw, nil), 403},
		{"malformed xml", post(h.push, wechat.ModePlain, raw[:40], nil), 400},
		{"malformed inner xml", post(h.push, wechat.ModeSafe, []byte("<xml><ToUserName>x</ToUserName></xml>"), nil), 400},
		{"oversized", post(h.push, wechat.ModePlain, big, nil), 413},
		{"wrong method", func() *http.Request { r, _ := http.NewRequest(http.MethodPut, h.url+hub.PathPush, nil); return r }(), 405},
		{"delete", func() *http.Request { r, _ := http.NewRequest(http.MethodDelete, h.url+hub.PathPush, nil); return r }(), 405},
	}
	for _, tc := range cases {
		if st, _ := do(t, h.srv.Client(), tc.req); st != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, st, tc.status)
		}
	}
	if n := len(h.events(t)); n != 0 {
		t.Fatalf("bad requests stored %d events", n)
	}
	if p, err := h.store.Changes("", 10); err != nil || len(p.Changes)+len(p.Notices) != 0 {
		t.Fatalf("bad requests fed %+v %v", p, err)
	}
	logs := h.logs.String()
	if strings.Count(logs, "push refused") != len(cases) {
		t.Errorf("want one log line per refused push:\n%s", logs)
	}
	for _, secret := range []string{testToken, testKey} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log leaks a secret:\n%s", logs)
		}
	}
}

func TestTokenService(t *testing.T) {
	t.Parallel()
	fail := false
	tokens := tokenFunc(func(ctx context.Context) (string, time.Time, error) {
		if fail {
			return "", time.Time{}, errors.New("stable_token: errcode 40164 (ip not in whitelist)")
		}
		return wxToken, testNow.Add(7200 * time.Second), nil
	})
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), tokens, 0)
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	other := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-2", other); err != nil {
		t.Fatal(err)
	}
	if err := h.store.AddTerminal("till-1", hub.NewTerminalKey()); !errors.Is(err, hub.ErrTerminalExists) {
		t.Fatalf("second till-1: %v", err)
	}
	ctx := context.Background()
	c := hub.NewClient(hub.ClientOptions{URL: h.url, TerminalKey: key, HTTPClient: h.srv.Client()})
	got, err := c.Token(ctx)
	if err != nil || got.AccessToken != wxToken || got.ExpiresIn != 7200 {
		t.Fatalf("token: %+v %v", got, err)
	}
	for name, k := range map[string]string{"wrong key": key + "x", "empty key": "", "another hub's key": hub.NewTerminalKey()} {
		_, err := hub.NewClient(hub.ClientOptions{URL: h.url, TerminalKey: k, HTTPClient: h.srv.Client()}).Token(ctx)
		if !errors.Is(err, hub.ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, h.url+hub.PathToken, nil)
	if st, _ := do(t, h.srv.Client(), req); st != 401 {
		t.Errorf("no Authorization: %d", st)
	}
	req, _ = http.NewRequest(http.MethodPost, h.url+hub.PathToken, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if st, _ := do(t, h.srv.Client(), req); st != 405 {
		t.Errorf("POST: %d", st)
	}
	// Revoked: refused at once; the other till is unaffected.
	if err := h.store.RemoveTerminal("till-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(ctx); !errors.Is(err, hub.ErrUnauthorized) {
		t.Errorf("revoked key: %v", err)
	}
	if _, err := c.Changes(ctx, ""); !errors.Is(err, hub.ErrUnauthorized) {
		t.Errorf("revoked key on the feed: %v", err)
	}
	c2 := hub.NewClient(hub.ClientOptions{URL: h.url, TerminalKey: other, HTTPClient: h.srv.Client()})
	if _, err := c2.Token(ctx); err != nil {
		t.Errorf("till-2 after till-1 was revoked: %v", err)
	}
	if err := h.store.RemoveTerminal("till-1"); !errors.Is(err, hub.ErrNoTerminal) {
		t.Errorf("remove twice: %v", err)
	}
	fail = true
	var se *hub.StatusError
	if _, err := c2.Token(ctx); !errors.As(err, &se) || se.Status != 502 {
		t.Errorf("WeChat failing: %v, want 502", err)
	}
	terms, err := h.store.Terminals()
	if err != nil || len(terms) != 1 || terms[0].Name != "till-2" {
		t.Errorf("terminals: %+v %v", terms, err)
	}
	for _, secret := range []string{wxToken, key, other} {
		if strings.Contains(h.logs.String(), secret) {
			t.Fatalf("log leaks a secret:\n%s", h.logs.String())
		}
	}
}

func TestTokenServiceWithoutSecret(t *testing.T) {
	t.Parallel()
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), nil, 0)
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	_, err := hub.NewClient(hub.ClientOptions{URL: h.url, TerminalKey: key, HTTPClient: h.srv.Client()}).Token(context.Background())
	var se *hub.StatusError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("no token source: %v", err)
	}
}

func TestTerminalNames(t *testing.T) {
	t.Parallel()
	s := openStore(t, filepath.Join(t.TempDir(), "hub.db"))
	for _, bad := range []string{"", "till 1", "till/1", strings.Repeat("x", 65), "tïll"} {
		if err := s.AddTerminal(bad, hub.NewTerminalKey()); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if a, b := hub.NewTerminalKey(), hub.NewTerminalKey(); a == b || len(a) < 40 {
		t.Errorf("weak keys %q %q", a, b)
	}
}

func TestFeedPaging(t *testing.T) {
	t.Parallel()
	h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), nil, 2)
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	ev := func(ct int, event, extra string) []byte {
		return []byte(fmt.Sprintf("<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>%d</CreateTime><MsgType>event</MsgType><Event>%s</Event><CardId>card1</CardId>%s</xml>", ct, event, extra))
	}
	pushes := [][]byte{
		ev(1, "user_get_card", "<UserCardCode>111</UserCardCode>"),
		ev(2, "user_gifting_card", "<UserCardCode>111</UserCardCode>"),
		ev(3, "user_get_card", "<UserCardCode>222</UserCardCode><OldUserCardCode>111</OldUserCardCode><IsGiveByFriend>1</IsGiveByFriend>"),
		ev(4, "user_view_card", "<UserCardCode>222</UserCardCode>"), // neither change nor notice
		ev(5, "user_consume_card", "<UserCardCode>222</UserCardCode>"),
		ev(6, "user_get_card", "<UserCardCode>333</UserCardCode>"),
		ev(7, "user_del_card", "<UserCardCode>333</UserCardCode>"),
		ev(8, "card_sku_remind", "<Detail>the card's quantity is equal to 0</Detail>"),
		ev(9, "update_member_card", "<UserCardCode>333</UserCardCode><ModifyBonus>3</ModifyBonus><ModifyBalance>-100</ModifyBalance>"),
	}
	for _, p := range pushes {
		if st, _ := h.send(t, wechat.ModeSafe, p); st != 200 {
			t.Fatal(st)
		}
	}
	type change struct{ code, status, newCode string }
	want := []change{{"111", "NORMAL", ""}, {"111", "GIFTING", ""}, {"111", "GIFTED", "222"}, {"222", "NORMAL", ""}, {"222", "CONSUMED", ""}, {"333", "NORMAL", ""}, {"333", "DELETE", ""}}
	c := hub.NewClient(hub.ClientOptions{URL: h.url + "/", TerminalKey: key, HTTPClient: h.srv.Client()})
	ctx := context.Background()
	var got []change
	var notices []hub.Notice
	cursor, pages := "", 0
	for {
		page, err := c.Changes(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Changes)+len(page.Notices) > 2 {
			t.Fatalf("page of %d items, page size 2", len(page.Changes)+len(page.Notices))
		}
		if page.Next <= cursor && (len(page.Changes)+len(page.Notices) > 0) {
			t.Fatalf("cursor did not increase: %q -> %q", cursor, page.Next)
		}
		for _, ch := range page.Changes {
			if ch.CardID != "card1" || ch.At.IsZero() {
				t.Errorf("change %+v", ch)
			}
			got = append(got, change{ch.Code, ch.Status, ch.NewCode})
		}
		notices = append(notices, page.Notices...)
		cursor = page.Next
		if !page.More {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes\n got %v\nwant %v", got, want)
	}
	if len(notices) != 2 || notices[0].Event != "card_sku_remind" || notices[0].Detail != "the card's quantity is equal to 0" ||
		notices[1].Event != "update_member_card" || notices[1].Detail != "bonus=3 balance=-100" || notices[1].Code != "333" {
		t.Errorf("notices %+v", notices)
	}
	if pages != 5 {
		t.Errorf("%d pages for 9 items of 2", pages)
	}
	// Nothing new: same cursor back, empty page.
	page, err := c.Changes(ctx, cursor)
	if err != nil || page.Next != cursor || len(page.Changes) != 0 || page.More {
		t.Fatalf("idle page %+v %v", page, err)
	}
	// A new event continues from the cursor.
	if st, _ := h.send(t, wechat.ModeSafe, ev(10, "user_consume_card", "<UserCardCode>111</UserCardCode>")); st != 200 {
		t.Fatal(st)
	}
	page, err = c.Changes(ctx, cursor)
	if err != nil || len(page.Changes) != 1 || page.Changes[0].Code != "111" || page.Changes[0].Status != hub.StatusConsumed || page.Next <= cursor {
		t.Fatalf("after a new event: %+v %v", page, err)
	}
	// Bad cursors are refused.
	for _, bad := range []string{"zz", "1", "-0000000000000001", "FFFFFFFFFFFFFFFF"} {
		var se *hub.StatusError
		if _, err := c.Changes(ctx, bad); !errors.As(err, &se) || se.Status != 400 {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}

func TestStoreLockedAndReadOnly(t *testing.T) {
	t.Parallel()
	boltOnly(t)
	path := filepath.Join(t.TempDir(), "hub.db")
	s := openStore(t, path)
	_, err := hub.OpenStore(path, hub.StoreOptions{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, hub.ErrStoreLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second open: %v", err)
	}
	_ = s.Close()
	ro, err := hub.OpenStore(path, hub.StoreOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = ro.Close()
	if _, err := hub.OpenStore(filepath.Join(t.TempDir(), "missing.db"), hub.StoreOptions{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing file succeeded")
	}
}
