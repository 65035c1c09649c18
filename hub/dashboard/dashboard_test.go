package dashboard_test

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/hub/dashboard"
)

// A login sets an HttpOnly, SameSite=Strict session cookie (Secure when
// served over TLS) whose id only the hash of is stored; logout ends it.
func TestLoginAndLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if st, _, resp := e.get(c, "/admin/tills"); st != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("before login: %d %s", st, resp.Header.Get("Location"))
	}
	_, body, _ := e.get(c, "/admin/login")
	tok := csrfField.FindStringSubmatch(body)[1]
	st, _, resp := e.post(c, "/admin/login", url.Values{"csrf": {tok}, "account": {account}, "password": {password}})
	if st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "cardtill_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/admin/" || sess.Secure {
		t.Fatalf("session cookie: %+v", sess)
	}
	if _, ok, _ := e.st.Session(sha256.Sum256([]byte(sess.Value)), e.clk.Now()); !ok {
		t.Fatal("session not stored by its hash")
	}
	st, page, _ := e.get(c, "/admin/tills")
	if st != 200 || !strings.Contains(page, account) {
		t.Fatalf("tills: %d", st)
	}
	csrf := csrfField.FindStringSubmatch(page)[1]
	if st, _, _ := e.post(c, "/admin/logout", url.Values{"csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if _, ok, _ := e.st.Session(sha256.Sum256([]byte(sess.Value)), e.clk.Now()); ok {
		t.Fatal("session still stored after logout")
	}
	// The old cookie, replayed, opens nothing.
	c2 := e.client()
	u, _ := url.Parse(e.srv.URL + "/admin/")
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: "cardtill_session", Value: sess.Value, Path: "/admin/"}})
	if st, _, _ := e.get(c2, "/admin/tills"); st != http.StatusSeeOther {
		t.Fatalf("replayed cookie after logout: %d", st)
	}
	// A session expires; an account removed ends its sessions at once.
	c3 := e.client()
	e.login(c3)
	e.clk.Advance(dashboard.DefaultSessionTTL + time.Second)
	if st, _, _ := e.get(c3, "/admin/tills"); st != http.StatusSeeOther {
		t.Fatalf("expired session: %d", st)
	}
	c4 := e.client()
	e.login(c4)
	if err := e.st.RemoveAccount(account); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := e.get(c4, "/admin/tills"); st != http.StatusSeeOther {
		t.Fatalf("session of a removed account: %d", st)
	}
}

func TestSecureCookieWithTLS(t *testing.T) {
	t.Parallel()
	st, err := hub.OpenStore(t.TempDir()+"/hub.db", hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := dashboard.New(dashboard.Options{Accounts: st, Secure: true, PasswordParams: cheap})
	if err != nil {
		t.Fatal(err)
	}
	w := &recorder{h: http.Header{}}
	r, _ := http.NewRequest(http.MethodGet, "/admin/login", nil)
	d.Handler().ServeHTTP(w, r)
	ck := (&http.Response{Header: w.h}).Cookies()
	if len(ck) != 1 || !ck[0].Secure || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies: %+v", ck)
	}
	if csp := w.h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
		t.Fatalf("CSP %q", csp)
	}
}

type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

// Every POST route refuses a form without the session's CSRF token (403)
// and changes nothing; the login form refuses one without its own token.
func TestEveryPostNeedsItsCSRFToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.report(conflictReport(7, nil))
	c := e.client()
	csrf := e.login(c)
	routes := e.dash.PostRoutes()
	if len(routes) < 3 {
		t.Fatalf("POST routes: %v", routes)
	}
	for _, p := range routes {
		path := strings.NewReplacer("{till}", "till-a", "{id}", "7").Replace(p)
		for _, bad := range []url.Values{{}, {"csrf": {"x" + csrf}}, {"csrf": {""}}} {
			bad.Set("note", "refunded")
			bad.Set("account", account)
			bad.Set("password", password)
			st, body, _ := e.post(c, path, bad)
			if st != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d", path, bad.Get("csrf"), st)
			}
			if !strings.Contains(body, "nothing was changed") {
				t.Errorf("POST %s: the page does not say nothing changed", path)
			}
		}
	}
	// Nothing changed: still logged in, the conflict still open.
	if st, _, _ := e.get(c, "/admin/tills"); st != 200 {
		t.Fatalf("logged out by a refused POST: %d", st)
	}
	open, _ := e.st.FleetConflicts(true)
	if len(open) != 1 {
		t.Fatalf("conflict resolved by a refused POST: %+v", open)
	}
	// With the token the same resolve works.
	if st, _, _ := e.post(c, "/admin/conflicts/till-a/7/resolve", url.Values{"csrf": {csrf}, "note": {"refunded"}}); st != http.StatusSeeOther {
		t.Fatalf("resolve with the token: %d", st)
	}
	// One session's token does not serve another session.
	c2 := e.client()
	e.login(c2)
	if st, _, _ := e.post(c2, "/admin/logout", url.Values{"csrf": {csrf}}); st != http.StatusForbidden {
		t.Fatalf("another session's token: %d", st)
	}
}

// After FreeTries wrong passwords the account pauses (even the right
// password is refused unchecked), and so does the address for other names;
// the pause passes with time.
func TestLoginPauseAfterFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	for i := 0; i < dashboard.FreeTries; i++ {
		if st, _ := e.loginAs(c, account, "wrong password"); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i, st)
		}
	}
	if st, _ := e.loginAs(c, account, password); st != http.StatusTooManyRequests {
		t.Fatalf("right password during the pause: %d", st)
	}
	if st, _ := e.loginAs(c, "someone-else", "whatever pw"); st != http.StatusTooManyRequests {
		t.Fatalf("same address, other name during the pause: %d", st)
	}
	e.clk.Advance(dashboard.FirstPause + time.Second)
	if st, _ := e.loginAs(c, account, password); st != http.StatusSeeOther {
		t.Fatalf("after the pause: %d", st)
	}
	// The pause doubles with each failure after it.
	for i := 0; i < dashboard.FreeTries; i++ {
		e.loginAs(c, account, "wrong password")
	}
	e.clk.Advance(dashboard.FirstPause + time.Second)
	if st, _ := e.loginAs(c, account, "wrong password"); st != http.StatusUnauthorized {
		t.Fatalf("a try after the pause is checked: %d", st)
	}
	e.clk.Advance(dashboard.FirstPause + time.Second)
	if st, _ := e.loginAs(c, account, password); st != http.StatusTooManyRequests {
		t.Fatalf("the second pause is not longer than the first: %d", st)
	}
	e.clk.Advance(dashboard.FirstPause)
	if st, _ := e.loginAs(c, account, password); st != http.StatusSeeOther {
		t.Fatalf("after the doubled pause: %d", st)
	}
}

// A terminal key opens nothing of the dashboard: not as a Bearer header,
// not put in the session cookie, not as a password for the terminal's name.
func TestTerminalKeyNeverOpensTheDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if st, _, _ := e.get(c, "/admin/tills", "Authorization", "Bearer "+e.key); st != http.StatusSeeOther {
		t.Fatalf("Bearer terminal key: %d", st)
	}
	u, _ := url.Parse(e.srv.URL + "/admin/")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "cardtill_session", Value: e.key, Path: "/admin/"}})
	if st, _, _ := e.get(c, "/admin/tills"); st != http.StatusSeeOther {
		t.Fatalf("terminal key as session cookie: %d", st)
	}
	if st, _ := e.loginAs(e.client(), "till-a", e.key); st != http.StatusUnauthorized {
		t.Fatalf("terminal name and key as a login: %d", st)
	}
	// The key still works where it belongs.
	if st, _, _ := e.get(e.client(), "/v1/codes/changes", "Authorization", "Bearer "+e.key); st != 200 {
		t.Fatalf("terminal key on the feed: %d", st)
	}
}

// A dashboard session fetches no token: the token service reads only a
// Bearer terminal key, never the session cookie, the session id or its
// CSRF token.
func TestSessionNeverFetchesAToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	csrf := e.login(c)
	sid := e.sessionCookie(c)
	if sid == "" {
		t.Fatal("no session cookie")
	}
	// The cookie jar sends cookies only under /admin/; send it by hand.
	for _, h := range [][]string{
		{"Cookie", "cardtill_session=" + sid},
		{"Authorization", "Bearer " + sid},
		{"Authorization", "Bearer " + csrf},
	} {
		for _, p := range []string{hub.PathToken, hub.PathChanges} {
			if st, body, _ := e.get(e.client(), p, h...); st != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d %s", p, h[0], st, body)
			}
		}
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if _, body, _ := e.get(c, "/admin/login", "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5"); !contains(body, `lang="zh-CN"`, "登录", "密码") {
		t.Fatalf("zh login page: %s", body)
	}
	if _, body, _ := e.get(c, "/admin/login", "Accept-Language", "en-US"); !contains(body, `lang="en"`, "Log in", "Password") {
		t.Fatalf("en login page: %s", body)
	}
	st, _, resp := e.get(c, "/admin/login?lang=zh", "Accept-Language", "en-US")
	if st != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("switch: %d %s", st, resp.Header.Get("Location"))
	}
	if _, body, _ := e.get(c, "/admin/login", "Accept-Language", "en-US"); !contains(body, "登录") {
		t.Fatal("the switch did not stick")
	}
}

func TestCatalogueComplete(t *testing.T) {
	t.Parallel()
	for _, k := range dashboard.CatalogueKeys() {
		for _, l := range []string{"en", "zh"} {
			if !dashboard.HasWord(l, k) {
				t.Errorf("%s has no %q", l, k)
			}
		}
	}
}
