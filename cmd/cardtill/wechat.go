package main

import (
	"log/slog"
	"net/http"

	"cardtill/internal/config"
	"cardtill/wechat"
)

// This file is the one place where the configuration becomes a WeChat
// client or an access-token source. The till (run, redeem, sync), the
// look-ups (code get|decrypt) and doctor's token check all go through it,
// so they get their token the same way.

// newTokenSource builds the access-token source [wechat] token_source
// names: a fixed token ("static"), the hub's token service ("hub", with
// this till's terminal key) or WeChat's stable_token ("stable", with the
// AppID and AppSecret). Secrets come from their files or the environment
// (getenv) and never appear in an error. hc may be nil (a default client
// with TLS verification on).
func newTokenSource(cfg *config.Config, getenv func(string) string, logger *slog.Logger, hc *http.Client) (wechat.TokenSource, error) {
	w := cfg.WeChat
	switch w.TokenSource {
	case "static":
		if w.StaticToken == "" {
			return nil, &config.Error{Path: cfg.Path, Key: "wechat.static_token", Msg: `is empty: set it (or CARDTILL_WECHAT_STATIC_TOKEN), or use token_source = "hub" or "stable"`}
		}
		return wechat.StaticToken(w.StaticToken), nil
	case "hub":
		if w.HubURL == "" {
			return nil, &config.Error{Path: cfg.Path, Key: "wechat.hub_url", Msg: `is empty but token_source = "hub": set it to your hub, e.g. https://hub.example.com`}
		}
		key, err := cfg.TerminalKey(getenv)
		if err != nil {
			return nil, withPath(err, cfg.Path)
		}
		return wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: w.HubURL, TerminalKey: key, HTTPClient: hc, Logger: logger}), nil
	default: // "stable" (Validate allows nothing else)
		if w.AppID == "" {
			return nil, &config.Error{Path: cfg.Path, Key: "wechat.appid", Msg: `is empty but token_source = "stable": set wechat.appid and wechat.secret_file, or use token_source = "hub" so this till holds no AppSecret`}
		}
		secret, err := cfg.WeChatSecret(getenv)
		if err != nil {
			return nil, withPath(err, cfg.Path)
		}
		return newStableTokenSource(w.APIBase, w.AppID, secret, logger, hc), nil
	}
}

// newStableTokenSource gets tokens from WeChat's cgi-bin/stable_token
// (force_refresh false, so other holders of the AppID keep theirs). The hub
// uses it with [hub] appid and secret_file; a till with token_source =
// "stable" with [wechat]'s.
func newStableTokenSource(apiBase, appID, secret string, logger *slog.Logger, hc *http.Client) wechat.ExpiringTokenSource {
	return wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: apiBase, AppID: appID, Secret: secret, HTTPClient: hc, Logger: logger})
}

// newWeChatClient builds the WeChat API client from [wechat]: api_base, the
// token source, and sync_timeout as the bound of a call whose context has
// none (callers with a cashier waiting set a shorter deadline themselves).
func newWeChatClient(cfg *config.Config, getenv func(string) string, logger *slog.Logger) (*wechat.Client, error) {
	tokens, err := newTokenSource(cfg, getenv, logger, nil)
	if err != nil {
		return nil, err
	}
	wx, err := wechat.New(wechat.Options{BaseURL: cfg.WeChat.APIBase, Tokens: tokens, Timeout: cfg.WeChat.SyncTimeout.Duration, Logger: logger})
	if err != nil {
		return nil, &config.Error{Path: cfg.Path, Key: "wechat.api_base", Msg: err.Error()}
	}
	return wx, nil
}

// withPath fills in the config file of a config.Error from readSecret, which
// knows the key but not the file.
func withPath(err error, path string) error {
	if ce, ok := err.(*config.Error); ok && ce.Path == "" {
		cp := *ce
		cp.Path = path
		return &cp
	}
	return err
}
