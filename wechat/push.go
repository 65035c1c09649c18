package wechat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is how a push reached us, as chosen in the WeChat admin console.
type Mode int

const (
	// ModePlain: the XML in the clear, signature over token, timestamp,
	// nonce only (it does not cover the body).
	ModePlain Mode = iota
	// ModeCompatible: the clear fields and an Encrypt element side by side.
	ModeCompatible
	// ModeSafe: only ToUserName and Encrypt; msg_signature covers Encrypt.
	ModeSafe
)

func (m Mode) String() string {
	switch m {
	case ModePlain:
		return "plain"
	case ModeCompatible:
		return "compatible"
	case ModeSafe:
		return "safe"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Defaults for PushConfig.
const (
	DefaultTimestampWindow = 5 * time.Minute
	DefaultMaxPushBody     = 64 << 10
)

// PushConfig configures a PushCodec. Token, EncodingAESKey and AppID come
// from the WeChat admin console; the Previous pair is accepted too while a
// rotation is under way.
type PushConfig struct {
	Token                  string
	EncodingAESKey         string // empty: plaintext mode only
	AppID                  string // required with an EncodingAESKey
	PreviousToken          string
	PreviousEncodingAESKey string
	// TimestampWindow is how far a push's timestamp may be from Now, either
	// way (DefaultTimestampWindow when 0).
	TimestampWindow time.Duration
	// MaxBody caps the request body in bytes (DefaultMaxPushBody when 0).
	MaxBody int64
	// RequireEncryption refuses plaintext pushes (whose signature does not
	// cover the body) once the console is switched to safe mode.
	RequireEncryption bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Random feeds Seal's random prefix and nonce (crypto/rand when nil).
	Random io.Reader
}

// PushCodec verifies, decrypts and decodes WeChat event pushes, and (for
// tests and benchmarks) seals them. It is safe for concurrent use.
type PushCodec struct {
	appID   string
	tokens  []string // current first
	keys    []AESKey // current first
	window  time.Duration
	maxBody int64
	reqEnc  bool
	now     func() time.Time
	random  io.Reader
}

// NewPushCodec checks c and returns a codec. Errors name the setting to fix
// and never contain its value.
func NewPushCodec(c PushConfig) (*PushCodec, error) {
	p := &PushCodec{appID: c.AppID, window: c.TimestampWindow, maxBody: c.MaxBody, reqEnc: c.RequireEncryption, now: c.Now, random: c.Random}
	if p.window == 0 {
		p.window = DefaultTimestampWindow
	}
	if p.window < 0 {
		return nil, errors.New("push config: timestamp window must not be negative")
	}
	if p.maxBody <= 0 {
		p.maxBody = DefaultMaxPushBody
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.random == nil {
		p.random = rand.Reader
	}
	if c.Token == "" {
		return nil, errors.New("push config: token is empty: copy the Token of the server configuration in the WeChat admin console")
	}
	p.tokens = append(p.tokens, c.Token)
	if c.PreviousToken != "" && c.PreviousToken != c.Token {
		p.tokens = append(p.tokens, c.PreviousToken)
	}
	for _, k := range []struct{ name, v string }{{"encoding_aes_key", c.EncodingAESKey}, {"previous_encoding_aes_key", c.PreviousEncodingAESKey}} {
		if k.v == "" {
			continue
		}
		key, err := ParseEncodingAESKey(k.v)
		if err != nil {
			return nil, fmt.Errorf("push config: %s: %w", k.name, err)
		}
		p.keys = append(p.keys, key)
	}
	if c.EncodingAESKey == "" && c.PreviousEncodingAESKey != "" {
		return nil, errors.New("push config: previous_encoding_aes_key is set without encoding_aes_key")
	}
	if len(p.keys) > 0 && c.AppID == "" {
		return nil, errors.New("push config: appid is required with an encoding_aes_key (safe mode checks it)")
	}
	if c.RequireEncryption && len(p.keys) == 0 {
		return nil, errors.New("push config: encryption is required but encoding_aes_key is empty")
	}
	return p, nil
}

// Push is one verified, decoded push.
type Push struct {
	Event Event
	Mode  Mode
	// Previous reports that the previous token or AES key verified it: the
	// rotation is not finished on WeChat's side yet.
	Previous bool
	// Timestamp and Nonce are the push's query values. The signature covers
	// them, so a receiver that refuses a pair it has seen with another body
	// stops a captured URL from carrying invented events (see the hub).
	Timestamp int64
	Nonce     string
}

// checkTimestamp refuses a missing or out-of-window timestamp.
func (p *PushCodec) checkTimestamp(q url.Values) error {
	ts := q.Get("timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not a unix time", ErrPushStale, clip(ts))
	}
	d := p.now().Sub(time.Unix(sec, 0))
	if d > p.window || d < -p.window {
		return fmt.Errorf("%w: %s off (window %s)", ErrPushStale, d.Round(time.Second), p.window)
	}
	return nil
}

// unixOf reads a timestamp checkTimestamp accepted.
func unixOf(ts string) int64 {
	v, _ := strconv.ParseInt(ts, 10, 64)
	return v
}

// checkSignature returns the index of the token that signs the parts.
func (p *PushCodec) checkSignature(sig, ts, nonce string, encrypt ...string) (int, error) {
	if sig == "" {
		return 0, fmt.Errorf("%w: no signature in the query", ErrPushSignature)
	}
	for i, tok := range p.tokens {
		if signatureEqual(sig, Signature(tok, ts, nonce, encrypt...)) {
			return i, nil
		}
	}
	return 0, ErrPushSignature
}

// VerifyURL answers WeChat's URL check (GET with signature, timestamp,
// nonce, echostr): it returns echostr when the signature is right.
func (p *PushCodec) VerifyURL(r *http.Request) (string, error) {
	if r.Method != http.MethodGet {
		return "", ErrPushMethod
	}
	q := r.URL.Query()
	echo := q.Get("echostr")
	if echo == "" {
		return "", fmt.Errorf("%w: URL check without echostr", ErrPushMalformed)
	}
	if err := p.checkTimestamp(q); err != nil {
		return "", err
	}
	if _, err := p.checkSignature(q.Get("signature"), q.Get("timestamp"), q.Get("nonce")); err != nil {
		return "", err
	}
	return echo, nil
}

// readBody reads at most maxBody bytes.
func (p *PushCodec) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > p.maxBody {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrPushTooLarge, r.ContentLength, p.maxBody)
	}
	if r.Body == nil {
		return nil, fmt.Errorf("%w: empty body", ErrPushMalformed)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, p.maxBody+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: over %d bytes", ErrPushTooLarge, mbe.Limit)
		}
		return nil, fmt.Errorf("%w: reading body: %v", ErrPushMalformed, err)
	}
	if int64(len(b)) > p.maxBody {
		return nil, fmt.Errorf("%w: over %d bytes", ErrPushTooLarge, p.maxBody)
	}
	return b, nil
}

// Open verifies and decodes a push POST in any of the three modes. It
// reads at most MaxBody bytes of r.Body. Errors wrap one of the ErrPush
// values (see PushStatus) and never contain secrets.
func (p *PushCodec) Open(r *http.Request) (*Push, error) {
	if r.Method != http.MethodPost {
		return nil, ErrPushMethod
	}
	q := r.URL.Query()
	if err := p.checkTimestamp(q); err != nil {
		return nil, err
	}
	body, err := p.readBody(r)
	if err != nil {
		return nil, err
	}
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if q.Get("encrypt_type") == "aes" || q.Get("msg_signature") != "" {
		return p.openEncrypted(q, ts, nonce, body)
	}
	if p.reqEnc {
		return nil, ErrPushNotEncrypted
	}
	ti, err := p.checkSignature(q.Get("signature"), ts, nonce)
	if err != nil {
		return nil, err
	}
	ev, err := ParseEvent(body)
	if err != nil {
		return nil, err
	}
	return &Push{Event: ev, Mode: ModePlain, Previous: ti > 0, Timestamp: unixOf(ts), Nonce: nonce}, nil
}

func (p *PushCodec) openEncrypted(q url.Values, ts, nonce string, body []byte) (*Push, error) {
	outer, err := decodeDoc(body)
	if err != nil {
		return nil, err
	}
	enc, ok := outer.field("Encrypt")
	if !ok || enc == "" {
		return nil, fmt.Errorf("%w: encrypted push without <Encrypt>", ErrPushMalformed)
	}
	ti, err := p.checkSignature(q.Get("msg_signature"), ts, nonce, enc)
	if err != nil {
		return nil, err
	}
	if len(p.keys) == 0 {
		return nil, fmt.Errorf("%w: encrypted push but no encoding_aes_key is configured", ErrPushMalformed)
	}
	msg, ki, err := p.decrypt(enc)
	if err != nil {
		return nil, err
	}
	ev, err := ParseEvent(msg)
	if err != nil {
		return nil, err
	}
	mode := ModeSafe
	for _, e := range outer.Elems {
		if n := e.XMLName.Local; n != "ToUserName" && n != "Encrypt" {
			mode = ModeCompatible
			break
		}
	}
	return &Push{Event: ev, Mode: mode, Previous: ti > 0 || ki > 0, Timestamp: unixOf(ts), Nonce: nonce}, nil
}

// decrypt tries the current key, then the previous one, and checks the
// AppID.
func (p *PushCodec) decrypt(enc string) (msg []byte, keyIndex int, err error) {
	wrongApp := false
	for i, k := range p.keys {
		m, app, err := DecryptMessage(k, enc)
		if err != nil {
			continue
		}
		if app != p.appID {
			wrongApp = true
			continue
		}
		return m, i, nil
	}
	if wrongApp {
		return nil, 0, ErrPushAppID
	}
	return nil, 0, fmt.Errorf("%w: %v", ErrPushMalformed, errDecrypt)
}

// Seal builds a push of msg (a plaintext event XML) as WeChat would send it
// in mode, signed with the current token and key and stamped with Now: the
// query to append to the receiver's URL and the body. For tests, the fake
// WeChat and benchmarks.
func (p *PushCodec) Seal(mode Mode, msg []byte) (url.Values, []byte, error) {
	var nb [8]byte
	if _, err := io.ReadFull(p.random, nb[:]); err != nil {
		return nil, nil, fmt.Errorf("seal push: %w", err)
	}
	ts := strconv.FormatInt(p.now().Unix(), 10)
	nonce := hex.EncodeToString(nb[:])
	tok := p.tokens[0]
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(tok, ts, nonce)}}
	if mode == ModePlain {
		return q, msg, nil
	}
	if len(p.keys) == 0 {
		return nil, nil, fmt.Errorf("seal push: %s mode needs an encoding_aes_key", mode)
	}
	enc, err := EncryptMessage(p.keys[0], p.appID, msg, p.random)
	if err != nil {
		return nil, nil, fmt.Errorf("seal push: %w", err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", Signature(tok, ts, nonce, enc))
	encElem := "<Encrypt><![CDATA[" + enc + "]]></Encrypt>"
	var body []byte
	switch mode {
	case ModeSafe:
		to := ""
		if doc, err := decodeDoc(msg); err == nil {
			to, _ = doc.field("ToUserName")
		}
		body = []byte("<xml><ToUserName><![CDATA[" + to + "]]></ToUserName>" + encElem + "</xml>")
	case ModeCompatible:
		i := bytes.LastIndex(msg, []byte("</xml>"))
		if i < 0 {
			return nil, nil, errors.New("seal push: compatible mode needs a message ending in </xml>")
		}
		body = append(append(bytes.Clone(msg[:i]), encElem...), msg[i:]...)
	default:
		return nil, nil, fmt.Errorf("seal push: unknown mode %d", int(mode))
	}
	return q, body, nil
}

// NewPushRequest is Seal as a POST to target (the receiver's URL).
func (p *PushCodec) NewPushRequest(ctx context.Context, target string, mode Mode, msg []byte) (*http.Request, error) {
	q, body, err := p.Seal(mode, msg)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("push request: %w", err)
	}
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	return req, nil
}

// Handler serves the push URL: the URL check on GET, and on POST Open then
// deliver, answering "success" only after deliver returned nil (so a
// receiver that stores the event in deliver makes it durable before the
// answer). Bad requests get PushStatus's status and one log line at warn
// level with the remote address and the reason, never a secret; a deliver
// error is answered 500 so that WeChat retries. logger may be nil.
func (p *PushCodec) Handler(deliver func(context.Context, *Push) error, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	plain := &onceEach{seen: map[string]bool{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) {
			st := PushStatus(err)
			lvl := slog.LevelWarn
			if st >= 500 {
				lvl = slog.LevelError
			}
			if errors.Is(err, ErrPushNotEncrypted) {
				if plain.first(remoteHost(r.RemoteAddr)) {
					logger.Warn("plaintext push refused: this receiver has an encoding_aes_key and takes only encrypted pushes (msg_signature over Encrypt). "+
						"If WeChat sent it, set the message encryption of the server configuration in the WeChat admin console to safe mode; "+
						"if not, someone is posting invented events with a captured push URL. Logged once per source.",
						"remote", r.RemoteAddr, "status", st)
				} else {
					logger.Debug("push refused", "remote", r.RemoteAddr, "status", st, "err", err)
				}
				http.Error(w, strings.ToLower(http.StatusText(st)), st)
				return
			}
			logger.Log(r.Context(), lvl, "push refused", "remote", r.RemoteAddr, "method", r.Method, "status", st, "err", err)
			if st == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", "GET, POST")
			}
			http.Error(w, strings.ToLower(http.StatusText(st)), st)
		}
		switch r.Method {
		case http.MethodGet:
			echo, err := p.VerifyURL(r)
			if err != nil {
				fail(err)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, echo)
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, p.maxBody)
			push, err := p.Open(r)
			if err == nil {
				err = deliver(r.Context(), push)
			}
			if err != nil {
				fail(err)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "success")
		default:
			fail(ErrPushMethod)
		}
	})
}

// onceEach remembers which sources were already logged (at most
// onceEachMax; past that it starts over, so a flood cannot grow it).
type onceEach struct {
	mu   sync.Mutex
	seen map[string]bool
}

const onceEachMax = 4096

func (o *onceEach) first(k string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[k] {
		return false
	}
	if len(o.seen) >= onceEachMax {
		clear(o.seen)
	}
	o.seen[k] = true
	return true
}

// remoteHost is the address of a RemoteAddr without its port.
func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
