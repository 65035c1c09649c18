package wechat_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	stdsync "sync"
	"testing"

	"cardtill/wechat"
)

// TestHubSourceNamesRejectedToken: after WeChat refused the hub's token
// (Invalidate), the next request to the hub carries its hash, once; a
// stale Invalidate and ordinary refreshes carry nothing.
func TestHubSourceNamesRejectedToken(t *testing.T) {
	t.Parallel()
	var mu stdsync.Mutex
	var seen []string // the header of each request
	n := 0
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get(wechat.HeaderRejectedToken))
		n++
		fmt.Fprintf(w, `{"access_token":"HUBTOKEN-%d","expires_in":7200}`, n)
	}))
	defer hub.Close()
	ctx := context.Background()
	src := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: hub.URL, TerminalKey: "k"})
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src.Invalidate("HUBTOKEN-0") // not the cached token: nothing happens
	if again, _ := src.Token(ctx); again != tok {
		t.Fatalf("a stale Invalidate refreshed: %q", again)
	}
	src.Invalidate(tok)
	if tok2, err := src.Token(ctx); err != nil || tok2 != "HUBTOKEN-2" {
		t.Fatalf("after Invalidate: %q %v", tok2, err)
	}
	src.Invalidate("HUBTOKEN-2")
	src.Invalidate("HUBTOKEN-2") // twice: still one refresh naming it
	if tok3, err := src.Token(ctx); err != nil || tok3 != "HUBTOKEN-3" {
		t.Fatalf("after the second Invalidate: %q %v", tok3, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"", wechat.TokenHash("HUBTOKEN-1"), wechat.TokenHash("HUBTOKEN-2")}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("%s headers %q, want %q", wechat.HeaderRejectedToken, seen, want)
	}
	if h := wechat.TokenHash("HUBTOKEN-1"); len(h) != 32 || h == wechat.TokenHash("HUBTOKEN-2") {
		t.Fatalf("TokenHash %q", h)
	}
}
