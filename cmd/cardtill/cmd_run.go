package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/internal/console"
	"cardtill/scanner"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/tui"
)

// newRunCmd is `cardtill run`: the till screen on the real configuration.
// Logs go to the [log] file, never to the screen.
func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the till screen (scanner from [scanner], else keyboard only)",
		Long: `cardtill run is the till screen on the real config: scan (a serial scanner
on scanner.port, or a keyboard-wedge scanner typing into the screen) and the
answer shows at once. It drains the offline queue in the background and, with
wechat.hub_url, pulls the hub's code-status feed.

Keys: F1 help, F2 shift, F3 queue and conflicts (F6 marks them seen), F4 the
shift report, F5 sync now, F7 at the offline limit a manager's override
(offline.manager_pin_hash), Esc back, Ctrl+C quit.

It logs to log.file (default cardtill.log next to the journal), never to the
screen, and answers 'cardtill db check', 'db backup' and 'doctor' through a
control socket next to the journal (<store.path>.sock).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			logger, err := g.logger(cfg, false)
			if err != nil {
				return err
			}
			return runTill(cmd.Context(), g, cfg, logger)
		},
	}
}

func runTill(ctx context.Context, g *globals, cfg *config.Config, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	statusC := make(chan sync.Status, 1)
	gauge := new(journalGauge)
	t, err := openTill(g, cfg, logger, func(s sync.Status) {
		s = gauge.fill(s)
		select { // latest wins; never block the engine
		case <-statusC:
		default:
		}
		select {
		case statusC <- s:
		default:
		}
	})
	if err != nil {
		return err
	}
	defer t.Close()
	gauge.set(t.db)
	defer startTillOps(ctx, t.db, cfg, logger)()
	db, e := t.db, t.engine
	// The reports to the hub, started below once the scanner is known; a
	// shift closed on the screen sends its Z report at once (kick).
	reports := new(fleetReports)
	var notices *noticeRelay
	if t.feed != nil { // the hub's notices for the manager, from the first pull on
		notices = newNoticeRelay(db, logger)
		t.feed.onNotices(notices.deliver)
	}
	if err := e.Recover(ctx); err != nil {
		logger.Warn("recovering in-flight redemptions", "err", err)
	}
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		_ = e.Run(ctx)
	}()
	defer func() { cancel(); <-engineDone }()

	terminal := cfg.Terminal.ID
	if cfg.Terminal.StoreName != "" {
		terminal = cfg.Terminal.StoreName + " / " + terminal
	}
	// The engine's scans and drains end before the journal closes.
	defer shutdown(e, logger)
	prn := newPrinter(cfg)   // nil without [printer] port: F9 says so
	updates := e.Subscribe() // the screen settles answers in place
	defer updates.Close()
	to := tui.Options{
		Updates: updates.C(),
		Engine:  gaugedEngine{e, gauge}, Shifts: storeShifts{db: db, terminal: cfg.Terminal.ID, closed: reports.kick}, Lang: console.ScreenLang(cfg, g.env), ASCII: console.ASCII(cfg.UI.Console, g.env),
		Confirm: cfg.UI.Confirm, Bell: cfg.UI.Bell, Recent: cfg.UI.Recent, ScanGap: cfg.UI.ScanGap.Duration, RepeatWindow: cfg.UI.RepeatWindow.Duration, ClearAfter: cfg.UI.ClearAfter.Duration, Terminal: terminal,
		Cashier: cfg.Shift.DefaultCashier, StatusC: statusC, NoColor: tui.NoColor(),
		ShiftReport: shiftReportView(db), Backlog: journalBacklog(db), AckConflicts: ackConflicts(db, time.Now),
		ConflictDetail: conflictDetail(db), ResolveConflict: resolveConflict(db), ShiftBefore: shiftBefore(db),
		PrintReport: printShiftReport(db, cfg, prn), PrintConflict: printConflictSlip(db, cfg, prn), Notices: notices.notices(), PastNotices: notices.past(),
		Override: managerOverride(cfg, e, logger),
	}
	scan := &scannerState{port: cfg.Scanner.Serial().Port != ""}
	if sc := cfg.Scanner.Serial(); sc.Port != "" {
		r, err := scanner.Open(ctx, sc, scanner.Options{WaitForPort: true, Logger: logger})
		if err != nil {
			return err
		}
		defer r.Close()
		to.ScannerPort, to.Events = sc.Port, scan.relay(ctx, r.Events())
	}
	// The reports to the hub (wechat.hub_url): their own goroutine, ended
	// before the journal closes.
	defer reports.start(ctx, t, cfg, logger, gaugedEngine{e, gauge}, scan)()
	console.PrepareTill(g.stdout, g.env) // internal/console: a font that draws Chinese, 80x24 at least
	_, err = tea.NewProgram(tui.New(to), tea.WithAltScreen(), tea.WithInput(g.stdin), tea.WithOutput(g.stdout), tea.WithContext(ctx)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// storeShifts lets the till screen open and close this terminal's shifts.
type storeShifts struct {
	db       *store.DB
	terminal string
	closed   func() // after a close (the Z report goes to the hub at once); nil: nothing
}

func (s storeShifts) CurrentShift() (uint64, string, bool, error) {
	sh, ok, err := s.db.CurrentShift(s.terminal)
	return sh.ID, sh.Cashier, ok, err
}

func (s storeShifts) OpenShift(cashier string, _ time.Time) (uint64, error) {
	sh, err := s.db.OpenShift(s.terminal, cashier)
	return sh.ID, err
}

func (s storeShifts) CloseShift(id uint64, _ time.Time) error {
	_, err := s.db.CloseShift(id)
	if err == nil && s.closed != nil {
		s.closed()
	}
	return err
}
