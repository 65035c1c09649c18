package report

import (
	"errors"
	"fmt"
	"time"

	"cardtill/store"
)

// ErrShiftOpen is returned by Build when a Z report is asked of a shift
// that is still open.
var ErrShiftOpen = errors.New("report: shift is still open, and a Z report needs it closed")

// BuildOptions tune Build.
type BuildOptions struct {
	Loc *time.Location   // till's local time zone (default time.Local)
	Now func() time.Time // clock (default time.Now)
	// Z demands the closing report: an open shift gives ErrShiftOpen.
	Z bool
}

// Build reads the report of shift id from the journal: the shift, its
// counters (O(1)), only when the shift has conflicts its per-shift conflict
// index (O(its conflicts), never decoding a record), and only when it has redemptions confirmed
// by a query the reason index between the shift's first and last id
// (O(those)), and the shift's offline-limit overrides (O(those)). An open shift gives an X report, a closed one its Z report.
func Build(db *store.DB, id uint64, o BuildOptions) (Report, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	s, err := db.Shift(id)
	if err != nil {
		return Report{}, fmt.Errorf("read shift %d: %w", id, err)
	}
	if o.Z && s.Open() {
		return Report{}, fmt.Errorf("shift #%d: %w", id, ErrShiftOpen)
	}
	live, err := db.ShiftCounters(id)
	if err != nil {
		return Report{}, fmt.Errorf("read counters of shift %d: %w", id, err)
	}
	in := Input{Shift: s, Live: live, Loc: o.Loc, Now: o.Now(), Titles: map[string]string{}}
	if live.ByOutcome[store.OutcomeConflict] > 0 || (s.Z != nil && s.Z.ByOutcome[store.OutcomeConflict] > 0) {
		if in.Conflicts, err = db.ShiftConflicts(id); err != nil {
			return Report{}, fmt.Errorf("read conflicts of shift %d: %w", id, err)
		}
	}
	if live.ConsumedByReason[ReasonConfirmedByQuery] > 0 {
		// the live count holds those of the Z and those after the close
		if in.Queried, err = db.ShiftConsumedByReason(id, ReasonConfirmedByQuery, 0); err != nil {
			return Report{}, fmt.Errorf("read redemptions of shift %d confirmed by query: %w", id, err)
		}
	}
	if in.Overrides, err = db.OfflineOverrides(id); err != nil {
		return Report{}, fmt.Errorf("read offline-limit overrides of shift %d: %w", id, err)
	}
	cards := live.ByCard
	if s.Z != nil && len(s.Z.ByCard) > len(cards) {
		cards = s.Z.ByCard
	}
	for cid := range cards {
		if cid == "" {
			continue
		}
		c, ok, err := db.Card(cid)
		if err != nil {
			return Report{}, fmt.Errorf("read card %s: %w", cid, err)
		}
		if ok {
			in.Titles[cid] = c.Title
		}
	}
	return FromCounters(in), nil
}
