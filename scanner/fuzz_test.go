package scanner_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"cardtill/scanner"
)

var fuzzTerminators = []string{"cr", "lf", "crlf", "etx", "tab", "none"}

// FuzzFramer: whatever the line carries, every frame is either a clean,
// printable, bounded code text or an unreadable-frame rejection, and how the
// bytes were split across reads never changes the frames.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("110201201245\r"), uint8(0), uint16(512), "", "")
	f.Add([]byte("\x02]Q1110201201245\x03"), uint8(3), uint16(64), "", "")
	f.Add([]byte("#]C0111\r\n222\r\n"), uint8(2), uint16(20), "#", "!")
	f.Add([]byte("\xff\x00garbage\tcode\t"), uint8(4), uint16(20), "", "")
	f.Add([]byte("https://x.example/?encrypt_code=AB%2B%2F"), uint8(5), uint16(128), "", "")
	f.Fuzz(func(t *testing.T, in []byte, term uint8, maxLen uint16, prefix, suffix string) {
		cfg := scanner.Config{
			Terminator: fuzzTerminators[int(term)%len(fuzzTerminators)],
			MaxLength:  20 + int(maxLen)%200,
			Prefix:     prefix,
			Suffix:     suffix,
		}
		whole := framesOf(cfg, in, len(in)+1)
		bytewise := framesOf(cfg, in, 1)
		if fmt.Sprint(whole) != fmt.Sprint(bytewise) {
			t.Fatalf("split changes frames:\n whole %q\n bytes %q", whole, bytewise)
		}
	})
}

// framesOf feeds in, chunk bytes at a time, flushes, and checks each frame.
func framesOf(cfg scanner.Config, in []byte, chunk int) []string {
	fr := scanner.NewFramer(cfg)
	var frames []scanner.Frame
	for i := 0; i < len(in); i += chunk {
		frames = fr.Feed(in[i:min(i+chunk, len(in))], frames)
	}
	if f, ok := fr.Flush(); ok {
		frames = append(frames, f)
	}
	var out []string
	for _, f := range frames {
		if f.Err != nil {
			var re *scanner.RejectError
			if !errors.As(f.Err, &re) || !re.Kind.Unreadable() || f.Text != "" {
				panic(fmt.Sprintf("bad frame %+v", f))
			}
			out = append(out, "!"+re.Kind.String())
			continue
		}
		if f.Text == "" || len(f.Text) > cfg.MaxLength || !utf8.ValidString(f.Text) ||
			strings.ContainsFunc(f.Text, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
			strings.TrimSpace(f.Text) != f.Text {
			panic(fmt.Sprintf("frame passed on unclean text %q", f.Text))
		}
		if !utf8.ValidString(f.Raw) {
			panic(fmt.Sprintf("Raw not sanitised: %q", f.Raw))
		}
		out = append(out, f.Symbology+"|"+f.Text)
	}
	return out
}

// FuzzParse: Parse either returns a payload that is a well-formed coupon
// reference or a *RejectError with nothing in the payload.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"110201201245", "1102 0120 1245", "]Q1110201201245", "4006381333931", "134567890123456789",
		"https://m.example.com/use?encrypt_code=XXIzTtMqCxwOaawoE91%2BVJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ%2F5ZZ0DVkXdE&card_id=pFS7Fjg8kV1IdDz01r4SQwMkuCKc",
		"encrypt_code=AB+/CD==", "code=1&card_id=pX", "https://h5.example.com/#/c?code=110201201245",
		"wxp://f2f0x", "hello", "\x00\xff", "%%%", "?=&", "]E0036000291452",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := scanner.Parse(in)
		if err != nil {
			var re *scanner.RejectError
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%q) error of type %T", in, err)
			}
			if p != (scanner.Payload{}) {
				t.Fatalf("Parse(%q) rejected but returned %+v", in, p)
			}
			if err.Error() == "" || !utf8.ValidString(re.Input) || strings.ContainsRune(re.Input, 0) ||
				utf8.RuneCountInString(re.Input) > 65 {
				t.Fatalf("Parse(%q): bad rejection %+v", in, re)
			}
			return
		}
		if p.Code == "" && p.EncryptCode == "" {
			t.Fatalf("Parse(%q) accepted an empty payload %+v", in, p)
		}
		if len(p.Code) > scanner.MaxCodeLen || strings.Trim(p.Code, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") != "" {
			t.Fatalf("Parse(%q) code %q is not a code", in, p.Code)
		}
		if len(p.EncryptCode) > scanner.MaxEncryptCodeLen || strings.Trim(p.EncryptCode, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/=") != "" {
			t.Fatalf("Parse(%q) encrypt_code %q is not base64", in, p.EncryptCode)
		}
		if len(p.CardID) > scanner.MaxCardIDLen || strings.Trim(p.CardID, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != "" {
			t.Fatalf("Parse(%q) card_id %q is not a card_id", in, p.CardID)
		}
	})
}
