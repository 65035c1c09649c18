package hub_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/hub"
	"cardtill/wechat"
)

// proxiedHub is a hub on loopback whose trusted proxies are given; the
// test client on 127.0.0.1 plays the proxy (trusted or not).
func proxiedHub(t *testing.T, trusted ...string) (url string, logs *syncBuffer) {
	t.Helper()
	var prefixes []netip.Prefix
	for _, p := range trusted {
		prefixes = append(prefixes, netip.MustParsePrefix(p))
	}
	logs = &syncBuffer{}
	s, err := hub.NewServer(hub.Options{Push: codec(t), Store: openStore(t, filepath.Join(t.TempDir(), "hub.db")), Now: clock,
		TrustedProxies: prefixes, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, logs
}

// refusedFrom sends a request the hub refuses and logs (no terminal key, or
// a push with a bad signature) with the given X-Forwarded-For, and returns
// the log line.
func refusedFrom(t *testing.T, url string, logs *syncBuffer, push bool, xff string) string {
	t.Helper()
	before := len(logs.String())
	var req *http.Request
	var err error
	if push {
		req, err = codec(t).NewPushRequest(context.Background(), url+hub.PathPush, wechat.ModeSafe, seedEvents(t)["user_del_card"])
		if err == nil {
			q := req.URL.Query()
			q.Set("msg_signature", strings.Repeat("0", 40))
			req.URL.RawQuery = q.Encode()
		}
	} else {
		req, err = http.NewRequest(http.MethodGet, url+hub.PathToken, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if st, _ := do(t, http.DefaultClient, req); st < 400 {
		t.Fatalf("status %d, want a refusal", st)
	}
	line := strings.TrimSpace(logs.String()[before:])
	if line == "" || strings.Contains(line, "\n") {
		t.Fatalf("want one log line, got %q", line)
	}
	return line
}

func TestTrustedProxyClientAddress(t *testing.T) {
	t.Parallel()
	for _, push := range []bool{false, true} {
		name := map[bool]string{false: "token", true: "push"}[push]
		t.Run(name+"/trusted proxy", func(t *testing.T) {
			url, logs := proxiedHub(t, "127.0.0.0/8", "::1/128")
			line := refusedFrom(t, url, logs, push, "198.51.100.66, 203.0.113.7")
			if !strings.Contains(line, "remote=203.0.113.7 ") {
				t.Fatalf("log does not name the client from X-Forwarded-For: %s", line)
			}
			if strings.Contains(line, "198.51.100.66") {
				t.Fatalf("log took a hop left of the client (client-written): %s", line)
			}
			if !push && !strings.Contains(line, "via=127.0.0.1:") {
				t.Fatalf("log does not name the proxy: %s", line)
			}
		})
		t.Run(name+"/untrusted peer", func(t *testing.T) {
			url, logs := proxiedHub(t, "10.0.0.0/8") // the loopback client is not a proxy
			line := refusedFrom(t, url, logs, push, "203.0.113.7")
			if strings.Contains(line, "203.0.113.7") || !strings.Contains(line, "remote=127.0.0.1:") {
				t.Fatalf("a spoofed X-Forwarded-For from an untrusted peer was used: %s", line)
			}
		})
		t.Run(name+"/no trusted proxies", func(t *testing.T) {
			url, logs := proxiedHub(t)
			line := refusedFrom(t, url, logs, push, "203.0.113.7")
			if strings.Contains(line, "203.0.113.7") || !strings.Contains(line, "remote=127.0.0.1:") {
				t.Fatalf("X-Forwarded-For was used with no trusted proxy: %s", line)
			}
		})
		t.Run(name+"/malformed header", func(t *testing.T) {
			url, logs := proxiedHub(t, "127.0.0.0/8")
			line := refusedFrom(t, url, logs, push, "203.0.113.7, not an address")
			if strings.Contains(line, "203.0.113.7") || !strings.Contains(line, "remote=127.0.0.1:") {
				t.Fatalf("a malformed X-Forwarded-For was used: %s", line)
			}
		})
	}
}

func TestTrustedProxiesInvalidPrefix(t *testing.T) {
	t.Parallel()
	_, err := hub.NewServer(hub.Options{Push: codec(t), Store: openStore(t, filepath.Join(t.TempDir(), "hub.db")),
		TrustedProxies: []netip.Prefix{{}}})
	if err == nil || !strings.Contains(err.Error(), "TrustedProxies") {
		t.Fatalf("invalid prefix: %v", err)
	}
}
