package wechattest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"cardtill/wechat"
)

// Default credentials of a Server.
const (
	DefaultAppID  = "wxfake0000000001"
	DefaultSecret = "fake-app-secret-0123456789abcdef"
	// DefaultTokenTTL is the lifetime of the tokens it issues.
	DefaultTokenTTL = 2 * time.Hour
	// DefaultTokenGrace is how long a token stays usable after a newer one
	// replaced it (cgi-bin/token, or stable_token with force_refresh):
	// WeChat keeps the old and the new token both valid for five minutes.
	DefaultTokenGrace = 5 * time.Minute
	// ForceRefreshPerDay and ForceRefreshGap are stable_token's limits on
	// force_refresh: 20 a day (Beijing time), 30 s apart; beyond them it
	// answers 45033 and issues nothing.
	ForceRefreshPerDay = 20
	ForceRefreshGap    = 30 * time.Second
)

// beijing is the time zone of WeChat's daily limits.
var beijing = time.FixedZone("CST", 8*60*60)

// Endpoint names a fake endpoint for fault injection.
type Endpoint string

// The endpoints.
const (
	EndpointToken       Endpoint = "cgi-bin/token"
	EndpointStableToken Endpoint = "cgi-bin/stable_token"
	EndpointGetCode     Endpoint = "card/code/get"
	EndpointConsume     Endpoint = "card/code/consume"
	EndpointDecrypt     Endpoint = "card/code/decrypt"
	EndpointGetCard     Endpoint = "card/get"
)

// Endpoints lists every endpoint.
var Endpoints = []Endpoint{EndpointToken, EndpointStableToken, EndpointGetCode, EndpointConsume, EndpointDecrypt, EndpointGetCard}

// Code is one row of the fake's code table.
type Code struct {
	Code   string
	CardID string
	// Custom: a custom-code card; get and consume need CardID or answer 40056.
	Custom bool
	Status wechat.CardStatus // default StatusNormal
	OpenID string
	// Begin and End bound the validity window; zero means unbounded. A
	// NORMAL code before Begin cannot be consumed (40079); after End it
	// reads EXPIRE.
	Begin, End time.Time
}

// Card is one card type, answered by card/get.
type Card struct {
	CardID string
	Title  string
	Type   string // GROUPON, CASH, DISCOUNT, GIFT, GENERAL_COUPON, MEMBER_CARD; default GROUPON
}

// Fault is injected into calls of one endpoint. Several effects may be
// combined; they apply in this order: Latency, Outage-like drop
// (DropBefore), HTTPStatus, Errcode, then the real handling, then DropAfter.
type Fault struct {
	// Latency delays the answer (the request context cancels the wait).
	Latency time.Duration
	// HTTPStatus answers this status (e.g. 502) with a non-JSON body.
	HTTPStatus int
	// Body answers HTTP 200 with this body and applies nothing: JSON that
	// is not WeChat's (a proxy, a captive portal, a wrong api_base).
	Body string
	// Errcode answers this errcode without doing anything (-1, 45009,
	// 45011, 42001 for an expired token, ...). Errmsg is optional.
	Errcode int
	Errmsg  string
	// DropBefore closes the connection without an answer and without
	// applying anything.
	DropBefore bool
	// DropAfter applies the request (a consume is written off and counted)
	// and then closes the connection without an answer.
	DropAfter bool
	// Times is how many calls the fault applies to (0 means 1). Ignored
	// when Persistent.
	Times int
	// Persistent applies the fault to every call until ClearFaults.
	Persistent bool
}

type faultSlot struct {
	f    Fault
	left int
}

// Server is the fake WeChat. Its exported fields are read-only.
type Server struct {
	// URL is the base URL to give wechat.Options.BaseURL.
	URL    string
	AppID  string
	Secret string

	srv   *httptest.Server
	now   func() time.Time
	ttl   time.Duration
	grace time.Duration
	key   []byte

	mu    sync.Mutex
	codes map[string]*Code
	// loseAnswer: codes whose next consume is applied and its answer lost
	loseAnswer map[string]bool
	cards      map[string]Card
	tokens     map[string]*issuedToken
	current    string // the latest token issued: the one stable_token answers
	faults     map[Endpoint][]*faultSlot
	outage     bool
	consumes   map[string]int
	total      int
	calls      map[Endpoint]int
	issued     int
	forced     []time.Time // force_refresh calls that issued a token, today's
}

// Option configures New.
type Option func(*Server)

// WithClock sets the clock used for validity windows and token expiry.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithCredentials sets the AppID and AppSecret the token endpoints accept.
func WithCredentials(appID, secret string) Option {
	return func(s *Server) { s.AppID, s.Secret = appID, secret }
}

// WithTokenTTL sets the lifetime of issued tokens.
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithTokenGrace sets how long a replaced token stays usable
// (DefaultTokenGrace when not given; 0 = it stops at once).
func WithTokenGrace(d time.Duration) Option { return func(s *Server) { s.grace = d } }

// issuedToken is one access token the server handed out.
type issuedToken struct {
	expires time.Time // end of its lifetime: 42001 from then on
	// replaced is when a newer token replaced it (zero while it is the
	// latest); from replaced+grace on it answers 40001 "not latest".
	replaced time.Time
}

// New starts a fake WeChat on loopback. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		AppID: DefaultAppID, Secret: DefaultSecret, now: time.Now, ttl: DefaultTokenTTL, grace: DefaultTokenGrace,
		codes: map[string]*Code{}, cards: map[string]Card{}, tokens: map[string]*issuedToken{},
		faults: map[Endpoint][]*faultSlot{}, consumes: map[string]int{}, calls: map[Endpoint]int{},
	}
	for _, o := range opts {
		o(s)
	}
	k := sha256.Sum256([]byte("wechattest encrypt_code key/" + s.AppID))
	s.key = k[:16]
	mux := http.NewServeMux()
	for _, ep := range Endpoints {
		mux.Handle("/"+string(ep), s.wrap(ep))
	}
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// AddCode adds or replaces a code.
func (s *Server) AddCode(c Code) {
	if c.Status == "" {
		c.Status = wechat.StatusNormal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[c.Code] = &c
}

// AddCard adds or replaces a card type.
func (s *Server) AddCard(c Card) {
	if c.Type == "" {
		c.Type = "GROUPON"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cards[c.CardID] = c
}

// SetStatus changes a code's status (a user gifting or deleting it, say).
// It reports whether the code exists.
func (s *Server) SetStatus(code string, st wechat.CardStatus) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	if ok {
		c.Status = st
	}
	return ok
}

// Code returns a copy of a code's row.
func (s *Server) Code(code string) (Code, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	if !ok {
		return Code{}, false
	}
	return *c, true
}

// ConsumeCount is how many consumes of code the server applied.
func (s *Server) ConsumeCount(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumes[code]
}

// TotalConsumes is how many consumes the server applied in all.
func (s *Server) TotalConsumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Calls is how many requests reached an endpoint (faulted ones included).
func (s *Server) Calls(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[ep]
}

// TokensIssued is how many new access tokens the token endpoints issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// Inject queues a fault for the next calls of ep (see Fault.Times and
// Fault.Persistent). Faults queued for one endpoint apply in order.
func (s *Server) Inject(ep Endpoint, f Fault) {
	n := max(f.Times, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[ep] = append(s.faults[ep], &faultSlot{f: f, left: n})
}

// ClearFaults removes every queued and persistent fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[Endpoint][]*faultSlot{}
}

// ExpireTokens makes every issued token expired (42001) immediately.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, t := range s.tokens {
		t.expires = now.Add(-time.Second)
	}
	s.current = ""
}

// SetOutage switches an outage on or off: while on, every endpoint closes
// the connection without an answer, like an unreachable network.
func (s *Server) SetOutage(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = on
}

// Outage reports whether the outage switch is on.
func (s *Server) Outage() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outage
}

// Encrypt returns the encrypt_code card/code/decrypt turns back into code:
// the fake's own deterministic AES-GCM, base64 (it contains '+' and '/' as
// WeChat's does, so callers must URL-encode it in a URL).
func (s *Server) Encrypt(code string) string {
	gcm := s.gcm()
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(code))
	nonce := m.Sum(nil)[:gcm.NonceSize()]
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(code), nil))
}

func (s *Server) decrypt(enc string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(enc)
	gcm := s.gcm()
	if err != nil || len(raw) < gcm.NonceSize() {
		return "", false
	}
	pt, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	return string(pt), err == nil
}

func (s *Server) gcm() cipher.AEAD {
	b, _ := aes.NewCipher(s.key)
	g, _ := cipher.NewGCM(b)
	return g
}

// takeFault returns the fault for this call of ep, if any.
func (s *Server) takeFault(ep Endpoint) (Fault, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[ep]++
	if s.outage {
		return Fault{}, false, true
	}
	q := s.faults[ep]
	if len(q) == 0 {
		return Fault{}, false, false
	}
	slot := q[0]
	if !slot.f.Persistent {
		slot.left--
		if slot.left <= 0 {
			s.faults[ep] = q[1:]
		}
	}
	return slot.f, true, false
}

// answer is a JSON answer; a nil answer means "drop the connection".
type answer map[string]any

func errAnswer(code int, msg string) answer { return answer{"errcode": code, "errmsg": msg} }

func okAnswer(kv answer) answer {
	kv["errcode"] = 0
	kv["errmsg"] = "ok"
	return kv
}

func (s *Server) wrap(ep Endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		f, faulted, outage := s.takeFault(ep)
		if outage {
			drop(w)
			return
		}
		if faulted {
			if f.Latency > 0 {
				t := time.NewTimer(f.Latency)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			switch {
			case f.DropBefore:
				drop(w)
				return
			case f.HTTPStatus != 0:
				http.Error(w, "<html>upstream error</html>", f.HTTPStatus)
				return
			case f.Body != "":
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, f.Body)
				return
			case f.Errcode != 0:
				msg := f.Errmsg
				if msg == "" {
					msg = "injected fault"
				}
				writeJSON(w, errAnswer(f.Errcode, msg))
				return
			}
		}
		a := s.handle(ep, r, body)
		if (faulted && f.DropAfter) || (ep == EndpointConsume && s.takeLostAnswer(body, a)) {
			drop(w)
			return
		}
		writeJSON(w, a)
	})
}

// LoseConsumeAnswer makes the next successful consume of code be applied
// (written off and counted) and then lose its answer: the connection
// closes without one, as when the network fails after WeChat applied the
// consume. The demo till shows an in-doubt redemption settling with it.
func (s *Server) LoseConsumeAnswer(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loseAnswer == nil {
		s.loseAnswer = map[string]bool{}
	}
	s.loseAnswer[code] = true
}

// takeLostAnswer reports whether the consume in body, answered a, is one
// whose answer LoseConsumeAnswer asked to lose, and forgets it.
func (s *Server) takeLostAnswer(body []byte, a answer) bool {
	if a["errcode"] != 0 {
		return false
	}
	var req struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &req) != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loseAnswer[req.Code] {
		return false
	}
	delete(s.loseAnswer, req.Code)
	return true
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func writeJSON(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(a)
}

func (s *Server) handle(ep Endpoint, r *http.Request, body []byte) answer {
	switch ep {
	case EndpointToken:
		q := r.URL.Query()
		return s.issue(q.Get("appid"), q.Get("secret"), true)
	case EndpointStableToken:
		var req struct {
			AppID        string `json:"appid"`
			Secret       string `json:"secret"`
			ForceRefresh bool   `json:"force_refresh"`
		}
		if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil {
			return errAnswer(47001, "data format error")
		}
		if req.ForceRefresh {
			if a := s.forceAllowed(req.AppID, req.Secret); a != nil {
				return a
			}
		}
		return s.issue(req.AppID, req.Secret, req.ForceRefresh)
	}
	if a := s.checkToken(r.URL.Query().Get("access_token")); a != nil {
		return a
	}
	var req struct {
		Code         string `json:"code"`
		CardID       string `json:"card_id"`
		CheckConsume *bool  `json:"check_consume"`
		EncryptCode  string `json:"encrypt_code"`
	}
	if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil {
		return errAnswer(47001, "data format error")
	}
	switch ep {
	case EndpointGetCode:
		return s.getCode(req.CardID, req.Code, req.CheckConsume == nil || *req.CheckConsume)
	case EndpointConsume:
		return s.consume(req.CardID, req.Code)
	case EndpointDecrypt:
		code, ok := s.decrypt(req.EncryptCode)
		if !ok {
			return errAnswer(wechat.CodeEncryptCode, "invalid encrypt code")
		}
		return okAnswer(answer{"code": code})
	case EndpointGetCard:
		return s.getCard(req.CardID)
	}
	return errAnswer(48001, "api unauthorized")
}

// issue answers both token endpoints. fresh (cgi-bin/token always,
// stable_token with force_refresh) issues a new token and so replaces the
// latest one, which keeps working for the grace period only; otherwise
// (stable_token in normal mode) the latest token is answered as long as it
// is valid, and a new one is issued only when there is none.
func (s *Server) issue(appID, secret string, fresh bool) answer {
	switch {
	case appID != s.AppID:
		return errAnswer(wechat.CodeInvalidAppID, "invalid appid")
	case !hmac.Equal([]byte(secret), []byte(s.Secret)):
		return errAnswer(wechat.CodeInvalidAppSecret, "invalid appsecret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	cur, ok := s.tokens[s.current]
	if !fresh && ok && now.Before(cur.expires) {
		return okAnswer(answer{"access_token": s.current, "expires_in": int(cur.expires.Sub(now) / time.Second)})
	}
	if ok && cur.replaced.IsZero() {
		cur.replaced = now
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	tok := "FAKETOKEN_" + hex.EncodeToString(b[:])
	s.tokens[tok] = &issuedToken{expires: now.Add(s.ttl)}
	s.current = tok
	s.issued++
	return okAnswer(answer{"access_token": tok, "expires_in": int(s.ttl / time.Second)})
}

// forceAllowed applies stable_token's force_refresh limits (after the
// credentials check, which comes first) and counts the call when allowed.
func (s *Server) forceAllowed(appID, secret string) answer {
	if appID != s.AppID || !hmac.Equal([]byte(secret), []byte(s.Secret)) {
		return nil // issue answers the credential error
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	y, m, d := now.In(beijing).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, beijing)
	s.forced = slices.DeleteFunc(s.forced, func(t time.Time) bool { return t.Before(today) })
	if n := len(s.forced); n > 0 && now.Sub(s.forced[n-1]) < ForceRefreshGap || n >= ForceRefreshPerDay {
		return errAnswer(wechat.CodeForceRefreshLimits, "force refresh limit: 20 a day, 30 s apart")
	}
	s.forced = append(s.forced, now)
	return nil
}

func (s *Server) checkToken(tok string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == "" {
		return errAnswer(wechat.CodeTokenMissing, "access_token missing")
	}
	t, ok := s.tokens[tok]
	now := s.now()
	if !ok || !t.replaced.IsZero() && !now.Before(t.replaced.Add(s.grace)) {
		return errAnswer(wechat.CodeInvalidToken, "invalid credential, access_token is invalid or not latest")
	}
	if !now.Before(t.expires) {
		return errAnswer(wechat.CodeTokenExpired, "access_token expired")
	}
	return nil
}

// lookup finds a code as WeChat would: unknown, or a custom code without its
// card_id, or a card_id that is not the code's, answers 40056.
func (s *Server) lookup(cardID, code string) (*Code, answer) {
	c, ok := s.codes[code]
	if !ok || (c.Custom && cardID == "") || (cardID != "" && cardID != c.CardID) {
		return nil, errAnswer(wechat.CodeInvalidSerial, "invalid serial code")
	}
	return c, nil
}

// state is the status and can_consume of c at now.
func state(c *Code, now time.Time) (wechat.CardStatus, bool, answer) {
	st := c.Status
	if st == wechat.StatusNormal && !c.End.IsZero() && now.After(c.End) {
		st = wechat.StatusExpire
	}
	switch {
	case st == wechat.StatusConsumed:
		return st, false, errAnswer(wechat.CodeConsumed, "invalid code, this code has consumed.")
	case st == wechat.StatusNormal && !c.Begin.IsZero() && now.Before(c.Begin):
		return st, false, errAnswer(wechat.CodeCardTime, "invalid time, the card is not yet valid")
	case st != wechat.StatusNormal:
		return st, false, errAnswer(wechat.CodeUserCardStatus, "invalid user-card status: "+string(st))
	}
	return st, true, nil
}

func (s *Server) getCode(cardID, code string, check bool) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, bad := s.lookup(cardID, code)
	if bad != nil {
		return bad
	}
	st, can, refusal := state(c, s.now())
	if check && refusal != nil {
		return refusal
	}
	card := answer{"card_id": c.CardID, "begin_time": unix(c.Begin), "end_time": unix(c.End)}
	return okAnswer(answer{"card": card, "openid": c.OpenID, "can_consume": can, "user_card_status": string(st)})
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Server) consume(cardID, code string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, bad := s.lookup(cardID, code)
	if bad != nil {
		return bad
	}
	if _, _, refusal := state(c, s.now()); refusal != nil {
		return refusal
	}
	c.Status = wechat.StatusConsumed
	s.consumes[code]++
	s.total++
	return okAnswer(answer{"card": answer{"card_id": c.CardID}, "openid": c.OpenID})
}

func (s *Server) getCard(cardID string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cards[cardID]
	if !ok {
		return errAnswer(wechat.CodeInvalidCardID, "invalid card_id")
	}
	return okAnswer(answer{"card": answer{
		"card_type":             c.Type,
		strings.ToLower(c.Type): answer{"base_info": answer{"id": c.CardID, "title": c.Title}},
	}})
}
