package hub

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"cardtill/wechat"
)

// TokenSource is what the token service needs: a fresh access token and
// when it expires. cmd/cardtill adapts wechat's stable-token source to it.
type TokenSource interface {
	Token(ctx context.Context) (token string, expires time.Time, err error)
}

// TokenInvalidator is implemented by a TokenSource that can drop its token
// when a till reports that WeChat refused it (wechat.HeaderRejectedToken),
// so that the next Token asks WeChat again.
type TokenInvalidator interface {
	// Invalidate drops bad if it is still the current token.
	Invalidate(bad string)
}

// failMemory is how long a failed token fetch is remembered: meanwhile
// tills asking get 502 at once, so a WeChat outage does not turn every
// till's request into a call to WeChat.
const failMemory = 5 * time.Second

// rejectEvery bounds how often tills' reports of a refused token make the
// hub ask WeChat again.
const rejectEvery = 10 * time.Second

// Paths served by Server.Handler.
const (
	PathPush    = "/wechat"           // the URL to enter in the WeChat admin console
	PathToken   = "/v1/token"         // GET, terminal key: {"access_token":..,"expires_in":..}
	PathChanges = "/v1/codes/changes" // GET ?since=CURSOR&limit=N, terminal key: ChangesPage
	PathHealth  = "/healthz"          // GET: "ok"
	maxPageSize = 1000                // items per feed page, at most
	defPageSize = 500                 // items per feed page by default
	tokenWait   = 10 * time.Second    // bound on one token fetch for a till
)

// Options configures a Server.
type Options struct {
	// Push verifies and decodes WeChat's pushes. Required.
	Push *wechat.PushCodec
	// Store is where the hub keeps everything (BoltStore or PGStore).
	// Required.
	Store Store
	// Tokens feeds GET /v1/token; nil answers 503 there (no secret given).
	Tokens TokenSource
	// Logger gets one line per refused request, never a secret (discarded
	// when nil).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// PageSize is the default number of feed items per page (500 when 0,
	// at most 1000).
	PageSize int
	// TrustedProxies are the reverse proxies (hub.trusted_proxies) whose
	// X-Forwarded-For / X-Real-IP headers name the client: only a request
	// whose direct peer is in one of these prefixes has its client address
	// taken from them (for logs and anything else that uses
	// http.Request.RemoteAddr). Empty trusts no one: the peer is the client.
	TrustedProxies []netip.Prefix
	// Dashboard, when set, is served under PathDashboard (package
	// hub/dashboard); nil serves nothing there.
	Dashboard http.Handler
}

// Server is the hub's HTTP side.
type Server struct {
	push   *wechat.PushCodec
	store  Store
	fleet  FleetStore // store's fleet side (nil: a store without one)
	tokens TokenSource
	log    *slog.Logger
	now    func() time.Time
	page   int
	proxy  []netip.Prefix
	dash   http.Handler

	tokMu      stdsync.Mutex
	handed     string    // the token last handed out
	lastReject time.Time // when a till's report last dropped it
	failedAt   time.Time // when fetching a token last failed (zero: it works)

	authMu    stdsync.Mutex
	authCache map[[32]byte]authEntry // sha256(key) -> terminal, recently authenticated
	authDown  bool                   // the store failed the last authentication
}

// authEntry is a terminal the store recently confirmed.
type authEntry struct {
	name string
	at   time.Time
}

// authCacheFor is how long a terminal confirmed by the store is still let
// in when the store cannot be read (the database is down): tills keep
// getting the token the hub holds. A key revoked meanwhile takes effect
// once the store answers again.
const authCacheFor = 15 * time.Minute

// authenticate asks the store and, when the store cannot answer, the
// recently confirmed terminals.
func (s *Server) authenticate(key string) (string, bool) {
	name, ok, err := s.store.Authenticate(key)
	sum := sha256.Sum256([]byte(key))
	now := s.now()
	s.authMu.Lock()
	defer s.authMu.Unlock()
	if err == nil {
		if s.authDown {
			s.authDown = false
			s.log.Info("terminal keys: the store answers again")
		}
		if ok {
			if s.authCache == nil || len(s.authCache) > 100000 {
				s.authCache = map[[32]byte]authEntry{}
			}
			s.authCache[sum] = authEntry{name, now}
		} else {
			delete(s.authCache, sum)
		}
		return name, ok
	}
	if !s.authDown {
		s.authDown = true
		s.log.Error("terminal keys: the store cannot be read; terminals confirmed in the last "+authCacheFor.String()+" are still let in", "err", err)
	}
	e, hit := s.authCache[sum]
	if hit && now.Sub(e.at) < authCacheFor {
		return e.name, true
	}
	return "", false
}

// NewServer checks o and returns a Server.
func NewServer(o Options) (*Server, error) {
	if o.Push == nil || o.Store == nil {
		return nil, errors.New("hub: Options.Push and Options.Store are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PageSize <= 0 || o.PageSize > maxPageSize {
		o.PageSize = defPageSize
	}
	proxy := make([]netip.Prefix, 0, len(o.TrustedProxies))
	for _, p := range o.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("hub: Options.TrustedProxies: %v is not a valid prefix", p)
		}
		proxy = append(proxy, p.Masked())
	}
	fleet, _ := o.Store.(FleetStore)
	return &Server{push: o.Push, store: o.Store, fleet: fleet, tokens: o.Tokens, log: o.Logger, now: o.Now, page: o.PageSize, proxy: proxy, dash: o.Dashboard}, nil
}

// Handler routes the push URL, the token service, the feed and /healthz.
// Behind a trusted proxy (Options.TrustedProxies) every handler sees the
// client's address in RemoteAddr.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathPush, s.push.Handler(s.deliver, s.log))
	mux.HandleFunc(PathToken, s.authed(s.serveToken))
	mux.HandleFunc(PathChanges, s.authed(s.serveChanges))
	mux.HandleFunc(PathFleet, s.authedMethod(http.MethodPost, s.serveFleet))
	mux.HandleFunc(PathHealth, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	if s.dash != nil {
		mux.Handle(PathDashboard, s.dash)
	}
	return withClientAddr(s.proxy, mux)
}

// deliver stores a verified push; only then does the handler answer
// "success". A retry is answered "success" without a second copy.
func (s *Server) deliver(_ context.Context, p *wechat.Push) error {
	seq, dup, err := s.store.AddEvent(p)
	if err != nil {
		return err
	}
	h := p.Event.Head()
	if dup {
		s.log.Info("push retry ignored", "event", h.Event, "seq", seq)
		return nil
	}
	if p.Previous {
		s.log.Warn("push verified with the previous token or AES key: finish the key rotation in the WeChat admin console, then clear hub.previous_*", "seq", seq)
	}
	s.log.Debug("push stored", "event", h.Event, "mode", p.Mode.String(), "seq", seq)
	return nil
}

// authed checks the method (GET) and the terminal key.
func (s *Server) authed(next func(w http.ResponseWriter, r *http.Request, terminal string)) http.HandlerFunc {
	return s.authedMethod(http.MethodGet, next)
}

// authedMethod checks the method and the terminal key; next gets the
// terminal the key names, the only identity of the till.
func (s *Server) authedMethod(method string, next func(w http.ResponseWriter, r *http.Request, terminal string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			jsonError(w, http.StatusMethodNotAllowed, "use "+method)
			return
		}
		key, ok := bearer(r.Header.Get("Authorization"))
		name, good := "", false
		if ok {
			name, good = s.authenticate(strings.TrimSpace(key))
		}
		if !good {
			attrs := []any{"remote", r.RemoteAddr, "path", r.URL.Path, "reason", map[bool]string{true: "unknown or revoked key", false: "no bearer key"}[ok]}
			if via, proxied := ProxyPeer(r); proxied {
				attrs = append(attrs, "via", via)
			}
			s.log.Warn("terminal refused", attrs...)
			w.Header().Set("WWW-Authenticate", `Bearer realm="cardtill hub"`)
			jsonCodeError(w, http.StatusUnauthorized, wechat.HubCodeTerminalRefused, "unknown or revoked terminal key: issue one with 'cardtill hub terminal add NAME'")
			return
		}
		next(w, r, name)
	}
}

// bearer takes the credentials of an Authorization header in the Bearer
// scheme, whose name is case-insensitive (RFC 7235 section 2.1).
func bearer(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return cred, true
}

// TokenResponse is the answer of GET /v1/token (WeChat's own shape).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"` // seconds from now
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, terminal string) {
	if s.tokens == nil {
		jsonCodeError(w, http.StatusServiceUnavailable, wechat.HubCodeNoSecret, "this hub has no AppSecret (hub.secret_file): it cannot hand out tokens")
		return
	}
	if h := r.Header.Get(wechat.HeaderRejectedToken); h != "" {
		s.tokenRejected(h, terminal)
	}
	s.tokMu.Lock()
	failing := !s.failedAt.IsZero() && s.now().Sub(s.failedAt) < failMemory
	s.tokMu.Unlock()
	if failing {
		s.log.Debug("token for terminal: WeChat failed moments ago, not asking again yet", "terminal", terminal)
		jsonCodeError(w, http.StatusBadGateway, wechat.HubCodeWeChatUnavailable, "the hub cannot get a token from WeChat now; try again later")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), tokenWait)
	defer cancel()
	tok, exp, err := s.tokens.Token(ctx)
	if err != nil {
		s.tokMu.Lock()
		if r.Context().Err() == nil { // not merely the till hanging up
			s.failedAt = s.now()
		}
		s.tokMu.Unlock()
		s.log.Error("token for terminal failed", "terminal", terminal, "err", err)
		jsonCodeError(w, http.StatusBadGateway, wechat.HubCodeWeChatUnavailable, "the hub cannot get a token from WeChat now; try again later")
		return
	}
	s.tokMu.Lock()
	s.handed, s.failedAt = tok, time.Time{}
	s.tokMu.Unlock()
	in := int64(exp.Sub(s.now()) / time.Second)
	if in < 0 {
		in = 0
	}
	s.log.Debug("token handed out", "terminal", terminal, "expires_in", in)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, TokenResponse{AccessToken: tok, ExpiresIn: in})
}

// tokenRejected handles a till's report that WeChat refused the token
// whose hash is h: if that is the token the hub hands out, it is dropped (at
// most once per rejectEvery) so WeChat is asked again. Reports of an older
// token are ignored: the hub already moved on.
func (s *Server) tokenRejected(h, terminal string) {
	inv, ok := s.tokens.(TokenInvalidator)
	if !ok {
		return
	}
	s.tokMu.Lock()
	bad, now := s.handed, s.now()
	drop := bad != "" && wechat.TokenHash(bad) == h && now.Sub(s.lastReject) >= rejectEvery
	if drop {
		s.lastReject = now
	}
	s.tokMu.Unlock()
	if !drop {
		s.log.Debug("refused-token report ignored (an older token, or just refreshed)", "terminal", terminal)
		return
	}
	s.log.Warn("a till reports WeChat refused the access token: asking WeChat again", "terminal", terminal)
	inv.Invalidate(bad)
}

func (s *Server) serveChanges(w http.ResponseWriter, r *http.Request, terminal string) {
	q := r.URL.Query()
	limit := s.page
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageSize {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("limit must be 1 to %d", maxPageSize))
			return
		}
		limit = n
	}
	page, err := s.store.Changes(q.Get("since"), limit)
	if errors.Is(err, ErrBadCursor) {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.log.Error("feed", "terminal", terminal, "err", err)
		jsonError(w, http.StatusInternalServerError, "the hub cannot read its store")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, page)
}

// errorBody is every error answer: {"error": text for a person, "code": a
// wechat.HubCode* for the till, when there is one}. Tills before the code
// read the status alone; a till reads a plain-text body too (a proxy's).
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func jsonCodeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve answers on ln until ctx ends, then shuts down gracefully (letting
// pushes in flight finish storing). With certFile and keyFile it serves
// HTTPS; without, plain HTTP — only behind a reverse proxy that terminates
// TLS (see the package doc).
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	return s.serve(ctx, ln, s.Handler(), certFile, keyFile)
}

func (s *Server) serve(ctx context.Context, ln net.Listener, h http.Handler, certFile, keyFile string) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("hub: %w: %w", ErrTLS, err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("hub: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("hub: shutdown: %w", err)
	}
	<-errc
	return nil
}
