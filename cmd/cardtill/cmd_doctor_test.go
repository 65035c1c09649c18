package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"cardtill/scanner"
	"cardtill/wechat"
)

// doctorFor is a doctor over cfg with no environment and loopback-only HTTP.
func doctorFor(cfg *Config) *doctor {
	return &doctor{cfg: cfg, getenv: noEnv, now: time.Now, hc: &http.Client{Timeout: 5 * time.Second},
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

func TestDoctorExitCodesAndNoSecrets(t *testing.T) {
	const secret = "STATIC-TOKEN-must-not-print"
	wx := dateServer(t, 0, http.StatusNotFound)
	dir := t.TempDir()
	good := writeFile(t, "good.toml", fmt.Sprintf(`
[terminal]
id = "till-9"
[wechat]
api_base = %q
token_source = "static"
static_token = %q
[store]
path = %q
`, wx.URL, secret, filepath.Join(dir, "journal.db")))
	unfit := writeFile(t, "unfit.toml", fmt.Sprintf(`
[wechat]
api_base = %q
token_source = "stable"
appid = "wx123"
secret_file = %q
[store]
path = %q
`, wx.URL, filepath.Join(dir, "no-such-secret"), filepath.Join(dir, "journal.db")))
	broken := writeFile(t, "broken.toml", "[offline]\nmode = \"sometimes\"\n")

	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"fit with warnings", []string{"--config", good, "doctor"}, exitOK, []string{"OK    config", "WARN  credentials", "fit to serve"}},
		{"unfit", []string{"--config", unfit, "doctor"}, exitFailure, []string{"FAIL  credentials", "NOT fit to serve"}},
		{"config unreadable", []string{"--config", broken, "doctor"}, exitUsage, []string{"FAIL  config", "offline.mode"}},
		{"config missing", []string{"--config", filepath.Join(dir, "nope.toml"), "doctor"}, exitUsage, []string{"file not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errb)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s%s", code, tc.wantCode, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("a secret was printed:\n%s", out.String())
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var out bytes.Buffer
		code := run(context.Background(), []string{"--config", unfit, "doctor", "--json"}, strings.NewReader(""), &out, &out)
		if code != exitFailure {
			t.Fatalf("exit %d", code)
		}
		var rep doctorReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out.String())
		}
		if rep.Fit || rep.Config != unfit || rep.Version != version || len(rep.Findings) < 6 {
			t.Fatalf("report = %+v", rep)
		}
		for _, f := range rep.Findings {
			if f.Status != statusOK && f.Fix == "" {
				t.Errorf("finding %q (%s) says nothing to do", f.Name, f.Status)
			}
		}
	})
}

func TestCheckClock(t *testing.T) {
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
		{"in step", at(0, 50*time.Millisecond), statusOK, "within"},
		{"a second off is the header's resolution", at(time.Second, 0), statusOK, "within"},
		{"ahead a minute", at(time.Minute, 0), statusWarn, "ahead of wechat"},
		{"behind a minute", at(-time.Minute, 0), statusWarn, "behind wechat"},
		{"an hour ahead", at(time.Hour, 0), statusFail, "ahead"},
		{"slow answer widens the slack", at(6*time.Minute, 4*time.Minute), statusWarn, "ahead"},
		{"no answers", nil, statusWarn, "not checked"},
		{"bad Date, then a good one", append([]dated{{from: "wechat", date: "yesterday"}}, func() []dated { d := at(time.Hour, 0); d[0].from = "hub"; return d }()...), statusFail, "hub"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := checkClock(tc.answers)
			if f.Status != tc.want || !strings.Contains(f.Detail, tc.detail) {
				t.Errorf("got %s %q, want %s containing %q", f.Status, f.Detail, tc.want, tc.detail)
			}
			if f.Status != statusOK && f.Fix == "" {
				t.Error("no fix given")
			}
		})
	}
}

func TestCheckReachFeedsClock(t *testing.T) {
	srv := dateServer(t, -2*time.Hour, http.StatusOK)
	cfg := DefaultConfig()
	d := doctorFor(cfg)
	f, ans := d.checkReach(context.Background(), "wechat", srv.URL)
	if f.Status != statusOK || ans == nil {
		t.Fatalf("reach = %+v, %v", f, ans)
	}
	if c := checkClock([]dated{*ans}); c.Status != statusFail || !strings.Contains(c.Detail, "ahead") {
		t.Errorf("clock = %+v", c)
	}

	srv.Close()
	for _, mode := range []string{"accept", "refuse"} {
		cfg.Offline.Mode = mode
		f, ans = d.checkReach(context.Background(), "wechat", srv.URL)
		want := map[string]string{"accept": statusWarn, "refuse": statusFail}[mode]
		if f.Status != want || ans != nil || f.Fix == "" {
			t.Errorf("offline.mode %s, WeChat down: %+v", mode, f)
		}
	}

	notHub := dateServer(t, 0, http.StatusNotFound)
	if f, _ := d.checkReach(context.Background(), "hub", notHub.URL+hub.PathHealth); f.Status != statusWarn {
		t.Errorf("a 404 from the hub's health path: %+v", f)
	}
}

func TestCheckJournal(t *testing.T) {
	mkdb := func(t *testing.T, valueSize int) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "journal.db")
		db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("redemptions"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), bytes.Repeat([]byte("x"), valueSize))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name   string
		path   func(t *testing.T) string
		maxMB  int
		want   string
		detail string
	}{
		{"not created yet", func(t *testing.T) string { return filepath.Join(t.TempDir(), "journal.db") }, 16, statusOK, "not created yet"},
		{"folder missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone", "journal.db") }, 16, statusFail, "cannot be created"},
		{"healthy", func(t *testing.T) string { return mkdb(t, 10) }, 16, statusOK, "consistent"},
		{"nearly full", func(t *testing.T) string { return mkdb(t, 3<<20) }, 5, statusWarn, "nearly full"},
		{"full", func(t *testing.T) string { return mkdb(t, 2<<20) }, 1, statusWarn, "FULL"},
		{"not a journal", func(t *testing.T) string { return writeFile(t, "journal.db", strings.Repeat("garbage ", 1000)) }, 16, statusFail, "cannot be opened"},
		{"held by a running till", func(t *testing.T) string {
			p := mkdb(t, 10)
			db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return p
		}, 16, statusWarn, "held by a running cardtill"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Store.Path = tc.path(t)
			cfg.Store.MaxSizeMB = tc.maxMB
			cfg.Store.LockTimeout = Duration{50 * time.Millisecond}
			f := doctorFor(cfg).checkJournal()
			if f.Status != tc.want || !strings.Contains(f.Detail, tc.detail) {
				t.Errorf("got %s %q, want %s containing %q", f.Status, f.Detail, tc.want, tc.detail)
			}
			if f.Status != statusOK && f.Fix == "" {
				t.Error("no fix given")
			}
		})
	}
}

func TestCheckScanner(t *testing.T) {
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
		{"keyboard wedge", "", false, statusOK, "keyboard-wedge", ""},
		{"pty opens", s.Name(), false, statusOK, "opens", ""},
		{"busy", s.Name(), true, statusWarn, "in use", "cardtill run"},
		{"missing", "/dev/cardtill-no-such-port", false, statusFail, "not found", "plug the scanner in"},
		{"not a serial port", regular, false, statusFail, regular, "scanner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Scanner.Port = tc.port
			if tc.hold {
				r, err := scanner.Open(context.Background(), cfg.Scanner.toScanner(), scanner.Options{})
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
			if tc.want == statusFail && tc.name == "missing" && !strings.Contains(f.Fix, "/dev/ttyACM7") {
				t.Errorf("fix does not list the ports seen: %q", f.Fix)
			}
		})
	}
}

// tokenFunc adapts a function to hub.TokenSource.
type tokenFunc func(context.Context) (string, time.Time, error)

func (f tokenFunc) Token(ctx context.Context) (string, time.Time, error) { return f(ctx) }

func TestCheckTokenFromHub(t *testing.T) {
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
		{"token issued", fresh, keyFile, statusOK, ""},
		{"key revoked", fresh, badKeyFile, statusFail, "hub terminal add"},
		{"hub without AppSecret", nil, keyFile, statusFail, "hub.secret_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
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
			all := fmt.Sprint(d.run(context.Background()))
			if strings.Contains(all, accessToken) || strings.Contains(all, key) {
				t.Errorf("a secret was printed: %s", all)
			}
		})
	}
}

func TestCheckStableToken(t *testing.T) {
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
		{"issued", appSecret, wx.URL, statusOK, ""},
		{"wrong secret", "wrong", wx.URL, statusFail, "the appid or the AppSecret is wrong"},
		{"not WeChat", appSecret, wx.URL + "/elsewhere", statusFail, "api_base"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
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
	dir := t.TempDir()
	existing := writeFile(t, "cardtill.log", "old line\n")
	cases := []struct {
		name, file, store string
		want              string
	}{
		{"stderr", "-", filepath.Join(dir, "journal.db"), statusOK},
		{"next to the journal", "", filepath.Join(dir, "journal.db"), statusOK},
		{"existing file", existing, filepath.Join(dir, "journal.db"), statusOK},
		{"folder missing", filepath.Join(dir, "gone", "x.log"), filepath.Join(dir, "journal.db"), statusFail},
		{"journal folder missing", "", filepath.Join(dir, "gone", "journal.db"), statusFail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Log.File, cfg.Store.Path = tc.file, tc.store
			f := doctorFor(cfg).checkLog()
			if f.Status != tc.want || (f.Status == statusFail && f.Fix == "") {
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
	p := writeFile(t, "config.toml", "[wechat]\ntoken_source = \"static\"\nstatic_token = \"x\"\n[terminal]\nid = \"t\"\n")
	cfg, err := LoadConfig(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if f := doctorFor(cfg).checkConfig(); f.Status != statusOK {
		t.Fatalf("0600 file: %+v", f)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if f := doctorFor(cfg).checkConfig(); f.Status != statusWarn || !strings.Contains(f.Fix, "chmod 640") {
		t.Fatalf("world-readable file with a secret: %+v", f)
	}
	cfg.Terminal.ID = ""
	if f := doctorFor(cfg).checkConfig(); f.Status != statusWarn || !strings.Contains(f.Fix, "terminal.id") {
		t.Fatalf("no terminal id: %+v", f)
	}
}
