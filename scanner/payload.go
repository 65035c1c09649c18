package scanner

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of what a scan can carry.
const (
	// MaxCodeLen is the longest WeChat card code (custom codes included).
	MaxCodeLen = 20
	// MaxEncryptCodeLen is the longest encrypt_code WeChat hands out.
	MaxEncryptCodeLen = 128
	// MaxCardIDLen bounds a card_id (WeChat's are 28 characters).
	MaxCardIDLen = 64
	// MaxInputLen is the longest text Parse looks at: a link with a
	// 128-character encrypt_code fits many times over.
	MaxInputLen = 4096
	// shownLen is how much of a rejected input RejectError.Input keeps.
	shownLen = 64
)

// Payload is what a coupon scan carries. At least one of Code and
// EncryptCode is set; CardID comes along when the scan named it (custom-code
// cards need it for consume).
type Payload struct {
	Code        string `json:"code,omitempty"`
	CardID      string `json:"card_id,omitempty"`
	EncryptCode string `json:"encrypt_code,omitempty"`
}

// Parse reads one scan or typed line: a plain coupon code (at most 20
// characters; digits typed in groups, "1102 0120 1245", are joined, and
// full-width characters from a Chinese input method are read as ASCII), or a URL
// or query string carrying encrypt_code, code and/or card_id. Anything else
// is a *RejectError saying what it looked like. A leading AIM symbology
// identifier (keyboard-wedge scanners send them too) is used and removed.
//
// Product barcodes: an EAN-13 or EAN-8 with a valid check digit is refused
// as a product barcode. A 12-digit number is accepted as a code unless the
// scanner said it read an EAN/UPC symbol (AIM "]E"), because 12 digits is
// also WeChat's default code length and one code in ten has a valid UPC-A
// check digit by chance. Likewise a scanner saying it read a QR or Code 128
// symbol overrides the EAN guess.
func Parse(s string) (Payload, error) {
	aim, rest := splitAIM(strings.TrimSpace(narrow(s)))
	return parse(rest, aim)
}

func parse(s, aim string) (Payload, error) {
	s = strings.TrimSpace(narrow(s))
	reject := func(k RejectKind, what string) (Payload, error) {
		return Payload{}, &RejectError{Kind: k, Input: Sanitize(s), What: what, Symbology: aim}
	}
	switch {
	case s == "":
		return reject(RejectEmpty, "")
	case len(s) > MaxInputLen:
		return reject(RejectTooLong, fmt.Sprintf("%d characters", utf8.RuneCountInString(s)))
	case !printable(s):
		return reject(RejectNonPrintable, "")
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "wxp://"):
		return reject(RejectPaymentCode, "WeChat Pay QR")
	case strings.HasPrefix(lower, "alipays://"), strings.Contains(lower, "qr.alipay.com/"):
		return reject(RejectPaymentCode, "Alipay QR")
	case strings.Contains(s, "://"), strings.HasPrefix(lower, "www."),
		strings.ContainsAny(s, "?=&"):
		return parseLink(s, aim)
	}
	if digitsAndSpaces(s) {
		s = strings.ReplaceAll(s, " ", "")
	}
	if allDigits(s) {
		if what := paymentCode(s); what != "" {
			return reject(RejectPaymentCode, what)
		}
		if what := productBarcode(s, aim); what != "" {
			return reject(RejectProductBarcode, what+" "+s)
		}
	}
	if !validCode(s) {
		n := utf8.RuneCountInString(s)
		if n > MaxCodeLen && codeChars(s) {
			return reject(RejectNotACode, fmt.Sprintf("%d characters; coupon codes have at most %d", n, MaxCodeLen))
		}
		return reject(RejectNotACode, "")
	}
	return Payload{Code: s}, nil
}

// narrow turns full-width ASCII forms into ASCII: a cashier typing with a
// Chinese input method on gets "１１０２" for "1102".
func narrow(s string) string {
	wide := false
	for _, r := range s {
		if (r >= 0xFF01 && r <= 0xFF5E) || r == 0x3000 {
			wide = true
			break
		}
	}
	if !wide {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// parseLink reads encrypt_code, code and card_id out of a URL (query or
// fragment) or a bare query string. Values are percent-decoded without
// turning '+' into a space: encrypt_code is base64, where '+' and '/' are
// data.
func parseLink(s, aim string) (Payload, error) {
	reject := func(k RejectKind, what string) (Payload, error) {
		return Payload{}, &RejectError{Kind: k, Input: Sanitize(s), What: what, Symbology: aim}
	}
	var p Payload
	var seen, isWeb bool
	lower := strings.ToLower(s)
	isWeb = strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "www.")
	for _, q := range queryParts(s) {
		for _, kv := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
			k, v, _ := strings.Cut(kv, "=")
			k = strings.ToLower(strings.TrimSpace(unescape(k)))
			switch k {
			case "encrypt_code", "encryptcode":
				if p.EncryptCode != "" {
					continue
				}
				seen = true
				ec := unescapeAll(v)
				// A form decoder upstream may already have turned '+'
				// into ' '; base64 has no spaces, so put it back.
				ec = strings.ReplaceAll(ec, " ", "+")
				if ec == "" {
					continue
				}
				if len(ec) > MaxEncryptCodeLen || !base64Chars(ec) {
					return reject(RejectMalformedCode, "encrypt_code")
				}
				p.EncryptCode = ec
			case "code", "card_code", "user_card_code":
				if p.Code != "" {
					continue
				}
				seen = true
				c := strings.TrimSpace(unescape(v))
				if c == "" {
					continue
				}
				if !validCode(c) {
					return reject(RejectMalformedCode, "code")
				}
				p.Code = c
			case "card_id", "cardid":
				if p.CardID != "" {
					continue
				}
				seen = true
				id := strings.TrimSpace(unescape(v))
				if id == "" {
					continue
				}
				if len(id) > MaxCardIDLen || !idChars(id) {
					return reject(RejectMalformedCode, "card_id")
				}
				p.CardID = id
			}
		}
	}
	if p.Code != "" || p.EncryptCode != "" {
		return p, nil
	}
	switch {
	case seen && p.CardID != "":
		return reject(RejectLinkWithoutCode, "card_id only")
	case seen:
		return reject(RejectMalformedCode, "empty code")
	case isWeb || strings.Contains(s, "://"):
		return reject(RejectLinkWithoutCode, linkHost(s))
	}
	return reject(RejectNotACode, "")
}

// queryParts returns the query string and, for single-page-app links such
// as "https://h/#/use?encrypt_code=…", the query inside the fragment.
func queryParts(s string) []string {
	var parts []string
	main, frag, _ := strings.Cut(s, "#")
	if _, q, ok := strings.Cut(main, "?"); ok {
		parts = append(parts, q)
	} else if !strings.Contains(main, "://") && strings.Contains(main, "=") {
		parts = append(parts, main) // a bare query string
	}
	if frag != "" {
		if _, q, ok := strings.Cut(frag, "?"); ok {
			parts = append(parts, q)
		} else if strings.Contains(frag, "=") {
			parts = append(parts, frag)
		}
	}
	return parts
}

func linkHost(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Host
}

// unescape percent-decodes once, keeping '+' as '+'. Malformed escapes are
// left as they are.
func unescape(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return v
	}
	return u
}

// unescapeAll undoes up to three rounds of percent-encoding (links passed
// through redirects are often encoded twice).
func unescapeAll(v string) string {
	for range 3 {
		u := unescape(v)
		if u == v {
			break
		}
		v = u
	}
	return v
}

// splitAIM removes a leading AIM symbology identifier "]" + letter + char.
func splitAIM(s string) (aim, rest string) {
	if len(s) > 3 && s[0] == ']' && isLetter(s[1]) && isAlnum(s[2]) {
		return s[:3], s[3:]
	}
	return "", s
}

// paymentCode names the payment scheme of a digits-only payment code.
func paymentCode(s string) string {
	n := len(s)
	p2, _ := strconv.Atoi(s[:min(2, n)])
	switch {
	case n == 18 && p2 >= 10 && p2 <= 15:
		return "WeChat Pay"
	case n >= 16 && n <= 24 && p2 >= 25 && p2 <= 30:
		return "Alipay"
	case n == 19 && p2 == 62:
		return "UnionPay"
	}
	return ""
}

// productBarcode names the product symbology of s, or "". aim is the AIM
// identifier the scanner reported ("" when unknown).
func productBarcode(s, aim string) string {
	if aim != "" && aim[1] != 'E' {
		return "" // the scanner read a QR, Code 128, …: not a retail symbol
	}
	known := aim != ""
	switch {
	case len(s) == 13 && (known || eanCheck(s)):
		return "EAN-13"
	case len(s) == 8 && (known || eanCheck(s)):
		return "EAN-8"
	case len(s) == 12 && known:
		return "UPC-A"
	case known && len(s) < 13:
		return "UPC-E"
	}
	return ""
}

// eanCheck reports whether the last digit of an EAN/UPC number is its
// check digit.
func eanCheck(s string) bool {
	sum := 0
	for i := len(s) - 2; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-2-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return int(s[len(s)-1]-'0') == (10-sum%10)%10
}

func validCode(s string) bool {
	return s != "" && len(s) <= MaxCodeLen && codeChars(s)
}

// codeChars: WeChat codes (custom ones included) are ASCII letters, digits
// and a few separators.
func codeChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func idChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func base64Chars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '+' && c != '/' && c != '=' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func digitsAndSpaces(s string) bool {
	return strings.Contains(s, " ") && strings.Trim(s, "0123456789 ") == ""
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isLetter(c) || (c >= '0' && c <= '9') }

// printable reports whether s is valid UTF-8 text without control
// characters.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || !unicode.IsGraphic(r) {
			return false
		}
	}
	return true
}

// Sanitize makes scanner input safe to show and log: control characters
// and invalid bytes become \xNN escapes and the result is cut to 64
// characters, with "…" when cut.
func Sanitize(s string) string {
	if len(s) <= shownLen && cleanASCII(s) {
		return s
	}
	var b strings.Builder
	n := 0 // characters written
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size <= 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || r == '\\' || !unicode.IsGraphic(r):
			if r < 0x100 {
				piece = fmt.Sprintf(`\x%02x`, r)
			} else {
				piece = fmt.Sprintf(`\u%04x`, r)
			}
		default:
			piece = s[i : i+size]
		}
		w := utf8.RuneCountInString(piece)
		if n+w > shownLen {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		n += w
		i += size
	}
	return b.String()
}

// cleanASCII reports whether s is printable ASCII without backslashes.
func cleanASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
