package lookup

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"cardtill/wechat"
)

func TestEncryptCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want, bad string }{
		{"  abc+/=  ", "abc+/=", ""},
		{"abc%2B%2F%3D", "abc+/=", ""},
		{"https://example.com/x?card_id=pA&encrypt_code=abc%2B", "abc+", ""},
		{"", "", "empty"},
		{"abc%zz", "", "neither"},
	} {
		got, err := EncryptCode(c.in)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("EncryptCode(%q) = %q, %v; want an error saying %q", c.in, got, err, c.bad)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("EncryptCode(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestStatusTextAndPrint(t *testing.T) {
	t.Parallel()
	future := time.Now().Add(48 * time.Hour)
	if s := StatusText(wechat.CodeInfo{Status: wechat.StatusNormal, BeginTime: future}); !strings.Contains(s, "not yet") {
		t.Errorf("a window not begun: %q", s)
	}
	if s := StatusText(wechat.CodeInfo{Status: "ODD"}); !strings.Contains(s, "ODD") {
		t.Errorf("an unknown status: %q", s)
	}
	var b bytes.Buffer
	if err := Print(&b, Info{Code: "123412341234", CardID: "pA", CardTitle: "¥20 off", Status: "NORMAL", StatusText: "valid", EndTime: &future}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"123412341234", "pA  (¥20 off)", "(none)", "until ", "can_consume  no"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("printed %q, want %q in it", b.String(), w)
		}
	}
}
