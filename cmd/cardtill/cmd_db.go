package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cardtill/internal/control"

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/store"
)

// newDbCmd is `cardtill db`: check, back up and compact the journal.
func newDbCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "db",
		Short: "Check, back up or compact the journal ([store] path)",
	}
	c.AddCommand(newDbCheckCmd(g), newDbBackupCmd(g), newDbCompactCmd(g))
	return c
}

// storeOptions maps [store] onto the journal's options.
func storeOptions(cfg *config.Config) store.Options {
	return store.Options{
		LockTimeout: cfg.Store.LockTimeout.Duration,
		MaxSize:     int64(cfg.Store.MaxSizeMB) << 20,
		Terminal:    cfg.Terminal.ID,
	}
}

// openJournal opens the configured journal; the file must already exist.
func openJournal(g *globals, readOnly bool) (*store.DB, *config.Config, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(cfg.Store.Path); err != nil {
		return nil, nil, usageError(fmt.Errorf("journal %s: %w (check [store] path in %s)", cfg.Store.Path, err, cfg.Path))
	}
	o := storeOptions(cfg)
	o.ReadOnly = readOnly
	db, err := store.Open(cfg.Store.Path, o)
	if err != nil {
		return nil, nil, usageError(err)
	}
	return db, cfg, nil
}

func newDbCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify the journal: bbolt consistency, indexes and per-shift counters against a recount",
		Long: `check verifies bbolt's page structure, then recounts every redemption and
compares the indexes (active by code, used codes, outbox, by state, by shift)
and every shift's counters with the recount. Exit code 0: all agree; 2: a
problem, listed.

While 'cardtill run' or 'cardtill sync' holds the journal, the check runs
inside that process, in one read transaction, through its control socket
(<store.path>.sock); the till keeps serving. Otherwise the file is opened
read-only.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			via := ""
			rep, err := withJournal(cmd.Context(), g, cfg,
				func(c *control.Client) (control.JournalReport, error) {
					via = fmt.Sprintf(" (checked inside the running cardtill, pid %d)", c.Peer().PID)
					return c.Check(cmd.Context())
				},
				control.CheckJournal)
			if err != nil {
				return err
			}
			if rep.Problem != "" {
				return usageError(fmt.Errorf("%s: %s\nrestore the last good backup (cardtill db backup makes one) and keep this file for support", cfg.Store.Path, rep.Problem))
			}
			total := 0
			for _, n := range rep.Counts {
				total += n
			}
			fmt.Fprintf(g.stdout, "ok  %s: schema %d, %d redemptions", cfg.Store.Path, rep.Schema, total)
			for _, s := range store.AllStates {
				if rep.Counts[s] > 0 {
					fmt.Fprintf(g.stdout, ", %s %d", s, rep.Counts[s])
				}
			}
			fmt.Fprintf(g.stdout, "; %.1f MB of %d MB%s\n", float64(rep.Size)/(1<<20), rep.Max>>20, via)
			return nil
		},
	}
}

// withJournal runs remote on the cardtill that holds the configured
// journal, through its control socket, or, when none answers, local on
// the journal opened read-only. A journal held by a process that does not
// answer (an older cardtill, or a one-shot command such as redeem or
// compact) is a clear error.
func withJournal[T any](ctx context.Context, g *globals, cfg *config.Config, remote func(*control.Client) (T, error), local func(*store.DB) (T, error)) (T, error) {
	var zero T
	path := cfg.Store.Path
	if _, err := os.Stat(path); err != nil {
		return zero, usageError(fmt.Errorf("journal %s: %w (check [store] path in %s)", path, err, cfg.Path))
	}
	sock := control.SocketPath(path)
	c, cerr := control.Dial(ctx, sock)
	if cerr == nil {
		defer c.Close()
		if !c.Holds(path) {
			return zero, usageError(fmt.Errorf("the cardtill answering on %s (pid %d) holds %s, not %s", sock, c.Peer().PID, c.Peer().Journal, path))
		}
		v, err := remote(c)
		if err != nil {
			return zero, usageError(fmt.Errorf("the running cardtill (pid %d): %w", c.Peer().PID, err))
		}
		return v, nil
	}
	db, _, err := openJournal(g, true)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return zero, usageError(fmt.Errorf("%w\nand nothing answers on its control socket (%v): the holder is an older cardtill or a one-shot command (redeem, compact); wait for it or stop it", err, cerr))
		}
		return zero, err
	}
	defer db.Close()
	v, err := local(db)
	if err != nil {
		return zero, usageError(err)
	}
	return v, nil
}

func newDbBackupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the journal to FILE (which must not exist), also while the till runs",
		Long: `backup writes a consistent copy of the journal (one read transaction) to
FILE, mode 0600, and checks the copy. FILE must not exist; its folder must.
The copy is written under a temporary name next to FILE and renamed when
complete, so FILE is either a whole backup or absent.

While 'cardtill run' or 'cardtill sync' holds the journal, that process
writes the copy (through its control socket, <store.path>.sock) and the till
keeps serving: FILE must then be somewhere the till's user can write, e.g.
  sudo -u cardtill cardtill db backup /var/lib/cardtill/backup-$(date +%F).db
Otherwise the journal is opened read-only and copied by this command.`,
		Args: exactArgs(1, "the backup file name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			dst, err := filepath.Abs(args[0])
			if err != nil {
				return usageError(err)
			}
			if err := control.ValidateBackupPath(dst); err != nil {
				return usageError(err)
			}
			ctx := cmd.Context()
			via := ""
			n, err := withJournal(ctx, g, cfg,
				func(c *control.Client) (int64, error) {
					via = fmt.Sprintf(" by the running cardtill (pid %d)", c.Peer().PID)
					r, err := c.Backup(ctx, dst)
					return r.Bytes, err
				},
				func(db *store.DB) (int64, error) { return control.WriteBackup(ctx, db, dst) })
			if err != nil {
				return err
			}
			cp, err := store.Open(dst, store.Options{ReadOnly: true})
			if err == nil {
				err = cp.Check()
				cp.Close()
			}
			if err != nil {
				return usageError(fmt.Errorf("the backup %s failed its check: %w", dst, err))
			}
			fmt.Fprintf(g.stdout, "ok  backup %s (%d bytes) written%s, checked\n", dst, n, via)
			return nil
		},
	}
}

func newDbCompactCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the journal into a fresh, smaller file (till stopped)",
		Long: `compact copies the journal into a new file next to it, checks the copy, and
swaps it in. The old file is replaced only after the copy passed its check.
The till must be stopped (compact takes the journal's lock).`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			if _, err := os.Stat(cfg.Store.Path); err != nil {
				return usageError(fmt.Errorf("journal %s: %w (check [store] path)", cfg.Store.Path, err))
			}
			before, after, err := store.Compact(cfg.Store.Path, storeOptions(cfg))
			if err != nil {
				if errors.Is(err, store.ErrLocked) {
					return usageError(fmt.Errorf("%w\ncompact runs with the till stopped", err))
				}
				return usageError(err)
			}
			fmt.Fprintf(g.stdout, "ok  compacted %s: %d -> %d bytes\n", cfg.Store.Path, before, after)
			return nil
		},
	}
}
