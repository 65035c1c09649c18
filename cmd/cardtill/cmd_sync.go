package main

import (
	"encoding/json"
	"fmt"

	"cardtill/internal/till"

	"github.com/spf13/cobra"
)

func newSyncCmd(g *globals) *cobra.Command {
	var once, asJSON bool
	cmd := &cobra.Command{
		Use:   "sync [--once] [--json]",
		Short: "Drain the offline queue: check and consume what was accepted offline",
		Long: `sync resolves consumes left in doubt and drains the queue of codes accepted
offline, with the same query-then-consume as the till. Without --once it keeps
running (as the till does in the background) until interrupted.

With --once it makes one pass (and, with a hub configured and WeChat
reachable, pulls the hub's code-status feed) and exits 0 when nothing is left
pending, 1 when some codes still wait (WeChat unreachable, busy, or a lost
answer inside its quiet period), 2 on a configuration or database error.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSync(cmd, g, once, asJSON)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "one pass, then exit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the pass report as JSON")
	return cmd
}

func runSync(cmd *cobra.Command, g *globals, once, asJSON bool) error {
	ctx := cmd.Context()
	cfg, err := g.config()
	if err != nil {
		return err
	}
	logger, err := g.logger(cfg, true)
	if err != nil {
		return err
	}
	t, err := till.Open(cfg, g.env, logger, nil)
	if err != nil {
		return usageError(err)
	}
	defer t.Close()
	defer till.StartOps(ctx, t.DB, cfg, logger)()
	t.KeepNotices(logger) // the hub's notices: kept in the journal for the till screen
	gauge := new(till.Gauge)
	gauge.Set(t.DB)
	if err := t.Engine.Recover(ctx); err != nil && ctx.Err() == nil {
		return usageError(err)
	}
	if !once {
		// Running on, it reports to the hub as the till screen does.
		_, stop := till.StartFleet(ctx, t, cfg, version, logger, till.GaugedEngine{Engine: t.Engine, Gauge: gauge}, &till.ScannerState{})
		defer stop()
		return t.Engine.Run(ctx)
	}
	rep, err := t.Engine.DrainOnce(ctx)
	if err != nil {
		return usageError(err)
	}
	// While WeChat answers, also pull the hub's code-status feed into the
	// cache, as the running till does. A hub that does not answer is only
	// reported: the queue decides the exit status.
	if t.HasHub() && !rep.Offline {
		if err := t.Engine.PullFeed(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("hub feed not pulled", "err", err)
			fmt.Fprintf(g.stderr, "hub feed not pulled: %v\n", err)
		}
	}
	st := gauge.Fill(t.Engine.Status())
	if asJSON {
		out := struct {
			Report   any  `json:"report"`
			Status   any  `json:"status"`
			Complete bool `json:"complete"`
		}{rep, st, st.QueueDepth == 0}
		if err := json.NewEncoder(g.stdout).Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, "consumed %d, conflicts %d, rejected %d, deferred %d; pending %d, in doubt %d, conflicts in total %d\n",
			rep.Consumed, rep.Conflicts, rep.Rejected, rep.Deferred, st.QueueDepth, st.InDoubt, st.Conflicts)
		if rep.Offline {
			fmt.Fprintln(g.stdout, "WeChat is unreachable: the rest waits for the next sync")
		}
	}
	if st.QueueDepth > 0 {
		return withExit(exitFailure, nil)
	}
	return nil
}
