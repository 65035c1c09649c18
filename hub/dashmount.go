package hub

import (
	"context"
	"net"
	"net/http"
)

// PathDashboard is where the web dashboard (package hub/dashboard) is
// served, on the hub's listener and on [hub] admin_listen.
const PathDashboard = "/admin/"

// DashboardHandler serves only the dashboard (Options.Dashboard), with the
// client's address taken as Handler takes it: for [hub] admin_listen, an
// address of its own that serves neither the tills' API nor WeChat's
// pushes.
func (s *Server) DashboardHandler() http.Handler {
	mux := http.NewServeMux()
	if s.dash != nil {
		mux.Handle(PathDashboard, s.dash)
	}
	mux.Handle("/{$}", http.RedirectHandler(PathDashboard, http.StatusSeeOther))
	return withClientAddr(s.proxy, mux)
}

// ServeDashboard answers DashboardHandler on ln until ctx ends (HTTPS with
// certFile and keyFile), as Serve does.
func (s *Server) ServeDashboard(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	return s.serve(ctx, ln, s.DashboardHandler(), certFile, keyFile)
}
