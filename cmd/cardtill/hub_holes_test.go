package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/wechat"
)

// Without TLS the hub listens on loopback by default; plain HTTP on any
// other address needs hub.behind_proxy and the proxy in trusted_proxies.
func TestHubListenAddr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, toml, want, errKey string
	}{
		{"default, no TLS: loopback", "", "127.0.0.1:8443", ""},
		{"default with TLS: every interface", "tls_cert = \"c\"\ntls_key = \"k\"", ":8443", ""},
		{"plain on every interface", "listen = \":8443\"", "", "hub.listen"},
		{"plain on an interface", "listen = \"10.1.2.3:8443\"", "", "hub.listen"},
		{"behind_proxy without trusted_proxies", "listen = \":8443\"\nbehind_proxy = true", "", "hub.trusted_proxies"},
		{"behind_proxy", "listen = \":8443\"\nbehind_proxy = true\ntrusted_proxies = [\"10.0.0.5\"]", ":8443", ""},
		{"loopback v6", "listen = \"[::1]:9000\"", "[::1]:9000", ""},
		{"localhost", "listen = \"localhost:9000\"", "localhost:9000", ""},
		{"TLS anywhere", "listen = \":443\"\ntls_cert = \"c\"\ntls_key = \"k\"", ":443", ""},
		{"not host:port", "listen = \"8443\"", "", "hub.listen"},
	} {
		cfg, err := config.Load(writeFile(t, "config.toml", "[hub]\n"+c.toml+"\n"), noEnv)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := cfg.HubListenAddr()
		var ce *config.Error
		switch {
		case c.errKey == "" && (err != nil || got != c.want):
			t.Errorf("%s: %q %v, want %q", c.name, got, err, c.want)
		case c.errKey != "" && (!errors.As(err, &ce) || ce.Key != c.errKey):
			t.Errorf("%s: %q %v, want an error on %s", c.name, got, err, c.errKey)
		case c.errKey == "hub.listen" && c.name != "not host:port" && !strings.Contains(err.Error(), "behind_proxy"):
			t.Errorf("%s: %v does not say how to allow it", c.name, err)
		}
	}
	// cardtill hub refuses to start on such an address, naming the key.
	cfg, store := hubConfig(t)
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	open := writeFile(t, "open.toml", strings.Replace(string(text), `listen = "127.0.0.1:0"`, `listen = ":0"`, 1))
	code, _, errOut := runCmd(t, "--config", open, "hub")
	if code != exitUsage || !strings.Contains(errOut, "hub.listen") || !strings.Contains(errOut, "behind_proxy") {
		t.Fatalf("plain HTTP on every interface: exit %d %q", code, errOut)
	}
	if _, err := os.Stat(store); err == nil {
		t.Error("the hub opened its store before refusing the address")
	}
}

// A hub with an encoding_aes_key takes only encrypted pushes unless
// hub.require_encryption = false.
func TestHubRequiresEncryptionWithKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "wechat", "testdata", "events", "user_get_card.xml"))
	if err != nil {
		t.Fatal(err)
	}
	push, err := wechat.NewPushCodec(wechat.PushConfig{Token: hubTestToken, EncodingAESKey: hubTestKey, AppID: hubTestAppID})
	if err != nil {
		t.Fatal(err)
	}
	send := func(addr string, mode wechat.Mode) int {
		req, err := push.NewPushRequest(context.Background(), "http://"+addr+hub.PathPush, mode, bytes.TrimSpace(raw))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cfg, _ := hubConfig(t)
	addr, logs, stop := startHub(t, cfg)
	if st := send(addr, wechat.ModePlain); st != 403 {
		t.Fatalf("plaintext push to a hub with a key: %d, want 403", st)
	}
	if st := send(addr, wechat.ModeSafe); st != 200 {
		t.Fatalf("safe-mode push: %d", st)
	}
	stop()
	if !strings.Contains(logs.String(), "plaintext push refused") {
		t.Errorf("the refusal is not logged with its fix:\n%s", logs)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(text, "require_encryption = false\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _, _ = startHub(t, cfg)
	if st := send(addr, wechat.ModePlain); st != 200 {
		t.Fatalf("plaintext push with require_encryption = false: %d", st)
	}
}
