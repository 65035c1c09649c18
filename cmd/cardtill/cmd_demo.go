package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"cardtill/internal/console"
	"cardtill/internal/till"
	"cardtill/scanner"
	"cardtill/tui"
	"cardtill/tui/demo"
)

// newDemoCmd is `cardtill demo`: the whole till with no config and no
// network (an in-process fake WeChat with the demo codes on screen, an
// in-memory journal, the keyboard as scanner).
func newDemoCmd(g *globals) *cobra.Command {
	var port, lang string
	var confirm bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try the till screen with sample codes: no config, no network",
		Long: "Runs the till screen against an in-process fake WeChat loaded with sample codes in\n" +
			"every status (listed on screen: type one and press Enter). F8 simulates a WeChat\n" +
			"outage so offline acceptance and the later sync can be seen. Nothing is kept.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lang != "" && lang != "zh" && lang != "en" {
				return fmt.Errorf("--lang %q: use zh or en", lang)
			}
			discard := slog.New(slog.NewTextHandler(io.Discard, nil))
			dt, err := demo.Start(demo.Options{Logger: discard})
			if err != nil {
				return fmt.Errorf("starting the demo: %w", err)
			}
			defer dt.Close()
			defer till.Shutdown(dt.Engine, discard)
			updates := dt.Engine.Subscribe() // the screen settles answers in place
			defer updates.Close()
			o := tui.Options{
				Updates: updates.C(),
				Engine:  dt.Engine, Shifts: dt.Journal, Lang: console.Lang(lang, g.env), Confirm: confirm, Bell: true,
				Terminal: "demo-till", Cashier: "demo", StatusC: dt.StatusC,
				Outage: dt.ToggleOutage, NoColor: tui.NoColor(), Backlog: till.JournalBacklog(dt.DB), AckConflicts: till.AckConflicts(dt.DB, time.Now),
				ConflictDetail: till.ConflictDetail(dt.DB), ResolveConflict: till.ResolveConflict(dt.DB), ShiftBefore: till.ShiftBefore(dt.DB),
				ShiftReport: till.ShiftReportView(dt.DB),
			}
			for _, c := range dt.Codes {
				o.Demo = append(o.Demo, tui.DemoCode{Code: c.Code, Note: c.Note})
			}
			if port != "" {
				ctx, cancel := context.WithCancel(cmd.Context())
				defer cancel()
				sc := configuredScanner(g)
				sc.Port = port
				r, err := scanner.Open(ctx, sc, scanner.Options{WaitForPort: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					return err
				}
				defer r.Close()
				o.ScannerPort, o.Events = port, r.Events()
			}
			console.PrepareTill(g.stdout, g.env)
			_, err = tea.NewProgram(tui.New(o), tea.WithAltScreen(), tea.WithInput(g.stdin), tea.WithOutput(g.stdout)).Run()
			return err
		},
	}
	cmd.Flags().StringVar(&port, "scanner", "", "also read a serial scanner on this port (e.g. /dev/ttyACM0, COM3)")
	cmd.Flags().StringVar(&lang, "lang", "", "screen language: zh or en (default: LC_ALL/LC_MESSAGES/LANG, on Windows the display language)")
	cmd.Flags().BoolVar(&confirm, "confirm", false, "show the card and wait for Enter before consuming")
	return cmd
}
