package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cardtill/wechat"
)

// TestHubErrors: every non-200 answer of the hub's token service is a
// *HubError with the status, the hub's code from its JSON body (none from an
// old hub's or a proxy's plain text) and a one-line message; only a refusal
// (401, 403) is not an outage (ErrOutcomeUnknown). The terminal key, even
// echoed by a proxy, never shows.
func TestHubErrors(t *testing.T) {
	t.Parallel()
	const key = "TERMINAL-KEY-never-printed"
	cases := []struct {
		name, ctype, body string
		status            int
		code, msg         string
		refused           bool
	}{
		{"401 with code", "application/json", `{"error":"unknown or revoked terminal key","code":"terminal_refused"}`, 401, wechat.HubCodeTerminalRefused, "unknown or revoked terminal key", true},
		{"403 plain text", "text/plain", "forbidden\n", 403, "", "forbidden", true},
		{"503 no secret", "application/json", `{"error":"this hub has no AppSecret","code":"no_appsecret"}`, 503, wechat.HubCodeNoSecret, "this hub has no AppSecret", false},
		{"502 hub without WeChat", "application/json", `{"error":"the hub cannot get a token","code":"wechat_unavailable"}`, 502, wechat.HubCodeWeChatUnavailable, "the hub cannot get a token", false},
		{"502 old hub (no code)", "application/json", `{"error":"the hub cannot get a token"}`, 502, "", "the hub cannot get a token", false},
		{"502 from a proxy", "text/html", "<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>", 502, "", "<html><head><title>502 Bad Gateway</title></head>", false},
		{"proxy echoes the key", "text/plain", "bad header Bearer " + key + "\nmore", 400, "", "bad header Bearer REDACTED", false},
		{"json echoes the key", "application/json", `{"error":"key ` + key + `"}`, 500, "", "key REDACTED", false},
		{"empty body", "text/plain", "", 404, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer hub.Close()
			_, err := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: key}).Token(context.Background())
			var he *wechat.HubError
			if !errors.As(err, &he) {
				t.Fatalf("got %T %v, want a *HubError", err, err)
			}
			if he.Status != tc.status || he.Code != tc.code || he.Message != tc.msg || he.Refused() != tc.refused {
				t.Errorf("got %+v (refused %v), want status %d code %q message %q refused %v", *he, he.Refused(), tc.status, tc.code, tc.msg, tc.refused)
			}
			if errors.Is(err, wechat.ErrOutcomeUnknown) == tc.refused {
				t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v for refused = %v", !tc.refused, tc.refused)
			}
			if _, isAPI := wechat.ClassOf(err); isAPI {
				t.Errorf("a hub answer is not a WeChat errcode: %v", err)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error leaks the key or spans lines: %q", err)
			}
		})
	}
}

// TestHubErrorLongBody: a proxy's long page is cut to one short line.
func TestHubErrorLongBody(t *testing.T) {
	t.Parallel()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("x", 5000), http.StatusBadGateway)
	}))
	defer hub.Close()
	_, err := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: "k"}).Token(context.Background())
	var he *wechat.HubError
	if !errors.As(err, &he) || len([]rune(he.Message)) != 201 || !strings.HasSuffix(he.Message, "…") {
		t.Fatalf("got %v", err)
	}
}

// TestHubUnreachable: a hub that does not answer is no HubError but an
// outage (ErrOutcomeUnknown), without the key.
func TestHubUnreachable(t *testing.T) {
	t.Parallel()
	hub := httptest.NewServer(http.NotFoundHandler())
	url := hub.URL
	hub.Close()
	_, err := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: url, TerminalKey: "TERMINAL-KEY-x"}).Token(context.Background())
	var he *wechat.HubError
	if err == nil || errors.As(err, &he) || !errors.Is(err, wechat.ErrOutcomeUnknown) || strings.Contains(err.Error(), "TERMINAL-KEY-x") {
		t.Fatalf("got %v", err)
	}
}
