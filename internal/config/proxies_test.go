package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestConfigTrustedProxies(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "config.toml", "[hub]\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\", \"2001:db8::/32\", \"::1\", \"192.168.1.7/24\"]\n")
	cfg, err := Load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.168.1.0/24")}
	if got := Prefixes(cfg.Hub.TrustedProxies); !slices.Equal(got, want) {
		t.Fatalf("trusted_proxies = %v, want %v", got, want)
	}
	// Left out: trust none.
	cfg, err = Load(writeFile(t, "config.toml", "[hub]\nlisten = \":8443\"\n"), noEnv)
	if err != nil || len(cfg.Hub.TrustedProxies) != 0 {
		t.Fatalf("default: %v, %v", cfg.Hub.TrustedProxies, err)
	}
	// The environment, comma-separated, like other lists.
	cfg, err = Load(p, envMap(map[string]string{"CARDTILL_HUB_TRUSTED_PROXIES": "172.16.0.0/12, 127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := Prefixes(cfg.Hub.TrustedProxies); !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("127.0.0.1/32")}) {
		t.Fatalf("from the environment: %v", got)
	}
	_, err = Load(p, envMap(map[string]string{"CARDTILL_HUB_TRUSTED_PROXIES": "10.0.0.0/8,nginx"}))
	if err == nil || !strings.Contains(err.Error(), "CARDTILL_HUB_TRUSTED_PROXIES") || !strings.Contains(err.Error(), `"nginx"`) {
		t.Fatalf("bad environment value: %v", err)
	}
	// Written back as CIDRs (cardtill config show).
	b, err := cfg.Hub.TrustedProxies[1].MarshalText()
	if err != nil || string(b) != "127.0.0.1/32" {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
}

func TestConfigTrustedProxiesErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, content, want string }{
		{"bad CIDR", "[hub]\nlisten = \":8443\"\ntrusted_proxies = [\"10.0.0.0/33\"]\n", "not a CIDR range"},
		{"bad address", "[hub]\n\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.300\"]\n", "not an IP address or CIDR range"},
		{"host name", "[hub]\n\ntrusted_proxies = [\"proxy.example.com\"]\n", "not an IP address or CIDR range"},
		{"zone", "[hub]\n\ntrusted_proxies = [\"fe80::1%eth0\"]\n", "not an IP address or CIDR range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "config.toml", tt.content)
			_, err := Load(p, noEnv)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range []string{p + ":3:", "hub.trusted_proxies", tt.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// A string where a list belongs.
	_, err := Load(writeFile(t, "config.toml", "[hub]\ntrusted_proxies = \"10.0.0.0/8\"\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "hub.trusted_proxies") || !strings.Contains(err.Error(), "list of IP addresses or CIDR ranges") {
		t.Fatalf("not a list: %v", err)
	}
}
