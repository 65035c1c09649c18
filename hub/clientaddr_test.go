package hub

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParsePrefix("192.0.2.1/32")}
	const proxy = "10.1.2.3:50000"
	cases := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string // one entry per header line
		realIP  string
		want    string // "" = the peer is the client
	}{
		{name: "no trusted proxies: headers ignored", peer: proxy, xff: []string{"203.0.113.7"}, realIP: "203.0.113.8"},
		{name: "untrusted peer spoofs X-Forwarded-For", trusted: proxies, peer: "198.51.100.1:4000", xff: []string{"203.0.113.7"}},
		{name: "untrusted peer spoofs X-Real-IP", trusted: proxies, peer: "198.51.100.1:4000", realIP: "203.0.113.7"},
		{name: "trusted proxy, one hop", trusted: proxies, peer: proxy, xff: []string{"203.0.113.7"}, want: "203.0.113.7"},
		{name: "client-written hops left of the client are not read", trusted: proxies, peer: proxy, xff: []string{"1.1.1.1, 203.0.113.7"}, want: "203.0.113.7"},
		{name: "trusted hops skipped from the right", trusted: proxies, peer: proxy, xff: []string{"9.9.9.9, 203.0.113.7, 10.9.9.9, 192.0.2.1"}, want: "203.0.113.7"},
		{name: "several header lines are one list", trusted: proxies, peer: proxy, xff: []string{"9.9.9.9, 203.0.113.7", "10.9.9.9"}, want: "203.0.113.7"},
		{name: "every hop trusted: the leftmost", trusted: proxies, peer: proxy, xff: []string{"10.5.5.5, 10.6.6.6"}, want: "10.5.5.5"},
		{name: "hop with a port", trusted: proxies, peer: proxy, xff: []string{"203.0.113.7:4711"}, want: "203.0.113.7"},
		{name: "IPv6 hop and IPv6 proxy", trusted: proxies, peer: "[2001:db8:1::5]:443", xff: []string{"[2001:db8:99::7]:4711, 2001:db8:1::6"}, want: "2001:db8:99::7"},
		{name: "IPv4-mapped peer", trusted: proxies, peer: "[::ffff:10.1.2.3]:50000", xff: []string{"203.0.113.7"}, want: "203.0.113.7"},
		{name: "malformed hop: header not used", trusted: proxies, peer: proxy, xff: []string{"203.0.113.7, not-an-ip"}},
		{name: "empty hop: header not used", trusted: proxies, peer: proxy, xff: []string{"203.0.113.7,,10.9.9.9"}},
		{name: "malformed hop left of the client is never read", trusted: proxies, peer: proxy, xff: []string{"<script>, 203.0.113.7"}, want: "203.0.113.7"},
		{name: "malformed X-Forwarded-For does not fall back to X-Real-IP", trusted: proxies, peer: proxy, xff: []string{"garbage"}, realIP: "203.0.113.9"},
		{name: "X-Real-IP without X-Forwarded-For", trusted: proxies, peer: proxy, realIP: " 203.0.113.9 ", want: "203.0.113.9"},
		{name: "X-Real-IP ignored when X-Forwarded-For is there", trusted: proxies, peer: proxy, xff: []string{"203.0.113.7"}, realIP: "203.0.113.9", want: "203.0.113.7"},
		{name: "malformed X-Real-IP", trusted: proxies, peer: proxy, realIP: "203.0.113.999"},
		{name: "trusted proxy, no header", trusted: proxies, peer: proxy},
		{name: "unparseable peer", trusted: proxies, peer: "pipe", xff: []string{"203.0.113.7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range c.xff {
				h.Add("X-Forwarded-For", v)
			}
			if c.realIP != "" {
				h.Set("X-Real-IP", c.realIP)
			}
			got, ok := clientAddr(c.trusted, c.peer, h)
			if c.want == "" {
				if ok {
					t.Fatalf("client %s from the headers, want the peer", got)
				}
				return
			}
			if !ok || got.String() != c.want {
				t.Fatalf("client %v (%v), want %s", got, ok, c.want)
			}
		})
	}
}

// FuzzClientAddr: any header is either refused or gives a valid address,
// never a panic, and an untrusted peer's headers are never used.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:1", "203.0.113.7, 10.0.0.2", "")
	f.Add("10.0.0.1:1", "", "203.0.113.7")
	f.Add("198.51.100.1:1", "203.0.113.7", "203.0.113.8")
	f.Add("10.0.0.1:1", "[::1]:80,,x", "::ffff:1.2.3.4")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, peer, xff, real string) {
		h := http.Header{}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		if real != "" {
			h.Set("X-Real-IP", real)
		}
		a, ok := clientAddr(trusted, peer, h)
		if ok && !a.IsValid() {
			t.Fatalf("ok with an invalid address for %q %q %q", peer, xff, real)
		}
		if p, good := parseHop(peer); ok && (!good || !trusted[0].Contains(p)) {
			t.Fatalf("headers used for untrusted peer %q", peer)
		}
	})
}
