package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/internal/testkit"
	"cardtill/internal/till"
	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// TestTillHubTokenErrors: against a real hub on loopback, a till that cannot
// get a token because the hub is unreachable, has no AppSecret or cannot
// reach WeChat is offline (the offline policy accepts the code), while a
// till whose terminal key the hub refuses refuses the scan for a
// configuration reason, never accepting offline; a queued code stays queued
// (no conflict) until the key is fixed. Neither the key nor a token is
// logged.
func TestTillHubTokenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	redeem := func(tl *till.Till, code string) sync.Outcome {
		t.Helper()
		out, err := tl.Engine.Redeem(ctx, sync.Request{Code: code, Source: "cli", Cashier: "Wang Fang"})
		if err != nil {
			t.Fatalf("redeem %s: %v", code, err)
		}
		return out
	}

	t.Run("hub down, no AppSecret: offline policy", func(t *testing.T) {
		for name, url := range map[string]func() (string, string){
			"connection refused": func() (string, string) { return testkit.ClosedURL(t), hub.NewTerminalKey() },
			"503 no AppSecret":   func() (string, string) { return testkit.PlainHub(t, nil, "till-e2e") },
		} {
			h := newHubRig(t)
			h.wx.AddCode(wechattest.Code{Code: e2eUnknown, CardID: e2eCard})
			u, key := url()
			h.url = u
			logs := &lockedBuffer{}
			tl := hubTill(t, h, key, logs)
			out := redeem(tl, e2eUnknown)
			if out.Kind != sync.AcceptedOffline || tl.Engine.Status().Online {
				t.Errorf("%s: %s %s %q, online %v; want accepted offline, offline", name, out.Kind, out.Reason, out.ReasonText, tl.Engine.Status().Online)
			}
			if strings.Contains(logs.String(), key) {
				t.Errorf("%s: the till log holds the terminal key", name)
			}
		}
	})

	t.Run("hub cannot reach WeChat, then refuses the key", func(t *testing.T) {
		h := newHubRig(t)
		h.wx.AddCard(wechattest.Card{CardID: e2eCard, Title: "¥20 off any drink"})
		for _, c := range []string{e2eUnknown, e2eOnlineCode, e2eOnline2} {
			h.wx.AddCode(wechattest.Code{Code: c, CardID: e2eCard})
		}
		key := hub.NewTerminalKey()
		if err := h.store.AddTerminal("till-e2e", key); err != nil {
			t.Fatal(err)
		}
		logs := &lockedBuffer{}
		tl := hubTill(t, h, key, logs)

		// WeChat down for the hub too: the hub answers 502, the till is
		// offline and its policy accepts the code.
		h.wx.SetOutage(true)
		if out := redeem(tl, e2eUnknown); out.Kind != sync.AcceptedOffline {
			t.Fatalf("hub answering 502: %s %s %q; want accepted offline", out.Kind, out.Reason, out.ReasonText)
		}
		if tl.Engine.Status().TerminalKeyRefused {
			t.Fatal("an outage of the hub set TerminalKeyRefused")
		}
		if !strings.Contains(h.logs.String(), "token for terminal failed") {
			t.Fatalf("the hub did not fail the token:\n%s", h.logs.String())
		}
		h.wx.SetOutage(false)
		h.later(time.Minute) // the hub remembers the failure a few seconds

		// HQ revokes this till: a scan is refused for a configuration
		// reason with the fix, not accepted offline, and nothing reaches
		// WeChat.
		if err := h.store.RemoveTerminal("till-e2e"); err != nil {
			t.Fatal(err)
		}
		out := redeem(tl, e2eOnlineCode)
		if out.Kind != sync.Refused || out.Reason != sync.ReasonConfig || out.Reason.Offline() ||
			out.ReasonText != sync.HubRefusedText || strings.Contains(out.ReasonText, "cardtill ") {
			t.Fatalf("revoked key: %s %s %q; want refused, reason config, naming the fix", out.Kind, out.Reason, out.ReasonText)
		}
		if n := h.wx.ConsumeCount(e2eOnlineCode); n != 0 {
			t.Fatalf("WeChat applied %d consumes with the key refused", n)
		}
		if !tl.Engine.Status().TerminalKeyRefused { // the status bar's warning
			t.Fatal("Status().TerminalKeyRefused not set after the hub refused the key")
		}

		// The code accepted offline is drained: it stays queued (nothing was
		// sent), not a conflict.
		if _, err := tl.Engine.DrainOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if st := tl.Engine.Status(); st.QueueDepth != 1 || st.Conflicts != 0 || st.InDoubt != 0 || h.wx.ConsumeCount(e2eUnknown) != 0 {
			t.Fatalf("after a drain with the key refused: %+v, consumes %d; want it still queued", st, h.wx.ConsumeCount(e2eUnknown))
		}

		// HQ adds the till again with the same key: scans go through.
		if err := h.store.AddTerminal("till-e2e", key); err != nil {
			t.Fatal(err)
		}
		if out := redeem(tl, e2eOnline2); out.Kind != sync.Consumed || h.wx.ConsumeCount(e2eOnline2) != 1 {
			t.Fatalf("after the key was added again: %s %s %q", out.Kind, out.Reason, out.ReasonText)
		}
		if tl.Engine.Status().TerminalKeyRefused {
			t.Fatal("Status().TerminalKeyRefused still set after a token was had")
		}
		for name, l := range map[string]string{"hub": h.logs.String(), "till": logs.String()} {
			if strings.Contains(l, key) || strings.Contains(l, e2eHubSecret) {
				t.Errorf("the %s log holds a secret:\n%s", name, l)
			}
		}
	})
}

// TestCodeGetHubTokenErrors: `cardtill code get` with token_source = "hub"
// says what to check by the hub's typed answer: the terminal key when the
// hub refuses it, the hub when it answers without a token, the network to
// the hub when it does not answer. The key never shows.
func TestCodeGetHubTokenErrors(t *testing.T) {
	t.Parallel()
	fresh := tokenFunc(func(context.Context) (string, time.Time, error) { return "tok", time.Now().Add(time.Hour), nil })
	cases := []struct {
		name string
		hub  func() (url, key string)
		want string
	}{
		{"key refused", func() (string, string) { u, _ := testkit.PlainHub(t, fresh, "till-9"); return u, hub.NewTerminalKey() },
			"check: the terminal key: ask HQ to add this till (cardtill hub terminal add till-9)"},
		{"no AppSecret", func() (string, string) { return testkit.PlainHub(t, nil, "till-9") }, "check: the hub (http://127.0.0.1:"},
		{"hub down", func() (string, string) { return testkit.ClosedURL(t), hub.NewTerminalKey() }, "check: the network to the hub: can this PC reach http://127.0.0.1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, key := tc.hub()
			cfg := writeFile(t, "till.toml", fmt.Sprintf("[wechat]\napi_base = %q\ntoken_source = \"hub\"\nhub_url = %q\nterminal_key_file = %q\n[store]\npath = %q\n[terminal]\nid = \"till-9\"\n",
				url, url, writeFile(t, "terminal.key", key), filepath.Join(t.TempDir(), "journal.db")))
			exit, out, errs := runCLI(t, "--config", cfg, "code", "get", "123456789012")
			if exit != exitUsage || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want %q", exit, errs, tc.want)
			}
			if strings.Contains(out+errs, key) {
				t.Errorf("the terminal key shows: %q %q", out, errs)
			}
		})
	}
}

// tokenFunc adapts a function to hub.TokenSource.
type tokenFunc func(context.Context) (string, time.Time, error)

func (f tokenFunc) Token(ctx context.Context) (string, time.Time, error) { return f(ctx) }
