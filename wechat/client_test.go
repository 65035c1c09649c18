package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// fakeClock is a settable clock shared by the fake and the token source.
type fakeClock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv   *wechattest.Server
	c     *wechat.Client
	clock *fakeClock
	logs  *syncBuffer
}

type syncBuffer struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newEnv starts a fake WeChat with the demo catalogue and a client using
// stable_token against it.
func newEnv(t testing.TB) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	srv := wechattest.New(wechattest.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	srv.LoadDemo()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tokens := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret, Logger: logger, Now: clock.Now})
	c, err := wechat.New(wechat.Options{BaseURL: srv.URL, Tokens: tokens, Logger: logger, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, c: c, clock: clock, logs: logs}
}

func wantAPI(t *testing.T, err error, code int, class wechat.Class) {
	t.Helper()
	var ae *wechat.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want APIError %d", err, code)
	}
	if ae.Code != code || ae.Class() != class || wechat.Code(err) != code {
		t.Fatalf("err = %v, want errcode %d class %s", err, code, class)
	}
	if errors.Is(err, wechat.ErrOutcomeUnknown) {
		t.Fatalf("APIError %v must not match ErrOutcomeUnknown", err)
	}
}

func wantUnknown(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, wechat.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	if _, ok := wechat.ClassOf(err); ok || wechat.Code(err) != 0 {
		t.Fatalf("unknown outcome %v must not be an APIError", err)
	}
}

func TestGetCodeEveryStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		name, card, code string
		status           wechat.CardStatus
		can              bool
		checkErr         int // errcode with check_consume true, 0 = ok
	}{
		{"normal", "", wechattest.DemoNormal, wechat.StatusNormal, true, 0},
		{"consumed", "", wechattest.DemoConsumed, wechat.StatusConsumed, false, 40099},
		{"window ended", "", wechattest.DemoExpired, wechat.StatusExpire, false, 40127},
		{"expire status", "", wechattest.DemoExpireStatus, wechat.StatusExpire, false, 40127},
		{"not yet valid", "", wechattest.DemoNotYetValid, wechat.StatusNormal, false, 40079},
		{"gifting", "", wechattest.DemoGifting, wechat.StatusGifting, false, 40127},
		{"gift timeout", "", wechattest.DemoGiftTimeout, wechat.StatusGiftTimeout, false, 40127},
		{"deleted", "", wechattest.DemoDeleted, wechat.StatusDelete, false, 40127},
		{"unavailable", "", wechattest.DemoUnavailable, wechat.StatusUnavailable, false, 40127},
		{"member", "", wechattest.DemoMember, wechat.StatusNormal, true, 0},
		{"custom with card_id", wechattest.DemoCardCustom, wechattest.DemoCustom, wechat.StatusNormal, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := e.c.GetCode(ctx, tc.card, tc.code, false)
			if err != nil {
				t.Fatal(err)
			}
			row, _ := e.srv.Code(tc.code)
			if info.Status != tc.status || info.CanConsume != tc.can || info.CardID != row.CardID || info.OpenID != row.OpenID ||
				!info.BeginTime.Equal(row.Begin.Truncate(time.Second)) || !info.EndTime.Equal(row.End.Truncate(time.Second)) {
				t.Fatalf("GetCode(false) = %+v, row %+v", info, row)
			}
			_, err = e.c.GetCode(ctx, tc.card, tc.code, true)
			if tc.checkErr == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantAPI(t, err, tc.checkErr, wechat.ClassRejected)
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := e.c.GetCode(ctx, "", wechattest.DemoUnknown, false)
		wantAPI(t, err, 40056, wechat.ClassRejected)
	})
	t.Run("custom without card_id", func(t *testing.T) {
		_, err := e.c.GetCode(ctx, "", wechattest.DemoCustom, false)
		wantAPI(t, err, 40056, wechat.ClassRejected)
	})
	t.Run("wrong card_id", func(t *testing.T) {
		_, err := e.c.GetCode(ctx, wechattest.DemoCardCake, wechattest.DemoNormal, false)
		wantAPI(t, err, 40056, wechat.ClassRejected)
	})
	t.Run("too long, refused locally", func(t *testing.T) {
		before := e.srv.Calls(wechattest.EndpointGetCode)
		_, err := e.c.GetCode(ctx, "", strings.Repeat("1", 21), false)
		wantAPI(t, err, 40116, wechat.ClassRejected)
		if e.srv.Calls(wechattest.EndpointGetCode) != before {
			t.Fatal("a code over 20 characters reached WeChat")
		}
	})
}

func TestConsume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.c.Consume(ctx, "", wechattest.DemoNormal)
	if err != nil {
		t.Fatal(err)
	}
	if res.CardID != wechattest.DemoCardDrink || res.OpenID != "oDEMO_alice" {
		t.Fatalf("Consume = %+v", res)
	}
	_, err = e.c.Consume(ctx, "", wechattest.DemoNormal)
	wantAPI(t, err, 40099, wechat.ClassRejected)
	if n := e.srv.ConsumeCount(wechattest.DemoNormal); n != 1 {
		t.Fatalf("ConsumeCount = %d, want 1", n)
	}
	info, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false)
	if err != nil || info.Status != wechat.StatusConsumed || info.CanConsume {
		t.Fatalf("after consume: %+v %v", info, err)
	}

	_, err = e.c.Consume(ctx, "", wechattest.DemoUnknown)
	wantAPI(t, err, 40056, wechat.ClassRejected)
	_, err = e.c.Consume(ctx, "", wechattest.DemoCustom)
	wantAPI(t, err, 40056, wechat.ClassRejected)
	if _, err := e.c.Consume(ctx, wechattest.DemoCardCustom, wechattest.DemoCustom); err != nil {
		t.Fatalf("custom code with card_id: %v", err)
	}
	_, err = e.c.Consume(ctx, "", wechattest.DemoNotYetValid)
	wantAPI(t, err, 40079, wechat.ClassRejected)
	_, err = e.c.Consume(ctx, "", wechattest.DemoGifting)
	wantAPI(t, err, 40127, wechat.ClassRejected)
	if got := e.srv.TotalConsumes(); got != 2 {
		t.Fatalf("TotalConsumes = %d, want 2", got)
	}
}

func TestDecrypt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enc := e.srv.Encrypt(wechattest.DemoEncrypted)
	code, err := e.c.Decrypt(context.Background(), enc)
	if err != nil || code != wechattest.DemoEncrypted {
		t.Fatalf("Decrypt = %q, %v", code, err)
	}
	_, err = e.c.Decrypt(context.Background(), "bm90IG91cnM=")
	wantAPI(t, err, 40075, wechat.ClassRejected)
	_, err = e.c.Decrypt(context.Background(), strings.Repeat("A", 129))
	wantAPI(t, err, 40075, wechat.ClassRejected)
}

func TestGetCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	card, err := e.c.GetCard(context.Background(), wechattest.DemoCardDrink)
	if err != nil {
		t.Fatal(err)
	}
	if card.CardID != wechattest.DemoCardDrink || card.Type != "GROUPON" || !strings.Contains(card.Title, "¥20 off any drink") {
		t.Fatalf("GetCard = %+v", card)
	}
	m, err := e.c.GetCard(context.Background(), wechattest.DemoCardMember)
	if err != nil || m.Type != "MEMBER_CARD" || m.Title == "" {
		t.Fatalf("member card = %+v, %v", m, err)
	}
	_, err = e.c.GetCard(context.Background(), "pNOPE")
	wantAPI(t, err, 40073, wechat.ClassConfig)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		fault   wechattest.Fault
		check   func(t *testing.T, err error)
		applied int
	}{
		{"busy", wechattest.Fault{Errcode: -1}, func(t *testing.T, err error) { wantAPI(t, err, -1, wechat.ClassRetryable) }, 0},
		{"daily quota", wechattest.Fault{Errcode: 45009}, func(t *testing.T, err error) { wantAPI(t, err, 45009, wechat.ClassRetryable) }, 0},
		{"too frequent", wechattest.Fault{Errcode: 45011}, func(t *testing.T, err error) { wantAPI(t, err, 45011, wechat.ClassRetryable) }, 0},
		{"no permission", wechattest.Fault{Errcode: 48001}, func(t *testing.T, err error) { wantAPI(t, err, 48001, wechat.ClassConfig) }, 0},
		{"ip whitelist", wechattest.Fault{Errcode: 40164}, func(t *testing.T, err error) { wantAPI(t, err, 40164, wechat.ClassConfig) }, 0},
		{"token refused twice", wechattest.Fault{Errcode: 40001, Times: 2}, func(t *testing.T, err error) { wantAPI(t, err, 40001, wechat.ClassToken) }, 0},
		{"http 502", wechattest.Fault{HTTPStatus: 502}, wantUnknown, 0},
		{"drop before apply", wechattest.Fault{DropBefore: true}, wantUnknown, 0},
		{"drop after apply", wechattest.Fault{DropAfter: true}, wantUnknown, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Inject(wechattest.EndpointConsume, tc.fault)
			_, err := e.c.Consume(ctx, "", wechattest.DemoNormal)
			tc.check(t, err)
			if n := e.srv.ConsumeCount(wechattest.DemoNormal); n != tc.applied {
				t.Fatalf("ConsumeCount = %d, want %d", n, tc.applied)
			}
			// The fault was used up: the query resolves the outcome.
			info, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false)
			if err != nil {
				t.Fatal(err)
			}
			if (info.Status == wechat.StatusConsumed) != (tc.applied == 1) {
				t.Fatalf("status after fault = %s", info.Status)
			}
		})
	}
}

func TestNonJSONAndTimeout(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "slow") {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		fmt.Fprint(w, "<html>captive portal</html>")
	}))
	defer ts.Close()
	defer close(done) // runs first: releases the slow handler so Close returns
	c, err := wechat.New(wechat.Options{BaseURL: ts.URL, Tokens: wechat.StaticToken("T0KEN-should-not-leak"), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetCode(context.Background(), "", "123", false)
	wantUnknown(t, err)

	slow, err := wechat.New(wechat.Options{BaseURL: ts.URL + "/slow", Tokens: wechat.StaticToken("T0KEN-should-not-leak"), Timeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = slow.Consume(context.Background(), "", "123")
	wantUnknown(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("default timeout: err = %v, want DeadlineExceeded in the chain", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.GetCard(ctx, "x") // a deadline on ctx is honoured too (captive portal answers fast)
	wantUnknown(t, err)
	if strings.Contains(err.Error(), "T0KEN") {
		t.Fatalf("token leaked: %v", err)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Latency: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false)
	wantUnknown(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestOutageAndRedaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false); err != nil {
		t.Fatal(err) // warms the token cache
	}
	e.srv.SetOutage(true)
	var errs []error
	_, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false)
	errs = append(errs, err)
	_, err = e.c.Consume(ctx, "", wechattest.DemoNormal)
	errs = append(errs, err)
	e.srv.ExpireTokens() // the token fetch fails too
	_, err = e.c.GetCard(ctx, wechattest.DemoCardDrink)
	errs = append(errs, err)

	// A fixed token and a hub key through a failing network.
	static, _ := wechat.New(wechat.Options{BaseURL: e.srv.URL, Tokens: wechat.StaticToken("STATIC-SECRET-TOKEN-42")})
	_, err = static.Consume(ctx, "", wechattest.DemoNormal)
	errs = append(errs, err)
	hubTok := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: e.srv.URL, TerminalKey: "TERMINAL-KEY-SECRET-99"})
	_, err = hubTok.Token(ctx)
	errs = append(errs, err)

	secrets := []string{e.srv.Secret, "FAKETOKEN_", "STATIC-SECRET-TOKEN-42", "TERMINAL-KEY-SECRET-99"}
	for i, err := range errs {
		if !errors.Is(err, wechat.ErrOutcomeUnknown) {
			t.Errorf("err %d = %v, want ErrOutcomeUnknown", i, err)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), s) {
				t.Errorf("err %d leaks %q: %v", i, s, err)
			}
		}
	}
	if !strings.Contains(errs[3].Error(), "access_token=REDACTED") {
		t.Errorf("url error should show the redacted URL: %v", errs[3])
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "outcome unknown") {
		t.Fatalf("expected failure logs, got %q", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs leak %q:\n%s", s, logs)
		}
	}
	e.srv.SetOutage(false)
	if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestTokenRefreshOnExpiry(t *testing.T) {
	t.Parallel()
	for _, code := range []int{40001, 40014, 42001} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false); err != nil {
				t.Fatal(err)
			}
			issued := e.srv.TokensIssued()
			e.srv.ExpireTokens()
			e.srv.Inject(wechattest.EndpointConsume, wechattest.Fault{Errcode: code})
			if _, err := e.c.Consume(ctx, "", wechattest.DemoNormal); err != nil {
				t.Fatalf("consume after %d: %v", code, err)
			}
			if got := e.srv.TokensIssued() - issued; got != 1 {
				t.Fatalf("refreshes = %d, want 1", got)
			}
			if e.srv.ConsumeCount(wechattest.DemoNormal) != 1 {
				t.Fatal("consume not applied exactly once")
			}
		})
	}
}

func TestConcurrentExpiredTokenOneRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false); err != nil {
		t.Fatal(err)
	}
	issued := e.srv.TokensIssued()
	e.srv.ExpireTokens()
	const n = 64
	var wg stdsync.WaitGroup
	var failed atomic.Int32
	for range n {
		wg.Go(func() {
			if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal2, false); err != nil {
				failed.Add(1)
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := e.srv.TokensIssued() - issued; got != 1 || failed.Load() != 0 {
		t.Fatalf("%d callers on an expired token: %d refreshes, %d failures; want 1 and 0", n, got, failed.Load())
	}
}

func TestEarlyRefreshAndColdStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// 64 callers on a cold cache share one fetch.
	var wg stdsync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if e.srv.TokensIssued() != 1 {
		t.Fatalf("cold start fetched %d tokens, want 1", e.srv.TokensIssued())
	}
	e.clock.Add(wechattest.DefaultTokenTTL - 10*time.Minute) // still valid, not yet due
	if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false); err != nil {
		t.Fatal(err)
	}
	if e.srv.TokensIssued() != 1 {
		t.Fatal("refreshed too early")
	}
	e.clock.Add(6 * time.Minute) // within 5 minutes of expiry: the call goes out, the refresh runs beside it
	calls, fetches := e.srv.Calls(wechattest.EndpointGetCode), e.srv.Calls(wechattest.EndpointStableToken)
	if _, err := e.c.GetCode(ctx, "", wechattest.DemoNormal, false); err != nil {
		t.Fatal(err)
	}
	if e.srv.Calls(wechattest.EndpointGetCode) != calls+1 {
		t.Fatalf("early refresh: %d calls, want one (no 42001 round trip)", e.srv.Calls(wechattest.EndpointGetCode)-calls)
	}
	waitCalls(t, e.srv, wechattest.EndpointStableToken, fetches+1)
}

func TestTokenSourceErrors(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	defer srv.Close()
	ctx := context.Background()
	bad := wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: "wrong-secret"})
	_, err := bad.Token(ctx)
	wantAPI(t, err, 40125, wechat.ClassConfig)
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("secret leaked: %v", err)
	}
	_, err = wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL}).Token(ctx)
	wantAPI(t, err, 40125, wechat.ClassConfig)

	c, _ := wechat.New(wechat.Options{BaseURL: srv.URL, Tokens: bad})
	_, err = c.GetCode(ctx, "", "1", false)
	wantAPI(t, err, 40125, wechat.ClassConfig)
	_, err = wechat.StaticToken("").Token(ctx)
	wantAPI(t, err, 41001, wechat.ClassToken)

	if _, err := wechat.New(wechat.Options{}); err == nil {
		t.Fatal("New without Tokens must fail")
	}
	if _, err := wechat.New(wechat.Options{Tokens: wechat.StaticToken("x"), BaseURL: "ftp://x"}); err == nil {
		t.Fatal("New with a non-http base must fail")
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	if _, err := wechat.New(wechat.Options{Tokens: wechat.StaticToken("x"), HTTPClient: insecure}); err == nil {
		t.Fatal("New must refuse a client that skips TLS verification")
	}
}

func TestHubTokenSource(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/token" || r.Header.Get("Authorization") != "Bearer good-key" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fetches.Add(1)
		fmt.Fprintf(w, `{"access_token":"HUBTOKEN-%d","expires_in":7200}`, fetches.Load())
	}))
	defer hub.Close()
	ctx := context.Background()
	src := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: "good-key"})
	for range 3 {
		tok, err := src.Token(ctx)
		if err != nil || tok != "HUBTOKEN-1" {
			t.Fatalf("Token = %q, %v", tok, err)
		}
	}
	src.Invalidate("some-older-token") // not the cached one: no refresh
	if tok, _ := src.Token(ctx); tok != "HUBTOKEN-1" {
		t.Fatalf("Invalidate of a stale token refreshed: %q", tok)
	}
	src.Invalidate("HUBTOKEN-1")
	if tok, _ := src.Token(ctx); tok != "HUBTOKEN-2" {
		t.Fatalf("after Invalidate: %q", tok)
	}
	_, err := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: "bad-key"}).Token(ctx)
	if he := (*wechat.HubError)(nil); !errors.As(err, &he) || !he.Refused() || errors.Is(err, wechat.ErrOutcomeUnknown) {
		t.Fatalf("bad key: %v, want a refused *HubError", err)
	}
	if strings.Contains(err.Error(), "bad-key") {
		t.Fatalf("terminal key leaked: %v", err)
	}
	_, err = wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL}).Token(ctx)
	wantAPI(t, err, 41001, wechat.ClassToken)
}

func TestClassString(t *testing.T) {
	t.Parallel()
	for c, want := range map[wechat.Class]string{wechat.ClassToken: "token", wechat.ClassRetryable: "retryable", wechat.ClassRejected: "rejected", wechat.ClassConfig: "config", 0: "Class(0)"} {
		if c.String() != want {
			t.Errorf("%d.String() = %q", int(c), c.String())
		}
	}
	if wechat.Code(errors.New("x")) != 0 {
		t.Error("Code of a plain error must be 0")
	}
}

// BenchmarkGetCodeConsume is one query+consume pair against the fake on loopback.
func BenchmarkGetCodeConsume(b *testing.B) {
	srv := wechattest.New()
	defer srv.Close()
	srv.AddCard(wechattest.Card{CardID: "pBENCH", Title: "bench"})
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = fmt.Sprintf("9%011d", i)
		srv.AddCode(wechattest.Code{Code: codes[i], CardID: "pBENCH", OpenID: "o"})
	}
	c, err := wechat.New(wechat.Options{BaseURL: srv.URL, Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret})})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		info, err := c.GetCode(ctx, "", codes[i], false)
		if err != nil || !info.CanConsume {
			b.Fatal(info, err)
		}
		if _, err := c.Consume(ctx, "", codes[i]); err != nil {
			b.Fatal(err)
		}
	}
}
