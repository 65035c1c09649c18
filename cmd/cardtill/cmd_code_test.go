package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/store"
	"cardtill/wechat/wechattest"
)

// stableTill writes a till config with token_source = "stable" against
// srv, the AppSecret in a file (secret is what the file holds).
func stableTill(t *testing.T, srv *wechattest.Server, secret string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "appsecret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`[wechat]
api_base = %q
token_source = "stable"
appid = %q
secret_file = %q
timeout = "2s"
sync_timeout = "2s"
%s
[store]
path = %q

[log]
file = %q
`, srv.URL, srv.AppID, secretFile, extra, filepath.Join(dir, "journal.db"), filepath.Join(dir, "cardtill.log"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// noSecrets fails when the AppSecret or any token the fake issued shows up.
func noSecrets(t *testing.T, srv *wechattest.Server, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, srv.Secret) || strings.Contains(s, "FAKETOKEN_") {
			t.Fatalf("a secret or token was printed:\n%s", s)
		}
	}
}

type codeAnswer struct {
	Code       string     `json:"code"`
	CardID     string     `json:"card_id"`
	CardTitle  string     `json:"card_title"`
	CardType   string     `json:"card_type"`
	Status     string     `json:"status"`
	StatusText string     `json:"status_text"`
	CanConsume bool       `json:"can_consume"`
	OpenID     string     `json:"openid"`
	BeginTime  *time.Time `json:"begin_time"`
	EndTime    *time.Time `json:"end_time"`
	Errcode    int        `json:"errcode"`
	Reason     string     `json:"reason"`
}

func TestCodeGet(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	srv.LoadDemo()
	cfg := stableTill(t, srv, srv.Secret, "")
	get := func(t *testing.T, want int, args ...string) (string, string) {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"code", "get", "--config", cfg}, args...)...)
		if code != want {
			t.Fatalf("code get %v: exit %d, want %d\nstdout %s\nstderr %s", args, code, want, out, errs)
		}
		noSecrets(t, srv, out, errs)
		return out, errs
	}
	getJSON := func(t *testing.T, want int, args ...string) codeAnswer {
		t.Helper()
		out, _ := get(t, want, append([]string{"--json"}, args...)...)
		var a codeAnswer
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("not one JSON object: %q", out)
		}
		return a
	}

	t.Run("normal, human", func(t *testing.T) {
		out, _ := get(t, exitOK, wechattest.DemoNormal)
		for _, w := range []string{
			"code         " + wechattest.DemoNormal,
			"status       NORMAL: valid: can be written off now",
			"card_id      " + wechattest.DemoCardDrink + "  (¥20 off any drink",
			"openid       oDEMO_alice",
			"can_consume  yes",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		c, _ := srv.Code(wechattest.DemoNormal)
		if !strings.Contains(out, c.Begin.Local().Format("2006-01-02 15:04")+" ") || !strings.Contains(out, " to "+c.End.Local().Format("2006-01-02 15:04")) {
			t.Errorf("validity window missing:\n%s", out)
		}
	})
	t.Run("normal, json", func(t *testing.T) {
		a := getJSON(t, exitOK, wechattest.DemoNormal3)
		c, _ := srv.Code(wechattest.DemoNormal3)
		if a.Code != wechattest.DemoNormal3 || a.Status != "NORMAL" || !a.CanConsume || a.CardID != wechattest.DemoCardCash ||
			a.CardType != "CASH" || a.OpenID != "oDEMO_carol" || a.BeginTime == nil || !a.BeginTime.Equal(c.Begin.Truncate(time.Second)) ||
			a.EndTime == nil || !a.EndTime.Equal(c.End.Truncate(time.Second)) || a.StatusText == "" {
			t.Fatalf("%+v", a)
		}
	})
	// Every status is an answer (exit 0), said in plain words.
	for code, want := range map[string]string{
		wechattest.DemoConsumed:     "already written off",
		wechattest.DemoExpired:      "expired",
		wechattest.DemoExpireStatus: "expired",
		wechattest.DemoNotYetValid:  "not yet",
		wechattest.DemoGifting:      "being given to a friend",
		wechattest.DemoGiftTimeout:  "not accepted in time",
		wechattest.DemoDeleted:      "deleted by the customer",
		wechattest.DemoUnavailable:  "made unavailable by the merchant",
	} {
		t.Run("status "+code, func(t *testing.T) {
			a := getJSON(t, exitOK, code)
			if a.CanConsume || !strings.Contains(a.StatusText, want) {
				t.Fatalf("%+v, want %q and can_consume false", a, want)
			}
			out, _ := get(t, exitOK, code)
			if !strings.Contains(out, want) || !strings.Contains(out, "can_consume  no") {
				t.Fatalf("human output:\n%s", out)
			}
		})
	}
	t.Run("unknown code: exit 1, said plainly", func(t *testing.T) {
		_, errs := get(t, exitFailure, wechattest.DemoUnknown)
		if !strings.Contains(errs, "WeChat does not know this code") || !strings.Contains(errs, "40056") {
			t.Fatalf("stderr: %s", errs)
		}
		a := getJSON(t, exitFailure, wechattest.DemoUnknown)
		if a.Errcode != 40056 || a.Code != wechattest.DemoUnknown || !strings.Contains(a.Reason, "does not know this code") {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("custom code", func(t *testing.T) {
		_, errs := get(t, exitFailure, wechattest.DemoCustom)
		if !strings.Contains(errs, "--card-id") {
			t.Fatalf("the refusal does not mention --card-id: %s", errs)
		}
		if a := getJSON(t, exitOK, "--card-id", wechattest.DemoCardCustom, wechattest.DemoCustom); a.Status != "NORMAL" || a.CardID != wechattest.DemoCardCustom {
			t.Fatalf("%+v", a)
		}
		// wechat.custom_code_cards are tried, as the till does.
		withCards := stableTill(t, srv, srv.Secret, fmt.Sprintf("custom_code_cards = [\"pOTHER\", %q]", wechattest.DemoCardCustom))
		code, out, errs := runCLI(t, "code", "get", "--config", withCards, "--json", wechattest.DemoCustom)
		if code != exitOK || !strings.Contains(out, `"card_id":"`+wechattest.DemoCardCustom+`"`) {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
	})
	t.Run("scanned link with encrypt_code", func(t *testing.T) {
		link := "https://example.com/c?encrypt_code=" + url.QueryEscape(srv.Encrypt(wechattest.DemoEncrypted))
		if a := getJSON(t, exitOK, link); a.Code != wechattest.DemoEncrypted || a.Status != "NORMAL" {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("usage errors exit 2", func(t *testing.T) {
		get(t, exitUsage)
		get(t, exitUsage, "   ")
		get(t, exitUsage, "a", "b")
		if code, _, _ := runCLI(t, "code", "get", "--config", filepath.Join(t.TempDir(), "none.toml"), wechattest.DemoNormal); code != exitUsage {
			t.Fatalf("missing config: exit %d", code)
		}
	})
	t.Run("network down: exit 2, says what to check", func(t *testing.T) {
		srv.SetOutage(true)
		defer srv.SetOutage(false)
		_, errs := get(t, exitUsage, wechattest.DemoNormal)
		if !strings.Contains(errs, "check: the network") || !strings.Contains(errs, srv.URL) {
			t.Fatalf("stderr: %s", errs)
		}
	})
	t.Run("WeChat busy: exit 2", func(t *testing.T) {
		srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: 45009})
		_, errs := get(t, exitUsage, wechattest.DemoNormal)
		if !strings.Contains(errs, "try again") {
			t.Fatalf("stderr: %s", errs)
		}
	})
	if n := srv.TotalConsumes(); n != 0 {
		t.Fatalf("a look-up consumed %d codes", n)
	}
}

// TestCodeGetBesideRunningTill: the look-up does not touch the journal, so
// it answers while a till holds the journal's lock.
func TestCodeGetBesideRunningTill(t *testing.T) {
	t.Parallel()
	srv, cfg, dbPath := fakeTill(t)
	srv.LoadDemo()
	db, err := store.Open(dbPath, store.Options{Terminal: "till-2", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	code, out, errs := runCLI(t, "code", "get", "--config", cfg, wechattest.DemoNormal)
	if code != exitOK || !strings.Contains(out, "NORMAL") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if n, _ := db.Count(store.Query{Index: store.Outbox}); n != 0 {
		t.Fatalf("queue depth %d after a look-up", n)
	}
}

// TestCodeGetNoJournalCreated: a look-up on a fresh till leaves no journal
// and no log behind.
func TestCodeGetNoJournalCreated(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	srv.LoadDemo()
	cfg := stableTill(t, srv, srv.Secret, "")
	if code, out, errs := runCLI(t, "code", "get", "--config", cfg, wechattest.DemoNormal); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	entries, _ := os.ReadDir(filepath.Dir(cfg))
	for _, e := range entries {
		if e.Name() != "config.toml" && e.Name() != "appsecret" {
			t.Errorf("the look-up left %s behind", e.Name())
		}
	}
}

func TestCodeGetWrongSecret(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	srv.LoadDemo()
	const wrong = "WRONG-SECRET-must-not-print"
	cfg := stableTill(t, srv, wrong, "")
	code, out, errs := runCLI(t, "code", "get", "--config", cfg, wechattest.DemoNormal)
	if code != exitUsage || !strings.Contains(errs, "40125") || !strings.Contains(errs, "check: wechat.appid and the AppSecret") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	noSecrets(t, srv, out, errs)
	if strings.Contains(out+errs, wrong) {
		t.Fatalf("the configured secret was printed:\n%s", errs)
	}
	// A static token is not printed either, even when WeChat refuses it.
	_, staticCfg, _ := fakeTill(t)
	data, _ := os.ReadFile(staticCfg)
	tok := strings.Split(strings.Split(string(data), "static_token = \"")[1], "\"")[0]
	code, out, errs = runCLI(t, "code", "get", "--config", staticCfg, wechattest.DemoNormal)
	if code != exitFailure || strings.Contains(out+errs, tok) {
		t.Fatalf("exit %d (want 1: the fake of fakeTill has no codes)\n%s%s", code, out, errs)
	}
}

func TestCodeDecrypt(t *testing.T) {
	t.Parallel()
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	srv.LoadDemo()
	cfg := stableTill(t, srv, srv.Secret, "")
	enc := srv.Encrypt(wechattest.DemoEncrypted)
	for _, arg := range []string{
		enc,
		url.QueryEscape(enc),
		"https://example.com/c?card_id=x&encrypt_code=" + url.QueryEscape(enc),
	} {
		code, out, errs := runCLI(t, "code", "decrypt", "--config", cfg, arg)
		if code != exitOK || !strings.Contains(out, "code  "+wechattest.DemoEncrypted) {
			t.Fatalf("decrypt %q: exit %d\n%s%s", arg, code, out, errs)
		}
		noSecrets(t, srv, out, errs)
	}
	code, out, errs := runCLI(t, "code", "decrypt", "--config", cfg, "--json", enc)
	var a struct {
		EncryptCode string `json:"encrypt_code"`
		Code        string `json:"code"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &a) != nil || a.Code != wechattest.DemoEncrypted || a.EncryptCode != enc {
		t.Fatalf("json: exit %d\n%s%s", code, out, errs)
	}
	// Not an encrypt_code of this AppID: WeChat refuses, exit 1.
	code, _, errs = runCLI(t, "code", "decrypt", "--config", cfg, "bm90IGFuIGVuY3J5cHRfY29kZQ==")
	if code != exitFailure || !strings.Contains(errs, "40075") || !strings.Contains(errs, "cannot decrypt") {
		t.Fatalf("bad encrypt_code: exit %d\n%s", code, errs)
	}
	code, out, _ = runCLI(t, "code", "decrypt", "--config", cfg, "--json", "bm90IGFuIGVuY3J5cHRfY29kZQ==")
	if code != exitFailure || !strings.Contains(out, `"errcode":40075`) {
		t.Fatalf("bad encrypt_code json: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{{}, {" "}, {"%zz"}, {"https://example.com/c?code=1&encrypt_code="}} {
		if code, _, _ := runCLI(t, append([]string{"code", "decrypt", "--config", cfg}, bad...)...); code != exitUsage {
			t.Fatalf("decrypt %q: exit %d, want 2", bad, code)
		}
	}
	if srv.TotalConsumes() != 0 {
		t.Fatal("decrypt consumed")
	}
}
