package sync_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cardtill/sync"
	"cardtill/wechat"
)

// TestHubTokenClassification: the adapter classifies a failure to get a
// token from the hub by the typed *wechat.HubError: a refused terminal key
// (401, 403; with or without the hub's code) is a configuration problem
// without errcode and names the fix; the hub without AppSecret (503), the
// hub without WeChat (502), a proxy's 502 and a hub that does not answer
// are WeChatUnreachable, so the offline policy applies. The key never
// shows.
func TestHubTokenClassification(t *testing.T) {
	t.Parallel()
	const key = "TERMINAL-KEY-never-shown"
	cases := []struct {
		name   string
		status int
		body   string
		down   bool
		want   sync.WeChatErrorKind
	}{
		{"401 with code", 401, `{"error":"unknown or revoked terminal key","code":"terminal_refused"}`, false, sync.WeChatConfig},
		{"401 plain text", 401, "unauthorized", false, sync.WeChatConfig},
		{"403 from a proxy", 403, "Forbidden", false, sync.WeChatConfig},
		{"503 no AppSecret", 503, `{"error":"this hub has no AppSecret","code":"no_appsecret"}`, false, sync.WeChatUnreachable},
		{"502 hub without WeChat", 502, `{"error":"the hub cannot get a token","code":"wechat_unavailable"}`, false, sync.WeChatUnreachable},
		{"502 proxy", 502, "Bad Gateway", false, sync.WeChatUnreachable},
		{"connection refused", 0, "", true, sync.WeChatUnreachable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(tc.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			if tc.down {
				hub.Close()
			} else {
				defer hub.Close()
			}
			tokens := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: key})
			c, err := wechat.New(wechat.Options{BaseURL: hub.URL, Tokens: tokens})
			if err != nil {
				t.Fatal(err)
			}
			_, err = sync.NewWeChat(c).GetCode(context.Background(), "", "123456789012")
			var we *sync.WeChatError
			if !errors.As(err, &we) || we.Kind != tc.want {
				t.Fatalf("got %#v, want kind %d", err, tc.want)
			}
			if tc.want == sync.WeChatConfig && (we.Code != 0 || we.Msg != sync.HubRefusedText) {
				t.Errorf("refused key: code %d msg %q, want no errcode and the fix", we.Code, we.Msg)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(we.Msg, key) {
				t.Errorf("the key shows: %v", err)
			}
		})
	}
}
