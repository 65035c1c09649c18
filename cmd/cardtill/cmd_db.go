package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

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
func storeOptions(cfg *Config) store.Options {
	return store.Options{
		LockTimeout: cfg.Store.LockTimeout.Duration,
		MaxSize:     int64(cfg.Store.MaxSizeMB) << 20,
		Terminal:    cfg.Terminal.ID,
	}
}

// openJournal opens the configured journal; the file must already exist.
func openJournal(g *globals, readOnly bool) (*store.DB, *Config, error) {
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
		Long: `check opens the journal read-only and verifies bbolt's page structure, then
recounts every redemption and compares the indexes (active by code, used codes,
outbox, by state, by shift) and every shift's counters with the recount.
Exit code 0: all agree; 2: a problem, listed. Stop the till first: a running
cardtill holds the journal's lock.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, cfg, err := openJournal(g, true)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.Check(); err != nil {
				return usageError(fmt.Errorf("%s: %w\nrestore the last good backup (cardtill db backup makes one) and keep this file for support", cfg.Store.Path, err))
			}
			counts, err := db.CountByState()
			if err != nil {
				return usageError(err)
			}
			total := 0
			for _, n := range counts {
				total += n
			}
			size, max, _ := db.Size()
			ver, _ := db.SchemaVersion()
			fmt.Fprintf(g.stdout, "ok  %s: schema %d, %d redemptions", cfg.Store.Path, ver, total)
			for _, s := range store.AllStates {
				if counts[s] > 0 {
					fmt.Fprintf(g.stdout, ", %s %d", s, counts[s])
				}
			}
			fmt.Fprintf(g.stdout, "; %.1f MB of %d MB\n", float64(size)/(1<<20), max>>20)
			return nil
		},
	}
}

func newDbBackupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the journal to FILE (which must not exist)",
		Long: `backup writes a consistent copy of the journal to FILE (mode 0600) and checks
the copy. FILE must not exist. A running till holds the journal's lock, so run
this while cardtill is stopped (the journal's Backup is hot inside the process).`,
		Args: exactArgs(1, "the backup file name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dst := args[0]
			if _, err := os.Stat(dst); err == nil {
				return usageError(fmt.Errorf("%s already exists; choose a new file name", dst))
			}
			db, _, err := openJournal(g, true)
			if err != nil {
				return err
			}
			n, err := db.BackupFile(dst)
			db.Close()
			if err != nil {
				return usageError(err)
			}
			cp, err := store.Open(dst, store.Options{ReadOnly: true})
			if err == nil {
				err = cp.Check()
				cp.Close()
			}
			if err != nil {
				return usageError(fmt.Errorf("the backup %s failed its check: %w", dst, err))
			}
			abs, _ := filepath.Abs(dst)
			fmt.Fprintf(g.stdout, "ok  backup %s (%d bytes), checked\n", abs, n)
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
