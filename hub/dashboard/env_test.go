package dashboard_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/hub/dashboard"
	"cardtill/wechat"
)

// cheap keeps the tests' argon2id fast; production uses the default.
var cheap = hub.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// clock is moved by hand; the hub, its store and the dashboard read it.
type clock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// env is a real hub (bbolt file, HTTP on loopback) with the dashboard
// mounted, an account "zhao" (password "correct horse") and a terminal
// "till-a".
type env struct {
	t    testing.TB
	clk  *clock
	st   *hub.BoltStore
	srv  *httptest.Server
	dash *dashboard.Dashboard
	key  string // till-a's terminal key
}

const (
	account  = "zhao"
	password = "correct horse"
)

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	st, err := hub.OpenStore(filepath.Join(t.TempDir(), "hub.db"), hub.StoreOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h, err := hub.PasswordHash(password, cheap)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddAccount(account, h); err != nil {
		t.Fatal(err)
	}
	key := hub.NewTerminalKey()
	if err := st.AddTerminal("till-a", key); err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.New(dashboard.Options{Accounts: st, Terminals: st, Fleet: st, Now: clk.Now, Location: time.UTC, PasswordParams: cheap})
	if err != nil {
		t.Fatal(err)
	}
	codec, err := wechat.NewPushCodec(wechat.PushConfig{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := hub.NewServer(hub.Options{Push: codec, Store: st, Now: clk.Now, Dashboard: d.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, clk: clk, st: st, srv: srv, dash: d, key: key}
}

// client is a browser-like client: cookies kept, redirects not followed.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get returns the status and body.
func (e *env) get(c *http.Client, path string, hdr ...string) (int, string, *http.Response) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func (e *env) post(c *http.Client, path string, form url.Values) (int, string, *http.Response) {
	e.t.Helper()
	resp, err := c.PostForm(e.srv.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// loginAs logs c in and returns the session's CSRF token (from a page's
// logout form).
func (e *env) loginAs(c *http.Client, name, pw string) (status int, csrf string) {
	e.t.Helper()
	_, body, _ := e.get(c, "/admin/login")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("login form without a token: %s", body)
	}
	st, _, _ := e.post(c, "/admin/login", url.Values{"csrf": {m[1]}, "account": {name}, "password": {pw}})
	if st != http.StatusSeeOther {
		return st, ""
	}
	code, page, _ := e.get(c, "/admin/tills")
	m = csrfField.FindStringSubmatch(page)
	if code != 200 || m == nil {
		e.t.Fatalf("after login: %d %s", code, page)
	}
	return st, m[1]
}

func (e *env) login(c *http.Client) string {
	e.t.Helper()
	st, csrf := e.loginAs(c, account, password)
	if st != http.StatusSeeOther {
		e.t.Fatalf("login: %d", st)
	}
	return csrf
}

// report posts a batch for till-a as a till does.
func (e *env) report(reps ...hub.FleetReport) {
	e.t.Helper()
	for i := range reps {
		reps[i].ID = reps[i].Key()
	}
	c := hub.NewClient(hub.ClientOptions{URL: e.srv.URL, TerminalKey: e.key, HTTPClient: e.srv.Client()})
	if _, err := c.Report(e.t.Context(), hub.FleetBatch{Format: hub.FleetFormat, Reports: reps}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(e.srv.URL + "/admin/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "cardtill_session" {
			return ck.Value
		}
	}
	return ""
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
