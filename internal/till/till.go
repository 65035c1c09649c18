// Package till owns a till's process below its command line: the journal,
// WeChat client and engine opened from the config (Open), what the process
// that holds the journal also runs (retention and the control socket,
// StartOps; the reports to the hub, StartFleet), the till screen's view of
// the journal (backlog, conflicts, reports, printing, the hub's notices,
// the manager's override) and the screen itself (Run). Package main keeps
// the commands' flags.
package till

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

// Till is the journal, the WeChat client and the engine of one till,
// opened from the configuration. `redeem`, `sync`, `run` and `demo` share
// it. Close releases the journal.
type Till struct {
	DB     *store.DB
	WeChat *wechat.Client
	Engine *sync.Engine
	// feed is the hub's feed, nil without a hub; its notices reach the
	// screen through feed.OnNotices (KeepNotices).
	feed *HubFeed
}

// Open opens the journal named by [store] and builds the engine on it,
// with the WeChat client and, with a hub, its feed. getenv reads the
// environment (secrets may come from it); onStatus may be nil.
func Open(cfg *config.Config, getenv func(string) string, logger *slog.Logger, onStatus func(sync.Status)) (*Till, error) {
	wx, feed, err := tillWeChat(cfg, getenv, logger)
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
	o := EngineOptions(cfg, logger, onStatus)
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
	return &Till{DB: db, WeChat: wx, Engine: e, feed: feed}, nil
}

// HasHub says whether the till has a hub to pull the feed from and
// report to.
func (t *Till) HasHub() bool { return t.feed != nil }

// OnNotices sets where the hub's notices go as the feed brings them (nil:
// nowhere); without a hub it does nothing.
func (t *Till) OnNotices(fn func([]hub.Notice)) {
	if t.feed != nil {
		t.feed.OnNotices(fn)
	}
}

// KeepNotices keeps the hub's notices for the manager in the journal, for
// the till screen, as the feed brings them (`cardtill sync` with a hub).
func (t *Till) KeepNotices(logger *slog.Logger) {
	t.OnNotices(NewNoticeRelay(t.DB, logger).Deliver)
}

// Close releases the journal.
func (t *Till) Close() error { return t.DB.Close() }

// tillWeChat builds the WeChat client from [wechat] (config.NewWeChatClient), and
// the hub's feed when a hub is configured.
func tillWeChat(cfg *config.Config, getenv func(string) string, logger *slog.Logger) (*wechat.Client, *HubFeed, error) {
	wx, err := config.NewWeChatClient(cfg, getenv, logger)
	if err != nil {
		return nil, nil, err
	}
	var feed *HubFeed
	if cfg.WeChat.HubURL != "" {
		if key, err := cfg.TerminalKey(getenv); err == nil && key != "" {
			feed = &HubFeed{c: hub.NewClient(hub.ClientOptions{URL: cfg.WeChat.HubURL, TerminalKey: key})}
		}
	}
	return wx, feed, nil
}

// EngineOptions maps the configuration onto the engine's options. The
// journal, the WeChat client and the feed are added by the caller.
func EngineOptions(cfg *config.Config, logger *slog.Logger, onStatus func(sync.Status)) sync.Options {
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

// HubFeed adapts the hub's code-status feed client to the engine's Feed.
// The code-status changes go to the engine (the journal's cache); the
// notices for the manager go to the function set with onNotices (the till
// screen), page by page as they are pulled, and are skipped without one.
type HubFeed struct {
	c       *hub.Client
	notices atomic.Pointer[func([]hub.Notice)]
}

// OnNotices sets where the feed's notices go (nil: nowhere).
func (f *HubFeed) OnNotices(fn func([]hub.Notice)) {
	if fn == nil {
		f.notices.Store(nil)
		return
	}
	f.notices.Store(&fn)
}

func (f *HubFeed) Changes(ctx context.Context, cursor string) (sync.FeedPage, error) {
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
