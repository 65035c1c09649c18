package main

import (
	"fmt"
	"log/slog"
	"net"

	"cardtill/hub"
	"cardtill/hub/dashboard"
)

// newHubDashboard builds the web dashboard over the hub's store (nil when
// the store keeps no accounts).
func newHubDashboard(cfg *Config, st hub.Store, log *slog.Logger) (*dashboard.Dashboard, error) {
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

// HubAdminListenAddr is hub.admin_listen checked like hub.listen: plain
// HTTP beyond loopback only behind a proxy. "" when not set.
func (c *Config) HubAdminListenAddr() (string, error) {
	addr := c.Hub.AdminListen
	if addr == "" {
		return "", nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", &ConfigError{Path: c.Path, Key: "hub.admin_listen", Msg: fmt.Sprintf("%q is not host:port (e.g. \"127.0.0.1:8444\")", addr)}
	}
	if c.Hub.TLSCert == "" && !isLoopbackHost(host) && !c.Hub.BehindProxy {
		return "", &ConfigError{Path: c.Path, Key: "hub.admin_listen", Msg: fmt.Sprintf("%q serves plain HTTP (no hub.tls_cert) beyond this machine: passwords and sessions would cross the network in the clear; set hub.tls_cert and hub.tls_key, or listen on 127.0.0.1, or set hub.behind_proxy = true", addr)}
	}
	return addr, nil
}
