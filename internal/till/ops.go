package till

import (
	"context"
	"log/slog"
	stdsync "sync"
	"sync/atomic"
	"time"

	"cardtill/internal/control"
	"cardtill/internal/doctor"

	"cardtill/internal/config"
	"cardtill/store"
	"cardtill/sync"
)

// The process that holds the journal (`cardtill run`, `cardtill sync`)
// also operates it: it prunes finished redemptions past [store]
// retain_days, answers `db backup` and `db check` on the control socket,
// and tells the status bar how full the journal is.

// retainEvery is how often the retention runs after the one at start.
const retainEvery = 24 * time.Hour

// StartOps starts the retention and the control socket on the open
// journal db. stop ends both and removes the socket. Neither can stop the
// till: a failure is logged.
func StartOps(ctx context.Context, db *store.DB, cfg *config.Config, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg stdsync.WaitGroup
	tk := time.NewTicker(retainEvery)
	r := retention{db: db, days: cfg.Store.RetainDays, usedCodeDays: cfg.Store.UsedCodeDays, now: time.Now,
		report: logRetention(logger), forgot: logForgotten(logger)}
	wg.Go(func() { r.run(ctx, tk.C) })

	sock := control.SocketPath(db.Path())
	if ln, err := control.Listen(sock); err != nil {
		logger.Warn("hot backup and check are unavailable while this till runs", "err", err)
		sock = ""
	} else {
		srv := control.NewServer(db, logger)
		wg.Go(func() {
			if err := srv.Serve(ctx, ln); err != nil && ctx.Err() == nil {
				logger.Warn("control socket stopped", "err", err)
			}
			_ = ln.Close()
		})
	}
	if fn, ok := ctx.Value(opsStartedKey{}).(func(string)); ok {
		fn(sock)
	}
	return func() {
		cancel()
		tk.Stop()
		wg.Wait()
	}
}

type opsStartedKey struct{}

// WithOpsStarted returns a context under which StartOps calls fn once the
// till's operations have started, with where its control socket listens
// ("" when it does not): how a test of `cardtill run` or `sync` learns the
// socket is served without polling for it (as httptrace hooks a request).
func WithOpsStarted(ctx context.Context, fn func(sock string)) context.Context {
	return context.WithValue(ctx, opsStartedKey{}, fn)
}

// retention prunes finished redemptions older than days, and forgets the
// codes used here before usedCodeDays (their tombstones): once at start,
// then at every tick. The store never prunes unfinished work, conflicts,
// shifts or counters. Both cost what they delete (nothing due, nothing
// read), so the one at start does not grow with the journal.
type retention struct {
	db           *store.DB
	days         int
	usedCodeDays int // 0: as days
	now          func() time.Time
	report       func(cutoff time.Time, n int, err error)
	forgot       func(cutoff time.Time, n int, err error) // nil: not told
}

func (r retention) run(ctx context.Context, tick <-chan time.Time) {
	for {
		cutoff := r.now().AddDate(0, 0, -r.days)
		n, err := r.db.PruneContext(ctx, cutoff)
		if ctx.Err() != nil {
			return // shutting down: the rest waits for the next start
		}
		r.report(cutoff, n, err)
		if err == nil {
			days := max(r.usedCodeDays, r.days)
			codeCutoff := r.now().AddDate(0, 0, -days)
			if n, err := r.db.ForgetUsedCodes(ctx, codeCutoff); ctx.Err() != nil {
				return
			} else if r.forgot != nil {
				r.forgot(codeCutoff, n, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

func logRetention(logger *slog.Logger) func(time.Time, int, error) {
	return func(cutoff time.Time, n int, err error) {
		switch {
		case err != nil:
			logger.Warn("pruning finished redemptions failed; the journal keeps them", "before", cutoff, "err", err)
		case n > 0:
			logger.Info("pruned finished redemptions ([store] retain_days)", "before", cutoff, "count", n)
		}
	}
}

func logForgotten(logger *slog.Logger) func(time.Time, int, error) {
	return func(cutoff time.Time, n int, err error) {
		switch {
		case err != nil:
			logger.Warn("forgetting codes used long ago failed; they stay refused as used here", "before", cutoff, "err", err)
		case n > 0:
			logger.Info("forgot codes used here ([store] used_code_days)", "before", cutoff, "count", n)
		}
	}
}

// Gauge adds the journal's fullness to the engine's status. It is set
// once the journal is open; before that it leaves the status alone.
type Gauge struct{ db atomic.Pointer[store.DB] }

// Set names the open journal.
func (g *Gauge) Set(db *store.DB) { g.db.Store(db) }

// Fill adds the journal's use of store.max_size_mb to s.
func (g *Gauge) Fill(s sync.Status) sync.Status {
	db := g.db.Load()
	if db == nil {
		return s
	}
	size, max, err := db.Size()
	if err != nil || max <= 0 {
		return s
	}
	s.JournalUse = float64(size) / float64(max)
	s.JournalNearlyFull = s.JournalUse >= doctor.JournalWarnFraction
	return s
}

// GaugedEngine is the engine as the till screen sees it: its Status
// carries the journal's fullness.
type GaugedEngine struct {
	*sync.Engine
	Gauge *Gauge
}

// Status is the engine's, with the journal's fullness.
func (e GaugedEngine) Status() sync.Status { return e.Gauge.Fill(e.Engine.Status()) }
