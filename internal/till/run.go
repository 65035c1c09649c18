package till

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"cardtill/internal/config"
	"cardtill/internal/console"
	"cardtill/scanner"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/tui"
)

// Env is what Run takes from the process: its environment, its terminal and
// this cardtill's version (for the reports to the hub).
type Env struct {
	Getenv  func(string) string
	Stdin   io.Reader
	Stdout  io.Writer
	Version string
}

// Run is `cardtill run`: the till screen on the journal, the engine, the
// scanner, the reports to the hub and the journal's operations, until the
// cashier quits or ctx ends. logger is the till's log (never the screen).
func Run(ctx context.Context, env Env, cfg *config.Config, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	statusC := make(chan sync.Status, 1)
	gauge := new(Gauge)
	t, err := Open(cfg, env.Getenv, logger, func(s sync.Status) {
		s = gauge.Fill(s)
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
	gauge.Set(t.DB)
	defer StartOps(ctx, t.DB, cfg, logger)()
	db, e := t.DB, t.Engine
	// The reports to the hub, started below once the scanner is known; a
	// shift closed on the screen sends its Z report at once (kick).
	reports := new(Reports)
	var notices *NoticeRelay
	if t.feed != nil { // the hub's notices for the manager, from the first pull on
		notices = NewNoticeRelay(db, logger)
		t.feed.OnNotices(notices.Deliver)
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
	defer Shutdown(e, logger)
	prn := NewPrinter(cfg)   // nil without [printer] port: F9 says so
	updates := e.Subscribe() // the screen settles answers in place
	defer updates.Close()
	to := tui.Options{
		Updates: updates.C(),
		Engine:  GaugedEngine{e, gauge}, Shifts: Shifts{DB: db, Terminal: cfg.Terminal.ID, Closed: reports.Kick}, Lang: console.ScreenLang(cfg, env.Getenv), ASCII: console.ASCII(cfg.UI.Console, env.Getenv),
		Confirm: cfg.UI.Confirm, Bell: cfg.UI.Bell, Recent: cfg.UI.Recent, ScanGap: cfg.UI.ScanGap.Duration, RepeatWindow: cfg.UI.RepeatWindow.Duration, ClearAfter: cfg.UI.ClearAfter.Duration, Terminal: terminal,
		Cashier: cfg.Shift.DefaultCashier, StatusC: statusC, NoColor: tui.NoColor(),
		ShiftReport: ShiftReportView(db), Backlog: JournalBacklog(db), AckConflicts: AckConflicts(db, time.Now),
		ConflictDetail: ConflictDetail(db), ResolveConflict: ResolveConflict(db), ShiftBefore: ShiftBefore(db),
		PrintReport: PrintShiftReport(db, cfg, prn), PrintConflict: PrintConflictSlip(db, cfg, prn), Notices: notices.Notices(), PastNotices: notices.Past(),
		Override: ManagerOverride(cfg, e, logger),
	}
	scan := &ScannerState{port: cfg.Scanner.Serial().Port != ""}
	if sc := cfg.Scanner.Serial(); sc.Port != "" {
		r, err := scanner.Open(ctx, sc, scanner.Options{WaitForPort: true, Logger: logger})
		if err != nil {
			return err
		}
		defer r.Close()
		to.ScannerPort, to.Events = sc.Port, scan.Relay(ctx, r.Events())
	}
	// The reports to the hub (wechat.hub_url): their own goroutine, ended
	// before the journal closes.
	defer reports.Start(ctx, t, cfg, env.Version, logger, GaugedEngine{e, gauge}, scan)()
	console.PrepareTill(env.Stdout, env.Getenv) // internal/console: a font that draws Chinese, 80x24 at least
	_, err = tea.NewProgram(tui.New(to), tea.WithAltScreen(), tea.WithInput(env.Stdin), tea.WithOutput(env.Stdout), tea.WithContext(ctx)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Shifts lets the till screen open and close this terminal's shifts.
type Shifts struct {
	DB       *store.DB
	Terminal string
	Closed   func() // after a close (the Z report goes to the hub at once); nil: nothing
}

// CurrentShift is the terminal's open shift, if any.
func (s Shifts) CurrentShift() (uint64, string, bool, error) {
	sh, ok, err := s.DB.CurrentShift(s.Terminal)
	return sh.ID, sh.Cashier, ok, err
}

// OpenShift opens a shift for cashier.
func (s Shifts) OpenShift(cashier string, _ time.Time) (uint64, error) {
	sh, err := s.DB.OpenShift(s.Terminal, cashier)
	return sh.ID, err
}

// CloseShift closes shift id.
func (s Shifts) CloseShift(id uint64, _ time.Time) error {
	_, err := s.DB.CloseShift(id)
	if err == nil && s.Closed != nil {
		s.Closed()
	}
	return err
}
