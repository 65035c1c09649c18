// Package hubrun owns the hub's process below its flags: the token source
// from [hub] (TokenSource), the servers and the admin socket (Serve), and
// what the hub's commands print of its events and of the tills' reports
// (tables, JSON lines and CSV). Package main keeps the flags and opens the
// config, the log and the store.
package hubrun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"cardtill/hub"
	"cardtill/hub/dashboard"
	"cardtill/internal/config"
	"cardtill/wechat"
)

// ListenError is an address (or the admin socket) the hub could not
// listen on: a problem of the machine or the config, which the command
// line reports as such (exit 2).
type ListenError struct{ Err error }

func (e *ListenError) Error() string { return e.Err.Error() }
func (e *ListenError) Unwrap() error { return e.Err }

// Serve is `cardtill hub` once its config, log, token source and store are
// open: the HTTP server (token service, push receiver, feed, fleet reports,
// the dashboard) on hub.listen, the admin socket beside hub.store_path,
// the dashboard alone on hub.admin_listen when set, until ctx ends. What
// it listens on goes to stderr (the operator's terminal or the service's
// log). It never closes st.
func Serve(ctx context.Context, cfg *config.Config, st hub.Store, tokens hub.TokenSource, log *slog.Logger, stderr io.Writer) error {
	push, err := config.NewPushCodec(cfg)
	if err != nil {
		return err
	}
	listen, err := cfg.HubListenAddr()
	if err != nil {
		return err
	}
	adminAddr, err := cfg.HubAdminListenAddr()
	if err != nil {
		return err
	}
	dash, err := dashboardFor(cfg, st, log)
	if err != nil {
		return err
	}
	hopts := hub.Options{Push: push, Store: st, Tokens: tokens, Logger: log, TrustedProxies: config.Prefixes(cfg.Hub.TrustedProxies)}
	if dash != nil {
		hopts.Dashboard = dash.Handler()
	}
	srv, err := hub.NewServer(hopts)
	if err != nil {
		return err
	}
	sock := hub.AdminSocketPath(cfg.Hub.StorePath)
	adminLn, err := hub.ListenAdmin(sock)
	if err != nil {
		return &ListenError{err}
	}
	defer os.Remove(sock)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		_ = adminLn.Close()
		return &ListenError{fmt.Errorf("hub.listen %q: %w: pick a free address", listen, err)}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	adminDone := make(chan error, 1)
	go func() { adminDone <- srv.ServeAdmin(ctx, adminLn) }()
	dashDone := make(chan error, 1)
	if adminAddr == "" {
		dashDone <- nil
	} else {
		dln, err := net.Listen("tcp", adminAddr)
		if err != nil {
			cancel()
			<-adminDone
			_ = ln.Close()
			return &ListenError{fmt.Errorf("hub.admin_listen %q: %w: pick a free address", adminAddr, err)}
		}
		fmt.Fprintf(stderr, "cardtill hub: web dashboard also on %s%s\n", dln.Addr(), hub.PathDashboard)
		go func() { dashDone <- srv.ServeDashboard(ctx, dln, cfg.Hub.TLSCert, cfg.Hub.TLSKey) }()
	}
	warmed := make(chan struct{})
	go func() { defer close(warmed); WarmTokens(ctx, tokens, log) }()
	defer func() { <-warmed }()
	scheme := "https"
	switch {
	case cfg.Hub.TLSCert == "" && cfg.Hub.BehindProxy:
		scheme = fmt.Sprintf("plain http behind a reverse proxy (hub.behind_proxy; trusted proxies %v): it must terminate TLS, tokens and terminal keys cross this network in the clear", cfg.Hub.TrustedProxies)
		log.Warn("plain HTTP beyond loopback (hub.behind_proxy = true): only the reverse proxy in front may reach this port", "listen", ln.Addr().String())
	case cfg.Hub.TLSCert == "":
		scheme = "http on loopback (plain: put a TLS reverse proxy on this machine in front)"
	}
	fmt.Fprintf(stderr, "cardtill hub listening on %s, %s; push URL path %s\n", ln.Addr(), scheme, hub.PathPush)
	store := cfg.Hub.StorePath
	if cfg.Hub.DatabaseURL != "" {
		store = hub.RedactURL(cfg.Hub.DatabaseURL)
	}
	log.Info("hub started", "listen", ln.Addr().String(), "tls", cfg.Hub.TLSCert != "", "store", store, "appid", cfg.Hub.AppID)
	err = srv.Serve(ctx, ln, cfg.Hub.TLSCert, cfg.Hub.TLSKey)
	cancel()
	if aerr := <-adminDone; aerr != nil && err == nil {
		err = aerr
	}
	if derr := <-dashDone; derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	log.Info("hub stopped")
	return nil
}

// TokenSource is the token service's source: WeChat's stable_token
// (config.NewStableTokenSource, as a till with token_source = "stable") with the
// hub's appid, AppSecret (hub.secret_file or CARDTILL_HUB_SECRET) and
// api_base. A hub without them cannot serve /v1/token, which is what it is
// for, so a missing one is a configuration error naming the key.
func TokenSource(cfg *config.Config, getenv func(string) string, log *slog.Logger) (hub.TokenSource, error) {
	h := cfg.Hub
	if h.AppID == "" {
		return nil, &config.Error{Path: cfg.Path, Key: "hub.appid", Msg: "not set: the token service asks WeChat for the tills' access token with the AppID (WeChat admin console, Development > Basic configuration)"}
	}
	if !strings.HasPrefix(h.APIBase, "https://") && !strings.HasPrefix(h.APIBase, "http://") {
		return nil, &config.Error{Path: cfg.Path, Key: "hub.api_base", Msg: fmt.Sprintf("%q must be an http(s) URL such as https://api.weixin.qq.com", h.APIBase)}
	}
	secret, err := cfg.HubSecret(getenv)
	if err != nil {
		return nil, config.WithPath(err, cfg.Path)
	}
	return expiringTokens{config.NewStableTokenSource(h.APIBase, h.AppID, secret, log, nil)}, nil
}

// expiringTokens adapts wechat's token source to hub.TokenSource.
type expiringTokens struct{ src wechat.ExpiringTokenSource }

func (e expiringTokens) Token(ctx context.Context) (string, time.Time, error) {
	return e.src.TokenExpiry(ctx)
}

// Invalidate drops bad when a till reports WeChat refused it
// (hub.TokenInvalidator), so the next till asking gets a fresh one.
func (e expiringTokens) Invalidate(bad string) { e.src.Invalidate(bad) }

// WarmTokens fetches the first token at start so that a wrong AppSecret,
// an IP missing from WeChat's whitelist or an unreachable WeChat shows in
// the log at once rather than at a till's first request. The hub keeps
// running either way (pushes do not need a token); the token never reaches
// the log.
func WarmTokens(ctx context.Context, tokens hub.TokenSource, log *slog.Logger) {
	_, exp, err := tokens.Token(ctx)
	switch {
	case err == nil:
		log.Info("token service ready", "expires_in", time.Until(exp).Round(time.Second).String())
	case ctx.Err() == nil: // not merely stopped before WeChat answered
		log.Error("token service: no access token from WeChat yet; tills asking for one get 502 until it works", "err", err)
	}
}

// dashboardFor builds the web dashboard over the hub's store (nil when
// the store keeps no accounts).
func dashboardFor(cfg *config.Config, st hub.Store, log *slog.Logger) (*dashboard.Dashboard, error) {
	acc, ok := st.(hub.AccountStore)
	if !ok {
		return nil, nil
	}
	o := dashboard.Options{Accounts: acc, Terminals: st, Logger: log, Secure: cfg.Hub.TLSCert != "" || cfg.Hub.BehindProxy}
	if f, ok := st.(dashboard.FleetReader); ok {
		o.Fleet = f
	}
	return dashboard.New(o)
}
