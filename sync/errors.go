package sync

import "errors"

// Errors of the engine. Everything else it returns wraps a journal error.
var (
	// ErrBadScan: the request carries nothing redeemable (empty, too long,
	// control characters). Nothing was journaled.
	ErrBadScan = errors.New("not a coupon code")
	// ErrNoShift: no shift is open and the configuration says to ask
	// ([shift] on_scan_without_shift = "ask"). Nothing was journaled.
	ErrNoShift = errors.New("no shift is open: open a shift first")
	// ErrClosed: the engine was shut down (Engine.Shutdown); a scan taken
	// after it is refused before anything is journaled, one in flight then
	// ends interrupted unless its consume was sent.
	ErrClosed = errors.New("the till is shutting down")
)

// Errors a Journal returns (wrapped or not) so the engine can tell them
// from failures.
var (
	// ErrStale: a compare-and-set transition found the redemption in
	// another state (someone else moved it first). The engine skips it.
	ErrStale = errors.New("redemption changed state meanwhile")
	// ErrActive: Create found an active redemption for the same code
	// (invariant 3). The engine reports a duplicate read.
	ErrActive = errors.New("code has an active redemption")
	// ErrJournalFull: the journal reached its configured maximum size and
	// takes no new offline acceptance ([store] max_size_mb). The engine
	// refuses the scan offline (ReasonOfflineJournalFull).
	ErrJournalFull = errors.New("journal full")
	// ErrOfflineLimit: an offline acceptance found, in its own commit, the
	// shift's offline.max_per_shift reached by another scan accepted since
	// the count was read (Journal.AcceptOffline). The engine refuses the scan.
	ErrOfflineLimit = errors.New("offline limit of the shift reached")
)

// OptionError is a value of Options (or of its Policy) the engine cannot
// work with. Field names it as in the Go structs ("QuietPeriod",
// "Policy.Mode"); which config key sets it is the command line's to say.
type OptionError struct {
	Field string
	Msg   string // what is wrong and what would do
}

func (e *OptionError) Error() string { return "sync: " + e.Field + " " + e.Msg }
