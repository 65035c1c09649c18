// Package hub is the HQ-side role of cardtill (`cardtill hub`), run on a
// server the merchant controls:
//
//   - the WeChat event-push receiver (plain, compatible and safe mode, via
//     wechat.PushCodec): every push is stored durably in the hub's own bbolt
//     file before `success` is answered (pushes arriving together share one
//     commit: Store.commit), WeChat's retries are stored once (across
//     restarts), and bad requests store nothing;
//   - the token service: the hub owns the AppSecret and hands the access
//     token to tills at GET /v1/token, authenticated per terminal key; a
//     till that reports WeChat refused that token (wechat.HeaderRejectedToken)
//     makes the hub drop it and ask WeChat again; a refusal carries a
//     wechat.HubCode* in its JSON body (terminal_refused 401, no_appsecret
//     503, wechat_unavailable 502) that tills read into a wechat.HubError;
//   - the code-status feed GET /v1/codes/changes: per-code statuses and
//     manager notices derived from the events, pulled by tills (Client).
//
// Safe by default: with an AES key only encrypted pushes are taken
// (wechat.PushConfig.RequireEncryption), a (timestamp, nonce) is taken with
// one event only (ErrReplayed), a retry is recognised by WeChat's dedup key
// and the event's hash (different events sharing the key are both kept),
// and a failed token fetch is remembered a few seconds (failMemory).
//
// The hub owns its Store (storeapi.go): the bbolt file (BoltStore, one hub
// process, pushes group-committed) or PostgreSQL (PGStore, several hub
// processes behind a load balancer on one database: constraints decide
// retries across hubs, the feed's (xid, id) cursor never skips a row
// committed late by another hub, faults are answered 500 and logged once)
// and nothing else: it never touches a
// till's journal, never logs a token, secret, AES key or terminal key, and
// does nothing slow (no network call) between receiving a push and
// answering it.
//
// TLS: Serve uses the configured certificate and key files when given.
// Without them it serves plain HTTP, which is meant only behind a reverse
// proxy (nginx, Caddy, a cloud load balancer) that terminates TLS: terminal
// keys and access tokens must never cross a network in the clear. WeChat
// pushes only to port 443 (https) or 80 (http), so the proxy, or the hub
// itself, listens there. Behind a proxy the direct peer is the proxy: with
// Options.TrustedProxies (hub.trusted_proxies) the client's address is
// taken from X-Forwarded-For (the rightmost hop that is not a trusted
// proxy) or X-Real-IP, and only when the peer is one of those proxies; the
// handlers then see it in RemoteAddr. The hub makes no per-client decision
// on that address today (no rate limit by address): it is for the logs.
package hub
