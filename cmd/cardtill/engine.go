package main

import (
	"context"
	"log/slog"
	"time"

	"cardtill/hub"
	"cardtill/sync"
)

// engineOptions maps the configuration onto the engine's options. The
// journal, the WeChat client and the feed are added by the caller.
func engineOptions(cfg *Config, logger *slog.Logger, onStatus func(sync.Status)) sync.Options {
	return sync.Options{
		Policy: sync.Policy{
			Mode:         cfg.Offline.Mode,
			MaxPerShift:  cfg.Offline.MaxPerShift,
			MaxAge:       cfg.Offline.MaxAge.Duration,
			AllowCards:   cfg.Offline.AllowCards,
			UnknownCodes: cfg.Offline.UnknownCodes,
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
		Concurrency:     cfg.Sync.Concurrency,
		Now:             time.Now,
		Logger:          logger,
		OnStatus:        onStatus,
	}
}

// hubFeed adapts the hub's code-status feed client to the engine's Feed.
type hubFeed struct{ c *hub.Client }

func (f hubFeed) Changes(ctx context.Context, cursor string) (sync.FeedPage, error) {
	page, err := f.c.Changes(ctx, cursor)
	if err != nil {
		return sync.FeedPage{}, err
	}
	out := sync.FeedPage{Next: page.Next, More: page.More, Changes: make([]sync.CodeChange, 0, len(page.Changes))}
	for _, c := range page.Changes {
		out.Changes = append(out.Changes, sync.CodeChange{Code: c.Code, CardID: c.CardID, Status: c.Status, At: c.At})
	}
	return out, nil
}
