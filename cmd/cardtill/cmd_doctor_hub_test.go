package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/wechat/wechattest"
)

func TestDoctorHub(t *testing.T) {
	t.Parallel()
	const pushToken = "PUSH-TOKEN-must-not-print"
	wx := dateServer(t, 0, http.StatusNotFound)
	dir := t.TempDir()
	base := fmt.Sprintf(`
[hub]
listen = "127.0.0.1:0"
api_base = %q
store_path = %q
`, wx.URL, filepath.Join(dir, "hub.db"))
	cases := []struct {
		name     string
		extra    string
		wantCode int
		want     []string
	}{
		// cardtill hub refuses to start without the AppID and AppSecret its token service needs.
		{"push token set, no AppSecret", "token = \"" + pushToken + "\"\n", exitFailure, []string{"OK    push", "FAIL  credentials", "will not start", "OK    hub file", "OK    listen"}},
		{"no push token", "", exitFailure, []string{"FAIL  push", "hub.token"}},
		{"rotation under way", "token = \"" + pushToken + "\"\nprevious_token = \"old\"\n", exitFailure, []string{"WARN  push"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "config.toml", base+tc.extra)
			var out bytes.Buffer
			code := run(context.Background(), []string{"--config", p, "doctor", "--hub"}, strings.NewReader(""), &out, &out)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tc.wantCode, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), pushToken) {
				t.Errorf("a secret was printed:\n%s", out.String())
			}
		})
	}
}

// TestDoctorHubToken: the hub's token check goes through the shared
// stable-token source against the fake WeChat, and prints no secret.
func TestDoctorHubToken(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, secret string
		wantCode     int
		want         string
	}{
		{"issued", srv.Secret, exitOK, "OK    token       WeChat issued a token (expires in 2h0m0s)"},
		{"wrong AppSecret", "WRONG-HUB-SECRET", exitFailure, "the appid or the AppSecret is wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, "config.toml", fmt.Sprintf(`
[hub]
listen = "127.0.0.1:0"
api_base = %q
store_path = %q
appid = %q
secret_file = %q
token = "push-token"
`, srv.URL, filepath.Join(dir, "hub.db"), srv.AppID, writeFile(t, "hub.secret", tc.secret)))
			code, out, errs := runCLI(t, "doctor", "--hub", "--config", cfg)
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, tc.wantCode, tc.want, out, errs)
			}
			noSecrets(t, srv, out, errs)
			if strings.Contains(out+errs, "WRONG-HUB-SECRET") {
				t.Fatalf("the secret was printed:\n%s", out)
			}
		})
	}
}
