package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"cardtill/wechat"
)

type cryptoVector struct {
	AppID          string `json:"appid"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	Timestamp      string `json:"timestamp"`
	Nonce          string `json:"nonce"`
	MsgSignature   string `json:"msg_signature"`
	Encrypt        string `json:"encrypt"`
	Plaintext      string `json:"plaintext"`
}

// vectors reads the published safe-mode vectors of the product brief.
func vectors(t *testing.T) []cryptoVector {
	t.Helper()
	b, err := os.ReadFile("testdata/wechat-crypto-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []cryptoVector }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

func TestPublishedVector(t *testing.T) {
	t.Parallel()
	for _, v := range vectors(t) {
		if got := wechat.Signature(v.Token, v.Timestamp, v.Nonce, v.Encrypt); got != v.MsgSignature {
			t.Errorf("msg_signature = %s, want %s", got, v.MsgSignature)
		}
		key, err := wechat.ParseEncodingAESKey(v.EncodingAESKey)
		if err != nil {
			t.Fatal(err)
		}
		msg, app, err := wechat.DecryptMessage(key, v.Encrypt)
		if err != nil {
			t.Fatal(err)
		}
		if string(msg) != v.Plaintext || app != v.AppID {
			t.Errorf("decrypt = %q, appid %q; want %q, %q", msg, app, v.Plaintext, v.AppID)
		}

		// The same vector as a request through Open, at its own time.
		codec, err := wechat.NewPushCodec(wechat.PushConfig{
			Token: v.Token, EncodingAESKey: v.EncodingAESKey, AppID: v.AppID,
			Now: func() time.Time { return unix(t, v.Timestamp) },
		})
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"timestamp": {v.Timestamp}, "nonce": {v.Nonce}, "encrypt_type": {"aes"}, "msg_signature": {v.MsgSignature}}
		body := "<xml><ToUserName><![CDATA[asdasdasd]]></ToUserName><Encrypt><![CDATA[" + v.Encrypt + "]]></Encrypt></xml>"
		req := httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), strings.NewReader(body))
		push, err := codec.Open(req)
		if err != nil {
			t.Fatal(err)
		}
		if push.Mode != wechat.ModeSafe || string(push.Event.Head().Raw) != v.Plaintext {
			t.Errorf("Open: mode %v raw %q", push.Mode, push.Event.Head().Raw)
		}
		ue, ok := push.Event.(*wechat.UnknownEvent)
		if !ok || ue.MsgType != "text" || ue.Unknown["Content"] != "hello" || ue.Unknown["URL"] != "http://wechat.laravel.so/server" || ue.Unknown["MsgId"] != "12345" {
			t.Errorf("Open: event %#v", push.Event)
		}
	}
}

func unix(t *testing.T, s string) time.Time {
	t.Helper()
	var sec int64
	for _, c := range s {
		sec = sec*10 + int64(c-'0')
	}
	return time.Unix(sec, 0)
}

// seedEvent reads one of the seed's event examples.
func seedEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

func hdr(to, from string, ct int64, ev, card, code string) wechat.Header {
	return wechat.Header{ToUserName: to, FromUserName: from, CreateTime: ct, MsgType: "event", Event: ev, CardID: card, UserCardCode: code}
}

// seedEvents is every card event of the seed with every field it carries.
var seedEvents = []struct {
	name string
	want wechat.Event
}{
	{"card_pass_check", &wechat.CardPassCheck{Header: hdr("gh_fc0a06a20993", "oZI8Fj040-be6rlDohc6gkoPOQTQ", 1472550000, "card_pass_check", "pZI8Fjwsy5fVPRBeD78J4RmqVvBc", "")}},
	{"card_not_pass_check", &wechat.CardNotPassCheck{Header: hdr("gh_fc0a06a20993", "oZI8Fj040-be6rlDohc6gkoPOQTQ", 1472550001, "card_not_pass_check", "pZI8Fjwsy5fVPRBeD78J4RmqVvBc", ""), RefuseReason: "非法代制"}},
	{"user_get_card", &wechat.UserGetCard{Header: hdr("gh_fc0a06a20993", "oZI8Fj040-be6rlDohc6gkoPOQTQ", 1472551036, "user_get_card", "pZI8Fjwsy5fVPRBeD78J4RmqVvBc", "226009850808"), OuterStr: "12b"}},
	{"user_gifting_card", &wechat.UserGiftingCard{Header: hdr("gh_3fcea188bf78", "obLatjjwDolFjRRd3doGIdwNqRXw", 1474181868, "user_gifting_card", "pbLatjhU-3pik3d4PsbVzvBxZvJc", "297466945104"), FriendUserName: "obLatjlNerkb62HtSdQUx66C4NTU"}},
	{"user_del_card", &wechat.UserDelCard{Header: hdr("gh_fc0a06a20993", "oZI8Fj040-be6rlDohc6gkoPOQTQ", 1472551136, "user_del_card", "pZI8Fjwsy5fVPRBeD78J4RmqVvBc", "226009850808")}},
	{"user_consume_card", &wechat.UserConsumeCard{Header: hdr("gh_fc0a06a20993", "oZI8Fj040-be6rlDohc6gkoPOQTQ", 1472549042, "user_consume_card", "pZI8Fj8y-E8hpvho2d1ZvpGwQBvA", "452998530302"), ConsumeSource: "FROM_API", StaffOpenID: "oZ********nJ3bPJu_Rtjkw4c", OuterStr: "xxxxx"}},
	{"user_pay_from_pay_cell", &wechat.UserPayFromPayCell{Header: hdr("gh_e2243xxxxxxx", "oo2VNuOUuZGMxxxxxxxx", 1442390947, "user_pay_from_pay_cell", "po2VNuCuRo-8sxxxxxxxxxxx", "38050000000"), TransID: "10022403432015000000000", LocationID: "291710000", Fee: 10000, OriginalFee: 10000}},
	{"user_view_card", &wechat.UserViewCard{Header: hdr("toUser", "FromUser", 123456789, "user_view_card", "cardid", "12312312"), OuterStr: "12b"}},
	{"user_enter_session_from_card", &wechat.UserEnterSessionFromCard{Header: hdr("toUser", "FromUser", 123456789, "user_enter_session_from_card", "cardid", "12312312")}},
	{"update_member_card", &wechat.UpdateMemberCard{Header: hdr("gh_9e1765b5568e", "ojZ8YtyVyr30HheH3CM73y7h4jJE", 1445507140, "update_member_card", "pjZ8Ytx-nwvpCRyQneH3Ncmh6N94", "485027611252"), ModifyBonus: 3}},
	{"card_sku_remind", &wechat.CardSkuRemind{Header: hdr("gh_2d62d*****0", "oa3LFuBvWb7*********", 1443838506, "card_sku_remind", "pa3LFuAh2P65**********", ""), Detail: "the card's quantity is equal to 0"}},
	{"card_pay_order", &wechat.CardPayOrder{Header: hdr("gh_7223c83d4be5", "ob5E7s-HoN9tslQY3-0I4qmgluHk", 1453295737, "card_pay_order", "", ""),
		OrderID: "404091456", Status: "ORDER_STATUS_FINANCE_SUCC", CreateOrderTime: 1453295737, FreeCoinCount: 200, OrderType: "ORDER_TYPE_SYS_ADD", Memo: "开通账户奖励"}},
	{"submit_membercard_user_info", &wechat.SubmitMembercardUserInfo{Header: hdr("gh_3fcea188bf78", "obLatjlaNQKb8FqOvt1M1x1lIBFE", 1432668700, "submit_membercard_user_info", "pbLatjortSbSfSZ7AxUdRM8Wnb2A", "018255396048")}},
}

// checkEvent compares got with want, ignoring Raw (checked apart).
func checkEvent(t *testing.T, raw []byte, got, want wechat.Event) {
	t.Helper()
	if !bytes.Equal(got.Head().Raw, raw) {
		t.Errorf("Raw = %q, want the plaintext", got.Head().Raw)
	}
	g := reflect.New(reflect.TypeOf(got).Elem())
	g.Elem().Set(reflect.ValueOf(got).Elem())
	g.Interface().(wechat.Event).Head().Raw = nil
	if !reflect.DeepEqual(g.Interface(), want) {
		t.Errorf("event\n got %+v\nwant %+v", g.Interface(), want)
	}
}

func TestParseEventSeed(t *testing.T) {
	t.Parallel()
	if len(seedEvents) != 13 {
		t.Fatalf("%d seed events, want all 13", len(seedEvents))
	}
	for _, tc := range seedEvents {
		t.Run(tc.name, func(t *testing.T) {
			raw := seedEvent(t, tc.name)
			ev, err := wechat.ParseEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			checkEvent(t, raw, ev, tc.want)
		})
	}
}

func TestParseEventKeepsUnknown(t *testing.T) {
	t.Parallel()
	raw := []byte(`<xml><ToUserName>a</ToUserName><FromUserName>o1</FromUserName><CreateTime>5</CreateTime><MsgType>event</MsgType>` +
		`<Event>user_get_card</Event><CardId>c</CardId><UserCardCode>123</UserCardCode><IsGiveByFriend>yes</IsGiveByFriend>` +
		`<UnionId><![CDATA[u-1]]></UnionId><Nested><A>1</A><B>2</B></Nested><CardId>second</CardId></xml>`)
	ev, err := wechat.ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	g := ev.(*wechat.UserGetCard)
	want := map[string]string{"IsGiveByFriend": "yes", "UnionId": "u-1", "Nested": "<A>1</A><B>2</B>"}
	if !reflect.DeepEqual(g.Unknown, want) || g.CardID != "c" || g.IsGiveByFriend != 0 || !bytes.Equal(g.Raw, raw) {
		t.Errorf("got %+v", g)
	}

	raw = []byte(`<xml><ToUserName>a</ToUserName><FromUserName>o1</FromUserName><CreateTime>5</CreateTime><MsgType>event</MsgType><Event>card_future_event</Event><CardId>c</CardId><Foo>bar</Foo></xml>`)
	ev, err = wechat.ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := ev.(*wechat.UnknownEvent)
	if !ok || u.Event != "card_future_event" || u.CardID != "c" || u.Unknown["Foo"] != "bar" {
		t.Errorf("unknown event: %#v", ev)
	}
}

func TestParseEventMalformed(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"empty":           ``,
		"not xml":         `hello`,
		"unclosed":        `<xml><ToUserName>a</ToUserName>`,
		"wrong root":      `<root><ToUserName>a</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></root>`,
		"no from":         `<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>`,
		"no create time":  `<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName><MsgType>event</MsgType></xml>`,
		"bad create time": `<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName><CreateTime>soon</CreateTime><MsgType>event</MsgType></xml>`,
		"trailing":        `<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml><xml/>`,
		"bad char":        "<xml><ToUserName>a\x00</ToUserName></xml>",
	} {
		if _, err := wechat.ParseEvent([]byte(raw)); !errors.Is(err, wechat.ErrPushMalformed) {
			t.Errorf("%s: err = %v, want ErrPushMalformed", name, err)
		}
	}
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	a := wechat.Header{FromUserName: "o", CreateTime: 1, Event: "user_get_card", CardID: "c", UserCardCode: "1"}
	b := a
	b.UserCardCode = "2" // batch-added codes share user and time
	c := a
	c.CardID, c.UserCardCode = "c\x001", "" // no ambiguity from joining
	if a.DedupKey() == b.DedupKey() || a.DedupKey() == c.DedupKey() {
		t.Error("distinct events share a dedup key")
	}
	m1 := wechat.Header{FromUserName: "o", CreateTime: 1, MsgType: "text", Unknown: map[string]string{"MsgId": "1"}}
	m2 := wechat.Header{FromUserName: "o", CreateTime: 1, MsgType: "text", Unknown: map[string]string{"MsgId": "2"}}
	if m1.DedupKey() == m2.DedupKey() {
		t.Error("two messages in one second share a dedup key")
	}
	a2 := a
	a2.ToUserName, a2.Raw = "other", []byte("x")
	if a.DedupKey() != a2.DedupKey() {
		t.Error("a retry has a different dedup key")
	}
}

const (
	testToken = "cardtillTestToken"
	testKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAppID = "wx0123456789abcdef"
	oldToken  = "oldTestToken"
	oldKey    = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
)

var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newCodec(t testing.TB, c wechat.PushConfig) *wechat.PushCodec {
	t.Helper()
	if c.Now == nil {
		c.Now = func() time.Time { return testNow }
	}
	p, err := wechat.NewPushCodec(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func currentConfig() wechat.PushConfig {
	return wechat.PushConfig{Token: testToken, EncodingAESKey: testKey, AppID: testAppID, PreviousToken: oldToken, PreviousEncodingAESKey: oldKey}
}

func sealed(t testing.TB, p *wechat.PushCodec, mode wechat.Mode, msg []byte) *http.Request {
	t.Helper()
	req, err := p.NewPushRequest(context.Background(), "http://hub.test/wechat?openid=o1", mode, msg)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestOpenAllModes(t *testing.T) {
	t.Parallel()
	recv := newCodec(t, currentConfig())
	for _, tc := range seedEvents {
		for _, mode := range []wechat.Mode{wechat.ModePlain, wechat.ModeCompatible, wechat.ModeSafe} {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				raw := seedEvent(t, tc.name)
				push, err := recv.Open(sealed(t, recv, mode, raw))
				if err != nil {
					t.Fatal(err)
				}
				if push.Mode != mode || push.Previous {
					t.Errorf("mode %v previous %v", push.Mode, push.Previous)
				}
				checkEvent(t, raw, push.Event, tc.want)
			})
		}
	}
}

func TestOpenRotation(t *testing.T) {
	t.Parallel()
	recv := newCodec(t, currentConfig())
	raw := seedEvent(t, "user_del_card")
	cases := []struct {
		name string
		send wechat.PushConfig
	}{
		{"old token and key", wechat.PushConfig{Token: oldToken, EncodingAESKey: oldKey, AppID: testAppID}},
		{"old token new key", wechat.PushConfig{Token: oldToken, EncodingAESKey: testKey, AppID: testAppID}},
		{"new token old key", wechat.PushConfig{Token: testToken, EncodingAESKey: oldKey, AppID: testAppID}},
	}
	for _, tc := range cases {
		for _, mode := range []wechat.Mode{wechat.ModePlain, wechat.ModeSafe} {
			push, err := recv.Open(sealed(t, newCodec(t, tc.send), mode, raw))
			if err != nil {
				t.Fatalf("%s %v: %v", tc.name, mode, err)
			}
			if !push.Previous && (mode == wechat.ModeSafe || tc.send.Token == oldToken) {
				t.Errorf("%s %v: Previous not reported", tc.name, mode)
			}
		}
	}
	// Once the rotation is over (no previous pair), the old ones are refused.
	done := newCodec(t, wechat.PushConfig{Token: testToken, EncodingAESKey: testKey, AppID: testAppID})
	if _, err := done.Open(sealed(t, newCodec(t, cases[0].send), wechat.ModeSafe, raw)); !errors.Is(err, wechat.ErrPushSignature) {
		t.Errorf("old token after rotation: %v", err)
	}
	if _, err := done.Open(sealed(t, newCodec(t, cases[2].send), wechat.ModeSafe, raw)); !errors.Is(err, wechat.ErrPushMalformed) {
		t.Errorf("old key after rotation: %v", err)
	}
}

// badRequests are pushes that must be refused, with their status.
func badRequests(t testing.TB) []struct {
	Name   string
	Req    *http.Request
	Status int
	Err    error
} {
	t.Helper()
	recvCfg := currentConfig()
	send := newCodec(t, recvCfg)
	raw := seedEvent(t, "user_consume_card")
	type bad = struct {
		Name   string
		Req    *http.Request
		Status int
		Err    error
	}
	mutate := func(mode wechat.Mode, f func(q url.Values, body []byte) []byte) *http.Request {
		q, body, err := send.Seal(mode, raw)
		if err != nil {
			t.Fatal(err)
		}
		body = f(q, body)
		return httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
	}
	resign := func(q url.Values, tok string) {
		q.Set("signature", wechat.Signature(tok, q.Get("timestamp"), q.Get("nonce")))
	}
	at := func(d time.Duration) *wechat.PushCodec {
		c := recvCfg
		c.Now = func() time.Time { return testNow.Add(d) }
		return newCodec(t, c)
	}
	wrongApp := recvCfg
	wrongApp.AppID = "wxsomebodyelse0000"
	otherKey := recvCfg
	otherKey.EncodingAESKey, otherKey.PreviousEncodingAESKey = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", ""
	huge := append([]byte("<xml><ToUserName>"), bytes.Repeat([]byte("a"), wechat.DefaultMaxPushBody)...)
	huge = append(huge, "</ToUserName></xml>"...)
	return []bad{
		{"plain wrong signature", mutate(wechat.ModePlain, func(q url.Values, b []byte) []byte { resign(q, "guess"); return b }), 403, wechat.ErrPushSignature},
		{"plain no signature", mutate(wechat.ModePlain, func(q url.Values, b []byte) []byte { q.Del("signature"); return b }), 403, wechat.ErrPushSignature},
		{"safe wrong msg_signature", mutate(wechat.ModeSafe, func(q url.Values, b []byte) []byte {
			q.Set("msg_signature", wechat.Signature("guess", q.Get("timestamp"), q.Get("nonce"), "x"))
			return b
		}), 403, wechat.ErrPushSignature},
		{"safe tampered ciphertext", mutate(wechat.ModeSafe, func(q url.Values, b []byte) []byte {
			i := bytes.Index(b, []byte("<Encrypt><![CDATA[")) + len("<Encrypt><![CDATA[")
			if b[i] == 'A' { // another base64 character: same length, not what was signed
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return b
		}), 403, wechat.ErrPushSignature},
		{"safe ciphertext swapped for a plain field", mutate(wechat.ModeCompatible, func(q url.Values, b []byte) []byte {
			return bytes.Replace(b, []byte("FROM_API"), []byte("FROM_MP"), 1)
		}), 0, nil}, // compatible mode trusts only the ciphertext: accepted, see TestCompatibleUsesCiphertext
		{"safe wrong appid", func() *http.Request {
			q, body, _ := newCodec(t, wrongApp).Seal(wechat.ModeSafe, raw)
			return httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
		}(), 403, wechat.ErrPushAppID},
		{"safe unknown key", func() *http.Request {
			q, body, _ := newCodec(t, otherKey).Seal(wechat.ModeSafe, raw)
			return httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
		}(), 400, wechat.ErrPushMalformed},
		{"safe without Encrypt", mutate(wechat.ModeSafe, func(q url.Values, b []byte) []byte {
			q.Set("msg_signature", wechat.Signature(testToken, q.Get("timestamp"), q.Get("nonce"), ""))
			return []byte("<xml><ToUserName>x</ToUserName></xml>")
		}), 400, wechat.ErrPushMalformed},
		{"plain malformed xml", mutate(wechat.ModePlain, func(q url.Values, b []byte) []byte { return b[:len(b)/2] }), 400, wechat.ErrPushMalformed},
		{"safe malformed inner xml", func() *http.Request {
			q, body, _ := send.Seal(wechat.ModeSafe, []byte("<xml><ToUserName>x</ToUserName>"))
			return httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
		}(), 400, wechat.ErrPushMalformed},
		{"oversized", mutate(wechat.ModePlain, func(q url.Values, b []byte) []byte { return huge }), 413, wechat.ErrPushTooLarge},
		{"wrong method", httptest.NewRequest(http.MethodPut, "/wechat", nil), 405, wechat.ErrPushMethod},
		{"stale timestamp", func() *http.Request {
			q, body, _ := at(-10*time.Minute).Seal(wechat.ModeSafe, raw)
			return httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
		}(), 403, wechat.ErrPushStale},
		{"future timestamp", func() *http.Request {
			q, body, _ := at(10*time.Minute).Seal(wechat.ModePlain, raw)
			return httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body))
		}(), 403, wechat.ErrPushStale},
		{"no timestamp", mutate(wechat.ModePlain, func(q url.Values, b []byte) []byte { q.Del("timestamp"); return b }), 403, wechat.ErrPushStale},
	}
}

func TestOpenBadRequests(t *testing.T) {
	t.Parallel()
	recv := newCodec(t, currentConfig())
	for _, tc := range badRequests(t) {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := recv.Open(tc.Req)
			if tc.Err == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.Err) {
				t.Fatalf("err = %v, want %v", err, tc.Err)
			}
			if st := wechat.PushStatus(err); st != tc.Status {
				t.Errorf("status %d, want %d", st, tc.Status)
			}
			for _, secret := range []string{testToken, testKey, oldToken, oldKey} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestCompatibleUsesCiphertext(t *testing.T) {
	t.Parallel()
	p := newCodec(t, currentConfig())
	q, body, err := p.Seal(wechat.ModeCompatible, seedEvent(t, "user_consume_card"))
	if err != nil {
		t.Fatal(err)
	}
	body = bytes.Replace(body, []byte("FROM_API"), []byte("FROM_MP"), 1) // the clear copy is not signed
	push, err := p.Open(httptest.NewRequest(http.MethodPost, "/?"+q.Encode(), bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	if got := push.Event.(*wechat.UserConsumeCard).ConsumeSource; got != "FROM_API" {
		t.Errorf("ConsumeSource = %q: the unsigned clear copy won", got)
	}
}

func TestRequireEncryption(t *testing.T) {
	t.Parallel()
	c := currentConfig()
	c.RequireEncryption = true
	p := newCodec(t, c)
	raw := seedEvent(t, "user_del_card")
	if _, err := p.Open(sealed(t, p, wechat.ModePlain, raw)); !errors.Is(err, wechat.ErrPushNotEncrypted) || wechat.PushStatus(err) != 403 {
		t.Errorf("plain push: %v", err)
	}
	if _, err := p.Open(sealed(t, p, wechat.ModeSafe, raw)); err != nil {
		t.Errorf("safe push: %v", err)
	}
}

func TestNewPushCodecErrors(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]wechat.PushConfig{
		"no token":            {EncodingAESKey: testKey, AppID: testAppID},
		"short key":           {Token: testToken, EncodingAESKey: testKey[:42], AppID: testAppID},
		"bad base64 key":      {Token: testToken, EncodingAESKey: strings.Repeat("!", 43), AppID: testAppID},
		"bad previous key":    {Token: testToken, EncodingAESKey: testKey, PreviousEncodingAESKey: "nope", AppID: testAppID},
		"key without appid":   {Token: testToken, EncodingAESKey: testKey},
		"require without key": {Token: testToken, RequireEncryption: true},
		"negative window":     {Token: testToken, TimestampWindow: -time.Second},
	} {
		_, err := wechat.NewPushCodec(c)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), testKey[:20]) || strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: error leaks a secret: %v", name, err)
		}
	}
}

func TestVerifyURL(t *testing.T) {
	t.Parallel()
	p := newCodec(t, currentConfig())
	ts := strconv.FormatInt(testNow.Unix(), 10)
	good := url.Values{"timestamp": {ts}, "nonce": {"n1"}, "echostr": {"7135931234"}, "signature": {wechat.Signature(testToken, ts, "n1")}}
	echo, err := p.VerifyURL(httptest.NewRequest(http.MethodGet, "/?"+good.Encode(), nil))
	if err != nil || echo != "7135931234" {
		t.Fatalf("VerifyURL = %q, %v", echo, err)
	}
	bad := url.Values{"timestamp": {ts}, "nonce": {"n1"}, "echostr": {"x"}, "signature": {wechat.Signature("guess", ts, "n1")}}
	if _, err := p.VerifyURL(httptest.NewRequest(http.MethodGet, "/?"+bad.Encode(), nil)); !errors.Is(err, wechat.ErrPushSignature) {
		t.Errorf("bad signature: %v", err)
	}
	noEcho := url.Values{"timestamp": {ts}, "nonce": {"n1"}, "signature": {wechat.Signature(testToken, ts, "n1")}}
	if _, err := p.VerifyURL(httptest.NewRequest(http.MethodGet, "/?"+noEcho.Encode(), nil)); !errors.Is(err, wechat.ErrPushMalformed) {
		t.Errorf("no echostr: %v", err)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	p := newCodec(t, currentConfig())
	var got []*wechat.Push
	fail := false
	h := p.Handler(func(_ context.Context, push *wechat.Push) error {
		if fail {
			return errors.New("disk full")
		}
		got = append(got, push)
		return nil
	}, logger)
	srv := httptest.NewServer(h)
	defer srv.Close()

	do := func(req *http.Request) (int, string) {
		t.Helper()
		u, _ := url.Parse(srv.URL)
		req.URL.Scheme, req.URL.Host, req.RequestURI = "http", u.Host, ""
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := do(sealed(t, p, wechat.ModeSafe, seedEvent(t, "user_get_card")))
	if st != 200 || body != "success" || len(got) != 1 {
		t.Fatalf("good push: %d %q, delivered %d", st, body, len(got))
	}
	for _, tc := range badRequests(t) {
		if tc.Err == nil {
			continue
		}
		if st, _ := do(tc.Req); st != tc.Status {
			t.Errorf("%s: status %d, want %d", tc.Name, st, tc.Status)
		}
	}
	if len(got) != 1 {
		t.Errorf("bad requests delivered %d events", len(got)-1)
	}
	fail = true
	if st, _ := do(sealed(t, p, wechat.ModePlain, seedEvent(t, "user_get_card"))); st != 500 {
		t.Errorf("deliver error: status %d, want 500 so WeChat retries", st)
	}
	for _, secret := range []string{testToken, testKey, oldToken, oldKey} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log leaks a secret:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "push refused") {
		t.Errorf("no log line for refused pushes:\n%s", logs.String())
	}
}
