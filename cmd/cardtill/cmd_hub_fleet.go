package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cardtill/hub"
	"cardtill/internal/hubrun"
	"cardtill/store"
)

// The fleet as HQ reads it: `cardtill hub tills`, `hub shifts`, `hub
// conflicts` (and `conflicts resolve`), from the hub's store or, while the
// hub runs on its bbolt file, through its admin socket.

// openFleet opens what the fleet commands read: the running hub's admin
// socket, or the store.
func openFleet(ctx context.Context, g *globals, readOnly bool) (hub.FleetReader, hubAdmin, error) {
	st, err := openHubAdmin(ctx, g, readOnly)
	if err != nil {
		return nil, nil, err
	}
	fr, ok := st.(hub.FleetReader)
	if !ok {
		return nil, nil, fmt.Errorf("this hub's store keeps no fleet reports")
	}
	return fr, st, nil
}

func newHubTillsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tills",
		Short: "List the tills as their last reports say; those that need a look first",
		Long: `List every till (terminal key) with what its last heartbeat said: store,
version, online or offline since, last report, the queue of codes waiting for
WeChat and the oldest of them, open conflicts, journal fill and the open shift.
A till that has not reported for three of its intervals ([fleet] interval on
the till), has codes queued for more than an hour, or never reported, is
marked (!) and listed first.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fr, st, err := openFleet(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			tills, err := fr.FleetTills()
			if err != nil {
				return err
			}
			terms, err := st.Terminals()
			if err != nil {
				return err
			}
			now := time.Now()
			views := hub.ViewTills(now, tills, terms)
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				for _, v := range views {
					line := struct {
						hub.TillView
						Marks string `json:"marks,omitempty"`
					}{v, v.Marks(now)}
					if err := enc.Encode(line); err != nil {
						return err
					}
				}
				return nil
			}
			return hubrun.Tills(g.stdout, now, views)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	return cmd
}

func oneFormat(asJSON, asCSV bool) error {
	if asJSON && asCSV {
		return usageError(errors.New("--json and --csv: pick one"))
	}
	return nil
}

func newHubShiftsCmd(g *globals) *cobra.Command {
	var storeName, from, to string
	var asJSON, asCSV bool
	cmd := &cobra.Command{
		Use:   "shifts",
		Short: "List the tills' closed shifts (their Z reports), oldest first",
		Long: `List the Z reports the tills sent, by close time. --store takes a store
(terminal.store_name on the till) or a till's name; --from and --to a date
(--to includes that whole day) or an RFC 3339 time.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneFormat(asJSON, asCSV); err != nil {
				return err
			}
			q := hub.ShiftQuery{Store: storeName}
			var err error
			if q.From, err = hubrun.ParseDay("--from", from, false); err != nil {
				return usageError(err)
			}
			if q.To, err = hubrun.ParseDay("--to", to, true); err != nil {
				return usageError(err)
			}
			fr, _, err := openFleet(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			rs, err := fr.FleetShifts(q)
			if err != nil {
				return err
			}
			switch {
			case asJSON:
				enc := json.NewEncoder(g.stdout)
				for _, r := range rs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			case asCSV:
				return hubrun.ShiftsCSV(g.stdout, rs)
			}
			return hubrun.Shifts(g.stdout, rs)
		},
	}
	cmd.Flags().StringVar(&storeName, "store", "", "only this store (or till)")
	cmd.Flags().StringVar(&from, "from", "", "closed at or after (a date or RFC 3339 time)")
	cmd.Flags().StringVar(&to, "to", "", "closed before the end of this date (or before this RFC 3339 time)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, with the whole Z report")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "CSV with a header line")
	return cmd
}

func newHubConflictsCmd(g *globals) *cobra.Command {
	var open, asJSON, asCSV bool
	cmd := &cobra.Command{
		Use:   "conflicts",
		Short: "List the tills' conflicts (codes accepted offline that WeChat refused)",
		Long: `List the conflicts the tills reported, oldest first, with what the manager
recorded. --open lists only those not yet resolved. REF names a conflict for
'cardtill hub conflicts resolve REF --by NAME --note TEXT'.`,
		Args: exactArgs(0, "no arguments (or resolve REF)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneFormat(asJSON, asCSV); err != nil {
				return err
			}
			fr, _, err := openFleet(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			cs, err := fr.FleetConflicts(open)
			if err != nil {
				return err
			}
			switch {
			case asJSON:
				enc := json.NewEncoder(g.stdout)
				for _, c := range cs {
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
				return nil
			case asCSV:
				return hubrun.ConflictsCSV(g.stdout, cs)
			}
			return hubrun.Conflicts(g.stdout, cs, open)
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "only conflicts not yet resolved")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "CSV with a header line")
	cmd.AddCommand(newHubResolveCmd(g))
	return cmd
}

func newHubResolveCmd(g *globals) *cobra.Command {
	var by, note string
	cmd := &cobra.Command{
		Use:   "resolve REF --by NAME --note TEXT",
		Short: "Resolve a till's conflict at HQ; the till records it after its next report",
		Long: `Record at HQ what was done about a conflict (REF as 'cardtill hub conflicts'
lists it: TILL/ID). The till hears of it in the hub's answer to its next
report, records it in its journal (its screen shows the conflict resolved) and
reports it back; until then the listing says "till not told yet".`,
		Args: exactArgs(1, "the conflict's REF (TILL/ID, from 'cardtill hub conflicts')"),
		RunE: func(cmd *cobra.Command, args []string) error {
			till, idText, ok := strings.Cut(args[0], "/")
			id, err := strconv.ParseUint(idText, 10, 64)
			if !ok || till == "" || err != nil || id == 0 {
				return usageError(fmt.Errorf("%q is not a conflict REF: write TILL/ID as 'cardtill hub conflicts' lists it", args[0]))
			}
			if strings.TrimSpace(by) == "" || strings.TrimSpace(note) == "" {
				return usageError(errors.New("say who resolved it and what was done: --by NAME --note TEXT"))
			}
			if len([]rune(by)) > store.MaxResolutionBy-5 || len([]rune(note)) > store.MaxResolutionNote {
				return usageError(fmt.Errorf("--by holds at most %d characters and --note %d", store.MaxResolutionBy-5, store.MaxResolutionNote))
			}
			fr, _, err := openFleet(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			err = fr.ResolveFleetConflict(till, id, hub.FleetResolution{By: strings.TrimSpace(by), At: time.Now().UTC(), Note: strings.TrimSpace(note)})
			if errors.Is(err, hub.ErrNoConflict) || errors.Is(err, hub.ErrConflictResolved) {
				return withExit(exitFailure, err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "conflict %s resolved at HQ; the till records it after its next report\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who resolved it")
	cmd.Flags().StringVar(&note, "note", "", "what was done")
	return cmd
}
