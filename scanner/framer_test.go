package scanner_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"cardtill/scanner"
)

// got is a frame reduced to what tests compare: the text, or "!kind".
func got(fr scanner.Frame) string {
	var re *scanner.RejectError
	if errors.As(fr.Err, &re) {
		return "!" + re.Kind.String()
	}
	if fr.Err != nil {
		return "!" + fr.Err.Error()
	}
	if fr.Symbology != "" {
		return fr.Symbology + "|" + fr.Text
	}
	return fr.Text
}

// frameAll feeds in to a fresh framer in the given chunk size (0 = all at
// once), then flushes as silence would, and returns the frames.
func frameAll(cfg scanner.Config, in string, chunk int) []string {
	f := scanner.NewFramer(cfg)
	var frames []scanner.Frame
	if chunk <= 0 {
		chunk = len(in) + 1
	}
	for i := 0; i < len(in); i += chunk {
		frames = f.Feed([]byte(in[i:min(i+chunk, len(in))]), frames)
	}
	if fr, ok := f.Flush(); ok {
		frames = append(frames, fr)
	}
	if f.Pending() {
		frames = append(frames, scanner.Frame{Err: errors.New("still pending after Flush")})
	}
	out := []string{}
	for _, fr := range frames {
		out = append(out, got(fr))
	}
	return out
}

func TestFramer(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("9", 40)
	tests := []struct {
		name string
		cfg  scanner.Config
		in   string
		want []string
	}{
		{"cr", scanner.Config{Terminator: "cr"}, "110201201245\r", []string{"110201201245"}},
		{"lf", scanner.Config{Terminator: "lf"}, "110201201245\n", []string{"110201201245"}},
		{"crlf", scanner.Config{Terminator: "crlf"}, "110201201245\r\n", []string{"110201201245"}},
		{"tab", scanner.Config{Terminator: "tab"}, "110201201245\t", []string{"110201201245"}},
		{"etx", scanner.Config{Terminator: "etx"}, "110201201245\x03", []string{"110201201245"}},
		{"none ends on silence", scanner.Config{Terminator: "none"}, "110201201245", []string{"110201201245"}},
		{"several frames in one read", scanner.Config{Terminator: "cr"}, "111\r222\r333\r", []string{"111", "222", "333"}},
		{"crlf sent to a cr framer", scanner.Config{Terminator: "cr"}, "111\r\n222\r\n", []string{"111", "222"}},
		{"empty lines are not frames", scanner.Config{Terminator: "lf"}, "\n\n \n111\n\n", []string{"111"}},
		{"stx/etx envelope in cr mode", scanner.Config{Terminator: "cr"}, "\x02111\x03\r", []string{"111"}},
		{"stx/etx envelope in none mode", scanner.Config{Terminator: "none"}, "\x02111\x03\x02222\x03", []string{"111", "222"}},
		{"noise before an envelope", scanner.Config{Terminator: "etx"}, "\xff\xfe\x02111\x03", []string{"!incomplete", "111"}},
		{"aim stripped", scanner.Config{}, "]Q1110201201245\r", []string{"]Q1|110201201245"}},
		{"prefix then aim", scanner.Config{Prefix: "#"}, "#]C0111\r", []string{"]C0|111"}},
		{"aim then prefix", scanner.Config{Prefix: "#"}, "]C0#111\r", []string{"]C0|111"}},
		{"prefix and suffix", scanner.Config{Prefix: "<<", Suffix: ">>"}, "<<111>>\r", []string{"111"}},
		{"missing prefix is fine", scanner.Config{Prefix: "<<"}, "111\r", []string{"111"}},
		{"blanks trimmed", scanner.Config{}, "  111 \t\r", []string{"111"}},
		{"only a prefix", scanner.Config{Prefix: "PFX"}, "PFX\r", []string{"!incomplete"}},
		{"non-printable", scanner.Config{}, "11\x0011\r", []string{"!non_printable"}},
		{"invalid utf-8", scanner.Config{}, "11\xc311\r", []string{"!non_printable"}},
		{"utf-8 text passes the framer", scanner.Config{}, "券码\r", []string{"券码"}},
		{"too long then a good one", scanner.Config{MaxLength: 20}, long + "\r111\r", []string{"!too_long", "111"}},
		{"exactly max", scanner.Config{MaxLength: 20}, long[:20] + "\r", []string{long[:20]}},
		{"too long without terminator", scanner.Config{MaxLength: 20, Terminator: "none"}, long, []string{"!too_long"}},
		{"unterminated tail is incomplete", scanner.Config{}, "111\r222", []string{"111", "!incomplete"}},
		{"blank tail is nothing", scanner.Config{}, "111\r  ", []string{"111"}},
		{"etx outside envelope is data end in cr mode", scanner.Config{}, "111\x03\r", []string{"111"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := fmt.Sprint(tt.want)
			for _, chunk := range []int{0, 1, 2, 3, 7} {
				if g := fmt.Sprint(frameAll(tt.cfg, tt.in, chunk)); g != want {
					t.Fatalf("chunk %d: frames %s, want %s", chunk, g, want)
				}
			}
		})
	}
}

func TestFramerRawIsSanitised(t *testing.T) {
	t.Parallel()
	f := scanner.NewFramer(scanner.Config{})
	frames := f.Feed([]byte("a\x00b\r"), nil)
	if len(frames) != 1 || frames[0].Raw != `a\x00b` {
		t.Fatalf("frames = %+v", frames)
	}
	var re *scanner.RejectError
	if !errors.As(frames[0].Err, &re) || re.Input != `a\x00b` || frames[0].Text != "" {
		t.Fatalf("bad frame carries text or unsanitised input: %+v", frames[0])
	}
}

func TestFramerMemoryBounded(t *testing.T) {
	t.Parallel()
	f := scanner.NewFramer(scanner.Config{MaxLength: 32, Terminator: "none"})
	junk := []byte(strings.Repeat("x", 1000))
	var n int
	for range 1000 {
		n += len(f.Feed(junk, nil))
	}
	if n != 1 {
		t.Fatalf("an endless over-long frame was reported %d times, want once", n)
	}
	if _, ok := f.Flush(); ok {
		t.Fatal("the over-long frame was reported again at its end")
	}
	if fr := f.Feed([]byte("111"), nil); len(fr) != 0 {
		t.Fatal("frame without terminator ended early")
	}
	if fr, ok := f.Flush(); !ok || fr.Text != "111" {
		t.Fatalf("after an over-long frame the next one = %+v", fr)
	}
}
