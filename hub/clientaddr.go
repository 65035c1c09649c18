package hub

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// peerKey keys the direct peer's address in a request's context when the
// request came through a trusted proxy.
type peerKey struct{}

// ProxyPeer returns the address of the trusted reverse proxy that passed r
// on, when Server took the client's address from its headers; ok is false
// when r.RemoteAddr is the direct peer.
func ProxyPeer(r *http.Request) (peer string, ok bool) {
	peer, ok = r.Context().Value(peerKey{}).(string)
	return peer, ok
}

// clientAddr finds the client's address of a request whose direct peer is
// peer, given the trusted proxies. Only when peer is one of them are the
// headers read:
//
//   - X-Forwarded-For (all its lines, as one list) from the right, skipping
//     trusted hops: the first untrusted hop is the client, and entries to
//     its left are not read (anyone can write them). When every hop is
//     trusted, the leftmost is the client. A malformed entry met on the way
//     spoils the header: it is not used, and the peer stays the client.
//   - X-Real-IP only when there is no X-Forwarded-For at all (a proxy that
//     sends it must set it, not pass on the client's).
//
// ok reports whether the address came from a header.
func clientAddr(trusted []netip.Prefix, peer string, h http.Header) (client netip.Addr, ok bool) {
	if len(trusted) == 0 {
		return netip.Addr{}, false
	}
	p, good := parseHop(peer)
	if !good || !isTrusted(trusted, p) {
		return netip.Addr{}, false
	}
	xff := h.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return parseHop(strings.TrimSpace(h.Get("X-Real-IP")))
	}
	var hops []string
	for _, v := range xff {
		for hop := range strings.SplitSeq(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	var leftmost netip.Addr
	for _, hop := range slices.Backward(hops) {
		a, good := parseHop(hop)
		if !good {
			return netip.Addr{}, false
		}
		if !isTrusted(trusted, a) {
			return a, true
		}
		leftmost = a
	}
	return leftmost, leftmost.IsValid()
}

// parseHop reads an address as proxies write it: "203.0.113.7",
// "2001:db8::1", or with a port ("203.0.113.7:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// withClientAddr sets r.RemoteAddr to the client's address (see
// clientAddr; the IP alone, as the port the client used is not known) for
// everything behind it — handlers' logs among them — and keeps the proxy's
// address for ProxyPeer.
func withClientAddr(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := clientAddr(trusted, r.RemoteAddr, r.Header); ok {
			peer := r.RemoteAddr
			r = r.WithContext(context.WithValue(r.Context(), peerKey{}, peer))
			r.RemoteAddr = c.String()
		}
		next.ServeHTTP(w, r)
	})
}
