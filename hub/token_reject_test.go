package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/wechat"
)

// rotatingTokens is a token source that hands out its current token until
// Invalidate drops it; the next Token is a new one.
type rotatingTokens struct {
	mu          stdsync.Mutex
	n           int
	dropped     []string
	invalidated int
}

func (r *rotatingTokens) Token(context.Context) (string, time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("WXTOKEN-%d", r.n), testNow.Add(2 * time.Hour), nil
}

func (r *rotatingTokens) Invalidate(bad string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invalidated++
	if bad == fmt.Sprintf("WXTOKEN-%d", r.n) {
		r.dropped = append(r.dropped, bad)
		r.n++
	}
}

// TestTokenRejectedByWeChat: a till whose call WeChat refused with the
// hub's token names it on its next token request (wechat's hub source does
// that after Invalidate); the hub drops that token and hands out a fresh
// one. A report of an older token, or a second report within rejectEvery,
// changes nothing.
func TestTokenRejectedByWeChat(t *testing.T) {
	t.Parallel()
	now := testNow
	var clockMu stdsync.Mutex
	tick := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	tokens := &rotatingTokens{}
	st := openStore(t, filepath.Join(t.TempDir(), "hub.db"))
	logs := &syncBuffer{}
	s, err := hub.NewServer(hub.Options{Push: codec(t), Store: st, Tokens: tokens, Now: tick,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	key := hub.NewTerminalKey()
	if err := st.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	till := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: srv.URL, TerminalKey: key, Now: tick})
	other := wechat.NewHubTokenSource(wechat.HubTokenOptions{URL: srv.URL, TerminalKey: key, Now: tick})
	get := func(src wechat.TokenSource) string {
		t.Helper()
		tok, err := src.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if tok := get(till); tok != "WXTOKEN-0" {
		t.Fatalf("first token %q", tok)
	}
	if tok := get(other); tok != "WXTOKEN-0" {
		t.Fatalf("the other till's first token %q", tok)
	}
	till.Invalidate("WXTOKEN-0") // WeChat refused it
	if tok := get(till); tok != "WXTOKEN-1" {
		t.Fatalf("after the till reported the refused token: %q, want a fresh one", tok)
	}
	// The other till learns the same a moment later: the hub already moved
	// on, so its report of the older token drops nothing.
	other.Invalidate("WXTOKEN-0")
	if tok := get(other); tok != "WXTOKEN-1" {
		t.Fatalf("the other till: %q", tok)
	}
	// WeChat refuses the fresh token at once too: within rejectEvery the
	// hub does not ask WeChat again...
	till.Invalidate("WXTOKEN-1")
	if tok := get(till); tok != "WXTOKEN-1" {
		t.Fatalf("second report within the limit: %q", tok)
	}
	// ...after it, it does.
	clockMu.Lock()
	now = now.Add(11 * time.Second)
	clockMu.Unlock()
	till.Invalidate("WXTOKEN-1")
	if tok := get(till); tok != "WXTOKEN-2" {
		t.Fatalf("report after the limit: %q", tok)
	}
	tokens.mu.Lock()
	defer tokens.mu.Unlock()
	if fmt.Sprint(tokens.dropped) != "[WXTOKEN-0 WXTOKEN-1]" || tokens.invalidated != 2 {
		t.Fatalf("the hub dropped %v (%d calls), want WXTOKEN-0 then WXTOKEN-1", tokens.dropped, tokens.invalidated)
	}
	if logs := logs.String(); !strings.Contains(logs, "reports WeChat refused") || strings.Contains(logs, "WXTOKEN") || strings.Contains(logs, key) {
		t.Fatalf("hub log:\n%s", logs)
	}
}
