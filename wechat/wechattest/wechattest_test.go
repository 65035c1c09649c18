package wechattest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// These tests pin the fake's contract, the one every other test relies on,
// with plain net/http: what WeChat would answer, and what the fake counts.

// reply is a decoded JSON answer.
type reply map[string]any

func (r reply) errcode() int {
	f, _ := r["errcode"].(float64)
	return int(f)
}

func (r reply) str(k string) string { s, _ := r[k].(string); return s }

// fresh returns a new client so that a dropped connection of one call does
// not disturb the next.
func fresh() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// call POSTs body as JSON to the fake's path with access_token tok (none
// when empty). A transport failure (a dropped connection) is returned as
// the error; an HTTP status other than 200 as errHTTP.
func call(ctx context.Context, srv *wechattest.Server, path, tok string, body any) (reply, error) {
	u := srv.URL + "/" + path
	if tok != "" {
		u += "?access_token=" + url.QueryEscape(tok)
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := fresh().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return nil, &httpError{status: res.StatusCode, body: string(data)}
	}
	var r reply
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	return r, nil
}

type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return "HTTP " + http.StatusText(e.status) }

func mustCall(t *testing.T, srv *wechattest.Server, path, tok string, body any) reply {
	t.Helper()
	r, err := call(context.Background(), srv, path, tok, body)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// stable gets a token from cgi-bin/stable_token.
func stable(t *testing.T, srv *wechattest.Server, force bool) string {
	t.Helper()
	r := mustCall(t, srv, "cgi-bin/stable_token", "", map[string]any{
		"grant_type": "client_credential", "appid": srv.AppID, "secret": srv.Secret, "force_refresh": force})
	if r.errcode() != 0 || r.str("access_token") == "" {
		t.Fatalf("stable_token: %v", r)
	}
	return r.str("access_token")
}

func getToken(t *testing.T, srv *wechattest.Server, appID, secret string) reply {
	t.Helper()
	q := url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {secret}}
	res, err := fresh().Get(srv.URL + "/cgi-bin/token?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r reply
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func newServer(t *testing.T, opts ...wechattest.Option) *wechattest.Server {
	t.Helper()
	srv := wechattest.New(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func TestTokenEndpoints(t *testing.T) {
	t.Parallel()
	srv := newServer(t, wechattest.WithCredentials("wxA", "secretA"))
	if srv.AppID != "wxA" || srv.Secret != "secretA" {
		t.Fatalf("credentials %q %q", srv.AppID, srv.Secret)
	}

	// cgi-bin/token: appid and secret checked, a new token every call.
	r1 := getToken(t, srv, "wxA", "secretA")
	r2 := getToken(t, srv, "wxA", "secretA")
	if r1.errcode() != 0 || r1.str("access_token") == "" || r1.str("access_token") == r2.str("access_token") {
		t.Fatalf("token: %v then %v", r1, r2)
	}
	if r1["expires_in"].(float64) != wechattest.DefaultTokenTTL.Seconds() {
		t.Fatalf("expires_in %v", r1["expires_in"])
	}
	if r := getToken(t, srv, "wxB", "secretA"); r.errcode() != wechat.CodeInvalidAppID {
		t.Fatalf("wrong appid: %v", r)
	}
	if r := getToken(t, srv, "wxA", "nope"); r.errcode() != wechat.CodeInvalidAppSecret {
		t.Fatalf("wrong secret: %v", r)
	}

	// stable_token: the current token (here the last cgi-bin/token issued)
	// until forced.
	a, b := stable(t, srv, false), stable(t, srv, false)
	if a != b || a != r2.str("access_token") {
		t.Fatal("stable_token without force_refresh did not answer the current token")
	}
	if c := stable(t, srv, true); c == a {
		t.Fatal("force_refresh did not issue a new token")
	}
	if n := srv.TokensIssued(); n != 3 { // two from cgi-bin/token, one forced
		t.Fatalf("TokensIssued = %d, want 3", n)
	}
	for _, body := range []map[string]any{
		{"grant_type": "client_credential", "appid": "wxB", "secret": "secretA"},
		{"grant_type": "client_credential", "appid": "wxA", "secret": "nope"},
	} {
		r := mustCall(t, srv, "cgi-bin/stable_token", "", body)
		if r.errcode() != wechat.CodeInvalidAppID && r.errcode() != wechat.CodeInvalidAppSecret || r.str("access_token") != "" {
			t.Fatalf("bad credentials %v: %v", body, r)
		}
	}
	// stable_token is POST with JSON.
	res, err := fresh().Get(srv.URL + "/cgi-bin/stable_token")
	if err != nil {
		t.Fatal(err)
	}
	var r reply
	_ = json.NewDecoder(res.Body).Decode(&r)
	res.Body.Close()
	if r.errcode() != 47001 {
		t.Fatalf("GET stable_token: %v", r)
	}
}

func TestTokensExpireAndAreChecked(t *testing.T) {
	t.Parallel()
	var mu stdsync.Mutex
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv := newServer(t, wechattest.WithClock(clock), wechattest.WithTokenTTL(time.Hour))
	srv.AddCode(wechattest.Code{Code: "111", CardID: "pA"})
	get := func(tok string) int {
		return mustCall(t, srv, "card/code/get", tok, map[string]any{"code": "111", "check_consume": false}).errcode()
	}

	tok := stable(t, srv, false)
	if c := get(tok); c != 0 {
		t.Fatalf("fresh token: errcode %d", c)
	}
	if c := get(""); c != wechat.CodeTokenMissing {
		t.Fatalf("no token: errcode %d", c)
	}
	if c := get("FAKETOKEN_not_issued"); c != wechat.CodeInvalidToken {
		t.Fatalf("unknown token: errcode %d", c)
	}
	advance(time.Hour - time.Second)
	if c := get(tok); c != 0 {
		t.Fatalf("token before its expiry: errcode %d", c)
	}
	advance(time.Second)
	if c := get(tok); c != wechat.CodeTokenExpired {
		t.Fatalf("token at its expiry: errcode %d", c)
	}
	// An expired stable token is replaced without force_refresh.
	tok2 := stable(t, srv, false)
	if tok2 == tok || get(tok2) != 0 {
		t.Fatal("stable_token did not replace the expired token")
	}
	// ExpireTokens: every token at once, and stable_token issues a new one.
	srv.ExpireTokens()
	if c := get(tok2); c != wechat.CodeTokenExpired {
		t.Fatalf("after ExpireTokens: errcode %d", c)
	}
	if tok3 := stable(t, srv, false); tok3 == tok2 || get(tok3) != 0 {
		t.Fatal("stable_token after ExpireTokens did not issue a new token")
	}
}

func TestCodeGetCheckConsume(t *testing.T) {
	t.Parallel()
	now := time.Now()
	srv := newServer(t)
	begin, end := now.Add(-time.Hour), now.Add(time.Hour)
	srv.AddCode(wechattest.Code{Code: "normal", CardID: "pA", OpenID: "oA", Begin: begin, End: end})
	srv.AddCode(wechattest.Code{Code: "used", CardID: "pA", Status: wechat.StatusConsumed})
	srv.AddCode(wechattest.Code{Code: "early", CardID: "pA", Begin: now.Add(time.Hour)})
	srv.AddCode(wechattest.Code{Code: "late", CardID: "pA", End: now.Add(-time.Hour)})
	srv.AddCode(wechattest.Code{Code: "gift", CardID: "pA", Status: wechat.StatusGifting})
	srv.AddCode(wechattest.Code{Code: "gone", CardID: "pA", Status: wechat.StatusDelete})
	tok := stable(t, srv, false)

	cases := []struct {
		code       string
		status     string
		can        bool
		checkRefus int // errcode with check_consume true (0: answered)
	}{
		{"normal", "NORMAL", true, 0},
		{"used", "CONSUMED", false, wechat.CodeConsumed},
		{"early", "NORMAL", false, wechat.CodeCardTime},
		{"late", "EXPIRE", false, wechat.CodeUserCardStatus},
		{"gift", "GIFTING", false, wechat.CodeUserCardStatus},
		{"gone", "DELETE", false, wechat.CodeUserCardStatus},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			r := mustCall(t, srv, "card/code/get", tok, map[string]any{"code": tc.code, "check_consume": false})
			if r.errcode() != 0 || r.str("user_card_status") != tc.status || r["can_consume"] != tc.can {
				t.Fatalf("check_consume false: %v", r)
			}
			if card, _ := r["card"].(map[string]any); card["card_id"] != "pA" {
				t.Fatalf("card: %v", r)
			}
			for _, body := range []map[string]any{
				{"code": tc.code, "check_consume": true},
				{"code": tc.code}, // check_consume defaults to true, as at WeChat
			} {
				r := mustCall(t, srv, "card/code/get", tok, body)
				if r.errcode() != tc.checkRefus {
					t.Fatalf("%v: errcode %d, want %d", body, r.errcode(), tc.checkRefus)
				}
			}
		})
	}
	r := mustCall(t, srv, "card/code/get", tok, map[string]any{"code": "normal", "check_consume": false})
	card := r["card"].(map[string]any)
	if r.str("openid") != "oA" || int64(card["begin_time"].(float64)) != begin.Unix() || int64(card["end_time"].(float64)) != end.Unix() {
		t.Fatalf("openid and window: %v", r)
	}
	if r := mustCall(t, srv, "card/code/get", tok, map[string]any{"code": "used", "check_consume": false}); r["card"].(map[string]any)["begin_time"].(float64) != 0 {
		t.Fatalf("no window must read 0: %v", r)
	}
	if srv.TotalConsumes() != 0 {
		t.Fatal("code/get consumed")
	}
}

func TestUnknownAndCustomCodes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.AddCode(wechattest.Code{Code: "plain", CardID: "pA"})
	srv.AddCode(wechattest.Code{Code: "CUST-1", CardID: "pCustom", Custom: true})
	tok := stable(t, srv, false)
	for _, path := range []string{"card/code/get", "card/code/consume"} {
		for _, body := range []map[string]any{
			{"code": "nope", "check_consume": false},                    // unknown
			{"code": "CUST-1", "check_consume": false},                  // custom code without card_id
			{"code": "plain", "card_id": "pB", "check_consume": false},  // not this card's
			{"code": "CUST-1", "card_id": "pA", "check_consume": false}, // custom code, wrong card
		} {
			if r := mustCall(t, srv, path, tok, body); r.errcode() != wechat.CodeInvalidSerial {
				t.Errorf("%s %v: %v, want 40056", path, body, r)
			}
		}
	}
	if srv.TotalConsumes() != 0 {
		t.Fatal("a refused consume was applied")
	}
	if r := mustCall(t, srv, "card/code/get", tok, map[string]any{"code": "CUST-1", "card_id": "pCustom", "check_consume": false}); r.errcode() != 0 {
		t.Fatalf("custom code with its card_id: %v", r)
	}
	if r := mustCall(t, srv, "card/code/consume", tok, map[string]any{"code": "CUST-1", "card_id": "pCustom"}); r.errcode() != 0 {
		t.Fatalf("consume custom code with its card_id: %v", r)
	}
	// A plain code may name its own card_id.
	if r := mustCall(t, srv, "card/code/consume", tok, map[string]any{"code": "plain", "card_id": "pA"}); r.errcode() != 0 {
		t.Fatalf("plain code with its card_id: %v", r)
	}
	if srv.ConsumeCount("CUST-1") != 1 || srv.ConsumeCount("plain") != 1 || srv.TotalConsumes() != 2 {
		t.Fatalf("counts %d %d %d", srv.ConsumeCount("CUST-1"), srv.ConsumeCount("plain"), srv.TotalConsumes())
	}
}

func TestConsume(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.AddCode(wechattest.Code{Code: "c1", CardID: "pA", OpenID: "oA"})
	srv.AddCode(wechattest.Code{Code: "early", CardID: "pA", Begin: time.Now().Add(time.Hour)})
	srv.AddCode(wechattest.Code{Code: "gone", CardID: "pA", Status: wechat.StatusDelete})
	tok := stable(t, srv, false)

	r := mustCall(t, srv, "card/code/consume", tok, map[string]any{"code": "c1"})
	if r.errcode() != 0 || r.str("openid") != "oA" || r["card"].(map[string]any)["card_id"] != "pA" {
		t.Fatalf("first consume: %v", r)
	}
	if c, _ := srv.Code("c1"); c.Status != wechat.StatusConsumed {
		t.Fatalf("status after consume: %s", c.Status)
	}
	if r := mustCall(t, srv, "card/code/consume", tok, map[string]any{"code": "c1"}); r.errcode() != wechat.CodeConsumed {
		t.Fatalf("second consume: %v, want 40099", r)
	}
	if r := mustCall(t, srv, "card/code/consume", tok, map[string]any{"code": "early"}); r.errcode() != wechat.CodeCardTime {
		t.Fatalf("consume before the window: %v, want 40079", r)
	}
	if r := mustCall(t, srv, "card/code/consume", tok, map[string]any{"code": "gone"}); r.errcode() != wechat.CodeUserCardStatus {
		t.Fatalf("consume a deleted code: %v, want 40127", r)
	}
	if srv.ConsumeCount("c1") != 1 || srv.ConsumeCount("early") != 0 || srv.TotalConsumes() != 1 {
		t.Fatal("counts wrong")
	}
	// SetStatus: the user deletes or gifts it; a missing code says so.
	if !srv.SetStatus("early", wechat.StatusGifting) || srv.SetStatus("none", wechat.StatusDelete) {
		t.Fatal("SetStatus")
	}
	if c, ok := srv.Code("early"); !ok || c.Status != wechat.StatusGifting {
		t.Fatal("SetStatus did not change the status")
	}
	if _, ok := srv.Code("none"); ok {
		t.Fatal("Code found a code never added")
	}
}

// TestConsumeExactlyOnceUnderRace: many tills consuming one code at once,
// one wins, the others hear 40099, and the count says 1.
func TestConsumeExactlyOnceUnderRace(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.AddCode(wechattest.Code{Code: "hot", CardID: "pA"})
	tok := stable(t, srv, false)
	var wg stdsync.WaitGroup
	codes := make(chan int, 32)
	for range 32 {
		wg.Go(func() {
			r, err := call(context.Background(), srv, "card/code/consume", tok, map[string]any{"code": "hot"})
			if err != nil {
				t.Error(err)
				return
			}
			codes <- r.errcode()
		})
	}
	wg.Wait()
	close(codes)
	ok, used := 0, 0
	for c := range codes {
		switch c {
		case 0:
			ok++
		case wechat.CodeConsumed:
			used++
		default:
			t.Errorf("errcode %d", c)
		}
	}
	if ok != 1 || used != 31 || srv.ConsumeCount("hot") != 1 {
		t.Fatalf("%d accepted, %d 40099, count %d", ok, used, srv.ConsumeCount("hot"))
	}
}

func TestDecrypt(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	other := newServer(t, wechattest.WithCredentials("wxOther", "s"))
	tok := stable(t, srv, false)
	enc := srv.Encrypt("100000000090")
	if enc != srv.Encrypt("100000000090") {
		t.Fatal("Encrypt is not deterministic")
	}
	if enc == srv.Encrypt("100000000091") {
		t.Fatal("two codes encrypt alike")
	}
	r := mustCall(t, srv, "card/code/decrypt", tok, map[string]any{"encrypt_code": enc})
	if r.errcode() != 0 || r.str("code") != "100000000090" {
		t.Fatalf("decrypt: %v", r)
	}
	for _, bad := range []string{"", "not base64!", "bm90IGFuIGVuY3J5cHRfY29kZQ==", other.Encrypt("100000000090"), enc[:len(enc)-4]} {
		if r := mustCall(t, srv, "card/code/decrypt", tok, map[string]any{"encrypt_code": bad}); r.errcode() != wechat.CodeEncryptCode {
			t.Errorf("decrypt %q: %v, want 40075", bad, r)
		}
	}
}

func TestCardGet(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.AddCard(wechattest.Card{CardID: "pA", Title: "¥20 off"})
	srv.AddCard(wechattest.Card{CardID: "pM", Title: "Gold", Type: "MEMBER_CARD"})
	tok := stable(t, srv, false)
	for id, want := range map[string][2]string{"pA": {"GROUPON", "¥20 off"}, "pM": {"MEMBER_CARD", "Gold"}} {
		r := mustCall(t, srv, "card/get", tok, map[string]any{"card_id": id})
		card, _ := r["card"].(map[string]any)
		if r.errcode() != 0 || card["card_type"] != want[0] {
			t.Fatalf("card/get %s: %v", id, r)
		}
		// The details sit under the lower-cased type, as at WeChat.
		key := map[string]string{"GROUPON": "groupon", "MEMBER_CARD": "member_card"}[want[0]]
		base := card[key].(map[string]any)["base_info"].(map[string]any)
		if base["title"] != want[1] || base["id"] != id {
			t.Fatalf("card/get %s base_info: %v", id, base)
		}
	}
	if r := mustCall(t, srv, "card/get", tok, map[string]any{"card_id": "pNone"}); r.errcode() != wechat.CodeInvalidCardID {
		t.Fatalf("unknown card: %v", r)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	newSrv := func(t *testing.T) (*wechattest.Server, string) {
		srv := newServer(t)
		srv.AddCode(wechattest.Code{Code: "c1", CardID: "pA"})
		return srv, stable(t, srv, false)
	}
	consume := func(srv *wechattest.Server, tok string) (reply, error) {
		return call(context.Background(), srv, "card/code/consume", tok, map[string]any{"code": "c1"})
	}
	notApplied := func(t *testing.T, srv *wechattest.Server) {
		t.Helper()
		if c, _ := srv.Code("c1"); c.Status != wechat.StatusNormal || srv.ConsumeCount("c1") != 0 {
			t.Fatalf("the faulted consume was applied (status %s, count %d)", c.Status, srv.ConsumeCount("c1"))
		}
	}

	t.Run("errcode -1 and 45009 answer without applying", func(t *testing.T) {
		srv, tok := newSrv(t)
		for _, code := range []int{wechat.CodeBusy, wechat.CodeDailyQuota} {
			srv.Inject(wechattest.EndpointConsume, wechattest.Fault{Errcode: code})
			r, err := consume(srv, tok)
			if err != nil || r.errcode() != code || r.str("errmsg") != "injected fault" {
				t.Fatalf("errcode %d: %v %v", code, r, err)
			}
			notApplied(t, srv)
		}
		srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: wechat.CodeTokenExpired, Errmsg: "access_token expired"})
		r := mustCall(t, srv, "card/code/get", tok, map[string]any{"code": "c1"})
		if r.errcode() != wechat.CodeTokenExpired || r.str("errmsg") != "access_token expired" {
			t.Fatalf("injected 42001: %v", r)
		}
	})
	t.Run("HTTP 5xx with a non-JSON body", func(t *testing.T) {
		srv, tok := newSrv(t)
		srv.Inject(wechattest.EndpointConsume, wechattest.Fault{HTTPStatus: http.StatusBadGateway})
		_, err := consume(srv, tok)
		var he *httpError
		if !errors.As(err, &he) || he.status != http.StatusBadGateway || json.Valid([]byte(he.body)) {
			t.Fatalf("err = %v", err)
		}
		notApplied(t, srv)
	})
	t.Run("drop before apply", func(t *testing.T) {
		srv, tok := newSrv(t)
		srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropBefore: true})
		if r, err := consume(srv, tok); err == nil {
			t.Fatalf("answered %v, want a dropped connection", r)
		}
		notApplied(t, srv)
	})
	t.Run("drop after apply", func(t *testing.T) {
		srv, tok := newSrv(t)
		srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
		if r, err := consume(srv, tok); err == nil {
			t.Fatalf("answered %v, want a dropped connection", r)
		}
		if c, _ := srv.Code("c1"); c.Status != wechat.StatusConsumed || srv.ConsumeCount("c1") != 1 || srv.TotalConsumes() != 1 {
			t.Fatalf("the consume was not applied: status %s, count %d", c.Status, srv.ConsumeCount("c1"))
		}
		// The retry a careless client would send is refused: 40099.
		if r, err := consume(srv, tok); err != nil || r.errcode() != wechat.CodeConsumed {
			t.Fatalf("second consume: %v %v", r, err)
		}
		if srv.ConsumeCount("c1") != 1 {
			t.Fatal("counted twice")
		}
	})
	t.Run("latency delays, and a caller that gives up gets nothing applied", func(t *testing.T) {
		srv, tok := newSrv(t)
		srv.Inject(wechattest.EndpointConsume, wechattest.Fault{Latency: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := call(ctx, srv, "card/code/consume", tok, map[string]any{"code": "c1"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		// The handler returns as soon as the request is gone; the consume
		// is not applied. Calls counted it already; a fresh call is clean.
		if r, err := consume(srv, tok); err != nil || r.errcode() != 0 {
			t.Fatalf("after the latency fault: %v %v", r, err)
		}
		if srv.ConsumeCount("c1") != 1 || srv.Calls(wechattest.EndpointConsume) != 2 {
			t.Fatalf("count %d, calls %d", srv.ConsumeCount("c1"), srv.Calls(wechattest.EndpointConsume))
		}
	})
	t.Run("latency then the answer", func(t *testing.T) {
		srv, tok := newSrv(t)
		srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Latency: time.Millisecond})
		if r := mustCall(t, srv, "card/code/get", tok, map[string]any{"code": "c1", "check_consume": false}); r.errcode() != 0 {
			t.Fatalf("%v", r)
		}
	})
	t.Run("Times, order, Persistent, ClearFaults, Calls", func(t *testing.T) {
		srv, tok := newSrv(t)
		get := func() int {
			r, err := call(context.Background(), srv, "card/code/get", tok, map[string]any{"code": "c1", "check_consume": false})
			if err != nil {
				return -999
			}
			return r.errcode()
		}
		srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: -1, Times: 2})
		srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{DropBefore: true})
		srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: 45011})
		var got []int
		for range 5 {
			got = append(got, get())
		}
		want := []int{-1, -1, -999, 45011, 0}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("answers %v, want %v", got, want)
			}
		}
		// Faults are per endpoint: consume was untouched.
		srv.Inject(wechattest.EndpointGetCode, wechattest.Fault{Errcode: 45009, Persistent: true})
		for range 3 {
			if c := get(); c != 45009 {
				t.Fatalf("persistent fault: %d", c)
			}
		}
		if r, err := consume(srv, tok); err != nil || r.errcode() != 0 {
			t.Fatalf("a fault of code/get touched consume: %v %v", r, err)
		}
		srv.ClearFaults()
		if c := get(); c != 0 {
			t.Fatalf("after ClearFaults: %d", c)
		}
		if n := srv.Calls(wechattest.EndpointGetCode); n != 9 {
			t.Fatalf("Calls(get) = %d, want 9 (faulted ones included)", n)
		}
		if n := srv.Calls(wechattest.EndpointConsume); n != 1 {
			t.Fatalf("Calls(consume) = %d", n)
		}
	})
	t.Run("token endpoints take faults too", func(t *testing.T) {
		srv := newServer(t)
		srv.Inject(wechattest.EndpointStableToken, wechattest.Fault{Errcode: wechat.CodeBusy})
		r := mustCall(t, srv, "cgi-bin/stable_token", "", map[string]any{"grant_type": "client_credential", "appid": srv.AppID, "secret": srv.Secret})
		if r.errcode() != wechat.CodeBusy || srv.TokensIssued() != 0 {
			t.Fatalf("%v, issued %d", r, srv.TokensIssued())
		}
	})
}

func TestOutage(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.AddCode(wechattest.Code{Code: "c1", CardID: "pA"})
	tok := stable(t, srv, false)
	srv.SetOutage(true)
	if !srv.Outage() {
		t.Fatal("Outage() = false while on")
	}
	for _, ep := range wechattest.Endpoints {
		if r, err := call(context.Background(), srv, string(ep), tok, map[string]any{"code": "c1", "appid": srv.AppID, "secret": srv.Secret}); err == nil {
			t.Errorf("%s answered %v during the outage", ep, r)
		}
	}
	if srv.ConsumeCount("c1") != 0 || srv.TokensIssued() != 1 {
		t.Fatal("something was applied during the outage")
	}
	srv.SetOutage(false)
	if srv.Outage() {
		t.Fatal("Outage() = true after switching off")
	}
	if r := mustCall(t, srv, "card/code/consume", tok, map[string]any{"code": "c1"}); r.errcode() != 0 || srv.ConsumeCount("c1") != 1 {
		t.Fatalf("after the outage: %v", r)
	}
}

// TestDemoCatalogue: every demo code reads as its comment in demo.go says,
// through the real client.
func TestDemoCatalogue(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.LoadDemo()
	c, err := wechat.New(wechat.Options{BaseURL: srv.URL, Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := map[string]struct {
		status wechat.CardStatus
		can    bool
	}{
		wechattest.DemoNormal:       {wechat.StatusNormal, true},
		wechattest.DemoNormal2:      {wechat.StatusNormal, true},
		wechattest.DemoNormal3:      {wechat.StatusNormal, true},
		wechattest.DemoLostAnswer:   {wechat.StatusNormal, true},
		wechattest.DemoConsumed:     {wechat.StatusConsumed, false},
		wechattest.DemoExpired:      {wechat.StatusExpire, false},
		wechattest.DemoExpireStatus: {wechat.StatusExpire, false},
		wechattest.DemoNotYetValid:  {wechat.StatusNormal, false},
		wechattest.DemoGifting:      {wechat.StatusGifting, false},
		wechattest.DemoGiftTimeout:  {wechat.StatusGiftTimeout, false},
		wechattest.DemoDeleted:      {wechat.StatusDelete, false},
		wechattest.DemoUnavailable:  {wechat.StatusUnavailable, false},
		wechattest.DemoMember:       {wechat.StatusNormal, true},
		wechattest.DemoEncrypted:    {wechat.StatusNormal, true},
	}
	for code, w := range want {
		info, err := c.GetCode(ctx, "", code, false)
		if err != nil || info.Status != w.status || info.CanConsume != w.can || info.CardID == "" {
			t.Errorf("%s: %+v %v, want %s can_consume %v", code, info, err, w.status, w.can)
			continue
		}
		if _, err := c.GetCard(ctx, info.CardID); err != nil {
			t.Errorf("%s: its card %s: %v", code, info.CardID, err)
		}
	}
	if _, err := c.GetCode(ctx, "", wechattest.DemoUnknown, false); wechat.Code(err) != wechat.CodeInvalidSerial {
		t.Errorf("DemoUnknown: %v", err)
	}
	if _, err := c.GetCode(ctx, "", wechattest.DemoCustom, false); wechat.Code(err) != wechat.CodeInvalidSerial {
		t.Errorf("DemoCustom without card_id: %v", err)
	}
	if info, err := c.GetCode(ctx, wechattest.DemoCardCustom, wechattest.DemoCustom, false); err != nil || info.Status != wechat.StatusNormal {
		t.Errorf("DemoCustom with its card_id: %+v %v", info, err)
	}
	if code, err := c.Decrypt(ctx, srv.Encrypt(wechattest.DemoEncrypted)); err != nil || code != wechattest.DemoEncrypted {
		t.Errorf("DemoEncrypted: %q %v", code, err)
	}
	codes, cards := wechattest.DemoCatalogue(time.Now())
	if len(codes) != len(want)+1 || len(cards) != 5 { // +1: DemoCustom
		t.Errorf("catalogue has %d codes and %d cards; this test knows %d and 5", len(codes), len(cards), len(want)+1)
	}
	if srv.TotalConsumes() != 0 {
		t.Fatal("look-ups consumed")
	}
}

// LoseConsumeAnswer: the next consume of that code is applied and its
// answer lost (the client sees a transport failure), once; other codes and
// the next consume of it answer as usual.
func TestLoseConsumeAnswer(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.LoadDemo()
	c, err := wechat.New(wechat.Options{BaseURL: srv.URL, Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv.LoseConsumeAnswer(wechattest.DemoLostAnswer)
	if _, err := c.Consume(ctx, "", wechattest.DemoNormal); err != nil {
		t.Fatalf("another code: %v", err)
	}
	_, err = c.Consume(ctx, "", wechattest.DemoLostAnswer)
	if err == nil || wechat.Code(err) != 0 {
		t.Fatalf("the lost answer: %v, want a transport failure", err)
	}
	if n := srv.ConsumeCount(wechattest.DemoLostAnswer); n != 1 {
		t.Fatalf("the lost consume applied %d times, want 1", n)
	}
	if code, ok := srv.Code(wechattest.DemoLostAnswer); !ok || code.Status != wechat.StatusConsumed {
		t.Fatalf("after the lost answer WeChat has %+v", code)
	}
	if _, err := c.Consume(ctx, "", wechattest.DemoLostAnswer); wechat.Code(err) == 0 {
		t.Fatalf("a second consume: %v, want WeChat's refusal (answered, not lost)", err)
	}
}

// tokenClock is a settable clock for the token tests.
type tokenClock struct {
	mu  stdsync.Mutex
	now time.Time
}

func (c *tokenClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *tokenClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// tokenErrcode is the errcode card/code/get answers with tok.
func tokenErrcode(t *testing.T, srv *wechattest.Server, tok string) int {
	t.Helper()
	return mustCall(t, srv, "card/code/get", tok, map[string]any{"code": "111", "check_consume": false}).errcode()
}

// Two tills on one AppID each calling cgi-bin/token: the second call
// replaces the first till's token, which works for the grace period only
// and then answers 40001 ("invalid or not latest").
func TestTokenReplacedAfterGrace(t *testing.T) {
	t.Parallel()
	clk := &tokenClock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	srv := newServer(t, wechattest.WithClock(clk.Now))
	srv.AddCode(wechattest.Code{Code: "111", CardID: "pA"})

	a := getToken(t, srv, srv.AppID, srv.Secret).str("access_token")
	clk.Advance(time.Minute)
	b := getToken(t, srv, srv.AppID, srv.Secret).str("access_token")
	if a == "" || b == "" || a == b {
		t.Fatalf("tokens %q %q", a, b)
	}
	clk.Advance(wechattest.DefaultTokenGrace - time.Second)
	if c := tokenErrcode(t, srv, a); c != 0 {
		t.Fatalf("replaced token within the grace: errcode %d, want 0", c)
	}
	clk.Advance(time.Second)
	if c := tokenErrcode(t, srv, a); c != wechat.CodeInvalidToken {
		t.Fatalf("replaced token after the grace: errcode %d, want %d", c, wechat.CodeInvalidToken)
	}
	if c := tokenErrcode(t, srv, b); c != 0 {
		t.Fatalf("latest token: errcode %d", c)
	}
	// A third call replaces b; a stays refused, and the grace of b runs
	// from its own replacement, not from a's.
	c := getToken(t, srv, srv.AppID, srv.Secret).str("access_token")
	clk.Advance(wechattest.DefaultTokenGrace - time.Second)
	for tok, want := range map[string]int{a: wechat.CodeInvalidToken, b: 0, c: 0} {
		if got := tokenErrcode(t, srv, tok); got != want {
			t.Errorf("errcode %d, want %d", got, want)
		}
	}
	clk.Advance(time.Second)
	if got := tokenErrcode(t, srv, b); got != wechat.CodeInvalidToken {
		t.Errorf("b after its grace: errcode %d", got)
	}
}

// stable_token in normal mode answers the latest token and replaces
// nothing, however often it is called; force_refresh replaces it like
// cgi-bin/token does.
func TestStableTokenReplacesOnlyWhenForced(t *testing.T) {
	t.Parallel()
	clk := &tokenClock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	srv := newServer(t, wechattest.WithClock(clk.Now))
	srv.AddCode(wechattest.Code{Code: "111", CardID: "pA"})

	a := stable(t, srv, false)
	for range 5 {
		clk.Advance(wechattest.DefaultTokenGrace)
		if b := stable(t, srv, false); b != a {
			t.Fatal("stable_token in normal mode issued a new token while the latest was valid")
		}
	}
	if c := tokenErrcode(t, srv, a); c != 0 || srv.TokensIssued() != 1 {
		t.Fatalf("after normal-mode calls: errcode %d, %d issued", c, srv.TokensIssued())
	}
	// A cgi-bin/token caller replaces it; normal mode then answers the new
	// one (the latest), and the old one lasts the grace.
	got := getToken(t, srv, srv.AppID, srv.Secret).str("access_token")
	if s := stable(t, srv, false); s != got {
		t.Fatal("stable_token did not answer the latest token")
	}
	clk.Advance(wechattest.DefaultTokenGrace)
	if c := tokenErrcode(t, srv, a); c != wechat.CodeInvalidToken {
		t.Fatalf("token replaced by cgi-bin/token, after the grace: errcode %d", c)
	}
	// force_refresh: a new token; the one it replaced lasts the grace.
	f := stable(t, srv, true)
	if f == got {
		t.Fatal("force_refresh answered the same token")
	}
	clk.Advance(wechattest.DefaultTokenGrace - time.Second)
	if c := tokenErrcode(t, srv, got); c != 0 {
		t.Fatalf("token replaced by force_refresh, within the grace: errcode %d", c)
	}
	clk.Advance(time.Second)
	if c := tokenErrcode(t, srv, got); c != wechat.CodeInvalidToken {
		t.Fatalf("token replaced by force_refresh, after the grace: errcode %d", c)
	}
	if c := tokenErrcode(t, srv, f); c != 0 {
		t.Fatalf("forced token: errcode %d", c)
	}
}

// WithTokenGrace(0): a replaced token is refused (40001) at once; the
// latest token past its TTL answers 42001, and normal mode replaces it.
func TestTokenGraceOption(t *testing.T) {
	t.Parallel()
	clk := &tokenClock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	srv := newServer(t, wechattest.WithClock(clk.Now), wechattest.WithTokenGrace(0), wechattest.WithTokenTTL(time.Hour))
	srv.AddCode(wechattest.Code{Code: "111", CardID: "pA"})

	a := stable(t, srv, false)
	b := getToken(t, srv, srv.AppID, srv.Secret).str("access_token")
	if c := tokenErrcode(t, srv, a); c != wechat.CodeInvalidToken {
		t.Fatalf("replaced token with no grace: errcode %d", c)
	}
	clk.Advance(time.Hour)
	if c := tokenErrcode(t, srv, b); c != wechat.CodeTokenExpired {
		t.Fatalf("latest token past its TTL: errcode %d", c)
	}
	// Normal mode replaces an expired latest token.
	if s := stable(t, srv, false); s == b || tokenErrcode(t, srv, s) != 0 {
		t.Fatal("stable_token did not replace the expired token")
	}
}

// force_refresh is limited to 20 a day (Beijing time), 30 s apart; beyond
// that stable_token answers 45033 and the current token stays.
func TestForceRefreshLimits(t *testing.T) {
	t.Parallel()
	// 15:00 UTC = 23:00 in Beijing: the day ends an hour later.
	clk := &tokenClock{now: time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)}
	srv := newServer(t, wechattest.WithClock(clk.Now))
	srv.AddCode(wechattest.Code{Code: "111", CardID: "pA"})
	force := func() reply {
		return mustCall(t, srv, "cgi-bin/stable_token", "", map[string]any{
			"grant_type": "client_credential", "appid": srv.AppID, "secret": srv.Secret, "force_refresh": true})
	}
	first := force().str("access_token")
	clk.Advance(wechattest.ForceRefreshGap - time.Second)
	if r := force(); r.errcode() != wechat.CodeForceRefreshLimits || r.str("access_token") != "" {
		t.Fatalf("force_refresh %s after the last: %v", wechattest.ForceRefreshGap-time.Second, r)
	}
	if c := tokenErrcode(t, srv, first); c != 0 || srv.TokensIssued() != 1 {
		t.Fatalf("a refused force_refresh changed the token: errcode %d, %d issued", c, srv.TokensIssued())
	}
	// A wrong secret is refused as such, not counted.
	r := mustCall(t, srv, "cgi-bin/stable_token", "", map[string]any{"grant_type": "client_credential", "appid": srv.AppID, "secret": "nope", "force_refresh": true})
	if r.errcode() != wechat.CodeInvalidAppSecret {
		t.Fatalf("wrong secret with force_refresh: %v", r)
	}
	clk.Advance(time.Second)
	for i := 2; i <= wechattest.ForceRefreshPerDay; i++ {
		if r := force(); r.errcode() != 0 {
			t.Fatalf("force_refresh %d of the day: %v", i, r)
		}
		clk.Advance(wechattest.ForceRefreshGap)
	}
	if r := force(); r.errcode() != wechat.CodeForceRefreshLimits {
		t.Fatalf("force_refresh %d of the day: %v", wechattest.ForceRefreshPerDay+1, r)
	}
	// Normal mode is not limited by it.
	if tok := stable(t, srv, false); tokenErrcode(t, srv, tok) != 0 {
		t.Fatal("normal mode after the force limit")
	}
	// Midnight in Beijing starts a new day.
	clk.Advance(time.Hour)
	if r := force(); r.errcode() != 0 {
		t.Fatalf("force_refresh on the next Beijing day: %v", r)
	}
	if n := srv.TokensIssued(); n != wechattest.ForceRefreshPerDay+1 {
		t.Fatalf("TokensIssued = %d, want %d", n, wechattest.ForceRefreshPerDay+1)
	}
}
