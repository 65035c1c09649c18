package console

import (
	"runtime"
	"testing"
)

func TestLangFromLANGID(t *testing.T) {
	t.Parallel()
	for id, want := range map[uint16]string{
		0x0804: "zh", // zh-CN
		0x0404: "zh", // zh-TW
		0x0C04: "zh", // zh-HK
		0x1004: "zh", // zh-SG
		0x1404: "zh", // zh-MO
		0x7804: "zh", // zh (neutral)
		0x0409: "en", // en-US
		0x0809: "en", // en-GB
		0x0411: "en", // ja-JP: no Japanese catalogue
		0x0412: "en", // ko-KR
		0x0000: "en",
	} {
		if got := langFromLANGID(id); got != want {
			t.Errorf("langFromLANGID(%#04x) = %q, want %q", id, got, want)
		}
	}
}

func TestResolveLang(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		cfg  string
		env  func(string) string
		want string
	}{
		{"en", env("LANG", "zh_CN.UTF-8"), "en"}, // [ui] lang wins
		{"zh", env("LANG", "C"), "zh"},
		{"", env("LC_ALL", "zh_TW.UTF-8", "LANG", "en_US.UTF-8"), "zh"}, // LC_ALL first
		{"", env("LC_MESSAGES", "zh_CN.UTF-8", "LANG", "en_US.UTF-8"), "zh"},
		{"", env("LC_ALL", "C", "LANG", "zh_CN.UTF-8"), "en"},
		{"", env("LANG", "zh_CN.GB18030"), "zh"},
	}
	for _, c := range cases {
		if got := Lang(c.cfg, c.env); got != c.want {
			t.Errorf("Lang(%q, ...) = %q, want %q", c.cfg, got, c.want)
		}
	}
	// No locale at all: Windows asks the system; elsewhere it is English.
	got := Lang("", env())
	if runtime.GOOS != "windows" && got != "en" {
		t.Errorf("no locale off Windows: %q, want en", got)
	}
	if got != "en" && got != "zh" {
		t.Errorf("no locale: %q, want en or zh", got)
	}
}
