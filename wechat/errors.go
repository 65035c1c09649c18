package wechat

import (
	"errors"
	"fmt"
	"net/url"
)

// ErrOutcomeUnknown is matched (errors.Is) by every failure where WeChat gave
// no errcode: a network failure, a timeout or cancelled context, an HTTP
// status other than 200, or a body that is not WeChat's JSON. For a consume
// it means the write-off may or may not have been applied: resolve it with
// a query (GetCode with checkConsume false), never by consuming again.
var ErrOutcomeUnknown = errors.New("outcome unknown: no answer from WeChat")

// Class says how a caller should react to an APIError.
type Class int

const (
	// ClassToken: the access token was refused (40001, 40014, 42001, 41001)
	// even after one refresh and one retry, or no token could be obtained.
	ClassToken Class = iota + 1
	// ClassRetryable: WeChat is busy or a quota is hit (-1, 45009, 45011);
	// try again later with backoff. For a consume, resolve by query first.
	ClassRetryable
	// ClassRejected: WeChat said no for this code (unknown, consumed, wrong
	// state, outside its window...). Retrying will not help.
	ClassRejected
	// ClassConfig: a configuration or permission problem of the merchant
	// (card_id, API permission, IP whitelist, AppSecret), not the customer's
	// fault. Retrying will not help until the configuration is fixed.
	ClassConfig
)

func (c Class) String() string {
	switch c {
	case ClassToken:
		return "token"
	case ClassRetryable:
		return "retryable"
	case ClassRejected:
		return "rejected"
	case ClassConfig:
		return "config"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Errcodes WeChat answers that cardtill reacts to. The one place where an
// errcode is classified is classOf below.
const (
	CodeBusy               = -1    // system busy
	CodeInvalidToken       = 40001 // access token invalid (or secret wrong when fetching one)
	CodeInvalidAppSecret   = 40125 // invalid appsecret (token fetch)
	CodeInvalidAppID       = 40013 // invalid appid (token fetch)
	CodeTokenNotLatest     = 40014 // access token not the latest
	CodeTokenExpired       = 42001 // access token expired
	CodeTokenMissing       = 41001 // access_token missing
	CodeInvalidSerial      = 40056 // invalid serial code: unknown code, or not this card_id
	CodeInvalidCardID      = 40073 // invalid card_id
	CodeEncryptCode        = 40075 // invalid encrypt code
	CodeCardStatus         = 40078 // invalid card status
	CodeCardTime           = 40079 // invalid time: not yet valid or outside its window
	CodeConsumed           = 40099 // this code has been consumed
	CodeInvalidCode        = 40116 // invalid code
	CodeUserCardStatus     = 40127 // invalid user-card status (deleted, gifted, expired, unavailable)
	CodeMarkedByOther      = 40146 // card may be marked by another user
	CodeConsumeTime        = 40147 // consume time restriction
	CodeIPNotWhitelisted   = 40164 // calling IP not in the whitelist
	CodeMissingCardID      = 41012 // missing card_id
	CodeNoCustomCode       = 43009 // no custom-code permission
	CodeDailyQuota         = 45009 // daily API quota reached
	CodeTooFrequent        = 45011 // API called too frequently
	CodeNoAPIPermission    = 45030 // no permission for this API
	CodeNoPermission       = 48001 // API unauthorised
	CodeForceRefreshLimits = 45033 // stable_token force_refresh limit (treated as retryable)
)

// classOf is the single classification of WeChat errcodes (the constants
// above, from WeChat's card API documentation; sync's settle table tests
// every class). An errcode not listed is ClassRejected: WeChat
// answered and refused, so the request was not applied.
func classOf(code int) Class {
	switch code {
	case CodeInvalidToken, CodeTokenNotLatest, CodeTokenExpired, CodeTokenMissing:
		// Servers mix these up; the client refreshes once and retries once.
		return ClassToken
	case CodeBusy, CodeDailyQuota, CodeTooFrequent, CodeForceRefreshLimits:
		// Busy or quota: later, slower.
		return ClassRetryable
	case CodeInvalidCardID, CodeMissingCardID, CodeNoCustomCode, CodeNoAPIPermission,
		CodeNoPermission, CodeIPNotWhitelisted, CodeInvalidAppSecret, CodeInvalidAppID:
		// The merchant's setup: card_id, permissions, whitelist, credentials.
		return ClassConfig
	default:
		// 40056, 40075, 40078, 40079, 40099, 40116, 40127, 40146, 40147 and
		// anything else WeChat refuses.
		return ClassRejected
	}
}

// APIError is an answer from WeChat with a non-zero errcode. It never
// carries an access token.
type APIError struct {
	Op   string // the API path, e.g. "card/code/consume"
	Code int    // errcode
	Msg  string // errmsg as WeChat sent it
	// Local: refused by this client before anything was sent (a code
	// longer than WeChat allows), with the errcode WeChat would answer.
	// It says nothing of whether WeChat can be reached.
	Local bool
	// Err is the local cause of an error made without asking WeChat
	// (ErrNoStaticToken, ErrNoCredentials, ErrNoTerminalKey), nil for
	// WeChat's answers.
	Err error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode %d (%s): %s", e.Op, e.Code, e.Class(), e.Msg)
}

// Unwrap is the local cause, if any.
func (e *APIError) Unwrap() error { return e.Err }

// The local causes of a token that cannot be had and of a client that
// cannot be built. They say what is missing; the config key to set is the
// command line's to name.
var (
	// ErrNoStaticToken: the static token source has an empty token.
	ErrNoStaticToken = errors.New("static token is empty")
	// ErrNoCredentials: the stable token source lacks the appid or the
	// AppSecret.
	ErrNoCredentials = errors.New("appid and AppSecret are required")
	// ErrNoTerminalKey: the hub token source has no terminal key.
	ErrNoTerminalKey = errors.New("no terminal key")
	// ErrBadHubURL: the hub token source's URL is not an http(s) URL.
	ErrBadHubURL = errors.New("bad hub URL")
	// ErrInsecureClient: the HTTP client given skips TLS verification,
	// which this package refuses: WeChat's certificate is always verified.
	ErrInsecureClient = errors.New("wechat: the HTTP client skips TLS verification; WeChat's certificate is always verified")
	// ErrNotWeChat: an HTTP 200 answer in JSON without errcode, someone
	// else's (a proxy, a captive portal, a wrong base URL). It is wrapped
	// in an *UnknownError: the outcome is unknown, never a success.
	ErrNotWeChat = errors.New("not WeChat's answer")
)

// Class classifies the errcode.
func (e *APIError) Class() Class { return classOf(e.Code) }

// Code returns the errcode of err when it is (or wraps) an *APIError, else 0.
func Code(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// ClassOf returns the Class of err when it is (or wraps) an *APIError, and
// false otherwise (ErrOutcomeUnknown or another failure).
func ClassOf(err error) (Class, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class(), true
	}
	return 0, false
}

// UnknownError is a failure without an errcode (see ErrOutcomeUnknown). Err
// has had every access token redacted.
type UnknownError struct {
	Op  string
	Err error
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("wechat %s: %s: %v", e.Op, ErrOutcomeUnknown.Error(), e.Err)
}

// Unwrap lets errors.Is match ErrOutcomeUnknown and the cause (for example
// context.DeadlineExceeded).
func (e *UnknownError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.Err} }

func unknown(op string, err error) error {
	return &UnknownError{Op: op, Err: redactErr(err)}
}

// redactErr removes query secrets from an error: a *url.Error (which prints
// the request URL, access_token included) is copied with its URL redacted.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cp := *ue
		cp.URL = redactURL(ue.URL)
		return &cp
	}
	return err
}

// redactURL replaces the values of access_token, secret and appsecret in a
// URL's query with "REDACTED".
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	q := u.Query()
	changed := false
	for _, k := range []string{"access_token", "secret", "appsecret"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	u.User = nil
	return u.String()
}
