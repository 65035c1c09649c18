package wechat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// TestTokenExpiry: the stable-token source reports when its token expires
// (what the hub hands on to tills as expires_in), keeps that expiry while
// the token is cached, keeps the old token and its expiry when an early
// refresh fails, and reports no expiry with an error.
func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	srv := wechattest.New(wechattest.WithClock(clock.Now))
	defer srv.Close()
	ctx := context.Background()
	src := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, Now: clock.Now})
	tok, exp, err := src.TokenExpiry(ctx)
	want := clock.Now().Add(wechattest.DefaultTokenTTL)
	if err != nil || tok == "" || !exp.Equal(want) {
		t.Fatalf("TokenExpiry = %q, %v, %v; want a token expiring %v", tok, exp, err, want)
	}
	if plain, err := src.Token(ctx); err != nil || plain != tok {
		t.Fatalf("Token = %q, %v; want the same token as TokenExpiry", plain, err)
	}

	clock.Add(time.Hour) // cached: same token, same expiry, no fetch
	if tok2, exp2, err := src.TokenExpiry(ctx); err != nil || tok2 != tok || !exp2.Equal(want) || srv.Calls(wechattest.EndpointStableToken) != 1 {
		t.Fatalf("cached: %q %v %v, %d fetches", tok2, exp2, err, srv.Calls(wechattest.EndpointStableToken))
	}

	clock.Add(wechattest.DefaultTokenTTL - time.Hour - 2*time.Minute) // inside the early-refresh window
	srv.Inject(wechattest.EndpointStableToken, wechattest.Fault{HTTPStatus: http.StatusBadGateway, Persistent: true})
	if tok3, exp3, err := src.TokenExpiry(ctx); err != nil || tok3 != tok || !exp3.Equal(want) {
		t.Fatalf("failed early refresh: %q %v %v; want the old token and its expiry", tok3, exp3, err)
	}
	waitCalls(t, srv, wechattest.EndpointStableToken, 2) // the refresh beside it fails

	clock.Add(3 * time.Minute) // expired, and the refresh fails (joined, or its own)
	if tok4, exp4, err := src.TokenExpiry(ctx); err == nil || tok4 != "" || !exp4.IsZero() {
		t.Fatalf("expired and refresh failing: %q %v %v; want an error", tok4, exp4, err)
	}
	srv.ClearFaults()

	// A fresh token from WeChat gets its own expiry.
	tok5, exp5, err := src.TokenExpiry(ctx)
	if err != nil || tok5 == tok || !exp5.Equal(clock.Now().Add(wechattest.DefaultTokenTTL)) {
		t.Fatalf("after expiry: %q %v %v", tok5, exp5, err)
	}
}

// TestHubTokenExpiry: the hub source's expiry is the hub's expires_in.
func TestHubTokenExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"access_token":"HUBTOKEN","expires_in":600}`))
	}))
	defer hub.Close()
	src := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: "k", Now: func() time.Time { return now }})
	tok, exp, err := src.TokenExpiry(context.Background())
	if err != nil || tok != "HUBTOKEN" || !exp.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("TokenExpiry = %q, %v, %v", tok, exp, err)
	}
}

// A token in its last minutes (the early-refresh window) is still valid:
// a call never waits for its refresh, which runs beside it. A slow token
// service then costs no scan its deadline. (Before: the caller waited for
// the refresh, and a cashier's 4 s went on it.)
func TestEarlyRefreshDoesNotHoldTheCaller(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	srv := wechattest.New(wechattest.WithClock(clock.Now))
	defer srv.Close()
	src := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, Now: clock.Now})
	tok, _, err := src.TokenExpiry(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(wechattest.DefaultTokenTTL - 2*time.Minute) // inside the early-refresh window
	srv.Inject(wechattest.EndpointStableToken, wechattest.Fault{Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got, err := src.Token(ctx)
	if err != nil || got != tok {
		t.Fatalf("token in its last minutes while the refresh is slow: %q, %v; want the current token at once", got, err)
	}
}

// waitCalls waits until the fake WeChat has had n calls of ep (a refresh
// running beside the caller), yielding, without sleeping.
func waitCalls(t *testing.T, srv *wechattest.Server, ep wechattest.Endpoint, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Calls(ep) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls of %v, want %d", srv.Calls(ep), ep, n)
		}
		runtime.Gosched()
	}
}
