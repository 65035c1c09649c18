package config

import (
	"log/slog"
	"net/http"

	"cardtill/scanner"
	"cardtill/wechat"
)

// This file is the one place where the configuration becomes a WeChat
// client or an access-token source. The till (run, redeem, sync), the
// look-ups (code get|decrypt) and doctor's token check all go through it,
// so they get their token the same way.

// NewTokenSource builds the access-token source [wechat] token_source
// names: a fixed token ("static"), the hub's token service ("hub", with
// this till's terminal key) or WeChat's stable_token ("stable", with the
// AppID and AppSecret). Secrets come from their files or the environment
// (getenv) and never appear in an error. hc may be nil (a default client
// with TLS verification on).
func NewTokenSource(cfg *Config, getenv func(string) string, logger *slog.Logger, hc *http.Client) (wechat.TokenSource, error) {
	w := cfg.WeChat
	switch w.TokenSource {
	case "static":
		if w.StaticToken == "" {
			return nil, &Error{Path: cfg.Path, Key: "wechat.static_token", Msg: `is empty: set it (or CARDTILL_WECHAT_STATIC_TOKEN), or use token_source = "hub" or "stable"`}
		}
		return wechat.StaticToken(w.StaticToken), nil
	case "hub":
		if w.HubURL == "" {
			return nil, &Error{Path: cfg.Path, Key: "wechat.hub_url", Msg: `is empty but token_source = "hub": set it to your hub, e.g. https://hub.example.com`}
		}
		key, err := cfg.TerminalKey(getenv)
		if err != nil {
			return nil, WithPath(err, cfg.Path)
		}
		return wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: w.HubURL, TerminalKey: key, HTTPClient: hc, Logger: logger}), nil
	default: // "stable" (Validate allows nothing else)
		if w.AppID == "" {
			return nil, &Error{Path: cfg.Path, Key: "wechat.appid", Msg: `is empty but token_source = "stable": set wechat.appid and wechat.secret_file, or use token_source = "hub" so this till holds no AppSecret`}
		}
		secret, err := cfg.WeChatSecret(getenv)
		if err != nil {
			return nil, WithPath(err, cfg.Path)
		}
		return NewStableTokenSource(w.APIBase, w.AppID, secret, logger, hc), nil
	}
}

// NewStableTokenSource gets tokens from WeChat's cgi-bin/stable_token
// (force_refresh false, so other holders of the AppID keep theirs). The hub
// uses it with [hub] appid and secret_file; a till with token_source =
// "stable" with [wechat]'s.
func NewStableTokenSource(apiBase, appID, secret string, logger *slog.Logger, hc *http.Client) wechat.ExpiringTokenSource {
	return wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: apiBase, AppID: appID, Secret: secret, HTTPClient: hc, Logger: logger})
}

// NewWeChatClient builds the WeChat API client from [wechat]: api_base, the
// token source, and sync_timeout as the bound of a call whose context has
// none (callers with a cashier waiting set a shorter deadline themselves).
func NewWeChatClient(cfg *Config, getenv func(string) string, logger *slog.Logger) (*wechat.Client, error) {
	tokens, err := NewTokenSource(cfg, getenv, logger, nil)
	if err != nil {
		return nil, err
	}
	wx, err := wechat.New(wechat.Options{BaseURL: cfg.WeChat.APIBase, Tokens: tokens, Timeout: cfg.WeChat.SyncTimeout.Duration, Logger: logger})
	if err != nil {
		return nil, &Error{Path: cfg.Path, Key: "wechat.api_base", Msg: err.Error()}
	}
	return wx, nil
}

// WithPath fills in the config file of a Error from readSecret, which
// knows the key but not the file.
func WithPath(err error, path string) error {
	if ce, ok := err.(*Error); ok && ce.Path == "" {
		cp := *ce
		cp.Path = path
		return &cp
	}
	return err
}

// NewPushCodec builds the hub's codec for WeChat's event push from
// [hub]: token, encoding_aes_key and appid (safe mode), the previous pair
// during a rotation, timestamp_window and require_encryption.
func NewPushCodec(cfg *Config) (*wechat.PushCodec, error) {
	h := cfg.Hub
	if h.Token == "" {
		return nil, &Error{Path: cfg.Path, Key: "hub.token", Msg: "not set: copy the Token of the server configuration in the WeChat admin console, or set CARDTILL_HUB_TOKEN"}
	}
	if h.EncodingAESKey != "" && h.AppID == "" {
		return nil, &Error{Path: cfg.Path, Key: "hub.appid", Msg: "not set: safe mode (encoding_aes_key) checks the AppID inside every push"}
	}
	p, err := wechat.NewPushCodec(wechat.PushConfig{
		Token:                  h.Token,
		EncodingAESKey:         h.EncodingAESKey,
		AppID:                  h.AppID,
		PreviousToken:          h.PreviousToken,
		PreviousEncodingAESKey: h.PreviousEncodingAESKey,
		TimestampWindow:        h.TimestampWindow.Duration,
		RequireEncryption:      h.RequireEncryption && h.EncodingAESKey != "",
	})
	if err != nil {
		return nil, &Error{Path: cfg.Path, Key: "hub", Msg: err.Error()}
	}
	return p, nil
}

// Serial converts the [scanner] section to the scanner package's Config.
func (s ScannerConfig) Serial() scanner.Config {
	return scanner.Config{
		Port:         s.Port,
		Baud:         s.Baud,
		DataBits:     s.DataBits,
		Parity:       s.Parity,
		StopBits:     s.StopBits,
		Terminator:   s.Terminator,
		FrameTimeout: s.FrameTimeout.Duration,
		Prefix:       s.Prefix,
		Suffix:       s.Suffix,
		MaxLength:    s.MaxLength,
	}
}
