package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cardtill/store"
)

// Override is a manager's permission, journaled, to accept Extra more
// codes offline in a shift beyond [offline] max_per_shift. The shift's
// effective limit is max_per_shift plus the Extra of all its overrides:
// the policy decides against it and the journal checks it in the commit
// that accepts (Journal.AcceptOffline), so offline acceptances never
// exceed the configured limit plus the journaled overrides.
type Override struct {
	ShiftID uint64    `json:"shift_id"`
	Seq     uint64    `json:"seq"`
	By      string    `json:"by"`      // the manager, or "manager"
	Cashier string    `json:"cashier"` // on shift
	Extra   int       `json:"extra"`
	At      time.Time `json:"at"`
	// Limit is the shift's effective limit before this override.
	Limit int `json:"limit"`
}

// MaxOverrideExtra bounds one override.
const MaxOverrideExtra = store.MaxOverrideExtra

// Errors of OverrideOfflineLimit. Nothing is journaled with them.
var (
	// ErrNoOfflineLimit: offline acceptance is off ([offline] mode =
	// "refuse") or has no per-shift bound: there is nothing to raise.
	ErrNoOfflineLimit = errors.New("there is no offline limit to raise")
	// ErrBadOverride: the number allowed is not 1..MaxOverrideExtra, or
	// no manager is named.
	ErrBadOverride = errors.New("not a valid override")
)

// OverrideOfflineLimit journals that manager by allows extra more offline
// acceptances in the open shift, and returns it with the shift's limit
// before it. The caller has checked the manager's PIN; the engine never
// sees it. It fails with ErrNoShift when no shift is open,
// ErrNoOfflineLimit when the policy has no limit to raise, ErrBadOverride
// for a bad extra or by, ErrClosed after Shutdown; then nothing changes.
func (e *Engine) OverrideOfflineLimit(ctx context.Context, by string, extra int) (Override, error) {
	_, leave, err := e.enter(ctx)
	if err != nil {
		return Override{}, fmt.Errorf("override: %w", err)
	}
	defer leave()
	by = strings.TrimSpace(by)
	switch {
	case e.o.Policy.Mode == ModeRefuse || e.o.Policy.MaxPerShift < 0:
		return Override{}, fmt.Errorf("override: %w", ErrNoOfflineLimit)
	case extra < 1 || extra > MaxOverrideExtra:
		return Override{}, fmt.Errorf("override: %w: allow 1 to %d more, not %d", ErrBadOverride, MaxOverrideExtra, extra)
	case by == "":
		return Override{}, fmt.Errorf("override: %w: no manager named", ErrBadOverride)
	}
	id, cashier, ok, err := e.j.CurrentShift()
	if err != nil {
		return Override{}, fmt.Errorf("override: %w", err)
	}
	if !ok {
		return Override{}, fmt.Errorf("override: %w", ErrNoShift)
	}
	limit, _, err := e.shiftLimit(id)
	if err != nil {
		return Override{}, fmt.Errorf("override: %w", err)
	}
	o, err := e.j.AddOfflineOverride(Override{ShiftID: id, By: by, Cashier: cashier, Extra: extra, Limit: limit})
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			err = fmt.Errorf("%w: %w", ErrBadOverride, err)
		}
		return Override{}, fmt.Errorf("override: %w", err)
	}
	e.log.Info("offline limit raised by a manager", "shift", o.ShiftID, "by", o.By, "cashier", o.Cashier, "extra", o.Extra, "limit", o.Limit+o.Extra)
	e.notify()
	return o, nil
}

// shiftLimit is the shift's effective offline limit (max_per_shift plus
// its overrides) and the overrides' part of it.
func (e *Engine) shiftLimit(shift uint64) (limit, extra int, err error) {
	os, err := e.j.OfflineOverrides(shift)
	if err != nil {
		return 0, 0, err
	}
	for _, o := range os {
		extra += o.Extra
	}
	return e.o.Policy.MaxPerShift + extra, extra, nil
}

// OfflineOverrides returns the overrides of a shift, oldest first.
func (e *Engine) OfflineOverrides(shift uint64) ([]Override, error) {
	return e.j.OfflineOverrides(shift)
}

func (j storeJournal) OfflineOverrides(shift uint64) ([]Override, error) {
	os, err := j.db.OfflineOverrides(shift)
	out := make([]Override, len(os))
	for i, o := range os {
		out[i] = Override(o)
	}
	return out, err
}

func (j storeJournal) AddOfflineOverride(o Override) (Override, error) {
	s, err := j.db.AddOfflineOverride(store.OfflineOverride(o))
	return Override(s), mapErr(err)
}
