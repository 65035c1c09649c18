package config

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// TestNewWeChatClient builds the client from each token_source and makes a
// real call against the fake WeChat (or a hub on loopback).
func TestNewWeChatClient(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	srv.LoadDemo()
	const termKey = "TERMINAL-KEY-must-not-print"
	hubSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/token" || r.Header.Get("Authorization") != "Bearer "+termKey {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		tok, err := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret}).Token(r.Context())
		if err != nil {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + tok + `","expires_in":7200}`))
	}))
	t.Cleanup(hubSrv.Close)
	static, err := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret}).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	secretFile := writeFile(t, "appsecret", srv.Secret+"\n")
	keyFile := writeFile(t, "terminal.key", termKey)

	cases := []struct {
		name string
		set  func(c *WeChatConfig)
	}{
		{"stable", func(c *WeChatConfig) { c.TokenSource, c.AppID, c.SecretFile = "stable", srv.AppID, secretFile }},
		{"hub", func(c *WeChatConfig) { c.TokenSource, c.HubURL, c.TerminalKeyFile = "hub", hubSrv.URL, keyFile }},
		{"static", func(c *WeChatConfig) { c.TokenSource, c.StaticToken = "static", static }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.WeChat.APIBase = srv.URL
			tc.set(&cfg.WeChat)
			wx, err := NewWeChatClient(cfg, noEnv, nil)
			if err != nil {
				t.Fatal(err)
			}
			info, err := wx.GetCode(context.Background(), "", wechattest.DemoNormal, false)
			if err != nil || info.Status != wechat.StatusNormal || info.CardID != wechattest.DemoCardDrink {
				t.Fatalf("GetCode = %+v, %v", info, err)
			}
		})
	}
	if srv.TotalConsumes() != 0 {
		t.Fatal("a look-up consumed")
	}
}

// TestNewTokenSourceConfigErrors: a missing piece is a Error naming
// the key, never a secret.
func TestNewTokenSourceConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name, key string
		set       func(c *WeChatConfig)
	}{
		{"static empty", "wechat.static_token", func(c *WeChatConfig) { c.TokenSource = "static" }},
		{"hub without url", "wechat.hub_url", func(c *WeChatConfig) { c.TokenSource = "hub" }},
		{"hub without key", "wechat.terminal_key_file", func(c *WeChatConfig) {
			c.TokenSource, c.HubURL, c.TerminalKeyFile = "hub", "https://hub.example.com", filepath.Join(dir, "missing.key")
		}},
		{"stable without appid", "wechat.appid", func(c *WeChatConfig) { c.TokenSource = "stable" }},
		{"stable without secret", "wechat.secret_file", func(c *WeChatConfig) { c.TokenSource, c.AppID = "stable", "wx123" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.Path = "/etc/cardtill/toml"
			tc.set(&cfg.WeChat)
			_, err := NewWeChatClient(cfg, noEnv, nil)
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != tc.key || ce.Path != cfg.Path {
				t.Fatalf("err = %#v (%v), want a Error for %s in %s", err, err, tc.key, cfg.Path)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("message does not name the key: %v", err)
			}
		})
	}
}
