package till

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cardtill/internal/advice"
	"cardtill/internal/config"
	"cardtill/printer"
	"cardtill/report"
	"cardtill/store"
)

// NewPrinter is the receipt printer of [printer], nil when none is set up.
func NewPrinter(cfg *config.Config) *printer.Printer {
	if cfg.Printer.Port == "" {
		return nil
	}
	return printer.New(printer.Options{Port: cfg.Printer.Port, Baud: cfg.Printer.Baud, Timeout: cfg.Printer.Timeout.Duration})
}

// ShiftBefore is the till screen's ShiftBefore hook: shift ids are the
// journal's sequence, so the one before id is id-1 (0: the newest).
func ShiftBefore(db *store.DB) func(id uint64) (uint64, error) {
	return func(id uint64) (uint64, error) {
		if id == 0 {
			ss, err := db.Shifts(1)
			if err != nil || len(ss) == 0 {
				return 0, err
			}
			return ss[0].ID, nil
		}
		for prev := id - 1; prev > 0; prev-- {
			s, err := db.Shift(prev)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return 0, err
			}
			return s.ID, nil
		}
		return 0, nil
	}
}

// PrintShiftReport is the till screen's PrintReport hook: the report of
// shift id at the printer's width, nil without a printer.
func PrintShiftReport(db *store.DB, cfg *config.Config, p *printer.Printer) func(id uint64, lang string) error {
	if p == nil {
		return nil
	}
	return func(id uint64, lang string) error {
		r, err := report.Build(db, id, report.BuildOptions{Loc: time.Local})
		if err != nil {
			return advice.Wrap(err)
		}
		return advice.Wrap(p.Print(context.Background(), report.Text(r, report.Options{Lang: lang, Width: cfg.Printer.Width})))
	}
}

// PrintConflictSlip is the till screen's PrintConflict hook.
func PrintConflictSlip(db *store.DB, cfg *config.Config, p *printer.Printer) func(id uint64, lang string) error {
	if p == nil {
		return nil
	}
	return func(id uint64, lang string) error {
		e, err := db.Conflict(id)
		if err != nil {
			return err
		}
		title := e.CardTitle
		if title == "" && e.CardID != "" {
			if c, ok, _ := db.Card(e.CardID); ok {
				title = c.Title
			}
		}
		x := report.ConflictLine{ID: e.ID, Code: e.Code, CardID: e.CardID, CardTitle: title, Cashier: e.Cashier, At: e.At.Local(),
			Errcode: e.Errcode, ReasonCode: e.Reason}
		if r := e.Resolution; r != nil {
			x.Resolved, x.Resolution = true, &report.Resolution{By: r.By, At: r.At.Local(), Note: r.Note}
		}
		return advice.Wrap(p.Print(context.Background(), report.ConflictSlip(x, e.ShiftID, cfg.Terminal.ID, time.Now(), report.Options{Lang: lang, Width: cfg.Printer.Width})))
	}
}

// PrintReportText prints a report for `shift report --print`.
func PrintReportText(cfg *config.Config, r report.Report, lang string) (string, error) {
	p := NewPrinter(cfg)
	if p == nil {
		return "", errors.New("shift report --print: no receipt printer is set up: set [printer] port (e.g. /dev/usb/lp0, or a serial port with baud)")
	}
	if err := p.Print(context.Background(), report.Text(r, report.Options{Lang: lang, Width: cfg.Printer.Width})); err != nil {
		return "", err
	}
	return fmt.Sprintf("printed the %s report of shift #%d on %s\n", r.Kind, r.ShiftID, cfg.Printer.Port), nil
}
