package wechat

import (
	"errors"
	"net/http"
)

// Errors of the event-push codec. Each is returned wrapped with detail that
// never contains a token, key, signature or plaintext; PushStatus maps them
// to the HTTP status the receiver answers.
var (
	// ErrPushSignature: signature or msg_signature is missing or does not
	// match the current (or previous) Token. Answered 403.
	ErrPushSignature = errors.New("push signature does not match the configured token")
	// ErrPushAppID: the AppID inside the ciphertext is not ours. Answered 403.
	ErrPushAppID = errors.New("push was encrypted for another AppID")
	// ErrPushStale: the timestamp is missing or outside the accepted window
	// (a replay, or a clock far off). Answered 403.
	ErrPushStale = errors.New("push timestamp is outside the accepted window")
	// ErrPushMalformed: the body is not a WeChat push (bad XML, missing
	// fields, undecryptable Encrypt). Answered 400.
	ErrPushMalformed = errors.New("malformed push")
	// ErrPushTooLarge: the body is over the configured cap. Answered 413.
	ErrPushTooLarge = errors.New("push body is too large")
	// ErrPushMethod: neither GET (URL check) nor POST. Answered 405.
	ErrPushMethod = errors.New("push must be GET (URL check) or POST")
	// ErrPushNotEncrypted: a plaintext push while encryption is required.
	// Answered 403.
	ErrPushNotEncrypted = errors.New("push is not encrypted but safe mode is required")
)

// PushStatus is the HTTP status for an error of PushCodec.Open or
// VerifyURL: 400, 403, 405 or 413, and 500 for anything else (a storage
// failure, say, so that WeChat retries).
func PushStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrPushSignature), errors.Is(err, ErrPushAppID),
		errors.Is(err, ErrPushStale), errors.Is(err, ErrPushNotEncrypted):
		return http.StatusForbidden
	case errors.Is(err, ErrPushMalformed):
		return http.StatusBadRequest
	case errors.Is(err, ErrPushTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrPushMethod):
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}
