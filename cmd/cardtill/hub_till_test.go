package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/internal/hubrun"
	"cardtill/internal/till"
	"cardtill/sync"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

const (
	e2eCard       = "pE2ECard0000000000000000001"
	e2eWeChatTok  = "e2ePushToken"
	e2eAESKey     = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	e2eHubSecret  = "hub-app-secret-never-printed"
	e2eOnlineCode = "310000000001" // redeemed online, with the hub's token
	e2eDeleted    = "310000000002" // the feed says the customer deleted it
	e2eGifting    = "310000000003" // the feed says it is being given away
	e2eGifted     = "310000000004" // given away: replaced by e2eGiftNew
	e2eGiftNew    = "310000000005" // the friend's new code (NORMAL in the feed)
	e2eUnknown    = "310000000006" // never in the feed: the policy decides
	e2eConsumed   = "310000000007" // the feed says it was consumed elsewhere
	e2eOnline2    = "310000000008" // redeemed online after WeChat dropped the token early
)

// hubRig is a real hub (its own bbolt file, push receiver, token service
// with stable_token against the fake WeChat, feed) on loopback.
type hubRig struct {
	wx    *wechattest.Server
	store hub.Store
	push  *wechat.PushCodec
	url   string
	logs  *lockedBuffer
	// skew is added to the hub's clock (see later).
	skew atomic.Int64
}

// later moves the hub's clock on by d: past the few seconds a failed
// token fetch is remembered, say.
func (h *hubRig) later(d time.Duration) { h.skew.Add(int64(d)) }

func newHubRig(t *testing.T) *hubRig {
	t.Helper()
	wx := wechattest.New(wechattest.WithCredentials("wxE2E0000000000001", e2eHubSecret))
	t.Cleanup(wx.Close)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Path = filepath.Join(dir, "hub.toml")
	cfg.Hub.AppID = wx.AppID
	cfg.Hub.SecretFile = writeFile(t, "hub-appsecret", e2eHubSecret+"\n")
	cfg.Hub.APIBase = wx.URL
	cfg.Hub.Token = e2eWeChatTok
	cfg.Hub.EncodingAESKey = e2eAESKey
	cfg.Hub.StorePath = filepath.Join(dir, "hub.db")

	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := &globals{stdout: io.Discard, stderr: logs, getenv: noEnv}
	push, err := config.NewPushCodec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := hubrun.TokenSource(cfg, g.env, log)
	if err != nil {
		t.Fatal(err)
	}
	st, err := hub.OpenStore(cfg.Hub.StorePath, hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	rig := &hubRig{wx: wx, store: st, push: push, logs: logs}
	srv, err := hub.NewServer(hub.Options{Push: push, Store: st, Tokens: tokens, Logger: log,
		Now: func() time.Time { return time.Now().Add(time.Duration(rig.skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	rig.url = hs.URL
	return rig
}

// send pushes one card event to the hub in safe (AES) mode, as WeChat does.
// tillConfig writes the config of a till that takes its token from the
// rig's hub (terminal id terminal, terminal key key) and calls the rig's
// fake WeChat, journaling to journal and logging beside it; extra is
// appended (more sections).
func (h *hubRig) tillConfig(t *testing.T, terminal, key, journal, extra string) string {
	t.Helper()
	return writeFile(t, terminal+".toml", fmt.Sprintf(`[terminal]
id = %q
[wechat]
api_base = %q
token_source = "hub"
hub_url = %q
terminal_key_file = %q
[store]
path = %q
[log]
file = %q
%s
`, terminal, h.wx.URL, h.url, writeFile(t, "terminal.key", key+"\n"), journal, filepath.Join(filepath.Dir(journal), "cardtill.log"), extra))
}

func (h *hubRig) send(t *testing.T, xml string) {
	t.Helper()
	req, err := h.push.NewPushRequest(context.Background(), h.url+hub.PathPush, wechat.ModeSafe, []byte(xml))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "success" {
		t.Fatalf("push answered %d %q", resp.StatusCode, body)
	}
}

// cardEvent is a card event as WeChat pushes it; extra is more fields.
func cardEvent(event, code string, at int64, extra string) string {
	return fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[oE2EUser]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[%s]]></Event>`+
		`<CardId><![CDATA[%s]]></CardId><UserCardCode><![CDATA[%s]]></UserCardCode>%s</xml>`, at, event, e2eCard, code, extra)
}

// hubTill opens a till the way `cardtill run` does (till.Open), with
// token_source = "hub": no AppSecret on the till, only its terminal key.
func hubTill(t *testing.T, h *hubRig, key string, logs io.Writer) *till.Till {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Path = filepath.Join(dir, "till.toml")
	cfg.WeChat.APIBase = h.wx.URL
	cfg.WeChat.TokenSource = "hub"
	cfg.WeChat.HubURL = h.url
	cfg.WeChat.TerminalKeyFile = writeFile(t, "terminal.key", key+"\n")
	cfg.Store.Path = filepath.Join(dir, "journal.db")
	cfg.Terminal.ID = "till-e2e"
	cfg.Shift.DefaultCashier = "Wang Fang"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tl, err := till.Open(cfg, noEnv, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close() })
	return tl
}

// TestTillAgainstHub is issue 8's "done when": a till against a real hub on
// loopback takes its token from the hub, pulls the feed into its
// code-status cache, and then, offline, refuses a code the feed said was
// deleted (or given away, or consumed elsewhere) while a code the cache does
// not know follows the offline policy.
func TestTillAgainstHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHubRig(t)
	h.wx.AddCard(wechattest.Card{CardID: e2eCard, Title: "¥20 off any drink"})
	for _, c := range []string{e2eOnlineCode, e2eOnline2, e2eDeleted, e2eGifting, e2eGifted, e2eGiftNew, e2eUnknown, e2eConsumed} {
		h.wx.AddCode(wechattest.Code{Code: c, CardID: e2eCard})
	}
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-e2e", key); err != nil {
		t.Fatal(err)
	}
	tillLogs := &lockedBuffer{}
	tl := hubTill(t, h, key, tillLogs)

	// Online: the till's token comes from the hub, which got it from
	// WeChat with stable_token; WeChat accepts it.
	out, err := tl.Engine.Redeem(ctx, sync.Request{Code: e2eOnlineCode, Source: "cli", Cashier: "Wang Fang"})
	if err != nil || out.Kind != sync.Consumed {
		t.Fatalf("online redeem: %+v %v", out, err)
	}
	if n := h.wx.ConsumeCount(e2eOnlineCode); n != 1 {
		t.Fatalf("WeChat applied %d consumes of the online code, want 1", n)
	}
	if s, tk := h.wx.Calls(wechattest.EndpointStableToken), h.wx.Calls(wechattest.EndpointToken); s != 1 || tk != 0 || h.wx.TokensIssued() != 1 {
		t.Fatalf("WeChat saw %d stable_token and %d token calls, issued %d tokens; want the hub's one stable_token", s, tk, h.wx.TokensIssued())
	}

	// WeChat drops the token before its time (an AppSecret reset, a forced
	// refresh elsewhere): the till reports the refused token to the hub,
	// which asks WeChat again, and the retry goes through.
	h.wx.ExpireTokens()
	out, err = tl.Engine.Redeem(ctx, sync.Request{Code: e2eOnline2, Source: "cli", Cashier: "Wang Fang"})
	if err != nil || out.Kind != sync.Consumed || h.wx.ConsumeCount(e2eOnline2) != 1 {
		t.Fatalf("online redeem after WeChat dropped the token: %+v %v", out, err)
	}
	if h.wx.TokensIssued() != 2 || !strings.Contains(h.logs.String(), "reports WeChat refused the access token") {
		t.Fatalf("WeChat issued %d tokens, want 2 (the hub asked again once)", h.wx.TokensIssued())
	}

	// WeChat pushes what happened to other codes; the hub stores it.
	h.send(t, cardEvent(wechat.EventUserDelCard, e2eDeleted, 1764150000, ""))
	h.send(t, cardEvent(wechat.EventUserGiftingCard, e2eGifting, 1764150001,
		`<IsReturnBack>0</IsReturnBack><FriendUserName><![CDATA[oE2EFriend]]></FriendUserName><IsChatRoom>0</IsChatRoom>`))
	h.send(t, cardEvent(wechat.EventUserGiftingCard, e2eGifted, 1764150002,
		`<IsReturnBack>0</IsReturnBack><FriendUserName><![CDATA[oE2EFriend]]></FriendUserName><IsChatRoom>0</IsChatRoom>`))
	h.send(t, cardEvent(wechat.EventUserGetCard, e2eGiftNew, 1764150003,
		`<IsGiveByFriend>1</IsGiveByFriend><FriendUserName><![CDATA[oE2EUser]]></FriendUserName><OuterId>0</OuterId>`+
			`<OldUserCardCode><![CDATA[`+e2eGifted+`]]></OldUserCardCode>`))
	h.send(t, cardEvent(wechat.EventUserConsumeCard, e2eConsumed, 1764150004, `<ConsumeSource><![CDATA[FROM_MOBILE_HELPER]]></ConsumeSource>`))
	h.send(t, cardEvent(wechat.EventUserDelCard, e2eDeleted, 1764150000, "")) // WeChat's retry: stored once

	h.send(t, `<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[oE2EUser]]></FromUserName>`+
		`<CreateTime>1764150005</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[card_sku_remind]]></Event>`+
		`<CardId><![CDATA[`+e2eCard+`]]></CardId><Detail><![CDATA[the card's stock is below 100]]></Detail></xml>`)
	if evs, err := h.store.Events(time.Time{}, 0); err != nil || len(evs) != 6 {
		t.Fatalf("the hub stored %d events (%v), want 6: the retry once", len(evs), err)
	}

	// The till pulls the feed (as Run does while online): the statuses into
	// its cache, the manager's notices to the screen.
	var notices []hub.Notice
	tl.OnNotices(func(ns []hub.Notice) { notices = append(notices, ns...) })
	if err := tl.Engine.PullFeed(ctx); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || notices[0].Event != wechat.EventCardSkuRemind || notices[0].CardID != e2eCard || notices[0].Detail != "the card's stock is below 100" {
		t.Errorf("notices from the feed: %+v", notices)
	}
	wantCache := map[string]string{e2eDeleted: hub.StatusDelete, e2eGifting: hub.StatusGifting, e2eGifted: hub.StatusGifted, e2eGiftNew: hub.StatusNormal, e2eConsumed: hub.StatusConsumed}
	for code, want := range wantCache {
		cs, ok, err := tl.DB.CodeStatus(code)
		if err != nil || !ok || cs.Status != want || cs.CardID != e2eCard {
			t.Errorf("cache of %s: %+v %v %v; want %s", code, cs, ok, err, want)
		}
	}
	if _, ok, _ := tl.DB.CodeStatus(e2eUnknown); ok {
		t.Error("the code the feed never named is in the cache")
	}
	cursor, err := tl.DB.FeedCursor()
	if err != nil || cursor == "" {
		t.Fatalf("feed cursor %q %v", cursor, err)
	}
	if err := tl.Engine.PullFeed(ctx); err != nil { // nothing new: same cursor
		t.Fatal(err)
	}
	if again, _ := tl.DB.FeedCursor(); again != cursor {
		t.Fatalf("an empty pull moved the cursor %q -> %q", cursor, again)
	}

	// WeChat unreachable: the offline policy decides, using the cache.
	h.wx.SetOutage(true)
	refused := map[string]string{e2eDeleted: "deleted", e2eGifting: "being given", e2eGifted: "given to a friend", e2eConsumed: "already used"}
	for code, why := range refused {
		out, err := tl.Engine.Redeem(ctx, sync.Request{Code: code, Source: "cli", Cashier: "Wang Fang"})
		if err != nil {
			t.Fatal(err)
		}
		if out.Kind != sync.Refused || !out.Reason.Offline() || !strings.Contains(out.ReasonText, why) || out.CardID != e2eCard {
			t.Errorf("offline redeem of %s: kind %s reason %s %q card %q; want refused offline, %q",
				code, out.Kind, out.Reason, out.ReasonText, out.CardID, why)
		}
	}
	for _, code := range []string{e2eUnknown, e2eGiftNew} { // unknown, and known NORMAL: accepted (offline.mode = "accept")
		out, err := tl.Engine.Redeem(ctx, sync.Request{Code: code, Source: "cli", Cashier: "Wang Fang"})
		if err != nil || out.Kind != sync.AcceptedOffline {
			t.Errorf("offline redeem of %s: %+v %v; want accepted offline by the policy", code, out, err)
		}
	}

	// Back online: the queue drains; the refused codes were never consumed.
	h.wx.SetOutage(false)
	if _, err := tl.Engine.DrainOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]int{e2eOnline2: 1, e2eUnknown: 1, e2eGiftNew: 1, e2eDeleted: 0, e2eGifting: 0, e2eGifted: 0, e2eConsumed: 0} {
		if n := h.wx.ConsumeCount(code); n != want {
			t.Errorf("WeChat applied %d consumes of %s, want %d", n, code, want)
		}
	}

	// No secret in any log: not the AppSecret, the terminal key, the push
	// token or AES key, nor the access token.
	tok, err := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: h.url, TerminalKey: key}).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, logs := range map[string]string{"hub": h.logs.String(), "till": tillLogs.String()} {
		for _, secret := range []string{e2eHubSecret, key, e2eWeChatTok, e2eAESKey, tok} {
			if strings.Contains(logs, secret) {
				t.Errorf("the %s log holds a secret:\n%s", name, logs)
			}
		}
	}
}

// TestTillCommandsAgainstHub is the same story through the commands a store
// runs: `cardtill redeem` takes its token from the hub, `cardtill sync
// --once` pulls the feed, and `cardtill redeem` offline refuses the code the
// feed said was deleted (exit 1) and accepts an unknown one (exit 0).
func TestTillCommandsAgainstHub(t *testing.T) {
	t.Parallel()
	h := newHubRig(t)
	for _, c := range []string{e2eOnlineCode, e2eDeleted, e2eUnknown} {
		h.wx.AddCode(wechattest.Code{Code: c, CardID: e2eCard})
	}
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-cli", key); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := h.tillConfig(t, "till-cli", key, filepath.Join(dir, "journal.db"), `
[shift]
default_cashier = "Wang Fang"`)

	type outcome struct {
		Kind       string      `json:"kind"`
		Reason     sync.Reason `json:"reason"`
		ReasonText string      `json:"reason_text"`
	}
	redeem := func(code string) (int, outcome) {
		t.Helper()
		exit, out, errOut := runCLI(t, "--config", cfg, "redeem", "--json", code)
		var o outcome
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatalf("redeem %s: exit %d %q %q", code, exit, out, errOut)
		}
		return exit, o
	}
	if exit, o := redeem(e2eOnlineCode); exit != 0 || o.Kind != "consumed" || h.wx.ConsumeCount(e2eOnlineCode) != 1 {
		t.Fatalf("online redeem with the hub's token: exit %d %+v", exit, o)
	}
	h.send(t, cardEvent(wechat.EventUserDelCard, e2eDeleted, 1764160000, ""))
	if exit, out, errOut := runCLI(t, "--config", cfg, "sync", "--once"); exit != 0 || errOut != "" {
		t.Fatalf("sync --once: exit %d %q %q", exit, out, errOut)
	}
	h.wx.SetOutage(true)
	if exit, o := redeem(e2eDeleted); exit != 1 || o.Kind != "refused" || !o.Reason.Offline() || !strings.Contains(o.ReasonText, "deleted") {
		t.Errorf("offline redeem of the deleted code: exit %d %+v", exit, o)
	}
	if exit, o := redeem(e2eUnknown); exit != 0 || o.Kind != "accepted_offline" {
		t.Errorf("offline redeem of an unknown code: exit %d %+v", exit, o)
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "cardtill.log"))
	if len(logs) == 0 || strings.Contains(string(logs), key) {
		t.Errorf("till log empty or holding the terminal key:\n%s", logs)
	}
}
