// Package wechat talks to WeChat for cardtill.
//
// It owns two things:
//
//   - The card API client (Client): card/code/get, card/code/consume,
//     card/code/decrypt and card/get, and Ping (is WeChat reachable and a
//     token to be had, asking card/get without a token: no code, no
//     quota), with access tokens from a TokenSource
//     (stable_token with an AppSecret, the central hub, or a fixed token),
//     typed errors (APIError with a Class, ErrOutcomeUnknown for network
//     failures, timeouts, HTTP 5xx and non-JSON answers, HubError for the
//     hub's token service refusing the terminal key or having no token) and
//     redaction of the access token from every error and log line.
//   - The event-push codec (PushCodec, ParseEvent; push*.go, crypto*.go,
//     event*.go): verifying, decrypting and parsing the XML events WeChat
//     POSTs to a merchant URL.
//
// It must never retry a consume (a consume has no idempotency key: the
// caller resolves an unknown outcome by querying), never disable TLS
// verification, and never put an access token, AppSecret or terminal key
// into an error, a log line or anything else that leaves the process other
// than the request to WeChat or the hub itself. It keeps no package-level
// mutable state.
package wechat
