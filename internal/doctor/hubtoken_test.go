package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/internal/testkit"
)

// answering serves status with body on every path (a reverse proxy in front
// of the hub, or an old hub, answering plain text).
func answering(t *testing.T, status int, body string) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, body, status)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestDoctorHubTokenAnswers: doctor tells the hub's answers apart by the
// typed *wechat.HubError (status and code), and says what a store's IT
// person must do, never printing the terminal key or a token.
func TestDoctorHubTokenAnswers(t *testing.T) {
	t.Parallel()
	const accessToken = "ACCESS-TOKEN-must-not-print"
	const terminal = "store7-till2"
	fresh := tokenFunc(func(context.Context) (string, time.Time, error) { return accessToken, time.Now().Add(time.Hour), nil })
	noWeChat := tokenFunc(func(context.Context) (string, time.Time, error) {
		return "", time.Time{}, errors.New("stable_token: dial tcp: i/o timeout")
	})
	cases := []struct {
		name   string
		hub    func(t *testing.T) (url, key string) // key "" = a key the hub does not know
		detail string
		fix    []string
		// outage: not this till's fault; with [offline] mode "accept" the
		// till still serves offline, so doctor warns instead of failing.
		outage bool
	}{
		{"401 unknown or revoked key", func(t *testing.T) (string, string) { u, _ := testkit.PlainHub(t, fresh, terminal); return u, "" },
			"refused this till's terminal key", []string{"terminal key refused: ask HQ to add this till (cardtill hub terminal add " + terminal + ")", "wechat.terminal_key_file"}, false},
		{"401 from an old hub (plain text)", func(t *testing.T) (string, string) { return answering(t, 401, "unauthorized"), "" },
			"refused this till's terminal key", []string{"ask HQ to add this till (cardtill hub terminal add " + terminal + ")"}, false},
		{"403 from a proxy", func(t *testing.T) (string, string) { return answering(t, 403, "Forbidden"), "" },
			"the hub's address answered 403 Forbidden", []string{"ask HQ to add this till (cardtill hub terminal add " + terminal + ")", "reverse proxy or firewall"}, false},
		{"502 the hub cannot reach WeChat", func(t *testing.T) (string, string) { return testkit.PlainHub(t, noWeChat, terminal) },
			"the hub cannot get a token from WeChat", []string{"not this till", "journalctl -u cardtill-hub", "[offline] policy"}, true},
		{"502 a proxy cannot reach the hub", func(t *testing.T) (string, string) { return answering(t, 502, "Bad Gateway"), "" },
			"a proxy in front of the hub answered 502", []string{"systemctl status cardtill-hub", "reverse proxy forwards"}, true},
		{"503 the hub has no AppSecret", func(t *testing.T) (string, string) { return testkit.PlainHub(t, nil, terminal) },
			"the hub has no AppSecret", []string{"hub.secret_file", "cardtill doctor --hub", "[offline] policy"}, true},
		{"connection refused", func(t *testing.T) (string, string) { return testkit.ClosedURL(t), "" },
			"the hub cannot be reached", []string{"check wechat.hub_url (http://127.0.0.1:", "systemctl status cardtill-hub", "[offline] policy"}, true},
		{"404: not the hub", func(t *testing.T) (string, string) { return answering(t, 404, "404 page not found"), "" },
			"not the hub's token service", []string{"check wechat.hub_url"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, key := tc.hub(t)
			if key == "" {
				key = hub.NewTerminalKey()
			}
			cfg := config.Default()
			cfg.Terminal.ID = terminal
			cfg.WeChat.TokenSource = "hub"
			cfg.WeChat.HubURL = url
			cfg.WeChat.TerminalKeyFile = writeFile(t, "terminal.key", key+"\n")
			cfg.WeChat.APIBase = url // the whole run stays on loopback
			cfg.Store.Path = filepath.Join(t.TempDir(), "journal.db")
			d := doctorFor(cfg)
			f := d.checkToken(context.Background())
			t.Logf("%s %s\n  fix: %s", f.Status, f.Detail, f.Fix) // go test -v shows what doctor prints
			want := Fail
			if tc.outage {
				want = Warn
			}
			if f.Status != want || !strings.Contains(f.Detail, tc.detail) {
				t.Errorf("got %s %q, want %s with %q", f.Status, f.Detail, want, tc.detail)
			}
			if tc.outage {
				// With offline mode "refuse" the till cannot serve at all.
				cfg.Offline.Mode = "refuse"
				if g := doctorFor(cfg).checkToken(context.Background()); g.Status != Fail {
					t.Errorf("offline mode refuse: got %s, want fail", g.Status)
				}
			}
			for _, w := range tc.fix {
				if !strings.Contains(f.Fix, w) {
					t.Errorf("fix %q lacks %q", f.Fix, w)
				}
			}
			all := fmt.Sprint(f, d.Till(context.Background()))
			if strings.Contains(all, accessToken) || strings.Contains(all, key) {
				t.Errorf("a secret was printed: %s", all)
			}
		})
	}
}
