package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// TestPing: Ping succeeds only when WeChat itself answered and a token can
// be had, and it never touches a code or a card.
func TestPing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.c.Ping(ctx); err != nil {
		t.Fatalf("WeChat up: %v", err)
	}
	for _, ep := range []wechattest.Endpoint{wechattest.EndpointGetCode, wechattest.EndpointConsume, wechattest.EndpointDecrypt} {
		if n := e.srv.Calls(ep); n != 0 {
			t.Errorf("Ping called %s %d times", ep, n)
		}
	}
	if n := e.srv.Calls(wechattest.EndpointGetCard); n != 1 {
		t.Errorf("Ping asked card/get %d times, want once (without a token: it answers 41001)", n)
	}
	issued := e.srv.TokensIssued()
	if err := e.c.Ping(ctx); err != nil || e.srv.TokensIssued() != issued {
		t.Fatalf("second Ping: %v, %d tokens issued (the cached one serves)", err, e.srv.TokensIssued()-issued)
	}

	e.srv.SetOutage(true)
	e.srv.ExpireTokens()
	err := e.c.Ping(ctx)
	wantUnknown(t, err)
	e.srv.SetOutage(false)
	if n := e.srv.Calls(wechattest.EndpointStableToken); n != 1 {
		t.Fatalf("a Ping WeChat did not answer asked for a token: %d token calls", n)
	}

	e.srv.Inject(wechattest.EndpointGetCard, wechattest.Fault{HTTPStatus: http.StatusBadGateway})
	wantUnknown(t, e.c.Ping(ctx))
	if err := e.c.Ping(ctx); err != nil {
		t.Fatalf("after the 502: %v", err)
	}
}

// TestPingNotWeChat: an answer that is not WeChat's JSON (a captive portal,
// a proxy's page) is not WeChat reachable.
func TestPingNotWeChat(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"<html>captive portal</html>", `{"ok":true}`} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }))
		c, err := wechat.New(wechat.Options{BaseURL: ts.URL, Tokens: wechat.StaticToken("T0KEN")})
		if err != nil {
			t.Fatal(err)
		}
		wantUnknown(t, c.Ping(context.Background()))
		ts.Close()
	}
}

// TestPingWithoutToken: WeChat answers, but no token can be had (here the
// AppSecret is wrong): Ping fails with the token source's error, as the
// call after it would.
func TestPingWithoutToken(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	defer srv.Close()
	bad := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: "wrong-secret"})
	c, err := wechat.New(wechat.Options{BaseURL: srv.URL, Tokens: bad})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ping(context.Background())
	wantAPI(t, err, wechat.CodeInvalidAppSecret, wechat.ClassConfig)
	var ae *wechat.APIError
	if !errors.As(err, &ae) || ae.Op == wechat.OpPing {
		t.Fatalf("the error should be the token fetch's: %v", err)
	}
}
