package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	bolt "go.etcd.io/bbolt"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/internal/control"
	"cardtill/scanner"
	"cardtill/store"
	"cardtill/wechat"
)

// doctorFor is a doctor over cfg with no environment and loopback-only HTTP.
func doctorFor(cfg *config.Config) *Doctor {
	return &Doctor{cfg: cfg, getenv: noEnv, now: time.Now, hc: &http.Client{Timeout: 5 * time.Second},
		listPorts: func() ([]scanner.PortInfo, error) { return nil, nil }}
}

// dateServer answers every request with a Date header offset from now.
func dateServer(t *testing.T, offset time.Duration, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(offset).UTC().Format(http.TimeFormat))
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCheckClock(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(skew, rtt time.Duration) []dated {
		return []dated{{from: "wechat", sent: now, recv: now.Add(rtt), date: now.Add(rtt / 2).Add(-skew).Format(http.TimeFormat)}}
	}
	cases := []struct {
		name    string
		answers []dated
		want    string
		detail  string
	}{
		{"in step", at(0, 50*time.Millisecond), OK, "within"},
		{"a second off is the header's resolution", at(time.Second, 0), OK, "within"},
		{"ahead a minute", at(time.Minute, 0), Warn, "ahead of wechat"},
		{"behind a minute", at(-time.Minute, 0), Warn, "behind wechat"},
		{"an hour ahead", at(time.Hour, 0), Fail, "ahead"},
		{"slow answer widens the slack", at(6*time.Minute, 4*time.Minute), Warn, "ahead"},
		{"no answers", nil, Warn, "not checked"},
		{"bad Date, then a good one", append([]dated{{from: "wechat", date: "yesterday"}}, func() []dated { d := at(time.Hour, 0); d[0].from = "hub"; return d }()...), Fail, "hub"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := checkClock(tc.answers)
			if f.Status != tc.want || !strings.Contains(f.Detail, tc.detail) {
				t.Errorf("got %s %q, want %s containing %q", f.Status, f.Detail, tc.want, tc.detail)
			}
			if f.Status != OK && f.Fix == "" {
				t.Error("no fix given")
			}
		})
	}
}

func TestCheckReachFeedsClock(t *testing.T) {
	t.Parallel()
	srv := dateServer(t, -2*time.Hour, http.StatusOK)
	cfg := config.Default()
	d := doctorFor(cfg)
	f, ans := d.checkReach(context.Background(), "wechat", srv.URL)
	if f.Status != OK || ans == nil {
		t.Fatalf("reach = %+v, %v", f, ans)
	}
	if c := checkClock([]dated{*ans}); c.Status != Fail || !strings.Contains(c.Detail, "ahead") {
		t.Errorf("clock = %+v", c)
	}

	srv.Close()
	for _, mode := range []string{"accept", "refuse"} {
		cfg.Offline.Mode = mode
		f, ans = d.checkReach(context.Background(), "wechat", srv.URL)
		want := map[string]string{"accept": Warn, "refuse": Fail}[mode]
		if f.Status != want || ans != nil || f.Fix == "" {
			t.Errorf("offline.mode %s, WeChat down: %+v", mode, f)
		}
	}

	notHub := dateServer(t, 0, http.StatusNotFound)
	if f, _ := d.checkReach(context.Background(), "hub", notHub.URL+hub.PathHealth); f.Status != Warn {
		t.Errorf("a 404 from the hub's health path: %+v", f)
	}
}

// journalWith makes a real journal at a temporary path holding the given
// redemptions, and closes it.
func journalWith(t *testing.T, rs ...store.Redemption) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "journal.db")
	db, err := store.Open(p, store.Options{Terminal: "till-9", NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if _, err := db.Create(r, "test", store.Path(r.State)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckJournal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		path   func(t *testing.T) string
		want   string
		detail string
		queue  string // status of the queue finding
	}{
		{"not created yet", func(t *testing.T) string { return filepath.Join(t.TempDir(), "journal.db") }, OK, "not created yet", OK},
		{"folder missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone", "journal.db") }, Fail, "cannot be created", OK},
		{"a folder", func(t *testing.T) string { return t.TempDir() }, Fail, "is a folder", Warn},
		{"healthy", func(t *testing.T) string { return journalWith(t) }, OK, "opens and is consistent", OK},
		{"not a journal", func(t *testing.T) string { return writeFile(t, "journal.db", strings.Repeat("garbage ", 1000)) }, Fail, "cannot be opened", Warn},
		{"someone else's bbolt file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "other.db")
			db, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("theirs")); return err })
			_ = db.Close()
			return p
		}, Fail, "not a journal", Warn},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Store.Path = tc.path(t)
			cfg.Store.MaxSizeMB = 16
			cfg.Store.LockTimeout = config.Duration{Duration: 50 * time.Millisecond}
			d := doctorFor(cfg)
			f, js := d.checkJournal(context.Background())
			if f.Status != tc.want || !strings.Contains(f.Detail, tc.detail) {
				t.Errorf("got %s %q, want %s containing %q", f.Status, f.Detail, tc.want, tc.detail)
			}
			if f.Status != OK && f.Fix == "" {
				t.Error("no fix given")
			}
			if q := d.checkQueue(js, true); q.Status != tc.queue || (q.Status != OK && q.Fix == "") {
				t.Errorf("queue finding %+v, want %s with a fix unless ok", q, tc.queue)
			}
		})
	}
}

// TestCheckJournalHeldByRunningTill: a journal held by the till is fine.
// With the till's control socket doctor reads the queue through it; a
// holder that does not answer leaves the queue unchecked, said plainly.
func TestCheckJournalHeldByRunningTill(t *testing.T) {
	t.Parallel()
	old := time.Now().Add(-2 * time.Hour)
	p := journalWith(t,
		store.Redemption{Code: "200000000001", State: store.Queued, CreatedAt: old, DueAt: time.Now().Add(time.Minute)},
		store.Redemption{Code: "200000000002", State: store.Queued, DueAt: time.Now().Add(time.Minute)},
		store.Redemption{Code: "200000000003", State: store.Conflict},
	)
	db, err := store.Open(p, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cfg := config.Default()
	cfg.Store.Path = p
	cfg.Store.LockTimeout = config.Duration{Duration: 50 * time.Millisecond}
	d := doctorFor(cfg)

	t.Run("no control socket", func(t *testing.T) {
		f, js := d.checkJournal(context.Background())
		if f.Status != OK || !strings.Contains(f.Detail, "in use by a running cardtill (ok)") {
			t.Fatalf("journal: %+v", f)
		}
		q := d.checkQueue(js, true)
		if q.Status != Warn || !strings.Contains(q.Detail, "not checked") || !strings.Contains(q.Fix, "sudo -u cardtill") {
			t.Fatalf("queue: %+v", q)
		}
	})
	t.Run("through the control socket", func(t *testing.T) {
		ln, err := control.Listen(control.SocketPath(p))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- control.NewServer(db, slog.New(slog.DiscardHandler)).Serve(ctx, ln) }()
		t.Cleanup(func() { cancel(); <-done; _ = ln.Close() })

		f, js := d.checkJournal(context.Background())
		if f.Status != OK || !strings.Contains(f.Detail, "in use by the running till (ok), pid") || !strings.Contains(f.Detail, "of 1.0 GiB") {
			t.Fatalf("journal: %+v", f)
		}
		q := d.checkQueue(js, true)
		if q.Status != Warn || !strings.Contains(q.Detail, "2 waiting for WeChat, the oldest scanned 2h0m0s ago") ||
			!strings.Contains(q.Detail, "1 conflicts") || !strings.Contains(q.Fix, "has not drained") || !strings.Contains(q.Fix, "F3") {
			t.Fatalf("queue: %+v", q)
		}
		// Offline: the fix says so instead.
		if q := d.checkQueue(js, false); !strings.Contains(q.Fix, "bring the internet connection back") {
			t.Fatalf("queue while offline: %+v", q)
		}
	})
}

func TestCheckQueue(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.Local)
	cfg := config.Default()
	d := doctorFor(cfg)
	d.now = func() time.Time { return now }
	cases := []struct {
		name     string
		st       control.TillStatus
		wechatOK bool
		want     string
		detail   []string
		fix      string
	}{
		{"empty", control.TillStatus{}, true, OK, []string{"empty"}, ""},
		{"fresh", control.TillStatus{Waiting: 3, Oldest: now.Add(-5 * time.Minute), NextDue: now.Add(30 * time.Second)}, false, OK,
			[]string{"3 waiting for WeChat", "5m0s ago", "next try in 30s"}, ""},
		{"in doubt", control.TillStatus{Waiting: 1, InDoubt: 1, Oldest: now.Add(-time.Minute), NextDue: now.Add(-time.Second)}, true, OK,
			[]string{"1 in doubt", "never consumed twice", "due now"}, ""},
		{"stuck while online", control.TillStatus{Waiting: 7, Oldest: now.Add(-45 * time.Minute)}, true, Warn,
			[]string{"7 waiting", "45m0s ago"}, "has not drained"},
		{"offline for days", control.TillStatus{Waiting: 70, Oldest: now.Add(-50 * time.Hour)}, false, Warn,
			[]string{"70 waiting", "2d2h ago"}, "offline.max_age"},
		{"conflicts only", control.TillStatus{Conflicts: 2}, true, Warn, []string{"empty", "2 conflicts", "2 open, 0 resolved"}, "manager"},
		{"conflicts partly resolved", control.TillStatus{Conflicts: 3, ConflictsResolved: 1}, true, Warn, []string{"3 conflicts", "2 open, 1 resolved"}, "F7 resolves"},
		{"conflicts all resolved", control.TillStatus{Conflicts: 2, ConflictsResolved: 2}, true, OK, []string{"2 conflicts, all resolved"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			f := d.checkQueue(journalState{st: &st}, tc.wechatOK)
			if f.Status != tc.want || !strings.Contains(f.Fix, tc.fix) || (f.Status != OK && f.Fix == "") {
				t.Errorf("got %+v, want %s with fix %q", f, tc.want, tc.fix)
			}
			for _, w := range tc.detail {
				if !strings.Contains(f.Detail, w) {
					t.Errorf("detail %q lacks %q", f.Detail, w)
				}
			}
		})
	}
}

// TestJournalFullness: the warning comes at 80% of store.max_size_mb, well
// before offline acceptance stops at 100%.
func TestJournalFullness(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Store.MaxSizeMB = 100
	d := doctorFor(cfg)
	mb := int64(1 << 20)
	for _, tc := range []struct {
		size   int64
		want   string
		detail string
	}{
		{10 * mb, OK, ""},
		{79 * mb, OK, ""},
		{80 * mb, Warn, "nearly full"},
		{99 * mb, Warn, "nearly full"},
		{100 * mb, Warn, "FULL: offline acceptance is refused"},
	} {
		f := d.sized(Finding{Name: "journal", Status: OK, Detail: d.ofMax(tc.size)}, tc.size)
		if f.Status != tc.want || !strings.Contains(f.Detail, tc.detail) || (f.Status != OK && f.Fix == "") {
			t.Errorf("%d MiB: %+v, want %s %q", tc.size/mb, f, tc.want, tc.detail)
		}
	}
	// A real journal: its size is the store's own measure.
	p := journalWith(t, store.Redemption{Code: "200000000009", State: store.Queued, RawScan: strings.Repeat("x", 1<<20)})
	cfg.Store.Path, cfg.Store.MaxSizeMB = p, 1
	f, _ := doctorFor(cfg).checkJournal(context.Background())
	if f.Status != Warn || !strings.Contains(f.Detail, "FULL") {
		t.Fatalf("a journal over store.max_size_mb: %+v", f)
	}
}

func TestCheckScanner(t *testing.T) {
	t.Parallel()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { _ = m.Close(); _ = s.Close() })
	regular := writeFile(t, "not-a-port", "x")

	cases := []struct {
		name   string
		port   string
		hold   bool
		want   string
		detail string
		fix    string
	}{
		{"keyboard wedge", "", false, OK, "keyboard-wedge", ""},
		{"pty opens", s.Name(), false, OK, "opens", ""},
		{"busy", s.Name(), true, Warn, "in use", "cardtill run"},
		{"missing", "/dev/cardtill-no-such-port", false, Fail, "not found", "plug the scanner in"},
		{"not a serial port", regular, false, Fail, regular, "scanner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Scanner.Port = tc.port
			if tc.hold {
				r, err := scanner.Open(context.Background(), cfg.Scanner.Serial(), scanner.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Close() })
			}
			d := doctorFor(cfg)
			d.listPorts = func() ([]scanner.PortInfo, error) { return []scanner.PortInfo{{Name: "/dev/ttyACM7"}}, nil }
			f := d.checkScanner(context.Background())
			if f.Status != tc.want || !strings.Contains(f.Detail, tc.detail) || !strings.Contains(f.Fix, tc.fix) {
				t.Errorf("got %s %q fix %q; want %s, %q, fix with %q", f.Status, f.Detail, f.Fix, tc.want, tc.detail, tc.fix)
			}
			if tc.want == Fail && tc.name == "missing" && !strings.Contains(f.Fix, "/dev/ttyACM7") {
				t.Errorf("fix does not list the ports seen: %q", f.Fix)
			}
		})
	}
}

// tokenFunc adapts a function to hub.TokenSource.
type tokenFunc func(context.Context) (string, time.Time, error)

func TestCheckTokenFromHub(t *testing.T) {
	t.Parallel()
	const accessToken = "ACCESS-TOKEN-must-not-print"
	st, err := hub.OpenStore(filepath.Join(t.TempDir(), "hub.db"), hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := hub.NewTerminalKey()
	if err := st.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	push, err := wechat.NewPushCodec(wechat.PushConfig{Token: "pushtoken"})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(t *testing.T, tokens hub.TokenSource) string {
		srv, err := hub.NewServer(hub.Options{Push: push, Store: st, Tokens: tokens})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		return hs.URL
	}
	fresh := tokenFunc(func(context.Context) (string, time.Time, error) {
		return accessToken, time.Now().Add(time.Hour), nil
	})
	keyFile := writeFile(t, "terminal.key", key+"\n")
	badKeyFile := writeFile(t, "bad.key", hub.NewTerminalKey())

	cases := []struct {
		name    string
		tokens  hub.TokenSource
		keyFile string
		want    string
		fix     string
	}{
		{"token issued", fresh, keyFile, OK, ""},
		{"key revoked", fresh, badKeyFile, Fail, "hub terminal add"},
		{"hub without AppSecret", nil, keyFile, Warn, "hub.secret_file"}, // not this till's fault: it serves offline
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.WeChat.TokenSource = "hub"
			cfg.WeChat.HubURL = serve(t, tc.tokens)
			cfg.WeChat.TerminalKeyFile = tc.keyFile
			cfg.WeChat.APIBase = cfg.WeChat.HubURL // the whole run stays on loopback
			cfg.Store.Path = filepath.Join(t.TempDir(), "journal.db")
			d := doctorFor(cfg)
			f := d.checkToken(context.Background())
			if f.Status != tc.want || !strings.Contains(f.Fix, tc.fix) {
				t.Errorf("got %+v, want %s with fix %q", f, tc.want, tc.fix)
			}
			all := fmt.Sprint(d.Till(context.Background()))
			if strings.Contains(all, accessToken) || strings.Contains(all, key) {
				t.Errorf("a secret was printed: %s", all)
			}
		})
	}
}

func TestCheckStableToken(t *testing.T) {
	t.Parallel()
	const appSecret = "APPSECRET-must-not-print"
	const accessToken = "ACCESS-TOKEN-must-not-print"
	var forced []bool
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			AppID, Secret string
			Force         bool `json:"force_refresh"`
		}
		if r.URL.Path != "/cgi-bin/stable_token" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.NotFound(w, r)
			return
		}
		forced = append(forced, req.Force)
		if req.AppID != "wx123" || req.Secret != appSecret {
			fmt.Fprint(w, `{"errcode":40125,"errmsg":"invalid appsecret"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"expires_in":7200}`, accessToken)
	}))
	t.Cleanup(wx.Close)

	cases := []struct {
		name   string
		secret string
		base   string
		want   string
		fix    string
	}{
		{"issued", appSecret, wx.URL, OK, ""},
		{"wrong secret", "wrong", wx.URL, Fail, "the appid or the AppSecret is wrong"},
		{"not WeChat", appSecret, wx.URL + "/elsewhere", Fail, "api_base"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.WeChat.APIBase = tc.base
			cfg.WeChat.AppID = "wx123"
			cfg.WeChat.SecretFile = writeFile(t, "appsecret", tc.secret)
			f := doctorFor(cfg).checkToken(context.Background())
			if f.Status != tc.want || !strings.Contains(f.Fix, tc.fix) {
				t.Errorf("got %+v, want %s with fix %q", f, tc.want, tc.fix)
			}
			if s := fmt.Sprint(f); strings.Contains(s, appSecret) || strings.Contains(s, accessToken) {
				t.Errorf("a secret was printed: %s", s)
			}
		})
	}
	for _, f := range forced {
		if f {
			t.Error("doctor forced a token refresh: that would invalidate other tills' tokens")
		}
	}
}

func TestCheckLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	existing := writeFile(t, "cardtill.log", "old line\n")
	cases := []struct {
		name, file, store string
		want              string
	}{
		{"stderr", "-", filepath.Join(dir, "journal.db"), OK},
		{"next to the journal", "", filepath.Join(dir, "journal.db"), OK},
		{"existing file", existing, filepath.Join(dir, "journal.db"), OK},
		{"folder missing", filepath.Join(dir, "gone", "x.log"), filepath.Join(dir, "journal.db"), Fail},
		{"journal folder missing", "", filepath.Join(dir, "gone", "journal.db"), Fail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Log.File, cfg.Store.Path = tc.file, tc.store
			f := doctorFor(cfg).checkLog()
			if f.Status != tc.want || (f.Status == Fail && f.Fix == "") {
				t.Errorf("got %+v, want %s", f, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "old line\n" {
		t.Errorf("doctor changed the log: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("doctor left files behind: %v", entries)
	}
}

func TestCheckConfigWarnsOnReadableSecret(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "config.toml", "[wechat]\ntoken_source = \"static\"\nstatic_token = \"x\"\n[terminal]\nid = \"t\"\n")
	cfg, err := config.Load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if f := doctorFor(cfg).checkConfig(); f.Status != OK {
		t.Fatalf("0600 file: %+v", f)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if f := doctorFor(cfg).checkConfig(); f.Status != Warn || !strings.Contains(f.Fix, "chmod 640") {
		t.Fatalf("world-readable file with a secret: %+v", f)
	}
	cfg.Terminal.ID = ""
	if f := doctorFor(cfg).checkConfig(); f.Status != Warn || !strings.Contains(f.Fix, "terminal.id") {
		t.Fatalf("no terminal id: %+v", f)
	}
}

func (f tokenFunc) Token(ctx context.Context) (string, time.Time, error) { return f(ctx) }
