package wechat

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is WeChat's API base.
const DefaultBaseURL = "https://api.weixin.qq.com"

// DefaultTimeout bounds a call whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// maxBody caps how much of an answer is read.
const maxBody = 1 << 20

// CardStatus is user_card_status of a code.
type CardStatus string

// The user_card_status values WeChat answers.
const (
	StatusNormal      CardStatus = "NORMAL"       // can be written off
	StatusConsumed    CardStatus = "CONSUMED"     // already written off
	StatusExpire      CardStatus = "EXPIRE"       // past its validity window
	StatusGifting     CardStatus = "GIFTING"      // being given to a friend
	StatusGiftTimeout CardStatus = "GIFT_TIMEOUT" // a gift that was not accepted in time
	StatusDelete      CardStatus = "DELETE"       // the user deleted it
	StatusUnavailable CardStatus = "UNAVAILABLE"  // made unavailable by the merchant
)

// CodeInfo is the answer of card/code/get.
type CodeInfo struct {
	CardID             string
	BeginTime, EndTime time.Time // validity window; zero when WeChat gave none
	OpenID             string
	CanConsume         bool // a consume would be accepted now
	Status             CardStatus
}

// ConsumeResult is the answer of card/code/consume.
type ConsumeResult struct{ CardID, OpenID string }

// Card is what card/get tells about a card type.
type Card struct {
	CardID string
	Title  string // base_info.title, e.g. "¥20 off any drink"
	Type   string // card_type: GROUPON, CASH, DISCOUNT, GIFT, GENERAL_COUPON, MEMBER_CARD...
}

// Options configure a Client. Tokens is required; the rest is defaulted.
type Options struct {
	// BaseURL of the API, default DefaultBaseURL. Tests and the demo point
	// it at wechattest.Server.URL.
	BaseURL string
	// Tokens supplies access tokens.
	Tokens TokenSource
	// HTTPClient, default a client with TLS verification on. A transport
	// with InsecureSkipVerify set is refused.
	HTTPClient *http.Client
	// Timeout applies to a call whose context has no deadline; default
	// DefaultTimeout. A deadline on the context always wins.
	Timeout time.Duration
	// Logger, default discarding. It never sees a token.
	Logger *slog.Logger
}

// Client calls the WeChat card API. It is safe for concurrent use.
type Client struct {
	base    string
	tokens  TokenSource
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Tokens == nil {
		return nil, errors.New("wechat: Options.Tokens is required")
	}
	base, err := checkBase(opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	hc, err := httpClient(opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, tokens: opts.Tokens, hc: hc, timeout: opts.Timeout, log: opts.Logger}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func checkBase(base, def string) (string, error) {
	if base == "" {
		base = def
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("wechat: base URL %q must be an http(s) URL such as %s", base, def)
	}
	return strings.TrimRight(base, "/"), nil
}

// httpClient defaults hc and refuses one that skips TLS verification.
func httpClient(hc *http.Client) (*http.Client, error) {
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		t.MaxIdleConnsPerHost = 8
		return &http.Client{Transport: t}, nil
	}
	if t, ok := hc.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
		return nil, ErrInsecureClient
	}
	return hc, nil
}

// status is the errcode/errmsg every answer carries.
type status struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (s *status) get() *status { return s }

type answer interface{ get() *status }

type codeGetReq struct {
	CardID       string `json:"card_id,omitempty"`
	Code         string `json:"code"`
	CheckConsume bool   `json:"check_consume"`
}

type cardRef struct {
	CardID    string `json:"card_id"`
	BeginTime int64  `json:"begin_time"`
	EndTime   int64  `json:"end_time"`
}

type codeGetResp struct {
	status
	Card           cardRef `json:"card"`
	OpenID         string  `json:"openid"`
	CanConsume     bool    `json:"can_consume"`
	UserCardStatus string  `json:"user_card_status"`
}

// GetCode queries a code (card/code/get). cardID is required only for
// custom-code cards. With checkConsume true WeChat answers an APIError for
// a code that cannot be consumed (40099 consumed, 40127 bad state...); with
// false it answers the state, so the till can say why.
func (c *Client) GetCode(ctx context.Context, cardID, code string, checkConsume bool) (CodeInfo, error) {
	const op = "card/code/get"
	if err := checkCode(op, code); err != nil {
		return CodeInfo{}, err
	}
	var r codeGetResp
	if err := c.call(ctx, op, codeGetReq{CardID: cardID, Code: code, CheckConsume: checkConsume}, &r); err != nil {
		return CodeInfo{}, err
	}
	return CodeInfo{
		CardID:     r.Card.CardID,
		BeginTime:  unixOrZero(r.Card.BeginTime),
		EndTime:    unixOrZero(r.Card.EndTime),
		OpenID:     r.OpenID,
		CanConsume: r.CanConsume,
		Status:     CardStatus(r.UserCardStatus),
	}, nil
}

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// checkCode refuses what WeChat would refuse anyway, without a call.
func checkCode(op, code string) error {
	if code == "" || len(code) > 20 {
		return &APIError{Op: op, Code: CodeInvalidCode, Msg: fmt.Sprintf("code must be 1 to 20 characters, got %d (checked locally)", len(code)), Local: true}
	}
	return nil
}

type consumeReq struct {
	Code   string `json:"code"`
	CardID string `json:"card_id,omitempty"`
}

type consumeResp struct {
	status
	Card   cardRef `json:"card"`
	OpenID string  `json:"openid"`
}

// Consume writes a code off (card/code/consume). cardID is needed for
// custom-code cards and may be empty otherwise. It is irreversible and is
// never retried here except after a refused token (which WeChat did not
// apply). An error matching ErrOutcomeUnknown means it may have been
// applied: resolve it with GetCode.
func (c *Client) Consume(ctx context.Context, cardID, code string) (ConsumeResult, error) {
	const op = "card/code/consume"
	if err := checkCode(op, code); err != nil {
		return ConsumeResult{}, err
	}
	var r consumeResp
	if err := c.call(ctx, op, consumeReq{Code: code, CardID: cardID}, &r); err != nil {
		return ConsumeResult{}, err
	}
	return ConsumeResult{CardID: r.Card.CardID, OpenID: r.OpenID}, nil
}

type decryptReq struct {
	EncryptCode string `json:"encrypt_code"`
}

type decryptResp struct {
	status
	Code string `json:"code"`
}

// Decrypt turns an encrypt_code (from a scanned QR or a web page) into a
// code (card/code/decrypt). URL-decode it first when it came from a URL.
func (c *Client) Decrypt(ctx context.Context, encryptCode string) (string, error) {
	const op = "card/code/decrypt"
	if encryptCode == "" || len(encryptCode) > 128 {
		return "", &APIError{Op: op, Code: CodeEncryptCode, Msg: fmt.Sprintf("encrypt_code must be 1 to 128 characters, got %d (checked locally)", len(encryptCode))}
	}
	var r decryptResp
	if err := c.call(ctx, op, decryptReq{EncryptCode: encryptCode}, &r); err != nil {
		return "", err
	}
	return r.Code, nil
}

type cardGetReq struct {
	CardID string `json:"card_id"`
}

type cardGetResp struct {
	status
	Card map[string]json.RawMessage `json:"card"`
}

// GetCard returns a card type's title and type (card/get). Callers cache it.
func (c *Client) GetCard(ctx context.Context, cardID string) (Card, error) {
	const op = "card/get"
	var r cardGetResp
	if err := c.call(ctx, op, cardGetReq{CardID: cardID}, &r); err != nil {
		return Card{}, err
	}
	card := Card{CardID: cardID}
	if raw, ok := r.Card["card_type"]; ok {
		_ = json.Unmarshal(raw, &card.Type)
	}
	// The details sit under the lower-cased type: {"card_type":"GROUPON","groupon":{"base_info":{...}}}.
	var body struct {
		BaseInfo struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"base_info"`
	}
	if raw, ok := r.Card[strings.ToLower(card.Type)]; ok {
		if err := json.Unmarshal(raw, &body); err != nil {
			return Card{}, unknown(op, fmt.Errorf("card/get answer: %w", err))
		}
	}
	card.Title = body.BaseInfo.Title
	if body.BaseInfo.ID != "" {
		card.CardID = body.BaseInfo.ID
	}
	return card, nil
}

// call POSTs req to op and decodes the answer into resp. A refused token
// (ClassToken) is invalidated and the call retried exactly once.
func (c *Client) call(ctx context.Context, op string, req any, resp answer) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("wechat %s: encode request: %w", op, err)
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			c.log.Warn("wechat token unavailable", "op", op, "err", err)
			return fmt.Errorf("wechat %s: get access token: %w", op, err)
		}
		*resp.get() = status{}
		if err := c.post(ctx, op, tok, body, resp); err != nil {
			c.log.Warn("wechat call failed, outcome unknown", "op", op, "err", err)
			return err
		}
		st := resp.get()
		if st.ErrCode == 0 {
			return nil
		}
		ae := &APIError{Op: op, Code: st.ErrCode, Msg: st.ErrMsg}
		if ae.Class() == ClassToken && attempt == 0 {
			c.log.Info("wechat refused the access token; refreshing and retrying once", "op", op, "errcode", ae.Code)
			c.tokens.Invalidate(tok)
			continue
		}
		c.log.Info("wechat answered an error", "op", op, "errcode", ae.Code, "errmsg", ae.Msg, "class", ae.Class().String())
		return ae
	}
}

func (c *Client) post(ctx context.Context, op, tok string, body []byte, resp answer) error {
	u := c.base + "/" + op + "?access_token=" + url.QueryEscape(tok)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return unknown(op, err)
	}
	hreq.Header.Set("Content-Type", "application/json; charset=utf-8")
	hres, err := c.hc.Do(hreq)
	if err != nil {
		return unknown(op, err)
	}
	defer hres.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hres.Body, maxBody))
	if err != nil {
		return unknown(op, fmt.Errorf("read answer: %w", err))
	}
	if hres.StatusCode != http.StatusOK {
		return unknown(op, fmt.Errorf("HTTP %s", hres.Status))
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return unknown(op, fmt.Errorf("answer is not WeChat JSON (%d bytes): %w", len(data), err))
	}
	// Every answer of WeChat carries errcode (0 = ok). JSON without it is
	// someone else's (a proxy, a captive portal, a wrong api_base): the
	// outcome is unknown, never a success.
	var has struct {
		ErrCode *int `json:"errcode"`
	}
	if json.Unmarshal(data, &has) != nil || has.ErrCode == nil {
		return unknown(op, fmt.Errorf("HTTP 200 JSON without errcode (%d bytes): %w — a proxy, a captive portal or a wrong base URL?", len(data), ErrNotWeChat))
	}
	return nil
}

// OpPing names Ping in its errors.
const OpPing = "ping"

// Ping tells whether a call could reach WeChat now, without reading or
// changing any code or card and without using the API quota. It POSTs to
// card/get without an access token: WeChat answers its own JSON (errcode
// 41001, access_token missing) and, knowing no AppID, counts nothing. Any
// other answer (a network failure, a timeout, an HTTP status other than
// 200, a body that is not WeChat's JSON, as from a proxy or a captive
// portal) is an error matching ErrOutcomeUnknown. Only when WeChat
// answered is an access token asked of the token source, which may answer
// from its cache: the call after a Ping needs one, so a token source that
// cannot give one (the hub down, the AppSecret refused) fails Ping too,
// with its own error, as it would fail that call.
func (c *Client) Ping(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/card/get", strings.NewReader("{}"))
	if err != nil {
		return unknown(OpPing, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := c.hc.Do(req)
	if err != nil {
		return unknown(OpPing, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return unknown(OpPing, fmt.Errorf("read answer: %w", err))
	}
	if res.StatusCode != http.StatusOK {
		return unknown(OpPing, fmt.Errorf("HTTP %s", res.Status))
	}
	var st struct {
		ErrCode *int `json:"errcode"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.ErrCode == nil {
		return unknown(OpPing, fmt.Errorf("answer is not WeChat JSON (%d bytes)", len(data)))
	}
	if _, err := c.tokens.Token(ctx); err != nil {
		return fmt.Errorf("wechat %s: get access token: %w", OpPing, err)
	}
	return nil
}
