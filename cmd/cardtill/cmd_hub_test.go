package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

const (
	hubTestToken  = "hubCmdTestToken"
	hubTestKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	hubTestAppID  = "wx0123456789abcdef"
	hubTestSecret = "app-secret-never-printed"
)

// hubConfig writes a config whose hub keeps its file in a temp dir.
func hubConfig(t *testing.T) (cfgPath, storePath string) {
	cfgPath, storePath, _ = hubSetup(t)
	return cfgPath, storePath
}

// hubSetup is hubConfig with the fake WeChat the hub's token service asks
// (hub.api_base), which knows the hub's AppID and AppSecret.
func hubSetup(t *testing.T) (cfgPath, storePath string, wx *wechattest.Server) {
	t.Helper()
	wx = wechattest.New(wechattest.WithCredentials(hubTestAppID, hubTestSecret))
	t.Cleanup(wx.Close)
	dir := t.TempDir()
	storePath = filepath.Join(dir, "hub.db")
	secret := filepath.Join(dir, "appsecret")
	if err := os.WriteFile(secret, []byte(hubTestSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath = writeFile(t, "config.toml", fmt.Sprintf(`[store]
path = %q
[log]
file = "-"
level = "debug"
[hub]
listen = "127.0.0.1:0"
appid = %q
secret_file = %q
token = %q
encoding_aes_key = %q
store_path = %q
api_base = %q
`, filepath.Join(dir, "journal.db"), hubTestAppID, secret, hubTestToken, hubTestKey, storePath, wx.URL))
	return cfgPath, storePath, wx
}

// startHub runs `cardtill hub` until the test ends and returns its address
// and its stderr (where the log goes).
func startHub(t *testing.T, cfg string) (addr string, stderr *lockedBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	stderr = &lockedBuffer{}
	done := make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		done <- run(ctx, []string{"--config", cfg, "hub"}, strings.NewReader(""), &out, stderr)
	}()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("hub exit %d: %s", code, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("hub did not stop")
		}
	}
	t.Cleanup(stop)
	if m := stderr.waitFor(regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`), exited); m != nil {
		return m[1], stderr, stop
	}
	select {
	case code := <-done:
		stopped = true
		t.Fatalf("hub exited %d: %s", code, stderr.String())
	default:
		t.Fatalf("hub did not start: %s", stderr.String())
	}
	panic("unreachable")
}

// lockedBuffer is a buffer several goroutines write; waitFor waits for
// what they write.
type lockedBuffer struct {
	mu    stdsync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed by the next Write (made by next)
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote != nil {
		close(l.wrote)
		l.wrote = nil
	}
	return l.b.Write(p)
}

// next is what the buffer holds and a channel closed at the next write.
func (l *lockedBuffer) next() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote == nil {
		l.wrote = make(chan struct{})
	}
	return l.b.String(), l.wrote
}

// waitFor waits until re matches what was written and returns the match;
// nil when exited closes or sends first, or after a minute (a hang
// guard, not a timing).
func (l *lockedBuffer) waitFor(re *regexp.Regexp, exited <-chan struct{}) []string {
	guard := time.After(time.Minute)
	for {
		s, wrote := l.next()
		if m := re.FindStringSubmatch(s); m != nil {
			return m
		}
		select {
		case <-wrote:
		case <-exited:
			return nil
		case <-guard:
			return nil
		}
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb lockedBuffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHubTerminalCommands(t *testing.T) {
	t.Parallel()
	cfg, store := hubConfig(t)
	shortLockWait(t, cfg) // remove waits for the lock held below
	code, out, errOut := runCmd(t, "--config", cfg, "hub", "terminal", "add", "till-1")
	if code != 0 {
		t.Fatalf("add: %d %s", code, errOut)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "ctk_") || strings.Contains(key, "\n") || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("add printed %q / %q", out, errOut)
	}
	if code, _, _ := runCmd(t, "--config", cfg, "hub", "terminal", "add", "till-1"); code != exitUsage {
		t.Errorf("add twice: exit %d", code)
	}
	if code, _, _ := runCmd(t, "--config", cfg, "hub", "terminal", "add", "till 2"); code != exitUsage {
		t.Errorf("bad name: exit %d", code)
	}
	code, out, _ = runCmd(t, "--config", cfg, "hub", "terminal", "list")
	if code != 0 || !strings.Contains(out, "till-1") || strings.Contains(out, key) {
		t.Fatalf("list: %d %q", code, out)
	}
	// The key works against the file; only its hash is stored.
	raw, _ := os.ReadFile(store)
	if bytes.Contains(raw, []byte(key)) {
		t.Fatal("the terminal key is stored in the clear")
	}
	st, err := hub.OpenStore(store, hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if name, ok, err := st.Authenticate(key); !ok || name != "till-1" || err != nil {
		t.Errorf("key does not authenticate: %q %v %v", name, ok, err)
	}
	// While the file is held (the hub runs), commands say so and change nothing.
	code, _, errOut = runCmd(t, "--config", cfg, "hub", "terminal", "remove", "till-1")
	if code != exitUsage || !strings.Contains(errOut, "another cardtill holds it") {
		t.Errorf("remove while held: %d %q", code, errOut)
	}
	_ = st.Close()
	if code, out, _ := runCmd(t, "--config", cfg, "hub", "terminal", "remove", "till-1"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("remove: %d %q", code, out)
	}
	if code, _, _ := runCmd(t, "--config", cfg, "hub", "terminal", "remove", "till-1"); code != exitFailure {
		t.Errorf("remove twice: exit %d", code)
	}
}

func TestHubServeAndEvents(t *testing.T) {
	t.Parallel()
	cfg, _ := hubConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		done <- run(ctx, []string{"--config", cfg, "hub"}, strings.NewReader(""), &out, &errb)
	}()

	m := errb.waitFor(regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`), exited)
	if m == nil {
		select {
		case code := <-done:
			t.Fatalf("hub exited %d: %s", code, errb.String())
		default:
			t.Fatalf("hub did not start: %s", errb.String())
		}
	}
	addr := m[1]
	push, err := wechat.NewPushCodec(wechat.PushConfig{Token: hubTestToken, EncodingAESKey: hubTestKey, AppID: hubTestAppID})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"user_get_card", "card_sku_remind", "user_del_card"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "wechat", "testdata", "events", name+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		req, err := push.NewPushRequest(ctx, "http://"+addr+hub.PathPush, wechat.ModeSafe, bytes.TrimSpace(raw))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "success" {
			t.Fatalf("%s: %d %q", name, resp.StatusCode, body)
		}
	}
	// While the hub runs (and holds its file), the CLI goes through the
	// admin socket.
	code, out2, errOut := runCmd(t, "--config", cfg, "hub", "terminal", "add", "till-9")
	if code != 0 {
		t.Fatalf("add while running: %d %s", code, errOut)
	}
	key := strings.TrimSpace(out2)
	if code, out, _ := runCmd(t, "--config", cfg, "hub", "terminal", "list"); code != 0 || !strings.Contains(out, "till-9") {
		t.Fatalf("list while running: %d %q", code, out)
	}
	if code, _, _ := runCmd(t, "--config", cfg, "hub", "terminal", "add", "till-9"); code != exitUsage {
		t.Errorf("add twice while running: exit %d", code)
	}
	if code, out, _ := runCmd(t, "--config", cfg, "hub", "events"); code != 0 || strings.Count(out, "\n") != 4 {
		t.Errorf("events while running: %d %q", code, out)
	}
	c := hub.NewClient(hub.ClientOptions{URL: "http://" + addr, TerminalKey: key})
	page, err := c.Changes(ctx, "")
	if err != nil || len(page.Changes) != 2 || len(page.Notices) != 1 || page.Changes[1].Status != hub.StatusDelete {
		t.Fatalf("feed: %+v %v", page, err)
	}
	if code, _, _ := runCmd(t, "--config", cfg, "hub", "terminal", "remove", "till-9"); code != 0 {
		t.Fatalf("remove while running: %d", code)
	}
	if _, err := c.Changes(ctx, ""); !errors.Is(err, hub.ErrUnauthorized) {
		t.Errorf("revoked key while running: %v", err)
	}
	if code, _, _ := runCmd(t, "--config", cfg, "hub", "terminal", "remove", "till-9"); code != exitFailure {
		t.Errorf("remove twice while running: exit %d", code)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("hub exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hub did not stop")
	}
	for _, secret := range []string{hubTestToken, hubTestKey, "app-secret-never-printed"} {
		if strings.Contains(errb.String(), secret) {
			t.Fatalf("hub output leaks a secret:\n%s", errb.String())
		}
	}

	code, text, errOut := runCmd(t, "--config", cfg, "hub", "events", "--since", "1h")
	if code != 0 {
		t.Fatalf("events: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "card_sku_remind") || !strings.Contains(lines[2], "NOTICE") ||
		strings.Contains(lines[1], "NOTICE") || !strings.Contains(lines[3], "226009850808") {
		t.Fatalf("events listing:\n%s", text)
	}
	code, text, _ = runCmd(t, "--config", cfg, "hub", "events", "--json", "--since", "2000-01-01")
	if code != 0 {
		t.Fatal(code)
	}
	var notices int
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		var rec struct {
			Event  string         `json:"event"`
			Notice bool           `json:"notice"`
			Raw    string         `json:"raw"`
			Record map[string]any `json:"record"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("json line %q: %v", l, err)
		}
		if rec.Notice {
			notices++
		}
		if rec.Record["from_user_name"] == "" || !strings.HasPrefix(rec.Raw, "<xml>") {
			t.Errorf("json line %q", l)
		}
	}
	if notices != 1 {
		t.Errorf("%d notices in JSON, want 1", notices)
	}
	if code, text, _ := runCmd(t, "--config", cfg, "hub", "events", "--since", "0s"); code != 0 || !strings.Contains(text, "no events") {
		t.Errorf("empty period: %d %q", code, text)
	}
	if code, _, errOut := runCmd(t, "--config", cfg, "hub", "events", "--since", "yesterday"); code != exitUsage || !strings.Contains(errOut, "24h") {
		t.Errorf("bad --since: %d %q", code, errOut)
	}
}

func TestHubConfigErrors(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "config.toml", "[hub]\nstore_path = \""+filepath.Join(t.TempDir(), "h.db")+"\"\n")
	code, _, errOut := runCmd(t, "--config", cfg, "hub")
	if code != exitUsage || !strings.Contains(errOut, "hub.token") {
		t.Errorf("no token: %d %q", code, errOut)
	}
	cfg = writeFile(t, "config2.toml", "[hub]\ntoken = \"t\"\nencoding_aes_key = \"short\"\nappid = \"wx1\"\n")
	code, _, errOut = runCmd(t, "--config", cfg, "hub")
	if code != exitUsage || !strings.Contains(errOut, "43 characters") || strings.Contains(errOut, "short") {
		t.Errorf("bad key: %d %q", code, errOut)
	}

	// The token service needs the AppID, the AppSecret and an API base.
	dir := t.TempDir()
	store := filepath.Join(dir, "h.db")
	secret := writeFile(t, "appsecret", "s3cret-never-printed\n")
	for _, c := range []struct{ name, hub, want string }{
		{"no appid", "", "hub.appid"},
		{"no secret", `appid = "wx1"`, "hub.secret_file: not set"},
		{"secret file missing", `appid = "wx1"` + "\nsecret_file = \"" + filepath.Join(dir, "nope") + "\"", "hub.secret_file: cannot read"},
		{"bad api_base", `appid = "wx1"` + "\nsecret_file = \"" + secret + "\"\napi_base = \"ftp://x\"", "hub.api_base"},
	} {
		cfg := writeFile(t, "c.toml", "[log]\nfile = \"-\"\n[hub]\ntoken = \"t\"\nstore_path = \""+store+"\"\n"+c.hub+"\n")
		code, _, errOut := runCmd(t, "--config", cfg, "hub")
		if code != exitUsage || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, cfg) || strings.Contains(errOut, "s3cret") {
			t.Errorf("%s: exit %d %q; want %q naming the file", c.name, code, errOut, c.want)
		}
		if _, err := os.Stat(store); err == nil {
			t.Errorf("%s: the hub created its file before refusing the config", c.name)
		}
	}
}

// TestHubTokenService runs the real `cardtill hub` with its token service
// on stable_token against the fake WeChat: a till's hub token source gets
// the token with the terminal key from `cardtill hub terminal add`, WeChat
// accepts it, the expiry is WeChat's, a revoked key gets nothing, and the
// token is never logged.
func TestHubTokenService(t *testing.T) {
	t.Parallel()
	cfg, _, wx := hubSetup(t)
	wx.LoadDemo()
	addr, logs, stop := startHub(t, cfg)
	code, out, errOut := runCmd(t, "--config", cfg, "hub", "terminal", "add", "till-7")
	if code != 0 {
		t.Fatalf("terminal add: %d %s", code, errOut)
	}
	key := strings.TrimSpace(out)
	ctx := context.Background()

	src := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: "http://" + addr, TerminalKey: key})
	tok, exp, err := src.TokenExpiry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(exp); left > wechattest.DefaultTokenTTL || left < wechattest.DefaultTokenTTL-time.Minute {
		t.Errorf("the till was told the token expires in %s; WeChat gave %s", left, wechattest.DefaultTokenTTL)
	}
	c, err := wechat.New(wechat.Options{BaseURL: wx.URL, Tokens: src})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCode(ctx, "", wechattest.DemoNormal, true); err != nil {
		t.Fatalf("WeChat refused the hub's token: %v", err)
	}
	// One stable_token for the hub (warm-up and the till share it), none
	// of the invalidating cgi-bin/token.
	if wx.TokensIssued() != 1 || wx.Calls(wechattest.EndpointToken) != 0 {
		t.Errorf("WeChat issued %d tokens, %d cgi-bin/token calls; want 1 and 0", wx.TokensIssued(), wx.Calls(wechattest.EndpointToken))
	}

	// Straight HTTP: the answer is WeChat's shape and not cacheable.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+hub.PathToken, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body hub.TokenResponse
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || body.AccessToken != tok || body.ExpiresIn < 7000 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET %s: %d %+v %v %q", hub.PathToken, resp.StatusCode, body.ExpiresIn, err, resp.Header.Get("Cache-Control"))
	}

	if code, _, _ := runCmd(t, "--config", cfg, "hub", "terminal", "remove", "till-7"); code != 0 {
		t.Fatalf("terminal remove: %d", code)
	}
	_, err = wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: "http://" + addr, TerminalKey: key}).Token(ctx)
	if he := (*wechat.HubError)(nil); !errors.As(err, &he) || !he.Refused() || he.Code != wechat.HubCodeTerminalRefused || strings.Contains(err.Error(), key) {
		t.Errorf("revoked key: %v", err)
	}
	stop()
	if !strings.Contains(logs.String(), "token service ready") {
		t.Errorf("the hub did not log its token service as ready:\n%s", logs.String())
	}
	for _, secret := range []string{tok, key, hubTestSecret, hubTestToken, hubTestKey} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the hub's log holds a secret:\n%s", logs.String())
		}
	}
}

// TestHubTokenServiceWeChatRefuses: a wrong AppSecret shows in the log at
// start (without the secret); the hub keeps taking pushes and tells tills
// 502 for a token.
func TestHubTokenServiceWeChatRefuses(t *testing.T) {
	t.Parallel()
	cfg, store, _ := hubSetup(t)
	secretFile := filepath.Join(filepath.Dir(store), "appsecret")
	if err := os.WriteFile(secretFile, []byte("wrong-secret-never-printed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, logs, stop := startHub(t, cfg)
	code, out, _ := runCmd(t, "--config", cfg, "hub", "terminal", "add", "till-8")
	if code != 0 {
		t.Fatal(code)
	}
	_, err := hub.NewClient(hub.ClientOptions{URL: "http://" + addr, TerminalKey: strings.TrimSpace(out)}).Token(context.Background())
	var se *hub.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusBadGateway {
		t.Fatalf("token with a wrong AppSecret: %v; want 502", err)
	}
	// The start-up fetch logs its failure (it may still be under way).
	if logs.waitFor(regexp.MustCompile(`no access token from WeChat`), nil) == nil {
		t.Fatalf("no log line for the refused AppSecret:\n%s", logs.String())
	}
	stop()
	if l := logs.String(); !strings.Contains(l, "no access token from WeChat") || !strings.Contains(l, "40125") || strings.Contains(l, "wrong-secret-never-printed") {
		t.Fatalf("hub log:\n%s", l)
	}
}
