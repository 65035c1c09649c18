package main

import (
	"log/slog"

	"cardtill/hub"
	"cardtill/hub/dashboard"
	"cardtill/internal/config"
)

// newHubDashboard builds the web dashboard over the hub's store (nil when
// the store keeps no accounts).
func newHubDashboard(cfg *config.Config, st hub.Store, log *slog.Logger) (*dashboard.Dashboard, error) {
	acc, ok := st.(hub.AccountStore)
	if !ok {
		return nil, nil
	}
	o := dashboard.Options{Accounts: acc, Terminals: st, Logger: log, Secure: cfg.Hub.TLSCert != "" || cfg.Hub.BehindProxy}
	if f, ok := st.(dashboard.FleetReader); ok {
		o.Fleet = f
	}
	return dashboard.New(o)
}
