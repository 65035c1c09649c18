package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/wechat"
)

func newHubCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Run the HQ hub: WeChat event push receiver, token service and code-status feed",
		Long: `cardtill hub runs on a server the merchant controls (not on a till). It
receives WeChat's card event pushes at /wechat (enter https://YOUR-HOST/wechat
as the server URL in the WeChat admin console), keeps the access token fresh
for the tills at /v1/token, and serves the code-status feed at
/v1/codes/changes. Tills authenticate with keys from 'cardtill hub terminal add'.

It needs hub.token (the push Token; with hub.encoding_aes_key for safe mode),
hub.appid and the AppSecret (hub.secret_file, or CARDTILL_HUB_SECRET): it
keeps the tills' access token fresh with WeChat's stable_token, so WeChat's
IP whitelist needs only the hub's address. It does not start without them.

With hub.tls_cert and hub.tls_key it serves HTTPS itself. Without them it
serves plain HTTP, meant only for running behind a reverse proxy that
terminates TLS: the hub hands out access tokens and takes terminal keys, which
must not cross a network in the clear (and WeChat pushes only to port 443 for
https, or 80 for http). List that proxy in hub.trusted_proxies so that the
logs name the client (from X-Forwarded-For) instead of the proxy.

The hub keeps its own file (hub.store_path). While it runs, 'cardtill hub
terminal ...' and 'cardtill hub events' reach it through a local admin socket
next to that file (hub.store_path + ".sock", mode 0600); when it is stopped
they open the file directly.

HQ's web dashboard is at /admin/ on the same address (and, with
hub.admin_listen, alone on a second one): the tills, their conflicts
(resolved there with a note) and the days; accounts come from
'cardtill hub admin add NAME'.`,
		Args: exactArgs(0, "no arguments (or a subcommand: events, terminal, tills, shifts, conflicts)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHub(cmd.Context(), g)
		},
	}
	cmd.AddCommand(newHubEventsCmd(g), newHubTerminalCmd(g), newHubMigrateStoreCmd(g), newHubTillsCmd(g), newHubShiftsCmd(g), newHubConflictsCmd(g), newHubAccountCmd(g))
	return cmd
}

// openHubStore opens the hub's store: PostgreSQL at hub.database_url, or
// the bbolt file at hub.store_path. log gets the database's unreachable /
// back lines (nil: discarded).
func openHubStore(ctx context.Context, g *globals, readOnly bool, log *slog.Logger) (hub.Store, *config.Config, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, nil, err
	}
	if cfg.Hub.DatabaseURL != "" {
		st, err := hub.OpenPG(ctx, cfg.Hub.DatabaseURL, hub.PGOptions{TimestampWindow: cfg.Hub.TimestampWindow.Duration, Logger: log})
		if errors.Is(err, hub.ErrBadDatabaseURL) {
			return nil, nil, &config.Error{Path: cfg.Path, Key: "hub.database_url", Msg: err.Error()}
		}
		if err != nil {
			return nil, nil, usageError(fmt.Errorf("hub.database_url: %w", err))
		}
		g.onClose(func() { _ = st.Close() })
		return st, cfg, nil
	}
	if cfg.Hub.StorePath == "" {
		return nil, nil, &config.Error{Path: cfg.Path, Key: "hub.store_path", Msg: "not set: name the hub's file, e.g. /var/lib/cardtill/hub.db"}
	}
	st, err := hub.OpenStore(cfg.Hub.StorePath, hub.StoreOptions{LockTimeout: cfg.Store.LockTimeout.Duration, ReadOnly: readOnly, TimestampWindow: cfg.Hub.TimestampWindow.Duration})
	if err != nil {
		return nil, nil, usageError(err)
	}
	g.onClose(func() { _ = st.Close() })
	return st, cfg, nil
}

func runHub(ctx context.Context, g *globals) error {
	cfg, err := g.config()
	if err != nil {
		return err
	}
	push, err := config.NewPushCodec(cfg)
	if err != nil {
		return err
	}
	listen, err := cfg.HubListenAddr()
	if err != nil {
		return err
	}
	log, err := g.logger(cfg, true)
	if err != nil {
		return err
	}
	tokens, err := hubTokenSource(cfg, g, log)
	if err != nil {
		return err
	}
	st, _, err := openHubStore(ctx, g, false, log)
	if err != nil {
		return err
	}
	adminAddr, err := cfg.HubAdminListenAddr()
	if err != nil {
		return err
	}
	dash, err := newHubDashboard(cfg, st, log)
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
		return usageError(err)
	}
	defer os.Remove(sock)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		_ = adminLn.Close()
		return usageError(fmt.Errorf("hub.listen %q: %w: pick a free address", listen, err))
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
			return usageError(fmt.Errorf("hub.admin_listen %q: %w: pick a free address", adminAddr, err))
		}
		fmt.Fprintf(g.stderr, "cardtill hub: web dashboard also on %s%s\n", dln.Addr(), hub.PathDashboard)
		go func() { dashDone <- srv.ServeDashboard(ctx, dln, cfg.Hub.TLSCert, cfg.Hub.TLSKey) }()
	}
	warmed := make(chan struct{})
	go func() { defer close(warmed); warmTokens(ctx, tokens, log) }()
	defer func() { <-warmed }()
	scheme := "https"
	switch {
	case cfg.Hub.TLSCert == "" && cfg.Hub.BehindProxy:
		scheme = fmt.Sprintf("plain http behind a reverse proxy (hub.behind_proxy; trusted proxies %v): it must terminate TLS, tokens and terminal keys cross this network in the clear", cfg.Hub.TrustedProxies)
		log.Warn("plain HTTP beyond loopback (hub.behind_proxy = true): only the reverse proxy in front may reach this port", "listen", ln.Addr().String())
	case cfg.Hub.TLSCert == "":
		scheme = "http on loopback (plain: put a TLS reverse proxy on this machine in front)"
	}
	fmt.Fprintf(g.stderr, "cardtill hub listening on %s, %s; push URL path %s\n", ln.Addr(), scheme, hub.PathPush)
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

// hubAdmin is what the events and terminal commands need: the hub's file
// (hub.Store) when the hub is stopped, or the running hub through its
// admin socket (*hub.AdminClient).
type hubAdmin interface {
	Events(since time.Time, limit int) ([]hub.EventRecord, error)
	Terminals() ([]hub.Terminal, error)
	AddTerminal(name, key string) error
	RemoveTerminal(name string) error
}

func openHubAdmin(ctx context.Context, g *globals, readOnly bool) (hubAdmin, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, err
	}
	if cfg.Hub.DatabaseURL != "" { // no file to hold: straight to the database
		st, _, err := openHubStore(ctx, g, readOnly, nil)
		return st, err
	}
	sock := hub.AdminSocketPath(cfg.Hub.StorePath)
	if _, err := os.Stat(sock); err == nil {
		if c, err := hub.DialAdmin(ctx, sock); err == nil {
			g.onClose(func() { _ = c.Close() })
			return c, nil
		}
	}
	st, _, err := openHubStore(ctx, g, readOnly, nil)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func newHubEventsCmd(g *globals) *cobra.Command {
	var since string
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List the WeChat events the hub received (managers' notices marked)",
		Long: `List the events the hub received, oldest first. --since takes a duration
back from now ("24h", "30m") or a time ("2026-11-22", "2026-11-22T10:00:00+08:00").
Notices for store managers (card_sku_remind, card_pass_check,
card_not_pass_check, update_member_card, card_pay_order) are marked NOTICE.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return usageError(err)
			}
			st, err := openHubAdmin(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			evs, err := st.Events(from, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return printEventsJSON(g, evs)
			}
			return printEvents(g, evs)
		},
	}
	cmd.Flags().StringVar(&since, "since", "24h", "duration back from now (24h) or a time (2026-11-22, RFC 3339)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, with the typed event and its raw XML")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many of the newest events (0 = all)")
	return cmd
}

// parseSince reads --since: a duration back from now, or a date/time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %q: use a positive duration such as 24h", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: write a duration (24h, 30m) or a time (2026-11-22, 2026-11-22T10:00:00+08:00)", s)
}

func printEvents(g *globals, evs []hub.EventRecord) error {
	if len(evs) == 0 {
		fmt.Fprintln(g.stdout, "no events in that period")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVED\tMODE\tEVENT\tCARD\tCODE\tNOTICE\tDETAIL")
	for _, r := range evs {
		ev, err := r.Parsed()
		card, code, detail := "", "", ""
		if err != nil {
			detail = "unreadable: " + err.Error()
		} else {
			h := ev.Head()
			card, code, detail = h.CardID, h.UserCardCode, eventDetail(ev)
		}
		name, mark := r.Event, ""
		if name == "" {
			name = "(message)"
		}
		if r.Notice {
			mark = "NOTICE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Received.Local().Format("2006-01-02 15:04:05"), r.Mode, name, card, code, mark, detail)
	}
	return tw.Flush()
}

// eventDetail is the one-line gist of an event for the listing.
func eventDetail(ev wechat.Event) string {
	switch e := ev.(type) {
	case *wechat.CardSkuRemind:
		return e.Detail
	case *wechat.CardNotPassCheck:
		return "refused: " + e.RefuseReason
	case *wechat.CardPassCheck:
		return "passed review"
	case *wechat.UpdateMemberCard:
		return fmt.Sprintf("bonus %+d, balance %+d", e.ModifyBonus, e.ModifyBalance)
	case *wechat.CardPayOrder:
		return fmt.Sprintf("order %s %s (%s) %s", e.OrderID, e.Status, e.OrderType, e.Memo)
	case *wechat.UserGetCard:
		if e.OldUserCardCode != "" {
			return "gift received, replaces code " + e.OldUserCardCode
		}
	case *wechat.UserGiftingCard:
		return "being given to a friend"
	case *wechat.UserConsumeCard:
		return "consumed via " + e.ConsumeSource
	case *wechat.UserPayFromPayCell:
		return fmt.Sprintf("paid %d of %d fen", e.Fee, e.OriginalFee)
	}
	if u := ev.Head().Unknown; len(u) > 0 {
		keys := make([]string, 0, len(u))
		for k := range u {
			keys = append(keys, k)
		}
		return "other fields: " + strings.Join(keys, ",")
	}
	return ""
}

func printEventsJSON(g *globals, evs []hub.EventRecord) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetEscapeHTML(false) // raw XML stays readable
	for _, r := range evs {
		ev, err := r.Parsed()
		line := struct {
			hub.EventRecord
			Record wechat.Event `json:"record,omitempty"`
			Error  string       `json:"error,omitempty"`
		}{EventRecord: r, Record: ev}
		if err != nil {
			line.Error = err.Error()
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

func newHubTerminalCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "terminal",
		Short: "Manage the keys tills use to reach the hub",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "add NAME",
		Short: "Issue a key for a till; it is printed once and only its hash is kept",
		Args:  exactArgs(1, "the terminal's NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openHubAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			key := hub.NewTerminalKey()
			if err := st.AddTerminal(args[0], key); err != nil {
				return usageError(err)
			}
			fmt.Fprintf(g.stdout, "%s\n", key)
			fmt.Fprintf(g.stderr, "terminal %q added. The key above is shown only now: put it in the till's\nwechat.terminal_key_file (mode 0640, group cardtill) and set wechat.token_source = \"hub\".\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "remove NAME",
		Short: "Revoke a till's key at once",
		Args:  exactArgs(1, "the terminal's NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openHubAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			if err := st.RemoveTerminal(args[0]); err != nil {
				if errors.Is(err, hub.ErrNoTerminal) {
					return withExit(exitFailure, err)
				}
				return err
			}
			fmt.Fprintf(g.stdout, "terminal %q removed: its key no longer works\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the terminals (never their keys)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openHubAdmin(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			ts, err := st.Terminals()
			if err != nil {
				return err
			}
			if len(ts) == 0 {
				fmt.Fprintln(g.stdout, "no terminals: add one with 'cardtill hub terminal add NAME'")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADDED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Created.Local().Format("2006-01-02 15:04:05"))
			}
			return tw.Flush()
		},
	})
	return cmd
}

// hubTokenSource is the token service's source: WeChat's stable_token
// (newStableTokenSource, as a till with token_source = "stable") with the
// hub's appid, AppSecret (hub.secret_file or CARDTILL_HUB_SECRET) and
// api_base. A hub without them cannot serve /v1/token, which is what it is
// for, so a missing one is a configuration error naming the key.
func hubTokenSource(cfg *config.Config, g *globals, log *slog.Logger) (hub.TokenSource, error) {
	h := cfg.Hub
	if h.AppID == "" {
		return nil, &config.Error{Path: cfg.Path, Key: "hub.appid", Msg: "not set: the token service asks WeChat for the tills' access token with the AppID (WeChat admin console, Development > Basic configuration)"}
	}
	if !strings.HasPrefix(h.APIBase, "https://") && !strings.HasPrefix(h.APIBase, "http://") {
		return nil, &config.Error{Path: cfg.Path, Key: "hub.api_base", Msg: fmt.Sprintf("%q must be an http(s) URL such as https://api.weixin.qq.com", h.APIBase)}
	}
	secret, err := cfg.HubSecret(g.env)
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

// warmTokens fetches the first token at start so that a wrong AppSecret,
// an IP missing from WeChat's whitelist or an unreachable WeChat shows in
// the log at once rather than at a till's first request. The hub keeps
// running either way (pushes do not need a token); the token never reaches
// the log.
func warmTokens(ctx context.Context, tokens hub.TokenSource, log *slog.Logger) {
	_, exp, err := tokens.Token(ctx)
	switch {
	case err == nil:
		log.Info("token service ready", "expires_in", time.Until(exp).Round(time.Second).String())
	case ctx.Err() == nil: // not merely stopped before WeChat answered
		log.Error("token service: no access token from WeChat yet; tills asking for one get 502 until it works", "err", err)
	}
}

func newHubMigrateStoreCmd(g *globals) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "migrate-store --to postgres://...",
		Short: "Copy this hub's bbolt file into PostgreSQL, to run several hubs on it",
		Long: `Copies everything in hub.store_path (events, the code-status feed, terminal
keys, recent push nonces, dashboard accounts, the tills' fleet reports) into
the PostgreSQL database at --to, in one transaction, and checks it there before committing. Event numbers and feed
positions are kept, so the tills' feed cursors stay valid. Run it with the hub
stopped; it is idempotent (run again, it copies only what is missing) and
refuses, changing nothing, a database holding other hub data. Then set
hub.database_url to the same URL and start the hub(s).`,
		Args: exactArgs(0, "no arguments: --to names the database"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageError(errors.New("--to postgres://USER:PASSWORD@HOST:5432/DATABASE is required"))
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			if cfg.Hub.StorePath == "" {
				return &config.Error{Path: cfg.Path, Key: "hub.store_path", Msg: "not set: name the hub file to copy"}
			}
			src, err := hub.OpenStore(cfg.Hub.StorePath, hub.StoreOptions{ReadOnly: true, LockTimeout: cfg.Store.LockTimeout.Duration})
			if err != nil {
				return usageError(fmt.Errorf("%w (stop the hub before moving its store)", err))
			}
			defer src.Close()
			dst, err := hub.OpenPG(cmd.Context(), to, hub.PGOptions{})
			if errors.Is(err, hub.ErrBadDatabaseURL) {
				return usageError(fmt.Errorf("--to: %w", err))
			}
			if err != nil {
				return usageError(err)
			}
			defer dst.Close()
			rep, err := hub.MigrateToPG(src, dst)
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(g.stdout, "copied to %s and checked: %d events (%d new), %d feed items (%d new), %d terminals (%d new), %d dashboard accounts (%d new; they log in again), %d fleet reports (%d new)\n",
				hub.RedactURL(to), rep.Events, rep.NewEvents, rep.Feed, rep.NewFeed, rep.Terminals, rep.NewTerminals, rep.Accounts, rep.NewAccounts, rep.Fleet, rep.NewFleet)
			fmt.Fprintln(g.stdout, "now set hub.database_url to that URL (or CARDTILL_HUB_DATABASE_URL) and start the hub(s)")
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL URL to copy into")
	return cmd
}
