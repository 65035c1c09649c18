package wechat_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"cardtill/wechat"
)

// tokenService is a stable_token endpoint on loopback that issues a new
// token on every fetch (TOK-1, TOK-2, ...) and holds each fetch after the
// first until the test lets it answer, so a test sees whether a call
// waited for the refresh or went out beside it.
type tokenService struct {
	*httptest.Server
	fetches atomic.Int32  // fetches begun
	arrived chan struct{} // a held fetch has arrived
	release chan bool     // answer the held fetch: true = a token, false = 502
}

func newTokenService(t *testing.T) *tokenService {
	ts := &tokenService{arrived: make(chan struct{}, 8), release: make(chan bool, 8)}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.fetches.Add(1)
		if n > 1 {
			ts.arrived <- struct{}{}
			if ok := <-ts.release; !ok {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
		}
		fmt.Fprintf(w, `{"access_token":"TOK-%d","expires_in":7200}`, n)
	}))
	t.Cleanup(func() {
		close(ts.release) // a fetch still held answers 502
		ts.Close()
	})
	return ts
}

func (ts *tokenService) source(clock *fakeClock, refreshFirst bool) wechat.ExpiringTokenSource {
	return wechat.NewStableTokenSource(wechat.StableTokenOptions{
		BaseURL: ts.URL, AppID: "wxapp", Secret: "s3cret", Now: clock.Now, RefreshFirst: refreshFirst,
	})
}

// inRefreshWindow is how far after the first fetch the clock is in the
// token's early-refresh window (its last 5 minutes) but before its last
// 30 s, where a call without RefreshFirst goes out with the old token.
const inRefreshWindow = 2*time.Hour - 2*time.Minute

// With RefreshFirst, a call made in the early-refresh window waits for the
// refresh and goes out with the new token: no refresh is left running
// beside it once it returns. Without it (the till's default) the same call
// returns the current token at once while the refresh runs beside it.
// Ignoring RefreshFirst makes the first subtest get TOK-1.
func TestRefreshFirst(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("waits for the refresh", func(t *testing.T) {
		ts := newTokenService(t)
		clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
		src := ts.source(clock, true)
		if tok, err := src.Token(ctx); err != nil || tok != "TOK-1" {
			t.Fatalf("first Token = %q, %v; want TOK-1", tok, err)
		}
		clock.Add(inRefreshWindow)
		got := make(chan string, 1)
		go func() {
			tok, err := src.Token(ctx)
			if err != nil {
				tok = "error: " + err.Error()
			}
			got <- tok
		}()
		select {
		case <-ts.arrived:
		case tok := <-got:
			t.Fatalf("Token returned %q before its refresh reached the token service", tok)
		case <-ctx.Done():
			t.Fatal("no refresh reached the token service")
		}
		select {
		case tok := <-got:
			t.Fatalf("Token returned %q while its refresh was still held", tok)
		default:
		}
		ts.release <- true
		if tok := <-got; tok != "TOK-2" {
			t.Fatalf("Token in the early-refresh window = %q; want the refreshed TOK-2", tok)
		}
		if f := ts.fetches.Load(); f != 2 {
			t.Fatalf("%d fetches when Token returned; want 2", f)
		}
		// The new token is cached: no further fetch.
		if tok, err := src.Token(ctx); err != nil || tok != "TOK-2" || ts.fetches.Load() != 2 {
			t.Fatalf("next Token = %q, %v after %d fetches; want TOK-2 from the cache", tok, err, ts.fetches.Load())
		}
	})

	t.Run("a failed refresh falls back to the valid token", func(t *testing.T) {
		ts := newTokenService(t)
		clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
		src := ts.source(clock, true)
		if _, err := src.Token(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Add(inRefreshWindow)
		ts.release <- false
		if tok, err := src.Token(ctx); err != nil || tok != "TOK-1" {
			t.Fatalf("Token with its refresh failing = %q, %v; want the still-valid TOK-1", tok, err)
		}
		if f := ts.fetches.Load(); f != 2 {
			t.Fatalf("%d fetches; want 2 (the refresh was tried before the call)", f)
		}
	})

	t.Run("default: the refresh runs beside the call", func(t *testing.T) {
		ts := newTokenService(t)
		clock := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
		src := ts.source(clock, false)
		if _, err := src.Token(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Add(inRefreshWindow)
		// The refresh is held until released below, so Token returning at
		// all shows it did not wait for it.
		if tok, err := src.Token(ctx); err != nil || tok != "TOK-1" {
			t.Fatalf("Token in the early-refresh window = %q, %v; want the current TOK-1 at once", tok, err)
		}
		select {
		case <-ts.arrived:
		case <-ctx.Done():
			t.Fatal("no refresh ran beside the call")
		}
		ts.release <- true
		deadline := time.Now().Add(10 * time.Second)
		for {
			tok, err := src.Token(ctx)
			if err == nil && tok == "TOK-2" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Token after the refresh = %q, %v; want TOK-2", tok, err)
			}
			runtime.Gosched()
		}
	})
}
