// Package dashboard is the hub's web dashboard for HQ, served under
// /admin/ (on the hub's own listener, or [hub] admin_listen): the tills,
// their conflicts across stores (resolved with a note at HQ), and the days
// per store and card with a chart of redemptions by hour and CSV export.
//
// It owns the login (hub.AccountStore: argon2id password hashes, sessions
// kept in the hub's store so several hubs on one database share them), the
// session cookie (HttpOnly, SameSite=Strict, Secure when served over TLS),
// the CSRF token on every form (checked on every POST: every POST route is
// registered through one function that checks it), the pause after
// repeated failed logins (per account and per client address, in this
// process's memory), and its pages: html/template files embedded in the
// binary, zh and en (Accept-Language, or the switch on every page), no
// JavaScript at all.
//
// It reads only its session cookie: a terminal key (a Bearer header, or a
// key put in the cookie) never opens it, and the hub's token service reads
// only a Bearer terminal key, so a dashboard session never fetches a
// token. Nothing it logs or shows contains a password, a session id or a
// CSRF token.
package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"cardtill/hub"
)

//go:embed templates/*.html static/*
var files embed.FS

// Prefix is where the dashboard is served.
const Prefix = "/admin/"

// Cookie names.
const (
	cookieSession = "cardtill_session"
	cookieLogin   = "cardtill_login" // the login form's CSRF token (double submit)
	cookieLang    = "cardtill_lang"
)

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 12 * time.Hour

// Terminals is what the dashboard reads of the hub's terminal keys (their
// names only).
type Terminals interface {
	Terminals() ([]hub.Terminal, error)
}

// Options configures a Dashboard.
type Options struct {
	// Accounts keeps the accounts and sessions. Required.
	Accounts hub.AccountStore
	// Terminals lists the terminal keys (tills that never reported are
	// shown). Optional.
	Terminals Terminals
	// Fleet is the tills' reports. Optional: without it the pages say the
	// store keeps none.
	Fleet FleetReader
	// Secure marks the cookies Secure: set it when the dashboard is
	// reached over TLS (the hub's own, or a proxy's).
	Secure bool
	// SessionTTL is how long a login lasts (DefaultSessionTTL when 0).
	SessionTTL time.Duration
	// Logger gets one line per login, logout, refusal and resolution.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Location is the time zone pages show times in (time.Local when nil).
	Location *time.Location
	// PasswordParams are for the dummy hash an unknown account is checked
	// against (hub.DefaultPasswordParams when zero): the same cost as a
	// real account, so a login does not tell which names exist.
	PasswordParams hub.PasswordParams
}

// Dashboard serves /admin/.
type Dashboard struct {
	o     Options
	log   *slog.Logger
	now   func() time.Time
	loc   *time.Location
	ttl   time.Duration
	pages map[string]*template.Template
	mux   *http.ServeMux
	posts []string // every POST pattern, each behind the CSRF check
	guard *loginGuard
	dummy string // a hash to check unknown accounts against
}

// New checks o and builds the dashboard.
func New(o Options) (*Dashboard, error) {
	if o.Accounts == nil {
		return nil, errors.New("dashboard: Options.Accounts is required")
	}
	d := &Dashboard{o: o, log: o.Logger, now: o.Now, loc: o.Location, ttl: o.SessionTTL}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.loc == nil {
		d.loc = time.Local
	}
	if d.ttl <= 0 {
		d.ttl = DefaultSessionTTL
	}
	pp := o.PasswordParams
	if pp == (hub.PasswordParams{}) {
		pp = hub.DefaultPasswordParams
	}
	var err error
	if d.dummy, err = hub.PasswordHash(randomToken(), pp); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	d.guard = newLoginGuard(d.now)
	if err := d.parse(); err != nil {
		return nil, err
	}
	d.routes()
	return d, nil
}

// Handler serves everything under Prefix.
func (d *Dashboard) Handler() http.Handler { return d }

// ServeHTTP sets the headers every answer carries and routes.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
		h.Set("Cache-Control", "no-store")
	}
	d.mux.ServeHTTP(w, r)
}

// PostRoutes lists every POST pattern (tests post to each without a CSRF
// token).
func (d *Dashboard) PostRoutes() []string { return append([]string(nil), d.posts...) }

// authed is a page for a logged-in account.
type authedFunc func(w http.ResponseWriter, r *http.Request, c *reqCtx)

// reqCtx is what a handler knows of the request.
type reqCtx struct {
	lang    string
	sess    hub.Session
	account string
}

func (d *Dashboard) routes() {
	mux := http.NewServeMux()
	d.mux = mux
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	mux.HandleFunc("GET "+Prefix+"login", d.loginForm)
	mux.HandleFunc("POST "+Prefix+"login", d.login) // its own CSRF check: the login cookie (no session yet)
	d.posts = append(d.posts, Prefix+"login")
	d.get(Prefix+"{$}", func(w http.ResponseWriter, r *http.Request, c *reqCtx) {
		http.Redirect(w, r, Prefix+"tills", http.StatusSeeOther)
	})
	d.post(Prefix+"logout", d.logout)
	d.get(Prefix+"tills", d.tillsPage)
	d.get(Prefix+"conflicts", d.conflictsPage)
	d.get(Prefix+"conflicts/{till}/{id}", d.conflictPage)
	d.post(Prefix+"conflicts/{till}/{id}/resolve", d.resolve)
	d.get(Prefix+"days", d.daysPage)
	d.get(Prefix+"days.csv", d.daysCSV)
}

// get registers a page that needs a session.
func (d *Dashboard) get(pattern string, h authedFunc) {
	d.handle("GET "+pattern, func(w http.ResponseWriter, r *http.Request) {
		if d.switchLang(w, r) {
			return
		}
		c, ok := d.session(r)
		if !ok {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		h(w, r, c)
	})
}

// post registers a form's target: it needs a session and the session's
// CSRF token in the form field "csrf", or it is refused (403) and changes
// nothing. Every POST but the login goes through here.
func (d *Dashboard) post(pattern string, h authedFunc) {
	d.posts = append(d.posts, pattern)
	d.handle("POST "+pattern, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		c, ok := d.session(r)
		if !ok {
			d.log.Warn("dashboard: POST without a session refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			d.refuse(w, r, langOf(r), http.StatusForbidden, "err_session")
			return
		}
		if !sameToken(r.PostFormValue("csrf"), c.sess.CSRF) {
			d.log.Warn("dashboard: POST without its CSRF token refused", "path", r.URL.Path, "account", c.account, "remote", r.RemoteAddr)
			d.refuse(w, r, c.lang, http.StatusForbidden, "err_csrf")
			return
		}
		h(w, r, c)
	})
}

func (d *Dashboard) handle(pattern string, h http.HandlerFunc) {
	d.mux.HandleFunc(pattern, h)
}

// session reads the session cookie, and only it.
func (d *Dashboard) session(r *http.Request) (*reqCtx, bool) {
	ck, err := r.Cookie(cookieSession)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil, false
	}
	s, ok, err := d.o.Accounts.Session(sha256.Sum256([]byte(ck.Value)), d.now())
	if err != nil {
		d.log.Error("dashboard: sessions cannot be read", "err", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return &reqCtx{lang: langOf(r), sess: s, account: s.Account}, true
}

// sameToken compares a submitted token with the expected one in constant
// time; an empty one never matches.
func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// randomToken is 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientHost is the request's client address without the port (the hub's
// handler already put a trusted proxy's client there).
func clientHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func (d *Dashboard) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: Prefix, HttpOnly: true, Secure: d.o.Secure, SameSite: http.SameSiteStrictMode}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	}
	return c
}
