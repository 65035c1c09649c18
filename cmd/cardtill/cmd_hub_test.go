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
)

const (
	hubTestToken = "hubCmdTestToken"
	hubTestKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	hubTestAppID = "wx0123456789abcdef"
)

// hubConfig writes a config whose hub keeps its file in a temp dir.
func hubConfig(t *testing.T) (cfgPath, storePath string) {
	t.Helper()
	dir := t.TempDir()
	storePath = filepath.Join(dir, "hub.db")
	secret := filepath.Join(dir, "appsecret")
	if err := os.WriteFile(secret, []byte("app-secret-never-printed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath = writeFile(t, "config.toml", fmt.Sprintf(`[store]
path = %q
[log]
file = "-"
[hub]
listen = "127.0.0.1:0"
appid = %q
secret_file = %q
token = %q
encoding_aes_key = %q
store_path = %q
`, filepath.Join(dir, "journal.db"), hubTestAppID, secret, hubTestToken, hubTestKey, storePath))
	return cfgPath, storePath
}

type lockedBuffer struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
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
	cfg, store := hubConfig(t)
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
	if name, ok := st.Authenticate(key); !ok || name != "till-1" {
		t.Errorf("key does not authenticate: %q %v", name, ok)
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
	cfg, _ := hubConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--config", cfg, "hub"}, strings.NewReader(""), &out, &errb) }()

	addrRE := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		if m := addrRE.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("hub exited %d: %s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub did not start: %s", errb.String())
		}
	}
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
}
