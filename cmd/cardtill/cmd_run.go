package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"cardtill/hub"
	"cardtill/report"
	"cardtill/scanner"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/tui"
	"cardtill/wechat"
)

// newRunCmd is `cardtill run`: the till screen on the real configuration.
// Logs go to the [log] file, never to the screen.
func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the till screen (scanner from [scanner], else keyboard only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			logger, err := g.logger(cfg, false)
			if err != nil {
				return err
			}
			return runTill(cmd.Context(), g, cfg, logger)
		},
	}
}

func runTill(ctx context.Context, g *globals, cfg *Config, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	db, err := store.Open(cfg.Store.Path, store.Options{LockTimeout: cfg.Store.LockTimeout.Duration,
		MaxSize: int64(cfg.Store.MaxSizeMB) << 20, Terminal: cfg.Terminal.ID, Logger: logger})
	if err != nil {
		return fmt.Errorf("opening the journal %s: %w", cfg.Store.Path, err)
	}
	defer db.Close()

	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	tokens, err := tillTokens(g, cfg, hc, logger)
	if err != nil {
		return err
	}
	client, err := wechat.New(wechat.Options{BaseURL: cfg.WeChat.APIBase, Tokens: tokens, HTTPClient: hc, Logger: logger})
	if err != nil {
		return err
	}
	statusC := make(chan sync.Status, 1)
	o := engineOptions(cfg, logger, func(s sync.Status) {
		select { // latest wins; never block the engine
		case <-statusC:
		default:
		}
		select {
		case statusC <- s:
		default:
		}
	})
	o.Journal, o.WeChat = sync.NewJournal(db, cfg.Terminal.ID), sync.NewWeChat(client)
	if cfg.WeChat.HubURL != "" {
		if key, err := cfg.TerminalKey(g.env); err == nil {
			o.Feed = hubFeed{hub.NewClient(hub.ClientOptions{URL: cfg.WeChat.HubURL, TerminalKey: key})}
		}
	}
	e, err := sync.New(o)
	if err != nil {
		return err
	}
	if err := e.Recover(ctx); err != nil {
		logger.Warn("recovering in-flight redemptions", "err", err)
	}
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		_ = e.Run(ctx)
	}()
	defer func() { cancel(); <-engineDone }()

	terminal := cfg.Terminal.ID
	if cfg.Terminal.StoreName != "" {
		terminal = cfg.Terminal.StoreName + " / " + terminal
	}
	to := tui.Options{
		Engine: e, Shifts: storeShifts{db: db, terminal: cfg.Terminal.ID}, Lang: cfg.UI.Lang,
		Confirm: cfg.UI.Confirm, Bell: cfg.UI.Bell, Recent: cfg.UI.Recent, Terminal: terminal,
		Cashier: cfg.Shift.DefaultCashier, StatusC: statusC, NoColor: tui.NoColor(),
		ShiftReport: func(id uint64, lang string, width int) (string, error) {
			r, err := report.Build(db, id, report.BuildOptions{})
			if err != nil {
				return "", err
			}
			w := min(width, 60)
			return report.Text(r, report.Options{Lang: lang, Width: w}) + "\n" + report.Bars(r, w), nil
		},
	}
	if sc := cfg.Scanner.toScanner(); sc.Port != "" {
		r, err := scanner.Open(ctx, sc, scanner.Options{WaitForPort: true, Logger: logger})
		if err != nil {
			return err
		}
		defer r.Close()
		to.ScannerPort, to.Events = sc.Port, r.Events()
	}
	_, err = tea.NewProgram(tui.New(to), tea.WithAltScreen(), tea.WithInput(g.stdin), tea.WithOutput(g.stdout), tea.WithContext(ctx)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// tillTokens is the token source [wechat] token_source names.
func tillTokens(g *globals, cfg *Config, hc *http.Client, logger *slog.Logger) (wechat.TokenSource, error) {
	switch cfg.WeChat.TokenSource {
	case "static":
		return wechat.StaticToken(cfg.WeChat.StaticToken), nil
	case "hub":
		key, err := cfg.TerminalKey(g.env)
		if err != nil {
			return nil, err
		}
		return wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: cfg.WeChat.HubURL, TerminalKey: key, HTTPClient: hc, Logger: logger}), nil
	default:
		secret, err := cfg.WeChatSecret(g.env)
		if err != nil {
			return nil, err
		}
		return wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: cfg.WeChat.APIBase, AppID: cfg.WeChat.AppID, Secret: secret, HTTPClient: hc, Logger: logger}), nil
	}
}

// storeShifts lets the till screen open and close this terminal's shifts.
type storeShifts struct {
	db       *store.DB
	terminal string
}

func (s storeShifts) CurrentShift() (uint64, string, bool, error) {
	sh, ok, err := s.db.CurrentShift(s.terminal)
	return sh.ID, sh.Cashier, ok, err
}

func (s storeShifts) OpenShift(cashier string, _ time.Time) (uint64, error) {
	sh, err := s.db.OpenShift(s.terminal, cashier)
	return sh.ID, err
}

func (s storeShifts) CloseShift(id uint64, _ time.Time) error {
	_, err := s.db.CloseShift(id)
	return err
}
