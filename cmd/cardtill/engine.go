package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
)

// till is the journal, the WeChat client and the engine of one till,
// opened from the configuration. `redeem`, `sync`, `run` and `demo` share
// it. Close releases the journal.
type till struct {
	db     *store.DB
	wx     *wechat.Client
	engine *sync.Engine
	// feed is the hub's feed, nil without a hub; its notices reach the
	// screen through feed.onNotices.
	feed *hubFeed
}

// openTill opens the journal named by [store] and builds the engine on it.
func openTill(g *globals, cfg *config.Config, logger *slog.Logger, onStatus func(sync.Status)) (*till, error) {
	wx, feed, err := tillWeChat(g, cfg, logger)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(cfg.Store.Path, store.Options{
		LockTimeout: cfg.Store.LockTimeout.Duration, MaxSize: int64(cfg.Store.MaxSizeMB) << 20,
		Terminal: cfg.Terminal.ID, Logger: logger,
	})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("open journal %s: %w (is 'cardtill run' or another 'cardtill sync' running on this till?)", cfg.Store.Path, err)
		}
		return nil, fmt.Errorf("open journal %s: %w", cfg.Store.Path, err)
	}
	o := engineOptions(cfg, logger, onStatus)
	o.Journal = sync.NewJournal(db, cfg.Terminal.ID)
	o.WeChat = sync.NewWeChat(wx)
	if feed != nil {
		o.Feed = feed
	}
	e, err := sync.New(o)
	if err != nil {
		_ = db.Close()
		return nil, &config.Error{Path: cfg.Path, Key: "sync", Msg: err.Error()}
	}
	return &till{db: db, wx: wx, engine: e, feed: feed}, nil
}

// Close releases the journal.
func (t *till) Close() error { return t.db.Close() }

// tillWeChat builds the WeChat client from [wechat] (newWeChatClient), and
// the hub's feed when a hub is configured.
func tillWeChat(g *globals, cfg *config.Config, logger *slog.Logger) (*wechat.Client, *hubFeed, error) {
	wx, err := config.NewWeChatClient(cfg, g.env, logger)
	if err != nil {
		return nil, nil, err
	}
	var feed *hubFeed
	if cfg.WeChat.HubURL != "" {
		if key, err := cfg.TerminalKey(g.env); err == nil && key != "" {
			feed = &hubFeed{c: hub.NewClient(hub.ClientOptions{URL: cfg.WeChat.HubURL, TerminalKey: key})}
		}
	}
	return wx, feed, nil
}

// engineOptions maps the configuration onto the engine's options. The
// journal, the WeChat client and the feed are added by the caller.
func engineOptions(cfg *config.Config, logger *slog.Logger, onStatus func(sync.Status)) sync.Options {
	return sync.Options{
		Policy: sync.Policy{
			Mode:         cfg.Offline.Mode,
			MaxPerShift:  cfg.Offline.MaxPerShift,
			MaxAge:       cfg.Offline.MaxAge.Duration,
			AllowCards:   cfg.Offline.AllowCards,
			UnknownCodes: cfg.Offline.UnknownCodes,
			CodePattern:  cfg.Offline.CodeRegexp(),
		},
		Terminal:        cfg.Terminal.ID,
		CustomCodeCards: cfg.WeChat.CustomCodeCards,
		OpenShiftOnScan: cfg.Shift.OnScanWithoutShift == "open",
		DefaultCashier:  cfg.Shift.DefaultCashier,
		Timeout:         cfg.WeChat.Timeout.Duration,
		SyncTimeout:     cfg.WeChat.SyncTimeout.Duration,
		QuietPeriod:     cfg.Sync.QuietPeriod.Duration,
		MaxBackoff:      cfg.Sync.MaxBackoff.Duration,
		Interval:        cfg.Sync.Interval.Duration,
		ProbeInterval:   cfg.Sync.ProbeInterval.Duration,
		Concurrency:     cfg.Sync.Concurrency,
		Now:             time.Now,
		Logger:          logger,
		OnStatus:        onStatus,
	}
}

// hubFeed adapts the hub's code-status feed client to the engine's Feed.
// The code-status changes go to the engine (the journal's cache); the
// notices for the manager go to the function set with onNotices (the till
// screen), page by page as they are pulled, and are skipped without one.
type hubFeed struct {
	c       *hub.Client
	notices atomic.Pointer[func([]hub.Notice)]
}

// onNotices sets where the feed's notices go (nil: nowhere).
func (f *hubFeed) onNotices(fn func([]hub.Notice)) {
	if fn == nil {
		f.notices.Store(nil)
		return
	}
	f.notices.Store(&fn)
}

func (f *hubFeed) Changes(ctx context.Context, cursor string) (sync.FeedPage, error) {
	page, err := f.c.Changes(ctx, cursor)
	if err != nil {
		return sync.FeedPage{}, err
	}
	if fn := f.notices.Load(); fn != nil && len(page.Notices) > 0 {
		(*fn)(page.Notices)
	}
	out := sync.FeedPage{Next: page.Next, More: page.More, Changes: make([]sync.CodeChange, 0, len(page.Changes))}
	for _, c := range page.Changes {
		out.Changes = append(out.Changes, sync.CodeChange{Code: c.Code, CardID: c.CardID, Status: c.Status, At: c.At})
	}
	return out, nil
}
