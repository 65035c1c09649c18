package hub_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/wechat"
)

// TestTokenErrorCodes: the hub's token-service refusals carry the
// machine-readable code a till's token source reads into *wechat.HubError
// (terminal_refused 401, no_appsecret 503, wechat_unavailable 502), with
// neither the token nor the terminal key in the error.
func TestTokenErrorCodes(t *testing.T) {
	t.Parallel()
	withTokens := func(err error) hub.TokenSource {
		return tokenFunc(func(context.Context) (string, time.Time, error) { return wxToken, testNow.Add(time.Hour), err })
	}
	cases := []struct {
		name    string
		tokens  hub.TokenSource
		badKey  bool
		status  int
		code    string
		refused bool
	}{
		{"unknown key", withTokens(nil), true, 401, wechat.HubCodeTerminalRefused, true},
		{"no AppSecret", nil, false, 503, wechat.HubCodeNoSecret, false},
		{"WeChat unreachable", withTokens(errors.New("stable_token: dial tcp: i/o timeout")), false, 502, wechat.HubCodeWeChatUnavailable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := startHub(t, filepath.Join(t.TempDir(), "hub.db"), tc.tokens, 0)
			key := hub.NewTerminalKey()
			if err := h.store.AddTerminal("till-1", key); err != nil {
				t.Fatal(err)
			}
			if tc.badKey {
				key = hub.NewTerminalKey()
			}
			src := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: h.url, TerminalKey: key, HTTPClient: h.srv.Client()})
			_, err := src.Token(context.Background())
			var he *wechat.HubError
			if !errors.As(err, &he) || he.Status != tc.status || he.Code != tc.code || he.Refused() != tc.refused || he.Message == "" {
				t.Fatalf("got %v, want HTTP %d with code %q", err, tc.status, tc.code)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), wxToken) {
				t.Fatalf("error leaks a secret: %v", err)
			}
			if l := h.logs.String(); strings.Contains(l, key) || strings.Contains(l, wxToken) {
				t.Fatalf("log leaks a secret:\n%s", l)
			}
		})
	}
}
