package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"cardtill/wechat"
)

// What this client refuses before asking anyone is a typed error: a
// sentinel for errors.Is, inside the *APIError with the errcode WeChat
// would answer where there is one.
func TestLocalErrorsAreTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var ae *wechat.APIError
	if _, err := wechat.StaticToken("").Token(ctx); !errors.Is(err, wechat.ErrNoStaticToken) || !errors.As(err, &ae) || ae.Code != wechat.CodeTokenMissing {
		t.Errorf("empty static token: %v", err)
	}
	if _, err := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: "http://127.0.0.1:1"}).Token(ctx); !errors.Is(err, wechat.ErrNoCredentials) || !errors.As(err, &ae) || ae.Code != wechat.CodeInvalidAppSecret {
		t.Errorf("no appid: %v", err)
	}
	if _, err := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: "http://127.0.0.1:1"}).Token(ctx); !errors.Is(err, wechat.ErrNoTerminalKey) {
		t.Errorf("no terminal key: %v", err)
	}
	if _, err := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: "ftp://x", TerminalKey: "k"}).Token(ctx); !errors.Is(err, wechat.ErrBadHubURL) {
		t.Errorf("bad hub URL: %v", err)
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	if _, err := wechat.New(wechat.Options{Tokens: wechat.StaticToken("x"), HTTPClient: insecure}); !errors.Is(err, wechat.ErrInsecureClient) {
		t.Errorf("insecure client: %v", err)
	}
}

// JSON without errcode is someone else's answer: ErrNotWeChat, and the
// outcome is unknown.
func TestJSONWithoutErrcodeIsNotWeChat(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"ok":true}`) }))
	defer ts.Close()
	c, err := wechat.New(wechat.Options{BaseURL: ts.URL, Tokens: wechat.StaticToken("x")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCode(context.Background(), "", "123", false); !errors.Is(err, wechat.ErrNotWeChat) || !errors.Is(err, wechat.ErrOutcomeUnknown) {
		t.Errorf("JSON without errcode: %v", err)
	}
}
