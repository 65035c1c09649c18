package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cardtill/hub"
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
			return printTills(g, now, views)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	return cmd
}

func printTills(g *globals, now time.Time, views []hub.TillView) error {
	if len(views) == 0 {
		fmt.Fprintln(g.stdout, "no tills: add a terminal key with 'cardtill hub terminal add NAME' and set the till's wechat.hub_url")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tSTORE\tTILL\tVERSION\tWECHAT\tLAST REPORT\tQUEUE\tOLDEST\tCONFLICTS\tJOURNAL\tSHIFT\tNOTE")
	marked := 0
	for _, v := range views {
		mark := ""
		if v.Marked() {
			mark, marked = "!", marked+1
		}
		if v.Never {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\t\t\t\t%s\n", mark, v.StoreName(), v.Till, v.Marks(now))
			continue
		}
		hb := v.Heartbeat
		state := "online"
		if !hb.Online {
			state = "offline"
			if !hb.OfflineSince.IsZero() {
				state += " " + hub.Ago(now, hb.OfflineSince)
			}
		}
		journal := "-"
		if hb.JournalUse > 0 {
			journal = fmt.Sprintf("%.0f%%", hb.JournalUse*100)
		}
		shift := "-"
		if hb.Shift != nil {
			shift = fmt.Sprintf("#%d %s (%d)", hb.Shift.ID, hb.Shift.Cashier, hb.Shift.Total)
		}
		oldest := "-"
		if hb.QueueDepth > 0 {
			oldest = hub.Ago(now, hb.OldestQueued)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\t%d\t%s\t%d\t%s\t%s\t%s\n", mark, v.StoreName(), v.Till, hb.Version, state,
			hub.Ago(now, v.Received), hb.QueueDepth, oldest, hb.OpenConflicts, journal, shift, v.Marks(now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if marked > 0 {
		fmt.Fprintf(g.stdout, "%d of %d tills need a look (!)\n", marked, len(views))
	}
	return nil
}

// parseDay reads --from/--to: a date (local midnight; for --to the end of
// that day) or an RFC 3339 time.
func parseDay(flag, s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: write a date (2026-11-22) or a time (2026-11-22T10:00:00+08:00)", flag, s)
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
			if q.From, err = parseDay("--from", from, false); err != nil {
				return usageError(err)
			}
			if q.To, err = parseDay("--to", to, true); err != nil {
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
				return shiftsCSV(g, rs)
			}
			return printShifts(g, rs)
		},
	}
	cmd.Flags().StringVar(&storeName, "store", "", "only this store (or till)")
	cmd.Flags().StringVar(&from, "from", "", "closed at or after (a date or RFC 3339 time)")
	cmd.Flags().StringVar(&to, "to", "", "closed before the end of this date (or before this RFC 3339 time)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, with the whole Z report")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "CSV with a header line")
	return cmd
}

var shiftColumns = []string{"closed", "store", "till", "shift", "cashier", "opened", "total", "consumed_online", "offline_consumed", "offline_accepted", "conflicts", "refused", "pending"}

func shiftRow(r hub.ShiftRecord, at func(time.Time) string) []string {
	z := r.Z
	n := func(k string) string { return strconv.Itoa(z.ByOutcome[k]) }
	st := r.Store
	if st == "" {
		st = r.Till
	}
	return []string{at(r.ClosedAt), st, r.Till, strconv.FormatUint(r.ShiftID, 10), r.Cashier, at(r.OpenedAt), strconv.Itoa(z.Total),
		n(store.OutcomeConsumedOnline), n(store.OutcomeOfflineConsumed), strconv.Itoa(z.OfflineAccepted), n(store.OutcomeConflict), n(store.OutcomeRefused), n(store.OutcomePending)}
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

func printShifts(g *globals, rs []hub.ShiftRecord) error {
	if len(rs) == 0 {
		fmt.Fprintln(g.stdout, "no shifts reported in that period")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.ReplaceAll(strings.Join(shiftColumns, "\t"), "_", " ")))
	total := 0
	for _, r := range rs {
		fmt.Fprintln(tw, strings.Join(shiftRow(r, localTime), "\t"))
		total += r.Z.Total
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%d shifts, %d redemptions\n", len(rs), total)
	return nil
}

func shiftsCSV(g *globals, rs []hub.ShiftRecord) error {
	w := csv.NewWriter(g.stdout)
	_ = w.Write(shiftColumns)
	for _, r := range rs {
		_ = w.Write(shiftRow(r, func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Format(time.RFC3339)
		}))
	}
	w.Flush()
	return w.Error()
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
				return conflictsCSV(g, cs)
			}
			return printConflicts(g, cs, open)
		},
	}
	cmd.Flags().BoolVar(&open, "open", false, "only conflicts not yet resolved")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "CSV with a header line")
	cmd.AddCommand(newHubResolveCmd(g))
	return cmd
}

func conflictRef(c hub.ConflictRecord) string { return c.Till + "/" + strconv.FormatUint(c.ID, 10) }

var conflictColumns = []string{"at", "ref", "store", "till", "code", "card", "cashier", "reason", "status", "resolved_by", "resolved_at", "note"}

func conflictRow(c hub.ConflictRecord, at func(time.Time) string) []string {
	st := c.Store
	if st == "" {
		st = c.Till
	}
	card := c.CardTitle
	if card == "" {
		card = c.CardID
	}
	reason := c.ReasonText
	if reason == "" {
		reason = c.Reason
	}
	status, by, when, note := "open", "", "", ""
	if r := c.Resolution; r != nil {
		status, by, when, note = "resolved", r.By, at(r.At), r.Note
		if r.AtHQ {
			status = "resolved at HQ"
			if c.Unheard {
				status += " (till not told yet)"
			}
		}
	}
	return []string{at(c.At), conflictRef(c), st, c.Till, c.Code, card, c.Cashier, reason, status, by, when, note}
}

func printConflicts(g *globals, cs []hub.ConflictRecord, open bool) error {
	if len(cs) == 0 {
		if open {
			fmt.Fprintln(g.stdout, "no open conflicts")
		} else {
			fmt.Fprintln(g.stdout, "no conflicts reported")
		}
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tREF\tSTORE\tCODE\tCARD\tCASHIER\tREASON\tSTATUS")
	n := 0
	for _, c := range cs {
		row := conflictRow(c, localTime)
		status := row[8]
		if c.Resolution != nil {
			status += ": " + c.Resolution.By + ": " + c.Resolution.Note
		} else {
			n++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[4], row[5], row[6], row[7], status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%d conflicts, %d open\n", len(cs), n)
	return nil
}

func conflictsCSV(g *globals, cs []hub.ConflictRecord) error {
	w := csv.NewWriter(g.stdout)
	_ = w.Write(conflictColumns)
	for _, c := range cs {
		_ = w.Write(conflictRow(c, func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Format(time.RFC3339)
		}))
	}
	w.Flush()
	return w.Error()
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
