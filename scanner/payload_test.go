package scanner_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"cardtill/scanner"
)

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	const ec = "XXIzTtMqCxwOaawoE91+VJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ/5ZZ0DVkXdE"
	ecURL := strings.NewReplacer("+", "%2B", "/", "%2F").Replace(ec)
	tests := []struct {
		name string
		in   string
		want scanner.Payload
	}{
		{"12-digit code", "110201201245", scanner.Payload{Code: "110201201245"}},
		{"blanks around", "  110201201245\r\n", scanner.Payload{Code: "110201201245"}},
		{"full-width digits from a Chinese input method", "１１０２　０１２０　１２４５", scanner.Payload{Code: "110201201245"}},
		{"typed in groups", "1102 0120 1245", scanner.Payload{Code: "110201201245"}},
		{"custom code 20 chars", "ABCDEFGHIJ-123456789", scanner.Payload{Code: "ABCDEFGHIJ-123456789"}},
		{"12 digits with valid UPC check stays a code", "036000291452", scanner.Payload{Code: "036000291452"}},
		{"EAN-like digits read from a QR are a code", "]Q14006381333931", scanner.Payload{Code: "4006381333931"}},
		{"AIM prefix removed", "]C0110201201245", scanner.Payload{Code: "110201201245"}},
		{"url with raw + and /", "https://m.example.com/use?encrypt_code=" + ec + "&card_id=pFS7Fjg8kV1IdDz01r4SQwMkuCKc",
			scanner.Payload{EncryptCode: ec, CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"}},
		{"url with escaped + and /", "https://m.example.com/use?encrypt_code=" + ecURL, scanner.Payload{EncryptCode: ec}},
		{"url encoded twice", "https://m.example.com/use?encrypt_code=" + strings.ReplaceAll(ecURL, "%", "%25"), scanner.Payload{EncryptCode: ec}},
		{"+ already turned into space", "encrypt_code=" + strings.ReplaceAll(ec, "+", " "), scanner.Payload{EncryptCode: ec}},
		{"bare query with code and card_id", "card_id=pFS7Fjg8kV1IdDz01r4SQwMkuCKc&code=110201201245",
			scanner.Payload{Code: "110201201245", CardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"}},
		{"leading ?", "?code=110201201245", scanner.Payload{Code: "110201201245"}},
		{"query in fragment", "https://h5.example.com/#/card?code=110201201245&card_id=pX", scanner.Payload{Code: "110201201245", CardID: "pX"}},
		{"both code and encrypt_code", "https://a.example/?code=110201201245&encrypt_code=" + ecURL,
			scanner.Payload{Code: "110201201245", EncryptCode: ec}},
		{"key case", "https://a.example/?Encrypt_Code=" + ecURL, scanner.Payload{EncryptCode: ec}},
		{"padding =", "encrypt_code=QUJD%3D%3D", scanner.Payload{EncryptCode: "QUJD=="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanner.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) = error %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		kind    scanner.RejectKind
		wantMsg string // part of Error()
	}{
		{"empty", "   ", scanner.RejectEmpty, "nothing was scanned"},
		{"EAN-13", "4006381333931", scanner.RejectProductBarcode, "product barcode (EAN-13 4006381333931), not a coupon"},
		{"EAN-8", "96385074", scanner.RejectProductBarcode, "EAN-8"},
		{"UPC-A read as EAN symbol", "]E0036000291452", scanner.RejectProductBarcode, "UPC-A"},
		{"EAN-13 from AIM ]E0 even with bad check", "]E04006381333932", scanner.RejectProductBarcode, "EAN-13"},
		{"WeChat Pay", "134567890123456789", scanner.RejectPaymentCode, "WeChat Pay"},
		{"Alipay", "28123456789012345", scanner.RejectPaymentCode, "Alipay"},
		{"UnionPay", "6212345678901234567", scanner.RejectPaymentCode, "UnionPay"},
		{"WeChat Pay QR", "wxp://f2f0abcdefg", scanner.RejectPaymentCode, "payment terminal"},
		{"Alipay QR", "https://qr.alipay.com/bax01234", scanner.RejectPaymentCode, "Alipay QR"},
		{"web link", "https://www.example.com/promo?utm=1", scanner.RejectLinkWithoutCode, "web link"},
		{"web link no query", "http://weixin.qq.com/q/abc", scanner.RejectLinkWithoutCode, "web link"},
		{"card_id only", "https://a.example/?card_id=pX", scanner.RejectLinkWithoutCode, "web link"},
		{"bad encrypt_code", "encrypt_code=ab$cd", scanner.RejectMalformedCode, "encrypt_code"},
		{"encrypt_code too long", "encrypt_code=" + strings.Repeat("A", 129), scanner.RejectMalformedCode, "encrypt_code"},
		{"code too long in link", "code=" + strings.Repeat("1", 21), scanner.RejectMalformedCode, "code"},
		{"bad card_id", "code=1&card_id=p%20X", scanner.RejectMalformedCode, "card_id"},
		{"21 digits", strings.Repeat("7", 21), scanner.RejectNotACode, "at most 20"},
		{"words", "hello world", scanner.RejectNotACode, "not a coupon code"},
		{"chinese text", "优惠券", scanner.RejectNotACode, "not a coupon code"},
		{"control char", "1102\x0001245", scanner.RejectNonPrintable, "not text"},
		{"invalid utf-8", "11\xff02", scanner.RejectNonPrintable, "not text"},
		{"huge", strings.Repeat("x", scanner.MaxInputLen+1), scanner.RejectTooLong, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := scanner.Parse(tt.in)
			var re *scanner.RejectError
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%q) = %+v, %v; want a *RejectError", tt.in, p, err)
			}
			if re.Kind != tt.kind {
				t.Fatalf("Parse(%q) kind = %v, want %v (%v)", tt.in, re.Kind, tt.kind, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Parse(%q) error %q does not say %q", tt.in, err, tt.wantMsg)
			}
			if p != (scanner.Payload{}) {
				t.Fatalf("rejected input returned a payload %+v", p)
			}
			if len([]rune(re.Input)) > 65 || strings.ContainsRune(re.Input, 0) || !utf8.ValidString(re.Input) {
				t.Fatalf("Input not sanitised: %q", re.Input)
			}
		})
	}
}

func TestRejectKindNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for k := scanner.RejectTooLong; k <= scanner.RejectNotACode; k++ {
		s := k.String()
		if strings.HasPrefix(s, "reject(") || seen[s] {
			t.Fatalf("kind %d has no unique name: %q", k, s)
		}
		seen[s] = true
		if got := (&scanner.RejectError{Kind: k}).Error(); got == "" {
			t.Fatalf("kind %v has no message", k)
		}
	}
	if !scanner.RejectTooLong.Unreadable() || scanner.RejectProductBarcode.Unreadable() {
		t.Fatal("Unreadable() wrong")
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"abc":                   "abc",
		"a\x00b\r":              `a\x00b\x0d`,
		"\xff":                  `\xff`,
		`a\b`:                   `a\x5cb`,
		"券码":                    "券码",
		strings.Repeat("x", 70): strings.Repeat("x", 64) + "…",
	}
	for in, want := range tests {
		if got := scanner.Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyboardScan(t *testing.T) {
	t.Parallel()
	s := scanner.KeyboardScan("]Q1110201201245")
	if s.Err != nil || s.Payload.Code != "110201201245" || s.Source != "keyboard" || s.Symbology != "]Q1" {
		t.Fatalf("KeyboardScan = %+v", s)
	}
	s = scanner.KeyboardScan("4006381333931")
	if s.Err == nil || s.Payload != (scanner.Payload{}) {
		t.Fatalf("product barcode accepted: %+v", s)
	}
}
