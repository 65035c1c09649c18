package till

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"cardtill/internal/config"
	"cardtill/pin"
	"cardtill/report"
	"cardtill/sync"
	"cardtill/tui"
)

// ManagerOverride is the till screen's manager override of the offline
// limit ([offline] manager_pin_hash), nil without a hash. The PIN goes
// from the screen to the guard and nowhere else: what is logged is that a
// PIN was refused and how many in a row, never what was typed.
func ManagerOverride(cfg *config.Config, e *sync.Engine, logger *slog.Logger) *tui.Override {
	if cfg.Offline.ManagerPINHash == "" {
		return nil
	}
	guard, err := pin.NewGuard(cfg.Offline.ManagerPINHash, nil)
	if err != nil { // Validate refuses such a config; say it if one gets here
		logger.Warn("manager override off: offline.manager_pin_hash is not usable", "err", err)
		return nil
	}
	by := strings.TrimSpace(cfg.Offline.ManagerName)
	if by == "" {
		by = report.ManagerBy
	}
	return &tui.Override{
		CheckPIN: func(p string) (bool, time.Duration) {
			ok, wait := guard.Try(p)
			if !ok {
				logger.Warn("manager PIN refused at the till", "in_a_row", guard.Failures(), "pause", wait)
			}
			return ok, wait
		},
		Allow: func(n int) (sync.Override, error) {
			return e.OverrideOfflineLimit(context.Background(), by, n)
		},
		Default: cfg.Offline.OverrideDefault,
	}
}
