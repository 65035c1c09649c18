package dashboard

import (
	"crypto/sha256"
	"net/http"
	stdsync "sync"
	"time"

	"cardtill/hub"
)

// The pause after repeated failed logins: after FreeTries failures in a row
// for an account, or from a client address, every further try of it is
// refused unchecked until a pause has passed: FirstPause, doubling with
// each failure after it, at most MaxPause. A success ends the account's
// and the address's series. The counts live in this process's memory: a
// restart begins new series, and several hubs on one database each keep
// their own (an attacker spread over N hubs gets N times the tries, each
// still paused).
const (
	FreeTries  = 5
	FirstPause = 30 * time.Second
	MaxPause   = 15 * time.Minute
	// forgetAfter: a series with no failure for that long is forgotten.
	forgetAfter = time.Hour
	maxTracked  = 100000
)

type series struct {
	fails int
	last  time.Time
	until time.Time
}

type loginGuard struct {
	now func() time.Time
	mu  stdsync.Mutex
	m   map[string]*series
}

func newLoginGuard(now func() time.Time) *loginGuard {
	return &loginGuard{now: now, m: map[string]*series{}}
}

// wait is how long keys must still wait (0: a try may be checked).
func (g *loginGuard) wait(keys ...string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	var w time.Duration
	for _, k := range keys {
		if s := g.m[k]; s != nil {
			w = max(w, s.until.Sub(now))
		}
	}
	return w
}

// fail counts a failure for every key.
func (g *loginGuard) fail(keys ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if len(g.m) > maxTracked {
		for k, s := range g.m {
			if now.Sub(s.last) > forgetAfter && !now.Before(s.until) {
				delete(g.m, k)
			}
		}
	}
	for _, k := range keys {
		s := g.m[k]
		if s == nil || now.Sub(s.last) > forgetAfter && !now.Before(s.until) {
			s = &series{}
			g.m[k] = s
		}
		s.fails++
		s.last = now
		if s.fails >= FreeTries {
			n := s.fails - FreeTries
			p := MaxPause
			if n < 20 {
				p = min(FirstPause<<n, MaxPause)
			}
			s.until = now.Add(p)
		}
	}
}

// ok ends the series of keys.
func (g *loginGuard) ok(keys ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range keys {
		delete(g.m, k)
	}
}

type loginData struct {
	Token   string // the login form's CSRF token
	Account string
	Error   string
}

// loginForm is GET /admin/login: a fresh login token in a cookie and in the
// form (double submit: a page of another site can neither read the cookie
// nor, SameSite=Strict, send it).
func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	if d.switchLang(w, r) {
		return
	}
	d.showLogin(w, r, http.StatusOK, "", "")
}

func (d *Dashboard) showLogin(w http.ResponseWriter, r *http.Request, status int, account, msg string) {
	tok := randomToken()
	http.SetCookie(w, d.cookie(cookieLogin, tok, time.Hour))
	d.render(w, r, status, "login", langOf(r), nil, loginData{Token: tok, Account: account, Error: msg})
}

// login is POST /admin/login.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	lang := langOf(r)
	ck, err := r.Cookie(cookieLogin)
	if err != nil || !sameToken(r.PostFormValue("csrf"), ck.Value) {
		d.log.Warn("dashboard: login posted without its form's token refused", "remote", r.RemoteAddr)
		d.showLogin(w, r, http.StatusForbidden, "", tr(lang, "err_csrf"))
		return
	}
	name, password := r.PostFormValue("account"), r.PostFormValue("password")
	addr := clientHost(r)
	keys := []string{"account:" + clip(name, 64), "addr:" + addr}
	// A name typed may be a password typed in the wrong field: only an
	// existing account's name is logged.
	logName := "(not an account)"
	if wt := d.guard.wait(keys...); wt > 0 {
		d.log.Warn("dashboard: login refused during the pause after failed logins", "remote", addr)
		w.Header().Set("Retry-After", itoa(int(wt.Round(time.Second)/time.Second)))
		d.showLogin(w, r, http.StatusTooManyRequests, name, trf(lang, "err_paused", wt.Round(time.Second)))
		return
	}
	hash, ok, err := d.o.Accounts.AccountHash(name)
	if err != nil {
		d.log.Error("dashboard: accounts cannot be read", "err", err)
		d.showLogin(w, r, http.StatusServiceUnavailable, name, tr(lang, "err_store"))
		return
	}
	if ok {
		logName = name
	} else {
		hash = d.dummy // the same work: the answer does not tell which names exist
	}
	good, err := hub.VerifyPassword(hash, password)
	if err != nil {
		d.log.Error("dashboard: an account's stored hash is unreadable", "account", logName, "err", err)
	}
	if !ok || !good || err != nil {
		d.guard.fail(keys...)
		d.log.Warn("dashboard: login failed", "account", logName, "remote", addr)
		d.showLogin(w, r, http.StatusUnauthorized, name, tr(lang, "err_login"))
		return
	}
	d.guard.ok(keys...)
	now := d.now()
	_ = d.o.Accounts.PruneSessions(now)
	id := randomToken()
	s := hub.Session{IDHash: sha256.Sum256([]byte(id)), Account: name, CSRF: randomToken(), Created: now.UTC(), Expires: now.Add(d.ttl).UTC()}
	if err := d.o.Accounts.AddSession(s); err != nil {
		d.log.Error("dashboard: session not stored", "account", name, "err", err)
		d.showLogin(w, r, http.StatusServiceUnavailable, name, tr(lang, "err_store"))
		return
	}
	http.SetCookie(w, d.cookie(cookieLogin, "", -1))
	http.SetCookie(w, d.cookie(cookieSession, id, d.ttl))
	d.log.Info("dashboard: logged in", "account", name, "remote", addr)
	http.Redirect(w, r, Prefix+"tills", http.StatusSeeOther)
}

// logout is POST /admin/logout (CSRF checked by post).
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	if err := d.o.Accounts.RemoveSession(c.sess.IDHash); err != nil {
		d.log.Error("dashboard: session not removed", "account", c.account, "err", err)
	}
	http.SetCookie(w, d.cookie(cookieSession, "", -1))
	d.log.Info("dashboard: logged out", "account", c.account)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
