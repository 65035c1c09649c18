package wechat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TokenSource supplies access tokens. Implementations are safe for
// concurrent use.
type TokenSource interface {
	// Token returns a valid access token, fetching one if needed.
	Token(ctx context.Context) (string, error)
	// Invalidate tells the source that WeChat refused bad. The source drops
	// it only if it is still the cached token, so that many callers failing
	// on the same old token cause a single refresh.
	Invalidate(bad string)
}

// ExpiringTokenSource is a TokenSource that also says when the token it
// returns expires. The stable-token and hub sources are: the hub hands the
// expiry on to its tills as expires_in.
type ExpiringTokenSource interface {
	TokenSource
	// TokenExpiry is Token with the token's expiry.
	TokenExpiry(ctx context.Context) (string, time.Time, error)
}

// StaticToken is a fixed token, for tests and for a token managed outside
// cardtill. Invalidate does nothing.
func StaticToken(tok string) TokenSource { return staticToken(tok) }

type staticToken string

func (s staticToken) Token(context.Context) (string, error) {
	if s == "" {
		return "", &APIError{Op: "token", Code: CodeTokenMissing, Msg: ErrNoStaticToken.Error(), Err: ErrNoStaticToken}
	}
	return string(s), nil
}
func (staticToken) Invalidate(string) {}

// fetchTimeout bounds one token fetch; it is detached from any one caller's
// context because several callers share it.
const fetchTimeout = 15 * time.Second

// fetchFunc gets a fresh token and its lifetime. rejected is the token
// WeChat last refused (dropped by Invalidate), "" if none since the last
// successful fetch.
type fetchFunc func(ctx context.Context, rejected string) (tok string, ttl time.Duration, err error)

// cachedSource caches a token, refreshes it a little before it expires, and
// lets concurrent callers share one fetch.
type cachedSource struct {
	fetch fetchFunc
	now   func() time.Time
	log   *slog.Logger

	mu       sync.Mutex
	tok      string
	expires  time.Time // when tok stops being valid
	refresh  time.Time // when to fetch a new one (early)
	rejected string    // the token Invalidate dropped, until the next fetch succeeds
	inflight *fetchCall

	refreshFirst bool // see StableTokenOptions.RefreshFirst
}

type fetchCall struct {
	done    chan struct{}
	tok     string
	expires time.Time
	err     error
}

func newCached(fetch fetchFunc, now func() time.Time, log *slog.Logger) *cachedSource {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &cachedSource{fetch: fetch, now: now, log: log}
}

// lastUse is how long before its expiry a token is no longer handed out
// while its refresh runs: a call made with it must still find it valid.
const lastUse = 30 * time.Second

// earlyRefresh is how long before expiry a token is refreshed: 5 minutes,
// or a fifth of its lifetime when that is shorter.
func earlyRefresh(ttl time.Duration) time.Duration {
	return min(5*time.Minute, ttl/5)
}

func (s *cachedSource) Token(ctx context.Context) (string, error) {
	tok, _, err := s.TokenExpiry(ctx)
	return tok, err
}

func (s *cachedSource) TokenExpiry(ctx context.Context) (string, time.Time, error) {
	s.mu.Lock()
	now := s.now()
	if s.tok != "" && now.Before(s.refresh) {
		tok, exp := s.tok, s.expires
		s.mu.Unlock()
		return tok, exp, nil
	}
	// Stale or missing: join the fetch in flight or start one.
	call := s.inflight
	if call == nil {
		call = &fetchCall{done: make(chan struct{})}
		s.inflight = call
		go s.run(call, context.WithoutCancel(ctx), s.rejected)
	}
	// A token that is due for refresh but not expired is still usable if
	// the refresh fails.
	old, oldExp, oldValid := s.tok, s.expires, s.tok != "" && now.Before(s.expires)
	s.mu.Unlock()
	if oldValid && now.Before(oldExp.Add(-lastUse)) && !s.refreshFirst {
		// In its last minutes but valid: the call goes out with it and the
		// refresh runs beside it, so a slow token service never spends a
		// caller's deadline (a cashier's scan).
		return old, oldExp, nil
	}

	select {
	case <-call.done:
	case <-ctx.Done():
		return "", time.Time{}, ctx.Err()
	}
	if call.err != nil {
		if oldValid {
			s.log.Warn("access token refresh failed; using the current token until it expires", "err", call.err)
			return old, oldExp, nil
		}
		return "", time.Time{}, call.err
	}
	return call.tok, call.expires, nil
}

func (s *cachedSource) run(call *fetchCall, ctx context.Context, rejected string) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	tok, ttl, err := s.fetch(ctx, rejected)
	s.mu.Lock()
	if err == nil {
		if s.rejected == rejected {
			s.rejected = ""
		}
		now := s.now()
		s.tok, s.expires, s.refresh = tok, now.Add(ttl), now.Add(ttl-earlyRefresh(ttl))
		call.expires = s.expires
	}
	s.inflight = nil
	call.tok, call.err = tok, err
	s.mu.Unlock()
	close(call.done)
}

func (s *cachedSource) Invalidate(bad string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if bad != "" && s.tok == bad {
		s.tok, s.rejected = "", bad
	}
}

// StableTokenOptions configure NewStableTokenSource.
type StableTokenOptions struct {
	BaseURL    string // default DefaultBaseURL
	AppID      string
	Secret     string // the AppSecret; never logged or put in an error
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time // default time.Now
	// RefreshFirst makes a call wait for the early refresh of a token in
	// its last minutes instead of going out with it while the refresh
	// runs beside it (a failed refresh still falls back to the valid
	// token). Every request a call causes is then made before it returns,
	// which a stepped, replayable world needs (package sim); a till keeps
	// the default so a slow token service never spends a cashier's scan.
	RefreshFirst bool
}

// NewStableTokenSource gets tokens from POST cgi-bin/stable_token (normal
// mode, force_refresh false), which does not invalidate the token other
// tills on the same AppID hold.
func NewStableTokenSource(o StableTokenOptions) ExpiringTokenSource {
	base, baseErr := checkBase(o.BaseURL, DefaultBaseURL)
	hc, hcErr := httpClient(o.HTTPClient)
	fetch := func(ctx context.Context, _ string) (string, time.Duration, error) {
		const op = "cgi-bin/stable_token"
		switch {
		case baseErr != nil:
			return "", 0, baseErr
		case hcErr != nil:
			return "", 0, hcErr
		case o.AppID == "" || o.Secret == "":
			return "", 0, &APIError{Op: op, Code: CodeInvalidAppSecret, Msg: ErrNoCredentials.Error(), Err: ErrNoCredentials}
		}
		body, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": o.AppID, "secret": o.Secret, "force_refresh": false})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+op, bytes.NewReader(body))
		if err != nil {
			return "", 0, unknown(op, err)
		}
		req.Header.Set("Content-Type", "application/json")
		return doToken(hc, req, op, o.Secret, false)
	}
	c := newCached(fetch, o.Now, o.Logger)
	c.refreshFirst = o.RefreshFirst
	return c
}

// OpHubToken is the Op of an UnknownError (and the prefix of a HubError's
// text) for a failed request to the hub's token service.
const OpHubToken = "hub v1/token"

// HubTokenOptions configure NewHubTokenSource.
type HubTokenOptions struct {
	URL         string // the hub's base URL; the token is at <URL>/v1/token
	TerminalKey string // sent as Authorization: Bearer; never logged
	HTTPClient  *http.Client
	Logger      *slog.Logger
	Now         func() time.Time
}

// HeaderRejectedToken is sent with GET <hub>/v1/token after WeChat refused
// the token the hub handed out (40001, 42001, ...): TokenHash of that
// token, so the hub can drop it and ask WeChat again instead of handing the
// same refused token to every till until it expires.
const HeaderRejectedToken = "X-Cardtill-Rejected-Token"

// TokenHash identifies an access token without revealing it: the first 16
// bytes of its SHA-256, in hex.
func TokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:16])
}

// NewHubTokenSource gets tokens from the central hub: GET <hub>/v1/token
// with Authorization: Bearer <terminal key>, answering
// {"access_token":"...","expires_in":7200}. The store PC needs no AppSecret.
// Any other status is a *HubError: Refused (401, 403) for a terminal key the
// hub does not accept, otherwise an outage matching ErrOutcomeUnknown.
// After Invalidate dropped the token, the next request names it
// (HeaderRejectedToken).
func NewHubTokenSource(o HubTokenOptions) ExpiringTokenSource {
	base, baseErr := checkBase(o.URL, "https://hub.example.com")
	hc, hcErr := httpClient(o.HTTPClient)
	fetch := func(ctx context.Context, rejected string) (string, time.Duration, error) {
		const op = OpHubToken
		switch {
		case baseErr != nil:
			return "", 0, fmt.Errorf("%w: %w", ErrBadHubURL, baseErr)
		case hcErr != nil:
			return "", 0, hcErr
		case o.TerminalKey == "":
			return "", 0, &APIError{Op: op, Code: CodeTokenMissing, Msg: ErrNoTerminalKey.Error(), Err: ErrNoTerminalKey}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/token", nil)
		if err != nil {
			return "", 0, unknown(op, err)
		}
		req.Header.Set("Authorization", "Bearer "+o.TerminalKey)
		if rejected != "" {
			req.Header.Set(HeaderRejectedToken, TokenHash(rejected))
		}
		return doToken(hc, req, op, o.TerminalKey, true)
	}
	return newCached(fetch, o.Now, o.Logger)
}

// doToken performs a token request and decodes {"access_token","expires_in"}
// or an errcode. secret is scrubbed from any error text. fromHub says req
// goes to the hub's token service: any status but 200 is then a *HubError.
func doToken(hc *http.Client, req *http.Request, op, secret string, fromHub bool) (string, time.Duration, error) {
	res, err := hc.Do(req)
	if err != nil {
		return "", 0, unknown(op, scrub(err, secret))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return "", 0, unknown(op, scrub(err, secret))
	}
	switch {
	case fromHub && res.StatusCode != http.StatusOK:
		return "", 0, hubError(res.StatusCode, data, secret)
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return "", 0, &APIError{Op: op, Code: CodeInvalidAppSecret, Msg: fmt.Sprintf("HTTP %d: the credential was refused; check the secret or terminal key", res.StatusCode)}
	case res.StatusCode != http.StatusOK:
		return "", 0, unknown(op, fmt.Errorf("HTTP %s", res.Status))
	}
	var r struct {
		status
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return "", 0, unknown(op, fmt.Errorf("answer is not JSON (%d bytes): %w", len(data), err))
	}
	if r.ErrCode != 0 {
		return "", 0, &APIError{Op: op, Code: r.ErrCode, Msg: strings.ReplaceAll(r.ErrMsg, secret, "REDACTED")}
	}
	if r.AccessToken == "" || r.ExpiresIn <= 0 {
		return "", 0, unknown(op, errors.New("answer has no access_token or expires_in"))
	}
	return r.AccessToken, time.Duration(r.ExpiresIn) * time.Second, nil
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// scrub hides secret in err's text while keeping err in the chain (for
// errors.Is(err, context.DeadlineExceeded)).
func scrub(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return redactErr(err)
	}
	return &scrubbed{msg: strings.ReplaceAll(redactErr(err).Error(), secret, "REDACTED"), err: err}
}
