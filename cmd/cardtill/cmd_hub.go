package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/internal/hubrun"
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

// runHub opens what the hub needs (config, log, token source, store) and
// serves (internal/hubrun) until ctx ends.
func runHub(ctx context.Context, g *globals) error {
	cfg, err := g.config()
	if err != nil {
		return err
	}
	if _, err := config.NewPushCodec(cfg); err != nil {
		return err
	}
	if _, err := cfg.HubListenAddr(); err != nil {
		return err
	}
	log, err := g.logger(cfg, true)
	if err != nil {
		return err
	}
	tokens, err := hubrun.TokenSource(cfg, g.env, log)
	if err != nil {
		return err
	}
	st, _, err := openHubStore(ctx, g, false, log)
	if err != nil {
		return err
	}
	err = hubrun.Serve(ctx, cfg, st, tokens, log, g.stderr)
	var le *hubrun.ListenError
	if errors.As(err, &le) {
		return usageError(le.Err)
	}
	return err
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
			from, err := hubrun.ParseSince(since, time.Now())
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
				return hubrun.EventsJSON(g.stdout, evs)
			}
			return hubrun.Events(g.stdout, evs)
		},
	}
	cmd.Flags().StringVar(&since, "since", "24h", "duration back from now (24h) or a time (2026-11-22, RFC 3339)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, with the typed event and its raw XML")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many of the newest events (0 = all)")
	return cmd
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
