package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"cardtill/internal/console"
	"cardtill/internal/control"
	"cardtill/internal/till"

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/report"
	"cardtill/store"
)

func newShiftCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shift",
		Short: "Open and close shifts, list them, print X/Z reports",
	}
	cmd.AddCommand(newShiftOpenCmd(g), newShiftCloseCmd(g), newShiftListCmd(g), newShiftReportCmd(g))
	return cmd
}

// openShiftJournal opens the journal named by the config.
func openShiftJournal(g *globals) (*store.DB, *config.Config, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, nil, usageError(err)
	}
	db, err := store.Open(cfg.Store.Path, store.Options{LockTimeout: cfg.Store.LockTimeout.Duration, Terminal: cfg.Terminal.ID})
	if err != nil {
		return nil, nil, usageError(fmt.Errorf("opening the journal %s: %w", cfg.Store.Path, err))
	}
	return db, cfg, nil
}

func newShiftOpenCmd(g *globals) *cobra.Command {
	var cashier string
	cmd := &cobra.Command{
		Use:   "open --cashier NAME",
		Short: "Open a shift for a cashier on this till",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cashier = strings.TrimSpace(cashier)
			if cashier == "" {
				return usageError(errors.New("shift open: --cashier NAME is required"))
			}
			db, cfg, err := openShiftJournal(g)
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := db.OpenShift(cfg.Terminal.ID, cashier)
			if errors.Is(err, store.ErrShiftOpen) {
				cur, _, _ := db.CurrentShift(cfg.Terminal.ID)
				return withExit(exitFailure, fmt.Errorf("shift #%d (%s) is already open on till %s: close it first with 'cardtill shift close'", cur.ID, cur.Cashier, cfg.Terminal.ID))
			}
			if err != nil {
				return usageError(fmt.Errorf("open shift: %w", err))
			}
			fmt.Fprintf(g.stdout, "shift #%d opened for %s on till %s at %s\n", s.ID, s.Cashier, s.Terminal, s.OpenedAt.Local().Format("2006-01-02 15:04"))
			return nil
		},
	}
	cmd.Flags().StringVar(&cashier, "cashier", "", "cashier name")
	return cmd
}

func newShiftCloseCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "close [--force]",
		Short: "Close this till's open shift (its Z report is frozen at close)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, cfg, err := openShiftJournal(g)
			if err != nil {
				return err
			}
			defer db.Close()
			s, ok, err := db.CurrentShift(cfg.Terminal.ID)
			if err != nil {
				return usageError(fmt.Errorf("read current shift: %w", err))
			}
			if !ok {
				return withExit(exitFailure, fmt.Errorf("no shift is open on till %s", cfg.Terminal.ID))
			}
			c, err := db.ShiftCounters(s.ID)
			if err != nil {
				return usageError(fmt.Errorf("read counters of shift %d: %w", s.ID, err))
			}
			pending := c.ByOutcome[store.OutcomePending]
			if pending > 0 && !force {
				return withExit(exitFailure, fmt.Errorf("shift #%d has %d pending redemption(s) not yet settled with WeChat; they will settle later and show under \"settled after close\" on the Z report. Close anyway with 'cardtill shift close --force'", s.ID, pending))
			}
			s, err = db.CloseShift(s.ID)
			if err != nil {
				return usageError(fmt.Errorf("close shift: %w", err))
			}
			fmt.Fprintf(g.stdout, "shift #%d closed at %s", s.ID, s.ClosedAt.Local().Format("2006-01-02 15:04"))
			if pending > 0 {
				fmt.Fprintf(g.stdout, " with %d pending (they settle later on the Z report)", pending)
			}
			fmt.Fprintf(g.stdout, "; print its Z report with 'cardtill shift report --shift %d --z'\n", s.ID)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "close even with redemptions still pending")
	return cmd
}

func newShiftListCmd(g *globals) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List shifts, newest first",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageError(fmt.Errorf("shift list: --limit %d: use 0 (all) or more", limit))
			}
			cfg, err := g.config()
			if err != nil {
				return usageError(err)
			}
			ss, err := withJournal(cmd.Context(), g, cfg,
				func(c *control.Client) ([]control.Shift, error) { return c.Shifts(cmd.Context(), limit) },
				func(db *store.DB) ([]control.Shift, error) { return control.ListShifts(db, limit) })
			if err != nil {
				return err
			}
			if asJSON {
				e := json.NewEncoder(g.stdout)
				e.SetIndent("", "  ")
				return e.Encode(ss)
			}
			for _, s := range ss {
				closed := "open"
				if s.ClosedAt != nil {
					closed = s.ClosedAt.Format("2006-01-02 15:04")
				}
				fmt.Fprintf(g.stdout, "#%-5d %-10s %-16s %-16s %s\n", s.ShiftID, s.Terminal, s.OpenedAt.Format("2006-01-02 15:04"), closed, s.Cashier)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (fields in report/JSON.md)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many shifts (0: all)")
	return cmd
}

func newShiftReportCmd(g *globals) *cobra.Command {
	var (
		id            uint64
		z, asJSON, cv bool
		doPrint       bool
		width         int
		lang          string
	)
	cmd := &cobra.Command{
		Use:   "report [--shift ID] [--z] [--width 48] [--lang zh|en] [--json|--csv|--print]",
		Short: "Print a shift's X (running) or Z (closing) report",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON && cv || (asJSON || cv) && doPrint {
				return usageError(errors.New("shift report: choose one of --json, --csv and --print"))
			}
			if width < 24 || width > 200 {
				return usageError(fmt.Errorf("shift report: --width %d is out of range: use 48 for an 80 mm printer, 32 for 58 mm", width))
			}
			cfg, err := g.config()
			if err != nil {
				return usageError(err)
			}
			if lang == "" {
				lang = console.Lang(cfg.UI.Lang, g.env)
			}
			if lang != "en" && lang != "zh" {
				return usageError(fmt.Errorf("shift report: --lang %q: use zh or en", lang))
			}
			ans, err := withJournal(cmd.Context(), g, cfg,
				func(c *control.Client) (control.ReportAnswer, error) {
					return c.Report(cmd.Context(), cfg.Terminal.ID, id, z)
				},
				func(db *store.DB) (control.ReportAnswer, error) {
					return control.BuildShiftReport(db, cfg.Terminal.ID, id, z)
				})
			if err != nil {
				return err
			}
			if ans.Refused != "" || ans.Report == nil {
				return withExit(exitFailure, errors.New(ans.Refused))
			}
			r := *ans.Report
			if doPrint {
				msg, err := till.PrintReportText(cfg, r, lang)
				if err != nil {
					return withExit(exitFailure, err)
				}
				_, err = fmt.Fprint(g.stdout, msg)
				return err
			}
			switch {
			case asJSON:
				return report.JSON(g.stdout, r)
			case cv:
				return report.CSV(g.stdout, r)
			}
			_, err = fmt.Fprint(g.stdout, report.Text(r, report.Options{Lang: lang, Width: width}))
			return err
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&id, "shift", 0, "shift ID (default: the open shift, else the latest)")
	f.BoolVar(&z, "z", false, "the closing (Z) report; fails if the shift is still open")
	f.IntVar(&width, "width", 48, "receipt width in characters: 48 for 80 mm, 32 for 58 mm")
	f.StringVar(&lang, "lang", "", "zh or en (default: ui.lang)")
	f.BoolVar(&asJSON, "json", false, "print JSON (fields in report/JSON.md)")
	f.BoolVar(&cv, "csv", false, "print CSV: metric,key,value")
	f.BoolVar(&doPrint, "print", false, "send the report to the receipt printer of [printer] (at its width)")
	return cmd
}
